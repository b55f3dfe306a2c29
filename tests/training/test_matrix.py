"""The training matrix: a person moved to a post in the matrix gets its assignments the same day,
moved out the open ones close; renewals and expiring certificates fall due within the lead time;
the daily run catches what was missed and changes nothing when run again."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from lms.certificates.models import Certificate
from lms.org.models import EmploymentStatus, Post, Role
from lms.org.services.people import move_employee, update_employee
from lms.training.matrix import due_date, sync
from lms.training.models import Assignment, LedgerSource, MatrixRequirement, TrainingForm

TODAY = date(2026, 11, 29)
NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


@pytest.fixture
def post(db):
    """``post(name, *courses, renewal_months=0, due_days=30)``: a post and its matrix row(s)."""

    def make(name: str, *courses, renewal_months: int = 0, due_days: int = 30) -> Post:
        row = Post(name=name)
        db.add(row)
        db.flush()
        for course in courses:
            db.add(
                MatrixRequirement(
                    post_id=row.id,
                    course_id=course.id,
                    renewal_months=renewal_months,
                    due_days=due_days,
                )
            )
        db.commit()
        return row

    return make


def open_assignments(db, employee) -> list[Assignment]:
    db.rollback()
    return list(
        db.scalars(
            sa.select(Assignment)
            .where(
                Assignment.employee_id == employee.id,
                Assignment.completed_at.is_(None),
                Assignment.closed_at.is_(None),
            )
            .order_by(Assignment.course_id)
        )
    )


def test_due_date_rules() -> None:
    """Never done: due after due_days; done once with no renewal: nothing; renewal or the
    certificate's end within the lead time: due that day (today at the latest)."""
    rules = {"today": TODAY, "renewal_months": 12, "due_days": 30, "lead_days": 90}
    assert due_date(last_done=None, certificate_until=None, **rules) == TODAY + timedelta(30)
    assert (
        due_date(
            **{**rules, "renewal_months": 0}, last_done=date(2020, 1, 1), certificate_until=None
        )
        is None
    )
    assert due_date(last_done=date(2026, 6, 1), certificate_until=None, **rules) is None
    assert due_date(last_done=date(2026, 1, 15), certificate_until=None, **rules) == date(
        2027, 1, 15
    )
    assert due_date(last_done=date(2024, 1, 1), certificate_until=None, **rules) == TODAY
    soon = date(2027, 1, 10)
    assert due_date(last_done=date(2026, 6, 1), certificate_until=soon, **rules) == soon


def test_moved_in_gets_assignments_the_same_day_moved_out_they_close(
    app, db, create_employee, create_unit, create_course, post
):
    """A move to a matrix post assigns its courses at once; a move out closes the open ones;
    a manual assignment of the same course survives the move."""
    first, second, third = create_course(), create_course(), create_course()
    meter_reader = post("抄表员", first, second, due_days=14)
    counter_clerk = post("营业窗口", second)
    hr = create_employee(role=Role.hr)
    person = create_employee()
    unit = person.unit
    with app.app_context():
        move_employee(db, hr, person, unit=unit, post=meter_reader, effective_on=TODAY)
        db.commit()
    rows = open_assignments(db, person)
    assert [(r.course_id, r.origin) for r in rows] == [(first.id, "matrix"), (second.id, "matrix")]
    assert rows[0].due_on >= date.today() + timedelta(days=14) - timedelta(days=1)

    db.add(Assignment(employee_id=person.id, course_id=third.id, origin="manual"))
    db.commit()
    with app.app_context():
        move_employee(db, hr, person, unit=unit, post=counter_clerk, effective_on=TODAY)
        db.commit()
    assert [r.course_id for r in open_assignments(db, person)] == [second.id, third.id]

    with app.app_context():
        update_employee(db, hr, person, {"status": EmploymentStatus.left})
        db.commit()
    assert [r.course_id for r in open_assignments(db, person)] == [third.id]


def test_daily_run_catches_up_and_is_idempotent(
    app, db, create_employee, create_course, post, create_ledger_entry
):
    """People put in a post without the services (an old import, a direct change) are caught by
    the daily run; a completed course is not assigned again until its renewal; a second run
    changes nothing."""
    course = create_course()
    renewal = post("配电运维", course, renewal_months=12)
    done_long_ago, done_lately, never, cert_ending = (create_employee() for _ in range(4))
    for person in (done_long_ago, done_lately, never, cert_ending):
        person.post_id = renewal.id
    db.commit()
    for person, day in (
        (done_long_ago, date(2025, 6, 1)),
        (done_lately, date(2026, 10, 1)),
        (cert_ending, date(2026, 10, 1)),
    ):
        create_ledger_entry(person, course, day)
    db.add(
        Certificate(
            serial="T-1",
            verification_code="v" * 22,
            employee_id=cert_ending.id,
            course_id=course.id,
            design="qualification",
            kind="qualification",
            title=course.title,
            issued_on=date(2024, 1, 20),
            valid_until=date(2027, 1, 20),
        )
    )
    db.commit()
    with app.app_context():
        first = sync(db, today=TODAY, lead_days=90, now=NOW)
        db.commit()
        second = sync(db, today=TODAY, lead_days=90, now=NOW)
        db.commit()
    assert (first.created, first.closed) == (3, 0)
    assert (second.created, second.closed) == (0, 0)
    due = {
        a.employee_id: a.due_on
        for a in db.scalars(sa.select(Assignment).where(Assignment.course_id == course.id))
    }
    assert due == {
        done_long_ago.id: TODAY,  # renewal passed (2026-06-01): due now
        never.id: TODAY + timedelta(days=30),
        cert_ending.id: date(2027, 1, 20),  # the certificate ends within 90 days
    }


def test_completion_completes_matrix_assignments(
    app, db, create_employee, create_course, post, create_ledger_entry
):
    """A passed ledger row of the course (from any source) completes the open assignment."""
    course = create_course()
    person = create_employee()
    person.post_id = post("线路工", course).id
    db.commit()
    with app.app_context():
        sync(db, today=TODAY, employee_ids=[person.id])
        db.commit()
    assert len(open_assignments(db, person)) == 1
    create_ledger_entry(
        person, course, TODAY, form=TrainingForm.classroom, source=LedgerSource.session
    )
    assert open_assignments(db, person) == []
    with app.app_context():
        assert sync(db, today=TODAY, employee_ids=[person.id]).created == 0
