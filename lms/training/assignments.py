"""Assignments: "these courses, for these people, by this date".

A manager (their own subtree only) or HR (anywhere) assigns a course, or a pack of courses, to a
unit subtree, a post within it, or named people. Each becomes one row per person and course;
someone who already has the course open keeps the assignment they have. An assignment is
completed by the ledger (:func:`complete_assignments`, called by the one ledger writer), closed
when the matrix no longer asks for it, and is overdue once its due date has passed.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.courses.models import Course, CourseRun, RunStatus
from lms.db import utcnow
from lms.org.models import Employee, EmploymentStatus, Post, Unit
from lms.security import employee_scope, subtree_condition, unit_scope
from lms.training.models import Assignment, CoursePack


class AssignmentState(enum.StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    completed = "completed"
    overdue = "overdue"
    closed = "closed"


class OutOfScope(LookupError):
    """A unit, person or course the actor may not assign to (the view answers 404)."""


@dataclass(frozen=True)
class Target:
    """Who an assignment is for: a unit's subtree (optionally only one post in it), or named
    people (by id)."""

    unit_id: int | None = None
    post_id: int | None = None
    employee_ids: tuple[int, ...] = ()


@dataclass
class AssignResult:
    people: int = 0
    created: int = 0
    #: person-course pairs that had an open assignment already (kept as they were)
    already: int = 0


def insert_assignments(db: Session, rows: list[dict]) -> int:
    """Insert assignment rows, skipping any person-course pair with an open one (the partial
    unique index decides, so two assigners at once still give one); how many were inserted."""
    if not rows:
        return 0
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    inserted = 0
    for start in range(0, len(rows), 500):
        statement = (
            insert(Assignment)
            .values(rows[start : start + 500])
            .on_conflict_do_nothing(
                index_elements=["employee_id", "course_id"],
                index_where=sa.text("completed_at IS NULL AND closed_at IS NULL"),
            )
        )
        inserted += len(db.execute(statement.returning(Assignment.id)).all())
    return inserted


def target_people(db: Session, actor: Employee, target: Target) -> list[int]:
    """The ids of the people (not leavers) ``target`` names, checked against ``actor``'s scope:
    :class:`OutOfScope` for a unit outside it, an unknown post or a person ``actor`` cannot see."""
    query = (
        sa.select(Employee.id)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(Employee.status != EmploymentStatus.left, employee_scope(actor))
    )
    if target.employee_ids:
        wanted = set(target.employee_ids)
        found = set(db.scalars(query.where(Employee.id.in_(wanted))))
        if found != wanted:
            raise OutOfScope("person")
        return sorted(found)
    if target.unit_id is None:
        raise OutOfScope("unit")
    unit = db.scalars(sa.select(Unit).where(Unit.id == target.unit_id, unit_scope(actor))).first()
    if unit is None:
        raise OutOfScope("unit")
    query = query.where(subtree_condition(unit.path))
    if target.post_id is not None:
        if db.get(Post, target.post_id) is None:
            raise OutOfScope("post")
        query = query.where(Employee.post_id == target.post_id)
    return list(db.scalars(query.order_by(Employee.id)))


def assign(
    db: Session,
    *,
    actor: Employee,
    courses: Sequence[Course],
    target: Target,
    due_on: date | None,
    note: str = "",
    pack: CoursePack | None = None,
    now: datetime | None = None,
) -> AssignResult:
    """Assign each of ``courses`` to everyone ``target`` names (within ``actor``'s scope, else
    :class:`OutOfScope`), due on ``due_on``; audited once with the counts."""
    now = now or utcnow()
    people = target_people(db, actor, target)
    rows = [
        {
            "employee_id": person,
            "course_id": course.id,
            "due_on": due_on,
            "note": note[:500],
            "origin": "pack" if pack is not None else "manual",
            "pack_id": pack.id if pack is not None else None,
            "assigned_by_id": actor.id,
            "created_at": now,
        }
        for course in courses
        for person in people
    ]
    created = insert_assignments(db, rows)
    result = AssignResult(people=len(people), created=created, already=len(rows) - created)
    audit(
        db,
        actor=actor,
        action="assignment.create",
        object_type="pack" if pack is not None else "course",
        object_id=pack.code if pack is not None else ",".join(c.code for c in courses)[:64],
        summary=f"{result.created} new, {result.already} already open, {result.people} people",
        after={
            "courses": [c.code for c in courses],
            "unit_id": target.unit_id,
            "post_id": target.post_id,
            "employee_ids": list(target.employee_ids)[:200],
            "due_on": due_on.isoformat() if due_on else None,
            "note": note[:500],
            "created": created,
        },
    )
    db.flush()
    return result


def complete_assignments(
    db: Session, employee_id: int, course_id: int, *, now: datetime | None = None
) -> None:
    """The person's open assignments of the course are completed (the ledger shows it done)."""
    db.execute(
        sa.update(Assignment)
        .where(
            Assignment.employee_id == employee_id,
            Assignment.course_id == course_id,
            Assignment.completed_at.is_(None),
            Assignment.closed_at.is_(None),
        )
        .values(completed_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def close_assignments(
    db: Session, assignment_ids: Collection[int], *, now: datetime | None = None
) -> int:
    """Close open assignments (no longer asked for); how many were closed."""
    if not assignment_ids:
        return 0
    return (
        db.execute(
            sa.update(Assignment)
            .where(
                Assignment.id.in_(list(assignment_ids)),
                Assignment.completed_at.is_(None),
                Assignment.closed_at.is_(None),
            )
            .values(closed_at=now or utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )


def state_of(assignment: Assignment, *, started: bool, today: date) -> AssignmentState:
    """An assignment's state on ``today``: completed, closed, overdue (due date passed), in
    progress (the course is started), or not started."""
    if assignment.completed_at is not None:
        return AssignmentState.completed
    if assignment.closed_at is not None:
        return AssignmentState.closed
    if assignment.due_on is not None and assignment.due_on < today:
        return AssignmentState.overdue
    return AssignmentState.in_progress if started else AssignmentState.not_started


def started_courses(db: Session, pairs: Collection[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which (employee id, course id) pairs have a course run under way."""
    if not pairs:
        return set()
    employees = {employee for employee, _course in pairs}
    rows = db.execute(
        sa.select(CourseRun.employee_id, CourseRun.course_id).where(
            CourseRun.employee_id.in_(employees), CourseRun.status == RunStatus.in_progress
        )
    )
    return {(e, c) for e, c in rows} & set(pairs)
