"""Completing a course writes exactly one training-ledger row, whatever races."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.courses import services
from lms.courses.models import CompletionRule, CourseRun, RunStatus
from lms.db import utcnow
from lms.training.models import Assignment, LedgerEntry


def test_completion_writes_one_ledger_row(app, db, create_employee, create_course):
    """A completed run writes one ledger row with the course's programme, hours and title."""
    employee = create_employee()
    course = create_course(hours="3.5", programme="safety")
    with app.app_context():
        run = services.start_run(db, employee, course)
        assert services.complete_run(db, run) is True
        assert services.complete_run(db, run) is False
        db.commit()
    (entry,) = db.scalars(sa.select(LedgerEntry)).all()
    assert (entry.programme, str(entry.hours), entry.title) == ("safety", "3.5", course.title)
    assert entry.form.value == "网络" and entry.source.value == "online" and entry.passed


def test_two_simultaneous_completions_give_one_row(app, create_employee, create_course, db):
    """Two requests completing one run at the same moment give one row, on both databases."""
    employee = create_employee()
    course = create_course()
    with app.app_context():
        run = services.start_run(db, employee, course)
        db.commit()
    run_id = run.id
    database = app.extensions["lms"].db
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def complete() -> None:
        try:
            with app.app_context(), database.transaction() as session:
                barrier.wait(timeout=10)
                outcomes.append(services.complete_run(session, session.get(CourseRun, run_id)))
        except Exception as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=complete) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(map(repr, outcomes)) == ["False", "True"]
    assert db.scalar(sa.select(sa.func.count()).select_from(LedgerEntry)) == 1


def test_heartbeats_credit_at_most_the_cap(app, db, create_employee, create_course):
    """A heartbeat credits the time since the previous one, capped; a hidden tab earns nothing."""
    employee = create_employee()
    course = create_course(rule=CompletionRule.min_time, min_seconds=40, lessons=1)
    lesson_id = course.lessons[0].id
    start = utcnow()
    with app.app_context():
        run = services.start_run(db, employee, course)
        services.view_lesson(db, run, lesson_id, now=start)
        services.heartbeat(db, run, lesson_id, now=start + timedelta(seconds=15))
        progress = services.heartbeat(db, run, lesson_id, now=start + timedelta(seconds=30))
        assert progress.seconds == 30 and progress.done_at is None
        # The tab was hidden for ten minutes: only the cap is credited.
        progress = services.heartbeat(db, run, lesson_id, now=start + timedelta(minutes=10))
        assert progress.seconds == 30 + services.MAX_BEAT_SECONDS
        assert progress.done_at is not None
        assert services.all_lessons_done(db, run)


def test_viewed_rule_and_assignment_completion(app, db, create_employee, create_course):
    """With the viewed rule, opening every lesson is enough; completion closes the assignment."""
    employee = create_employee()
    course = create_course(lessons=2)
    db.add(Assignment(employee_id=employee.id, course_id=course.id))
    db.commit()
    with app.app_context():
        run = services.start_run(db, employee, course)
        services.view_lesson(db, run, course.lessons[0].id)
        assert not services.all_lessons_done(db, run)
        services.view_lesson(db, run, course.lessons[1].id)
        assert services.all_lessons_done(db, run)
        services.complete_run(db, run)
        db.commit()
    assert db.scalar(sa.select(Assignment.completed_at)) is not None
    assert run.status is RunStatus.completed


def test_a_run_keeps_the_version_it_started_on(app, db, create_employee, create_course):
    """Editing and republishing a course leaves a started run on its own version."""
    employee = create_employee()
    course = create_course(lessons=1)
    with app.app_context():
        run = services.start_run(db, employee, course)
        course.lessons[0].title = "改过的标题"
        services.publish(db, course, actor=None)
        db.commit()
        assert run.version == 1 and course.current_version == 2
        old = services.version_of(db, course.id, run.version)
        assert old.snapshot["lessons"][0]["title"] == "第1课"


def test_a_draft_cannot_be_studied(app, db, create_employee, create_course):
    """Only published courses start runs."""
    employee = create_employee()
    course = create_course(published=False)
    with app.app_context(), pytest.raises(ValueError):
        services.start_run(db, employee, course)


def test_heartbeat_credit_is_rounded(app, db, create_employee, create_course):
    """Beats slightly under the interval apart still earn their time (no truncation to 0)."""
    employee = create_employee()
    course = create_course(rule=CompletionRule.min_time, min_seconds=3, lessons=1)
    lesson_id = course.lessons[0].id
    start = utcnow()
    with app.app_context():
        run = services.start_run(db, employee, course)
        services.view_lesson(db, run, lesson_id, now=start)
        for beat in range(1, 4):
            progress = services.heartbeat(
                db, run, lesson_id, now=start + timedelta(seconds=beat * 0.95)
            )
        assert progress.seconds == 3 and progress.done_at is not None
