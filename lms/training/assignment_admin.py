"""The administration pages' services: the assignments list (scoped, filtered, states in SQL),
closing an assignment by hand, the training matrix as a grid and HR's changes to it.

Assigning itself is :func:`lms.training.assignments.assign`; keeping the matrix's assignments
true is :mod:`lms.training.matrix`. These functions only read for the pages and record the few
changes the pages make, each audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from lms.audit.services import record as audit
from lms.courses.models import Course, CourseRun, CourseStatus, RunStatus
from lms.db import Page, utcnow
from lms.org.models import Employee, EmploymentStatus, Post, Unit
from lms.security import employee_scope, subtree_condition, valid_id
from lms.training.assignments import (
    AssignmentState,
    close_assignments,
    started_courses,
    state_of,
)
from lms.training.matrix import SyncResult, follow_people, requirements
from lms.training.models import Assignment, CoursePack, CoursePackItem, MatrixRequirement

#: origins a person may close by hand (the matrix's own close and open by themselves)
CLOSABLE_ORIGINS = ("manual", "pack")
MAX_PAGE = 1_000_000


# The assignments list --------------------------------------------------------------------------


@dataclass(frozen=True)
class AssignmentRow:
    """One line of the list: the assignment, its person and course, the pack's name and the
    assigner's name (if any), and its state today."""

    assignment: Assignment
    employee: Employee
    course: Course
    pack_name: str | None
    assigned_by: str | None
    state: AssignmentState

    @property
    def closable(self) -> bool:
        return self.assignment.origin in CLOSABLE_ORIGINS and self.state not in (
            AssignmentState.completed,
            AssignmentState.closed,
        )


def _state_condition(state: AssignmentState, today: date) -> sa.ColumnElement[bool]:
    """The SQL twin of :func:`lms.training.assignments.state_of`."""
    is_open = sa.and_(Assignment.completed_at.is_(None), Assignment.closed_at.is_(None))
    overdue = sa.and_(Assignment.due_on.is_not(None), Assignment.due_on < today)
    started = (
        sa.select(CourseRun.id)
        .where(
            CourseRun.employee_id == Assignment.employee_id,
            CourseRun.course_id == Assignment.course_id,
            CourseRun.status == RunStatus.in_progress,
        )
        .exists()
    )
    if state is AssignmentState.completed:
        return Assignment.completed_at.is_not(None)
    if state is AssignmentState.closed:
        return sa.and_(Assignment.completed_at.is_(None), Assignment.closed_at.is_not(None))
    if state is AssignmentState.overdue:
        return sa.and_(is_open, overdue)
    if state is AssignmentState.in_progress:
        return sa.and_(is_open, ~overdue, started)
    return sa.and_(is_open, ~overdue, ~started)


def search_assignments(
    db: Session,
    actor: Employee,
    *,
    today: date,
    course_id: int | None = None,
    unit: Unit | None = None,
    state: AssignmentState | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page[AssignmentRow]:
    """The assignments of the people ``actor`` may see (a manager: their subtree; HR: all),
    filtered by course, unit subtree and state on ``today`` (none given: every state but
    closed); soonest due first, one page at a time."""
    conditions: list[sa.ColumnElement[bool]] = [employee_scope(actor)]
    if course_id is not None:
        conditions.append(Assignment.course_id == course_id)
    if unit is not None:
        conditions.append(subtree_condition(unit.path))
    if state is not None:
        conditions.append(_state_condition(state, today))
    else:
        conditions.append(
            sa.or_(Assignment.closed_at.is_(None), Assignment.completed_at.is_not(None))
        )
    scoped = (
        sa.select(Assignment.id)
        .join(Employee, Employee.id == Assignment.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(*conditions)
    )
    total = db.scalar(sa.select(sa.func.count()).select_from(scoped.subquery())) or 0
    page = min(max(1, page), MAX_PAGE)
    assigner = aliased(Employee)
    rows = db.execute(
        sa.select(Assignment, Employee, Course, CoursePack.name, assigner.name)
        .join(Employee, Employee.id == Assignment.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(Course, Course.id == Assignment.course_id)
        .outerjoin(CoursePack, CoursePack.id == Assignment.pack_id)
        .outerjoin(assigner, assigner.id == Assignment.assigned_by_id)
        .where(*conditions)
        .order_by(
            Assignment.due_on.is_(None),
            Assignment.due_on,
            Employee.emp_no,
            Course.code,
            Assignment.id,
        )
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    started = started_courses(db, {(a.employee_id, a.course_id) for a, *_rest in rows})
    items = [
        AssignmentRow(
            assignment,
            employee,
            course,
            pack_name,
            assigned_by,
            state_of(
                assignment,
                started=(assignment.employee_id, assignment.course_id) in started,
                today=today,
            ),
        )
        for assignment, employee, course, pack_name, assigned_by in rows
    ]
    return Page(items, total, page, page_size)


def filter_courses(db: Session) -> Sequence[Course]:
    """Courses to filter the list by: every course that is or was published."""
    return db.scalars(
        sa.select(Course).where(Course.status != CourseStatus.draft).order_by(Course.code)
    ).all()


def assignment_in_scope(db: Session, actor: Employee, assignment_id: int) -> Assignment | None:
    """The assignment if its person is in ``actor``'s scope; None otherwise (unknown alike)."""
    if not valid_id(assignment_id):
        return None
    return db.scalar(
        sa.select(Assignment)
        .join(Employee, Employee.id == Assignment.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(Assignment.id == assignment_id, employee_scope(actor))
    )


def close_assignment(
    db: Session, actor: Employee, assignment: Assignment, *, now: datetime | None = None
) -> bool:
    """Close (cancel) an open assignment made by hand or as part of a pack; audited. False
    when it is not open or came from the matrix (which closes its own)."""
    if assignment.origin not in CLOSABLE_ORIGINS:
        return False
    now = now or utcnow()
    closed = close_assignments(db, [assignment.id], now=now)
    if not closed:
        return False
    audit(
        db,
        actor=actor,
        action="assignment.close",
        object_type="assignment",
        object_id=assignment.id,
        summary=f"employee {assignment.employee_id}, course {assignment.course_id}",
        before={"closed_at": None, "due_on": _iso(assignment.due_on)},
        after={"closed_at": now.isoformat(), "origin": assignment.origin},
    )
    db.flush()
    db.refresh(assignment)
    return True


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# Course packs ----------------------------------------------------------------------------------


def all_packs(db: Session) -> list[tuple[CoursePack, list[Course]]]:
    """Every pack, by name, with its courses in order."""
    packs = db.scalars(sa.select(CoursePack).order_by(CoursePack.name, CoursePack.code)).all()
    rows = db.execute(
        sa.select(CoursePackItem.pack_id, Course)
        .join(Course, Course.id == CoursePackItem.course_id)
        .order_by(CoursePackItem.pack_id, CoursePackItem.position)
    ).all()
    courses: dict[int, list[Course]] = {}
    for pack_id, course in rows:
        courses.setdefault(pack_id, []).append(course)
    return [(pack, courses.get(pack.id, [])) for pack in packs]


def pack_courses(db: Session, pack: CoursePack) -> list[Course]:
    """The pack's published courses, in order (a retired or draft course is not assigned)."""
    return list(
        db.scalars(
            sa.select(Course)
            .join(CoursePackItem, CoursePackItem.course_id == Course.id)
            .where(CoursePackItem.pack_id == pack.id, Course.status == CourseStatus.published)
            .order_by(CoursePackItem.position)
        )
    )


# The training matrix ---------------------------------------------------------------------------


@dataclass
class MatrixGrid:
    """The matrix as a grid: posts (rows) and courses (columns) that have a requirement, each
    requirement by (post id, course id), and how many people (not leavers) hold each post."""

    posts: list[Post] = field(default_factory=list)
    courses: list[Course] = field(default_factory=list)
    cells: dict[tuple[int, int], MatrixRequirement] = field(default_factory=dict)
    headcount: dict[int, int] = field(default_factory=dict)


def matrix_grid(db: Session) -> MatrixGrid:
    """Every requirement of the matrix, laid out as a grid."""
    grid = MatrixGrid()
    posts: dict[int, Post] = {}
    courses: dict[int, Course] = {}
    for requirement, post, course in requirements(db):
        posts.setdefault(post.id, post)
        courses.setdefault(course.id, course)
        grid.cells[(post.id, course.id)] = requirement
    grid.posts = sorted(posts.values(), key=lambda p: p.name)
    grid.courses = sorted(courses.values(), key=lambda c: c.code)
    if posts:
        grid.headcount = dict(
            db.execute(
                sa.select(Employee.post_id, sa.func.count())
                .where(
                    Employee.post_id.in_(list(posts)),
                    Employee.status != EmploymentStatus.left,
                )
                .group_by(Employee.post_id)
            ).all()
        )
    return grid


def people_in_post(db: Session, post_id: int) -> list[int]:
    """Everyone holding the post (leavers too: the matrix closes what they still have open)."""
    return list(db.scalars(sa.select(Employee.id).where(Employee.post_id == post_id)))


@dataclass
class MatrixChange:
    """What a change to the matrix did: ``created``, ``updated``, ``removed`` or ``unchanged``,
    and the assignments that followed for the people in the post."""

    outcome: str
    sync: SyncResult


def set_requirement(
    db: Session,
    actor: Employee,
    *,
    post: Post,
    course: Course,
    renewal_months: int,
    due_days: int,
) -> MatrixChange:
    """Add the requirement (post, course), or change its renewal and due days; audited, then
    the people in the post get (or lose) their assignments at once."""
    requirement = db.scalar(
        sa.select(MatrixRequirement).where(
            MatrixRequirement.post_id == post.id, MatrixRequirement.course_id == course.id
        )
    )
    after = {
        "post": post.name,
        "course": course.code,
        "renewal_months": renewal_months,
        "due_days": due_days,
    }
    if requirement is None:
        requirement = MatrixRequirement(
            post_id=post.id,
            course_id=course.id,
            renewal_months=renewal_months,
            due_days=due_days,
            created_by_id=actor.id,
        )
        db.add(requirement)
        outcome, before = "created", None
    elif (requirement.renewal_months, requirement.due_days) == (renewal_months, due_days):
        return MatrixChange("unchanged", SyncResult())
    else:
        before = {
            **after,
            "renewal_months": requirement.renewal_months,
            "due_days": requirement.due_days,
        }
        requirement.renewal_months = renewal_months
        requirement.due_days = due_days
        outcome = "updated"
    db.flush()
    audit(
        db,
        actor=actor,
        action=f"matrix.{'add' if outcome == 'created' else 'update'}",
        object_type="matrix_requirement",
        object_id=requirement.id,
        summary=f"{post.name} × {course.code}",
        before=before,
        after=after,
    )
    return MatrixChange(outcome, follow_people(db, people_in_post(db, post.id), actor=actor))


def remove_requirement(
    db: Session, actor: Employee, requirement: MatrixRequirement
) -> MatrixChange:
    """Remove a requirement; audited, then the open matrix assignments it made close."""
    post = db.get(Post, requirement.post_id)
    course = db.get(Course, requirement.course_id)
    before = {
        "post": post.name if post else None,
        "course": course.code if course else None,
        "renewal_months": requirement.renewal_months,
        "due_days": requirement.due_days,
    }
    audit(
        db,
        actor=actor,
        action="matrix.remove",
        object_type="matrix_requirement",
        object_id=requirement.id,
        summary=f"{before['post']} × {before['course']}",
        before=before,
        after=None,
    )
    post_id = requirement.post_id
    db.delete(requirement)
    db.flush()
    return MatrixChange("removed", follow_people(db, people_in_post(db, post_id), actor=actor))
