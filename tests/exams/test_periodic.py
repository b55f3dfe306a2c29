"""The periodic task finishes and grades attempts past their deadline and grace."""

from __future__ import annotations

from datetime import timedelta

from lms.exams import services
from lms.exams.models import AttemptState, ExamAttempt
from lms.jobs.schedule import run_due
from tests.exams.conftest import NOW


def test_run_due_finishes_overdue_attempts(app, db, fixed_paper, create_employee):
    paper = fixed_paper(2, time_limit_minutes=30, grace_seconds=60)
    late, on_time = create_employee(), create_employee()
    first = services.start_attempt(db, paper, late, now=NOW)
    second = services.start_attempt(db, paper, on_time, now=NOW + timedelta(minutes=20))
    db.commit()
    ids = (first.id, second.id)

    moment = NOW + timedelta(minutes=31, seconds=1)  # past the first's deadline and grace
    outcome = run_due(app, now=moment, names=["exams.finish_overdue"])
    assert outcome[0].result == {"finished": 1}
    db.rollback()
    db.expire_all()
    states = {a.id: a for a in db.query(ExamAttempt).filter(ExamAttempt.id.in_(ids))}
    assert states[ids[0]].state is AttemptState.finished and states[ids[0]].score == 0
    assert states[ids[1]].state is AttemptState.in_progress
    # within the minute nothing runs; later the second one goes too
    assert not run_due(app, now=moment + timedelta(seconds=30))[0].ran
    later = run_due(app, now=NOW + timedelta(hours=1), names=["exams.finish_overdue"])
    assert later[0].result == {"finished": 1}
