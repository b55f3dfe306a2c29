"""Employees one at a time: search, edit, move; posts; the home page's counts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.db import Page
from lms.org.models import (
    Employee,
    EmployeeMove,
    EmploymentStatus,
    Post,
    Unit,
)
from lms.security import can_change_role, employee_scope, unit_scope

Progress = Callable[[int, int], None]


MAX_PAGE = 1_000_000


def search_employees(
    db: Session,
    actor: Employee,
    *,
    query: str = "",
    unit: Unit | None = None,
    status: EmploymentStatus | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page[Employee]:
    """Employees that ``actor`` may see, filtered by 工号 prefix or name, unit subtree, status;
    ordered by 工号, one page at a time."""
    conditions: list[sa.ColumnElement[bool]] = [employee_scope(actor)]
    query = query.replace("\x00", "").strip()  # PostgreSQL refuses NUL in text
    if query:
        # A 工号 prefix as a range, so that the unique index serves it on every database.
        conditions.append(
            sa.or_(
                sa.and_(Employee.emp_no >= query, Employee.emp_no < query + "\uffff"),
                Employee.name.contains(query, autoescape=True),
            )
        )
    if unit is not None:
        conditions.append(Unit.path.startswith(unit.path, autoescape=True))
    if status is not None:
        conditions.append(Employee.status == status)
    base = sa.select(Employee).join(Unit, Employee.unit_id == Unit.id).where(*conditions)
    total = db.scalar(
        sa.select(sa.func.count()).select_from(base.with_only_columns(Employee.id).subquery())
    )
    page = min(max(1, page), MAX_PAGE)
    items = (
        db.scalars(base.order_by(Employee.emp_no).limit(page_size).offset((page - 1) * page_size))
        .unique()
        .all()
    )
    return Page(items, total or 0, page, page_size)


class RoleNotAllowed(PermissionError):
    """The acting user may not give or take this role (see ``security.can_change_role``)."""


def update_employee(
    db: Session, actor: Employee, employee: Employee, changes: dict[str, Any]
) -> dict[str, tuple[Any, Any]]:
    """Apply field changes (name, status, dates, management flag, role, staff kind); role
    changes and all others go to the audit log with before and after. Returns what changed.

    Raises :class:`RoleNotAllowed` when ``actor`` may not make this role change."""
    allowed = {
        "name",
        "status",
        "hired_on",
        "left_on",
        "is_manager",
        "role",
        "staff_kind",
        "locale",
    }
    if "role" in changes and not can_change_role(actor, employee.role, changes["role"]):
        raise RoleNotAllowed(employee.role, changes["role"])
    diff: dict[str, tuple[Any, Any]] = {}
    for key, value in changes.items():
        if key not in allowed:
            raise KeyError(key)
        if getattr(employee, key) != value:
            diff[key] = (getattr(employee, key), value)
            setattr(employee, key, value)
    if diff:

        def as_text(v: Any) -> str | None:
            return v.isoformat() if isinstance(v, date) else (None if v is None else str(v))

        audit(
            db,
            actor=actor,
            action="employee.role" if "role" in diff else "employee.update",
            object_type="employee",
            object_id=employee.emp_no,
            summary=", ".join(diff),
            before={k: as_text(v[0]) for k, v in diff.items()},
            after={k: as_text(v[1]) for k, v in diff.items()},
        )
        db.flush()
        if "status" in diff:  # a leaver's matrix assignments close; a returner's come back
            from lms.training.matrix import follow_people

            follow_people(db, [employee.id], actor=actor)
    return diff


def move_employee(
    db: Session,
    actor: Employee,
    employee: Employee,
    *,
    unit: Unit,
    post: Post | None,
    effective_on: date,
    note: str = "",
) -> EmployeeMove | None:
    """Move an employee to another unit and/or post, recorded with the date it takes effect."""
    if unit.id == employee.unit_id and (post.id if post else None) == employee.post_id:
        return None
    move = EmployeeMove(
        employee_id=employee.id,
        effective_on=effective_on,
        from_unit_id=employee.unit_id,
        to_unit_id=unit.id,
        from_post_id=employee.post_id,
        to_post_id=post.id if post else None,
        note=note,
        recorded_by_id=actor.id,
    )
    db.add(move)
    employee.unit_id, employee.unit = unit.id, unit
    employee.post_id, employee.post = (post.id, post) if post else (None, None)
    audit(
        db,
        actor=actor,
        action="employee.move",
        object_type="employee",
        object_id=employee.emp_no,
        summary=f"{move.from_unit_id}->{unit.id} {effective_on.isoformat()}",
        before={"unit_id": move.from_unit_id, "post_id": move.from_post_id},
        after={
            "unit_id": unit.id,
            "post_id": move.to_post_id,
            "effective_on": effective_on.isoformat(),
        },
    )
    db.flush()
    from lms.training.matrix import follow_people  # the matrix follows the new post today

    follow_people(db, [employee.id], actor=actor)
    return move


def employee_moves(db: Session, employee: Employee) -> Sequence[EmployeeMove]:
    return db.scalars(
        sa.select(EmployeeMove)
        .where(EmployeeMove.employee_id == employee.id)
        .order_by(EmployeeMove.effective_on.desc(), EmployeeMove.id.desc())
    ).all()


def get_or_create_post(db: Session, name: str) -> Post:
    post = db.scalar(sa.select(Post).where(Post.name == name))
    if post is None:
        post = Post(name=name)
        db.add(post)
        db.flush()
    return post


def all_posts(db: Session) -> Sequence[Post]:
    return db.scalars(sa.select(Post).order_by(Post.name)).all()


def set_locale(db: Session, employee: Employee, locale: str) -> None:
    """Remember an employee's interface language (not audited: it is their own preference)."""
    employee.locale = locale
    db.flush()


def home_summary(db: Session, actor: Employee) -> dict[str, int]:
    """Headcounts for the home page, within what ``actor`` may see."""
    scope = employee_scope(actor)
    base = (
        sa.select(sa.func.count())
        .select_from(Employee)
        .join(Unit, Employee.unit_id == Unit.id)
        .where(scope)
    )
    return {
        "employees": db.scalar(base) or 0,
        "active": db.scalar(base.where(Employee.status == EmploymentStatus.active)) or 0,
        "managers": db.scalar(base.where(Employee.is_manager.is_(True))) or 0,
        "units": db.scalar(sa.select(sa.func.count()).select_from(Unit).where(unit_scope(actor)))
        or 0,
    }
