"""The employees file: import (upsert by 工号, all-or-nothing) and export."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.i18n import gettext as _
from lms.org.models import (
    ROLE_LABELS,
    STAFF_KIND_LABELS,
    Employee,
    EmployeeMove,
    EmploymentStatus,
    Post,
    Role,
    StaffKind,
    Unit,
)
from lms.org.services.units import _lookup, unit_name_paths
from lms.security import can_change_role
from lms.sheets import Column, ImportResult, Problem, Table, format_bool, parse_bool, parse_date

Progress = Callable[[int, int], None]


EMPLOYEE_COLUMNS = (
    Column("emp_no", "工号", required=True),
    Column("name", "姓名", required=True),
    Column("unit", "单位", required=True),
    Column("post", "岗位"),
    Column("is_manager", "管理人员"),
    Column("status", "状态"),
    Column("hired_on", "入职日期"),
    Column("left_on", "离职日期"),
    Column("role", "角色"),
    Column("staff_kind", "人员类别"),
)


def parse_role(text: str) -> Role:
    return _lookup(ROLE_LABELS, Role, text)


def parse_status(text: str) -> EmploymentStatus:
    return _lookup({}, EmploymentStatus, text)


def parse_staff_kind(text: str) -> StaffKind:
    return _lookup(STAFF_KIND_LABELS, StaffKind, text)


# The unit tree -----------------------------------------------------------------------------


@dataclass
class EmployeeRow:
    line: int
    emp_no: str
    values: dict[str, Any]  # only the columns present in the file
    post_name: str | None


#: Columns whose empty cell means "the default" for a new employee and "unchanged" for an
#: existing one (so that a blank 角色 never demotes an administrator).
KEEP_WHEN_EMPTY = frozenset({"is_manager", "status", "role"})

EMPLOYEE_FIELDS = (
    "name",
    "unit_id",
    "post_id",
    "is_manager",
    "status",
    "hired_on",
    "left_on",
    "role",
    "staff_kind",
)


def _unit_resolver(db: Session) -> Callable[[str], Unit | None]:
    """Resolve a unit cell: a unit code, or a path of names (a full path, or a unique tail)."""
    units = {u.id: u for u in db.scalars(sa.select(Unit))}
    by_code = {u.code: u for u in units.values()}
    by_path: dict[str, Unit] = {}
    by_tail: dict[str, list[Unit]] = {}
    for unit_id, path in unit_name_paths(db).items():
        by_path[path] = units[unit_id]
        parts = path.split("/")
        for start in range(1, len(parts)):
            by_tail.setdefault("/".join(parts[start:]), []).append(units[unit_id])

    def resolve(text: str) -> Unit | None:
        value = text.strip().strip("/")
        if value in by_code:
            return by_code[value]
        value = "/".join(part.strip() for part in value.replace("\\", "/").split("/"))
        if value in by_path:
            return by_path[value]
        candidates = by_tail.get(value, [])
        return candidates[0] if len(candidates) == 1 else None

    return resolve


def import_employees(
    db: Session,
    table: Table,
    *,
    actor: Employee | None,
    effective_on: date | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Upsert employees by 工号 from an employees file (see ``EMPLOYEE_COLUMNS``); all-or-nothing.

    Only the columns present in the file are written, and an empty 管理人员, 状态 or 角色 cell
    keeps an existing employee's value (new ones get 否, 在岗, employee). A changed unit or post
    is recorded as a move effective ``effective_on`` (default today); role changes go to the
    audit log. New posts are created and listed in ``result.details["new_posts"]``.
    """
    effective_on = effective_on or date.today()
    result = ImportResult()
    present = set(table.headers)
    resolve_unit = _unit_resolver(db)
    posts = {p.name: p for p in db.scalars(sa.select(Post))}
    existing = {e.emp_no: e for e in db.execute(sa.select(Employee.__table__)).all()}
    seen: dict[str, int] = {}
    parsed: list[EmployeeRow] = []
    header_of = {c.key: table.headers.get(c.key, c.header) for c in EMPLOYEE_COLUMNS}
    total = len(table.rows)

    for index, (line, row) in enumerate(table.rows, start=1):
        errors_before = len(result.errors)

        def error(key: str, message: str, line: int = line) -> None:
            result.errors.append(Problem(table.file, line, header_of[key], message))

        emp_no = row["emp_no"].strip()
        if not emp_no:
            error("emp_no", _("The 工号 is empty."))
        elif len(emp_no) > 32:
            error("emp_no", _("The 工号 is longer than 32 characters."))
        elif emp_no in seen:
            error(
                "emp_no",
                _(
                    "工号 %(emp_no)s appears twice (also on line %(line)d).",
                    emp_no=emp_no,
                    line=seen[emp_no],
                ),
            )
        else:
            seen[emp_no] = line
        values: dict[str, Any] = {}
        name = row["name"].strip()
        if not name:
            error("name", _("The name is empty."))
        values["name"] = name
        unit = resolve_unit(row["unit"]) if row["unit"].strip() else None
        if unit is None:
            error(
                "unit",
                _("Unknown unit %(value)s.", value=row["unit"])
                if row["unit"].strip()
                else _("The unit is empty."),
            )
        else:
            values["unit_id"] = unit.id
        post_name = None
        if "post" in present:
            post_name = row["post"].strip() or None
            if post_name and len(post_name) > 100:
                error("post", _("The post name is longer than 100 characters."))
        for key, parse in (
            ("is_manager", parse_bool),
            ("status", parse_status),
            ("role", parse_role),
            ("staff_kind", lambda t: parse_staff_kind(t) if t.strip() else None),
            ("hired_on", parse_date),
            ("left_on", parse_date),
        ):
            if key not in present:
                continue
            if key in KEEP_WHEN_EMPTY and not row[key].strip():
                continue  # new employees get the default, existing ones keep their value
            try:
                values[key] = parse(row[key])
            except ValueError as exc:
                message = (
                    str(exc)
                    if key in ("is_manager", "hired_on", "left_on")
                    else _("Unknown value %(value)s.", value=row[key])
                )
                error(key, message)
        hired, left = values.get("hired_on"), values.get("left_on")
        if hired and left and left < hired:
            error("left_on", _("The leaving date is before the hiring date."))
        if "role" in values:
            old = existing.get(emp_no)
            if not can_change_role(actor, old.role if old else None, values["role"]):
                error("role", _("Only an administrator may give or take the HR or admin role."))
        if len(result.errors) == errors_before:
            parsed.append(EmployeeRow(line, emp_no, values, post_name))
        if progress and index % 1000 == 0:
            progress(index, total * 2)
    if result.errors:
        return result

    new_posts = sorted({r.post_name for r in parsed if r.post_name and r.post_name not in posts})
    for name in new_posts:
        posts[name] = Post(name=name)
        db.add(posts[name])
    db.flush()

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    role_changes: list[tuple[str, str, str]] = []
    for index, item in enumerate(parsed, start=1):
        values = dict(item.values)
        if "post" in present:
            values["post_id"] = posts[item.post_name].id if item.post_name else None
        old = existing.get(item.emp_no)
        if old is None:
            inserts.append(
                {
                    "emp_no": item.emp_no,
                    "must_change_password": True,
                    "session_version": 1,
                    "is_manager": False,
                    "status": EmploymentStatus.active,
                    "role": Role.employee,
                    **values,
                }
            )
        else:
            changed = {k: v for k, v in values.items() if getattr(old, k) != v}
            if changed:
                updates.append({"id": old.id, **changed})
                if "unit_id" in changed or "post_id" in changed:
                    moves.append(
                        {
                            "employee_id": old.id,
                            "effective_on": effective_on,
                            "from_unit_id": old.unit_id,
                            "to_unit_id": values.get("unit_id", old.unit_id),
                            "from_post_id": old.post_id,
                            "to_post_id": values.get("post_id", old.post_id),
                            "note": table.file[:500],
                            "recorded_by_id": actor.id if actor else None,
                        }
                    )
                if "role" in changed:
                    role_changes.append((item.emp_no, str(old.role), str(values["role"])))
        if progress and index % 1000 == 0:
            progress(total + index, total * 2)
    if inserts:
        db.execute(sa.insert(Employee), inserts)
    if updates:
        db.execute(sa.update(Employee), updates)
    if moves:
        db.execute(sa.insert(EmployeeMove), moves)
    for emp_no, before, after in role_changes:
        audit(
            db,
            actor=actor,
            action="employee.role",
            object_type="employee",
            object_id=emp_no,
            summary=f"{emp_no}: {before} -> {after}",
            before={"role": before},
            after={"role": after},
        )
    result.imported = len(inserts) + len(updates)
    result.unchanged = len(parsed) - result.imported
    if inserts or updates:  # joiners, movers and leavers: the training matrix follows them today
        from lms.training.matrix import follow_people

        ids = [row["id"] for row in updates]
        joined = [row["emp_no"] for row in inserts]
        for start in range(0, len(joined), 1000):
            batch = joined[start : start + 1000]
            ids += db.scalars(sa.select(Employee.id).where(Employee.emp_no.in_(batch))).all()
        follow_people(db, ids, actor=actor)
    result.details = {
        "created": len(inserts),
        "updated": len(updates),
        "moved": len(moves),
        "new_posts": new_posts,
    }
    if result.imported:
        audit(
            db,
            actor=actor,
            action="employees.import",
            object_type="employee",
            summary=(
                f"{table.file}: {len(inserts)} created, {len(updates)} updated, {len(moves)} moved"
            ),
            after={"created": len(inserts), "updated": len(updates), "new_posts": new_posts},
        )
    if progress:
        progress(total * 2, total * 2)
    return result


def export_employees(
    db: Session, condition: sa.ColumnElement[bool] | None = None
) -> tuple[list[str], Iterable[list[Any]]]:
    """Employees in the employees file format (unit as its code), ordered by 工号."""
    headers = [c.header for c in EMPLOYEE_COLUMNS]
    stmt = (
        sa.select(
            Employee.emp_no,
            Employee.name,
            Unit.code,
            Post.name.label("post"),
            Employee.is_manager,
            Employee.status,
            Employee.hired_on,
            Employee.left_on,
            Employee.role,
            Employee.staff_kind,
        )
        .join(Unit, Employee.unit_id == Unit.id)
        .outerjoin(Post, Employee.post_id == Post.id)
        .order_by(Employee.emp_no)
    )
    if condition is not None:
        stmt = stmt.where(condition)

    def rows() -> Iterable[list[Any]]:
        for r in db.execute(stmt):
            yield [
                r.emp_no,
                r.name,
                r.code,
                r.post or "",
                format_bool(r.is_manager),
                EmploymentStatus(r.status).value,
                r.hired_on.isoformat() if r.hired_on else "",
                r.left_on.isoformat() if r.left_on else "",
                Role(r.role).value,
                StaffKind(r.staff_kind).value if r.staff_kind else "",
            ]

    return headers, rows()


# Employees: search, edit, move ---------------------------------------------------------------


#: Pages beyond this are empty anyway; the cap keeps the offset inside every database's range.
