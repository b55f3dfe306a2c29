"""The training matrix: post x required courses x renewal cycle, kept true by itself.

:func:`sync` makes the assignments match the matrix, for some people (when they join, change
post or unit, or leave: the org services call it in the same transaction) or for everyone (the
daily job ``training.matrix``, which catches anything missed, such as certificates and
completions growing old). Running it twice changes nothing the second time:

- someone whose post requires a course gets an assignment of it (origin ``matrix``) when they
  have never completed it (due ``due_days`` after today), or when the renewal falls due within
  the lead time: ``renewal_months`` after their last completion, or the end of their valid
  certificate of the course if that is sooner (due on that day);
- their open matrix assignments close when their post no longer requires the course or they
  have left. Assignments made by hand are never closed by the matrix.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.certificates.models import Certificate, CertificateStatus
from lms.certificates.services import add_months
from lms.courses.models import Course, CourseStatus
from lms.db import utcnow
from lms.org.models import Employee, EmploymentStatus, Post
from lms.training.assignments import close_assignments, insert_assignments
from lms.training.models import Assignment, LedgerEntry, MatrixRequirement

#: people synchronised per round of queries in a full run
CHUNK = 2000


@dataclass
class SyncResult:
    created: int = 0
    closed: int = 0


def requirements(db: Session) -> list[tuple[MatrixRequirement, Post, Course]]:
    """Every cell of the matrix, by post then course code."""
    return list(
        db.execute(
            sa.select(MatrixRequirement, Post, Course)
            .join(Post, Post.id == MatrixRequirement.post_id)
            .join(Course, Course.id == MatrixRequirement.course_id)
            .order_by(Post.name, Course.code)
        ).all()
    )


def due_date(
    *,
    today: date,
    last_done: date | None,
    certificate_until: date | None,
    renewal_months: int,
    due_days: int,
    lead_days: int,
) -> date | None:
    """When the person must (again) complete the course, if an assignment is due now; None
    when nothing is to be assigned yet."""
    if last_done is None and certificate_until is None:
        return today + timedelta(days=due_days)
    if not renewal_months and certificate_until is None:
        return None  # done once, and once is enough
    renew_on = add_months(last_done, renewal_months) if last_done and renewal_months else None
    if certificate_until is not None:
        renew_on = min(renew_on, certificate_until) if renew_on else certificate_until
    if renew_on is None or renew_on - timedelta(days=lead_days) > today:
        return None
    return max(renew_on, today)


def sync(
    db: Session,
    *,
    today: date,
    employee_ids: Collection[int] | None = None,
    lead_days: int = 90,
    actor: Employee | None = None,
    now: datetime | None = None,
) -> SyncResult:
    """Make ``employee_ids``' matrix assignments (everyone's, when None) match the matrix on
    ``today``; audited when anything changed."""
    now = now or utcnow()
    result = SyncResult()
    if employee_ids is None:
        ids = list(db.scalars(sa.select(Employee.id).order_by(Employee.id)))
    else:
        ids = sorted(set(employee_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        result.closed += _close_unrequired(db, chunk, now)
        result.created += _create_missing(db, chunk, today, lead_days, now)
    if result.created or result.closed:
        audit(
            db,
            actor=actor,
            action="assignment.matrix",
            object_type="matrix",
            object_id=None,
            summary=f"{result.created} assigned, {result.closed} closed",
            after={
                "created": result.created,
                "closed": result.closed,
                "employee_ids": ids[:200] if employee_ids is not None else None,
            },
        )
    db.flush()
    return result


def _close_unrequired(db: Session, ids: list[int], now: datetime) -> int:
    required = (
        sa.select(MatrixRequirement.id)
        .where(
            MatrixRequirement.post_id == Employee.post_id,
            MatrixRequirement.course_id == Assignment.course_id,
        )
        .exists()
    )
    stale = db.scalars(
        sa.select(Assignment.id)
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(
            Assignment.employee_id.in_(ids),
            Assignment.origin == "matrix",
            Assignment.completed_at.is_(None),
            Assignment.closed_at.is_(None),
            sa.or_(Employee.status == EmploymentStatus.left, ~required),
        )
    ).all()
    return close_assignments(db, stale, now=now)


def _create_missing(db: Session, ids: list[int], today: date, lead_days: int, now: datetime) -> int:
    has_open = (
        sa.select(Assignment.id)
        .where(
            Assignment.employee_id == Employee.id,
            Assignment.course_id == MatrixRequirement.course_id,
            Assignment.completed_at.is_(None),
            Assignment.closed_at.is_(None),
        )
        .exists()
    )
    last_done = (
        sa.select(sa.func.max(LedgerEntry.end_on))
        .where(
            LedgerEntry.employee_id == Employee.id,
            LedgerEntry.course_id == MatrixRequirement.course_id,
            LedgerEntry.passed.is_(True),
        )
        .scalar_subquery()
    )
    certificate_until = (
        sa.select(sa.func.min(Certificate.valid_until))
        .where(
            Certificate.employee_id == Employee.id,
            Certificate.course_id == MatrixRequirement.course_id,
            Certificate.status == CertificateStatus.valid,
        )
        .scalar_subquery()
    )
    rows = db.execute(
        sa.select(
            Employee.id,
            MatrixRequirement.course_id,
            MatrixRequirement.renewal_months,
            MatrixRequirement.due_days,
            last_done,
            certificate_until,
        )
        .join(MatrixRequirement, MatrixRequirement.post_id == Employee.post_id)
        .join(Course, Course.id == MatrixRequirement.course_id)
        .where(
            Employee.id.in_(ids),
            Employee.status != EmploymentStatus.left,
            Course.status == CourseStatus.published,
            ~has_open,
        )
    ).all()
    new = []
    for employee_id, course_id, renewal_months, due_days, done_on, until in rows:
        due = due_date(
            today=today,
            last_done=done_on,
            certificate_until=until,
            renewal_months=renewal_months,
            due_days=due_days,
            lead_days=lead_days,
        )
        if due is not None:
            new.append(
                {
                    "employee_id": employee_id,
                    "course_id": course_id,
                    "due_on": due,
                    "note": "",
                    "origin": "matrix",
                    "pack_id": None,
                    "assigned_by_id": None,
                    "created_at": now,
                }
            )
    return insert_assignments(db, new)


def follow_people(
    db: Session, employee_ids: Collection[int], *, actor: Employee | None
) -> SyncResult:
    """:func:`sync` for people who just joined, moved or left (called by the org services in
    their transaction, so the assignments come the same day), with today's date in the bureau
    and the lead time (``LMS_CERTIFICATE_EXPIRING_DAYS``) from the app's settings."""
    from flask import current_app, has_app_context

    from lms.i18n import local_date

    lead_days = 90
    if has_app_context():
        lead_days = int(current_app.config["LMS_CERTIFICATE_EXPIRING_DAYS"])
    return sync(db, today=local_date(), employee_ids=employee_ids, lead_days=lead_days, actor=actor)
