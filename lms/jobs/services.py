"""The jobs seam: register job functions by kind, enqueue them, run them, report progress.

Callers only ever use :func:`enqueue` (web: run in the background, poll the job page) or
:func:`run_now` (command line: run here, with a progress bar). Where a job runs is the runner's
business: the in-process runner uses a thread pool; a Celery runner (when a broker is configured)
sends the job id to a worker, which calls :func:`execute`. Job functions receive a
:class:`JobContext` and their parameters, do their work in ``ctx.db`` (committed once, at the
end, only if they succeed) and call ``ctx.progress`` as they go.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from lms.db import Database, utcnow
from lms.jobs.models import Job, JobState
from lms.org.models import Employee

log = logging.getLogger(__name__)

JobFunction = Callable[..., dict[str, Any] | None]
ProgressListener = Callable[[int, int | None, str], None]

_registry: dict[str, JobFunction] = {}
#: The latest progress of the jobs running in this process: job id -> (done, total, message).
_live: dict[int, tuple[int, int | None, str]] = {}


def job(kind: str) -> Callable[[JobFunction], JobFunction]:
    """Register a job function under ``kind``; a second function with the same kind fails."""

    def decorator(function: JobFunction) -> JobFunction:
        if kind in _registry and _registry[kind] is not function:
            raise RuntimeError(f"job kind {kind!r} is registered twice")
        _registry[kind] = function
        return function

    return decorator


class JobFailed(Exception):
    """Raised by a job function for an expected failure: its message is shown to the user."""


@dataclass
class JobContext:
    """What a job function gets: the app, its own session, who asked, and progress reporting."""

    app: Flask
    db: Session
    job_id: int
    actor_id: int | None
    listener: ProgressListener | None = None
    _last_write: float = field(default=0.0)

    @property
    def actor(self) -> Employee | None:
        return None if self.actor_id is None else self.db.get(Employee, self.actor_id)

    def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        """Report progress. Written to the job row (in its own short transaction, so the page
        sees it while the work is still uncommitted) at most a few times a second.

        On SQLite the job's own write transaction holds the database's only write lock, so a
        second writer would wait for it in vain: there the progress is kept in this process
        (where the in-process runner and the pages that poll it live) until the job ends.
        """
        if self.listener is not None:
            self.listener(done, total, message)
        _live[self.job_id] = (done, total, message[:500])
        database: Database = self.app.extensions["lms"].db
        if database.is_sqlite:
            return
        now = time.monotonic()
        if now - self._last_write < 0.3 and (total is None or done < total):
            return
        self._last_write = now
        with database.transaction() as session:
            job_row = session.get(Job, self.job_id)
            job_row.done, job_row.total = done, total
            if message:
                job_row.message = message[:500]


def create_job(
    database: Database, kind: str, params: dict[str, Any], actor: Employee | None
) -> int:
    """Store a queued job and return its id (committed, so any worker can see it)."""
    if kind not in _registry:
        raise KeyError(f"unknown job kind {kind!r}")
    with database.transaction() as session:
        row = Job(kind=kind, params=params, created_by_id=actor.id if actor else None)
        session.add(row)
        session.flush()
        return row.id


def execute(app: Flask, job_id: int, listener: ProgressListener | None = None) -> Job:
    """Run one job to its end, in an app context. Never raises for the job's own errors: they
    are recorded on the job (state failed, error message), and the job's work is rolled back."""
    database: Database = app.extensions["lms"].db
    with app.app_context():
        with database.transaction() as session:
            row = session.get(Job, job_id)
            if row is None or row.state is not JobState.queued:
                return row
            row.state, row.started_at = JobState.running, utcnow()
            kind, params, actor_id = row.kind, dict(row.params), row.created_by_id
        function = _registry[kind]
        error: str | None = None
        result: dict[str, Any] | None = None
        work = database.session(write=True)
        try:
            context = JobContext(app, work, job_id, actor_id, listener)
            result = function(context, **params)
            work.commit()
        except JobFailed as exc:
            work.rollback()
            error = str(exc)
        except Exception as exc:
            work.rollback()
            log.exception("job %s (%s) failed", job_id, kind)
            error = f"{type(exc).__name__}: {exc}"
            if app.debug or app.testing:
                error += "\n" + traceback.format_exc()
        finally:
            work.close()
        last = _live.pop(job_id, None)
        with database.transaction() as session:
            row = session.get(Job, job_id)
            row.finished_at = utcnow()
            row.state = JobState.failed if error is not None else JobState.succeeded
            row.error, row.result = error, result
            if last is not None:
                row.done, row.total = last[0], last[1]
                row.message = last[2] or row.message
            if error is None and row.total:
                row.done = row.total
        with database.transaction() as session:
            final = session.get(Job, job_id)
            session.expunge(final)
        return final


def _log_crash(future: Any) -> None:
    """A pool thread's exception is otherwise lost silently (the job's own errors are caught
    by :func:`execute`; this is for its bookkeeping, e.g. a database that went away)."""
    error = future.exception()
    if error is not None:
        log.error("job runner crashed", exc_info=error)


class InProcessRunner:
    """Runs jobs on a small thread pool inside the app process (no broker configured)."""

    def __init__(self, threads: int) -> None:
        self._threads = threads
        self._executor: ThreadPoolExecutor | None = None

    def dispatch(self, app: Flask, job_id: int) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._threads, thread_name_prefix="lms-job")
        future = self._executor.submit(execute, app, job_id)
        future.add_done_callback(_log_crash)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def enqueue(app: Flask, kind: str, params: dict[str, Any], actor: Employee | None) -> int:
    """Store a job and hand it to the app's runner; returns the job id for the progress page.

    The job row is stored in a transaction of its own, so that a worker sees it at once. A
    request must therefore end its own write transaction first (commit or roll back): on SQLite
    it would otherwise hold the write lock that storing the job waits for.
    """
    state = app.extensions["lms"]
    job_id = create_job(state.db, kind, params, actor)
    state.job_runner.dispatch(app, job_id)
    return job_id


def run_now(
    app: Flask,
    kind: str,
    params: dict[str, Any],
    actor: Employee | None = None,
    listener: ProgressListener | None = None,
) -> Job:
    """Store a job and run it here and now (command line), reporting progress to ``listener``."""
    job_id = create_job(app.extensions["lms"].db, kind, params, actor)
    return execute(app, job_id, listener)


def get_job(db: Session, job_id: int) -> Job | None:
    return db.get(Job, job_id)


@dataclass(frozen=True)
class Progress:
    """How far a job has got, for its page."""

    state: JobState
    done: int
    total: int | None
    message: str
    percent: int | None


def job_progress(job_row: Job) -> Progress:
    """A job's progress: the latest report of this process while it runs here, else the row's.

    A row read as queued just before the runner marked it running may meet live progress read
    just after: live progress means the job is running, whatever that row said.
    """
    state, done, total, message = job_row.state, job_row.done, job_row.total, job_row.message
    live = _live.get(job_row.id) if not job_row.finished else None
    if live is not None:
        done, total, message = live[0], live[1], live[2] or message
        state = JobState.running
    if total:
        percent: int | None = min(100, int(done * 100 / total))
    else:
        percent = 100 if state is JobState.succeeded else None
    return Progress(state, done, total, message, percent)
