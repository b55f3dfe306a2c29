"""Periodic tasks: the work that must happen by itself (finishing overdue exam attempts today;
reminders, training-matrix catch-up and certificate status changes later).

Each domain registers its tasks with :func:`periodic`; :func:`run_due` runs those whose interval
has passed since they last started. ``lms jobs run-due`` calls it (from cron, say every minute);
a Celery beat schedule can call the same function. A task is claimed by a conditional UPDATE of
its :class:`PeriodicRun` row before it runs, so two ``run-due`` at once, or a second one within
the interval, run nothing the second time; and each task is written to be harmless when run
again anyway.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from lms.db import Database, utcnow
from lms.jobs.models import PeriodicRun

log = logging.getLogger(__name__)

TaskFunction = Callable[[Session, datetime], dict[str, Any] | None]
#: the "never ran" start time of a task's first row: far enough back to be due at once
_NEVER = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    every: timedelta
    function: TaskFunction
    description: str


_tasks: dict[str, PeriodicTask] = {}


def periodic(name: str, *, every: timedelta) -> Callable[[TaskFunction], TaskFunction]:
    """Register ``function(db, now) -> result dict`` to run every ``every``; the function does
    its work in ``db`` and flushes; :func:`run_due` commits it."""

    def decorator(function: TaskFunction) -> TaskFunction:
        if name in _tasks and _tasks[name].function is not function:
            raise RuntimeError(f"periodic task {name!r} is registered twice")
        doc = (function.__doc__ or "").strip().splitlines()
        _tasks[name] = PeriodicTask(name, every, function, doc[0] if doc else "")
        return function

    return decorator


def tasks() -> list[PeriodicTask]:
    """The registered tasks, by name."""
    return [_tasks[name] for name in sorted(_tasks)]


@dataclass(frozen=True)
class Outcome:
    """What :func:`run_due` did with one task: ran (with its result or error) or skipped."""

    name: str
    ran: bool
    result: dict[str, Any] | None = None
    error: str | None = None


def _claim(database: Database, task: PeriodicTask, now: datetime, force: bool) -> bool:
    """Mark the task started at ``now`` if it is due (or ``force``); False if another run has
    it, or it ran within its interval. Committed at once, so a concurrent run sees it."""
    with database.transaction() as db:
        dialect = db.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        db.execute(
            insert(PeriodicRun)
            .values(name=task.name, last_started_at=_NEVER)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        due = PeriodicRun.last_started_at <= now - task.every
        if force:  # still not while another run of it is under way (started, not finished)
            due = sa.or_(
                PeriodicRun.last_finished_at >= PeriodicRun.last_started_at,
                PeriodicRun.last_started_at == _NEVER,
                due,
            )
        won = db.execute(
            sa.update(PeriodicRun)
            .where(PeriodicRun.name == task.name, due)
            .values(last_started_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        return bool(won)


def run_due(
    app: Flask,
    *,
    now: datetime | None = None,
    names: list[str] | None = None,
    force: bool = False,
) -> list[Outcome]:
    """Run the registered tasks that are due (only ``names``, if given; ``force``: whether due
    or not), each in its own transaction: one failing task is recorded and the others run."""
    database: Database = app.extensions["lms"].db
    now = now or utcnow()
    unknown = set(names or []) - set(_tasks)
    if unknown:
        raise KeyError(f"unknown periodic task {sorted(unknown)[0]!r}")
    outcomes = []
    with app.app_context():
        for task in tasks():
            if names and task.name not in names:
                continue
            if not _claim(database, task, now, force):
                outcomes.append(Outcome(task.name, ran=False))
                continue
            result: dict[str, Any] | None = None
            error: str | None = None
            work = database.session(write=True)
            try:
                result = task.function(work, now) or {}
                work.commit()
            except Exception as exc:
                work.rollback()
                log.exception("periodic task %s failed", task.name)
                error = f"{type(exc).__name__}: {exc}"
                if app.debug or app.testing:
                    error += "\n" + traceback.format_exc()
            finally:
                work.close()
            with database.transaction() as db:
                row = db.get(PeriodicRun, task.name)
                row.last_finished_at = utcnow()
                row.last_result, row.last_error = result, error
            outcomes.append(Outcome(task.name, ran=True, result=result, error=error))
    return outcomes


def last_runs(db: Session) -> dict[str, PeriodicRun]:
    """Each task's last run, by name (a task that never ran has none)."""
    return {row.name: row for row in db.scalars(sa.select(PeriodicRun))}
