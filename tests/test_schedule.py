"""Periodic tasks: due ones run, a second run within the interval or at the same moment runs
nothing, a failing task is recorded while the others run, and ``lms jobs run-due``."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from lms.cli import lms_commands
from lms.jobs.models import PeriodicRun
from lms.jobs.schedule import periodic, run_due
from lms.org.models import Unit, UnitKind

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
calls: list[str] = []


@periodic("test.add_unit", every=timedelta(hours=1))
def add_unit(db, now):
    """Adds a unit named after the moment it ran."""
    calls.append("add_unit")
    db.add(Unit(code=f"U{now:%H%M%S%f}", name="单位", kind=UnitKind.team, path=""))
    db.flush()
    return {"added": 1}


@periodic("test.broken", every=timedelta(hours=1))
def broken(db, now):
    """Fails after writing a unit (which must be rolled back)."""
    db.add(Unit(code="BROKEN", name="坏", kind=UnitKind.team, path=""))
    db.flush()
    raise RuntimeError("boom")


def units(db) -> list[str]:
    db.rollback()
    return sorted(db.scalars(sa.select(Unit.code)))


def test_due_tasks_run_once_per_interval(app, db):
    first = {o.name: o for o in run_due(app, now=T0, names=["test.add_unit"])}
    assert first["test.add_unit"].ran and first["test.add_unit"].result == {"added": 1}
    again = run_due(app, now=T0 + timedelta(minutes=59), names=["test.add_unit"])
    assert [o.ran for o in again] == [False]
    later = run_due(app, now=T0 + timedelta(hours=1), names=["test.add_unit"])
    assert [o.ran for o in later] == [True]
    assert len(units(db)) == 2
    forced = run_due(
        app, now=T0 + timedelta(hours=1, minutes=1), names=["test.add_unit"], force=True
    )
    assert [o.ran for o in forced] == [True]
    row = db.get(PeriodicRun, "test.add_unit")
    assert row.last_result == {"added": 1} and row.last_error is None
    assert row.last_finished_at >= row.last_started_at


def test_two_runs_at_the_same_moment_run_a_task_once(app, db):
    """Two cron runs overlapping (or two schedulers): only one claims the task."""
    calls.clear()
    barrier = threading.Barrier(4)
    outcomes = []

    def run() -> None:
        barrier.wait()
        outcomes.extend(run_due(app, now=T0, names=["test.add_unit"]))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.ran for o in outcomes) == [False, False, False, True]
    assert calls == ["add_unit"] and len(units(db)) == 1


def test_a_failing_task_is_recorded_and_rolled_back(app, db):
    outcomes = {o.name: o for o in run_due(app, now=T0, names=["test.broken", "test.add_unit"])}
    assert "RuntimeError: boom" in outcomes["test.broken"].error
    assert outcomes["test.add_unit"].ran and outcomes["test.add_unit"].error is None
    assert "BROKEN" not in units(db) and len(units(db)) == 1
    assert "boom" in db.get(PeriodicRun, "test.broken").last_error


def test_run_due_command(runner, db):
    result = runner.invoke(lms_commands, ["jobs", "run-due", "--task", "test.add_unit", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["tasks"][0]["ran"] is True
    result = runner.invoke(lms_commands, ["jobs", "run-due", "--task", "test.add_unit"])
    assert result.exit_code == 0 and "test.add_unit: not due" in result.output
    result = runner.invoke(lms_commands, ["jobs", "run-due", "--task", "test.broken"])
    assert result.exit_code == 1 and "failed: RuntimeError: boom" in result.output
    result = runner.invoke(lms_commands, ["jobs", "run-due", "--task", "nope"])
    assert result.exit_code == 2 and "unknown periodic task 'nope'" in result.output
    listing = runner.invoke(lms_commands, ["jobs", "tasks"]).output
    assert "exams.finish_overdue\tevery 0:01:00\tnever ran" in listing
    assert "test.add_unit\tevery 1:00:00\tlast started" in listing
