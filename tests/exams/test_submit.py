"""Submitting exactly once under races, and what a pass records."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from lms.courses.models import Course, CourseRun, Lesson, RunStatus
from lms.courses.services import publish, start_run
from lms.exams import services
from lms.exams.models import AttemptAnswer, AttemptState, ExamAttempt
from lms.training.models import LedgerEntry
from tests.exams.conftest import NOW, run_threads


def right_index(item: dict[str, Any]) -> int:
    return next(i for i, text in enumerate(item["question"]["options"]) if text.startswith("RIGHT"))


def test_fifty_parallel_submits_finish_and_grade_once(
    app: Any,
    db: Any,
    fixed_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    paper = fixed_paper(2)
    attempt = services.start_attempt(db, paper, create_employee(), now=NOW)
    item = services.public_items(db, attempt)[0]
    services.save_answer(db, attempt, item["key"], right_index(item), now=NOW)
    db.commit()

    def work(session: Any, n: int) -> bool:
        return services.submit(session, session.get(ExamAttempt, attempt.id), now=NOW)

    results = run_threads(app, 50, work)
    errors = [r for r in results if isinstance(r, Exception)]
    assert not errors, errors[:3]
    assert results.count(True) == 1 and results.count(False) == 49
    db.expire_all()
    finished = db.get(ExamAttempt, attempt.id)
    assert finished.state is AttemptState.finished and finished.score == Decimal(10)
    graded = db.scalars(
        sa.select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id)
    ).all()
    assert [a.points_awarded for a in graded] == [Decimal(10)]


def test_a_submit_racing_a_save_grades_with_the_last_saved_answer(
    app: Any,
    db: Any,
    fixed_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    for _ in range(4):
        paper = fixed_paper(1)
        attempt = services.start_attempt(db, paper, create_employee(), now=NOW)
        item = services.public_items(db, attempt)[0]
        right = right_index(item)
        services.save_answer(db, attempt, item["key"], (right + 1) % 4, now=NOW)
        db.commit()

        def work(
            session: Any,
            n: int,
            attempt_id: int = attempt.id,
            key: str = item["key"],
            right: int = right,
        ) -> Any:
            mine = session.get(ExamAttempt, attempt_id)
            if n == 0:
                return services.save_answer(session, mine, key, right, now=NOW)
            return services.submit(session, mine, now=NOW)

        saved, submitted = run_threads(app, 2, work)
        assert submitted is True
        db.expire_all()
        finished = db.get(ExamAttempt, attempt.id)
        if isinstance(saved, services.AttemptClosed):
            assert finished.score == Decimal(0)  # the save came after the submit: refused
        else:
            assert saved is None and finished.score == Decimal(10)


def make_course(db: Any) -> Course:
    course = Course(
        code="EXAMC", title="带考试的课程", programme="service_standards", hours=Decimal("2.0")
    )
    course.lessons = [Lesson(title="第1课", body="内容", position=1)]
    db.add(course)
    db.flush()
    publish(db, course, actor=None)
    db.commit()
    return course


def test_passing_completes_the_course_run_once(
    app: Any,
    db: Any,
    fixed_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    course = make_course(db)
    employee = create_employee()
    run = start_run(db, employee, course)
    paper = fixed_paper(1, course_id=course.id, pass_mark=Decimal(60))
    attempt = services.start_attempt(db, paper, employee, now=NOW)
    item = services.public_items(db, attempt)[0]
    services.save_answer(db, attempt, item["key"], right_index(item), now=NOW)
    db.commit()
    results = run_threads(
        app,
        5,
        lambda session, n: services.submit(session, session.get(ExamAttempt, attempt.id), now=NOW),
    )
    assert results.count(True) == 1
    db.expire_all()
    assert db.get(CourseRun, run.id).status is RunStatus.completed
    entries = db.scalars(sa.select(LedgerEntry).where(LedgerEntry.employee_id == employee.id)).all()
    assert len(entries) == 1 and entries[0].score == Decimal(10)


def test_a_failed_or_practice_exam_records_nothing(
    db: Any,
    fixed_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    course = make_course(db)
    employee = create_employee()
    run = start_run(db, employee, course)
    practice = fixed_paper(1, course_id=course.id, practice=True)
    failing = fixed_paper(1, course_id=course.id)
    for paper, answer_right in ((practice, True), (failing, False)):
        attempt = services.start_attempt(db, paper, employee, now=NOW)
        item = services.public_items(db, attempt)[0]
        choice = right_index(item) if answer_right else (right_index(item) + 1) % 4
        services.save_answer(db, attempt, item["key"], choice, now=NOW)
        services.submit(db, attempt, now=NOW)
        assert attempt.passed is answer_right
    db.commit()
    assert db.get(CourseRun, run.id).status is RunStatus.in_progress
    assert not db.scalars(sa.select(LedgerEntry)).all()
