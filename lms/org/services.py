"""Org services: the unit tree, posts, employees, moves, search, and the import/export formats.

Imports are all-or-nothing: every row is checked first and all problems are reported together
(each naming its line and column); only a file without errors changes anything. Re-importing
the same file changes nothing and reports every row as unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.db import Page
from lms.i18n import gettext as _
from lms.org.models import (
    ROLE_LABELS,
    STAFF_KIND_LABELS,
    UNIT_KIND_LABELS,
    Employee,
    EmployeeMove,
    EmploymentStatus,
    Post,
    Role,
    StaffKind,
    Unit,
    UnitKind,
)
from lms.security import can_change_role, employee_scope, unit_scope
from lms.sheets import Column, ImportResult, Problem, Table, format_bool, parse_bool, parse_date

Progress = Callable[[int, int], None]

UNIT_COLUMNS = (
    Column("code", "单位编码", required=True),
    Column("name", "单位名称", required=True),
    Column("parent", "上级单位"),
    Column("kind", "类型", required=True),
    Column("rural", "农村"),
)

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


def _lookup(enum_labels: dict[Any, str], enum_type: type, text: str) -> Any:
    """An enum member from its value, its name or its Chinese label."""
    value = text.strip()
    for member in enum_type:
        if value.lower() in (member.value.lower(), member.name.lower()) or value == enum_labels.get(
            member
        ):
            return member
    raise ValueError(value)


def parse_unit_kind(text: str) -> UnitKind:
    return _lookup(UNIT_KIND_LABELS, UnitKind, text)


def parse_role(text: str) -> Role:
    return _lookup(ROLE_LABELS, Role, text)


def parse_status(text: str) -> EmploymentStatus:
    return _lookup({}, EmploymentStatus, text)


def parse_staff_kind(text: str) -> StaffKind:
    return _lookup(STAFF_KIND_LABELS, StaffKind, text)


# The unit tree -----------------------------------------------------------------------------


def rebuild_paths(db: Session) -> None:
    """Recompute every unit's materialised path from the parent links (units are few)."""
    rows = db.execute(sa.select(Unit.id, Unit.parent_id, Unit.path)).all()
    parent_of = {r.id: r.parent_id for r in rows}
    old_path = {r.id: r.path for r in rows}
    computed: dict[int, str] = {}

    def path_of(unit_id: int) -> str:
        if unit_id not in computed:
            parent = parent_of[unit_id]
            computed[unit_id] = (path_of(parent) if parent else "/") + f"{unit_id}/"
        return computed[unit_id]

    changes = [{"id": i, "path": path_of(i)} for i in parent_of if path_of(i) != old_path[i]]
    if changes:
        db.execute(sa.update(Unit), changes)


def unit_tree(
    db: Session, condition: sa.ColumnElement[bool] | None = None
) -> list[tuple[Unit, int, int]]:
    """Units in tree order as ``(unit, depth, headcount)``, where headcount counts the employees
    directly in the unit; ``condition`` limits the units (e.g. a manager's subtree)."""
    stmt = sa.select(Unit)
    if condition is not None:
        stmt = stmt.where(condition)
    units = db.scalars(stmt).all()
    counts = dict(
        db.execute(sa.select(Employee.unit_id, sa.func.count()).group_by(Employee.unit_id)).all()
    )
    by_parent: dict[int | None, list[Unit]] = {}
    ids = {u.id for u in units}
    for unit in units:
        parent = unit.parent_id if unit.parent_id in ids else None
        by_parent.setdefault(parent, []).append(unit)
    ordered: list[tuple[Unit, int, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for unit in sorted(by_parent.get(parent, []), key=lambda u: (u.sort_order, u.code)):
            ordered.append((unit, depth, counts.get(unit.id, 0)))
            walk(unit.id, depth + 1)

    walk(None, 0)
    return ordered


def unit_name_paths(db: Session) -> dict[int, str]:
    """Each unit's path of names from the root, ``龙城供电局/农电工作部/湖塘供电所``."""
    rows = db.execute(sa.select(Unit.id, Unit.name, Unit.parent_id)).all()
    by_id = {r.id: r for r in rows}
    names: dict[int, str] = {}

    def name_path(unit_id: int) -> str:
        if unit_id not in names:
            row = by_id[unit_id]
            names[unit_id] = (name_path(row.parent_id) + "/" if row.parent_id else "") + row.name
        return names[unit_id]

    for unit_id in by_id:
        name_path(unit_id)
    return names


def import_units(db: Session, table: Table, *, actor: Employee | None) -> ImportResult:
    """Upsert units by code from a units file (see ``UNIT_COLUMNS``); all-or-nothing.

    Parents may be listed after their children. Without a 上级单位 column, existing units keep
    their parents (and new ones become roots); without a 农村 column, their rural flag (new
    ones: rural offices are rural). The caller commits when ``result.ok`` (or rolls back for a
    preview).
    """
    result = ImportResult()
    present = set(table.headers)
    header_of = {c.key: table.headers.get(c.key, c.header) for c in UNIT_COLUMNS}
    existing = {u.code: u for u in db.scalars(sa.select(Unit))}
    code_of_id = {u.id: u.code for u in existing.values()}
    seen: dict[str, int] = {}
    parsed: list[tuple[int, dict[str, Any]]] = []
    for line, row in table.rows:
        problems_before = len(result.errors)

        def error(key: str, message: str, line: int = line) -> None:
            result.errors.append(Problem(table.file, line, header_of[key], message))

        code = row["code"].strip()
        if not code:
            error("code", _("The unit code is empty."))
        elif len(code) > 64:
            error("code", _("The unit code is longer than 64 characters."))
        elif code in seen:
            error(
                "code",
                _(
                    "Unit code %(code)s appears twice (also on line %(line)d).",
                    code=code,
                    line=seen[code],
                ),
            )
        else:
            seen[code] = line
        name = row["name"].strip()
        if not name:
            error("name", _("The unit name is empty."))
        elif len(name) > 200:
            error("name", _("The unit name is longer than 200 characters."))
        kind = None
        if not row["kind"].strip():
            error("kind", _("The unit type is empty."))
        else:
            try:
                kind = parse_unit_kind(row["kind"])
            except ValueError:
                error("kind", _("Unknown unit type %(value)s.", value=row["kind"]))
        rural: bool | None = None  # no 农村 column: existing units keep their flag
        if "rural" in present:
            try:
                rural = parse_bool(row["rural"], default=kind is UnitKind.rural_office)
            except ValueError as exc:
                error("rural", str(exc))
        if len(result.errors) == problems_before:
            parent: str | None = row["parent"].strip() if "parent" in present else None
            parsed.append(
                (
                    line,
                    {"code": code, "name": name, "kind": kind, "is_rural": rural, "parent": parent},
                )
            )

    # The tree as it will be: existing links, overridden by the file's.
    parent_of: dict[str, str] = {
        u.code: code_of_id.get(u.parent_id, "") if u.parent_id else "" for u in existing.values()
    }
    link_errors = False
    for line, item in parsed:
        parent = item["parent"]
        if parent is None:
            parent = parent_of.get(item["code"], "")
            item["parent"] = parent
        if parent and parent not in seen and parent not in existing:
            link_errors = True
            result.errors.append(
                Problem(
                    table.file,
                    line,
                    header_of["parent"],
                    _("Unknown parent unit %(code)s.", code=parent),
                )
            )
        elif parent == item["code"]:
            link_errors = True
            result.errors.append(
                Problem(
                    table.file, line, header_of["parent"], _("A unit cannot be its own parent.")
                )
            )
        parent_of[item["code"]] = parent
    if not link_errors:
        line_of = {item["code"]: line for line, item in parsed}
        reported: set[str] = set()
        for line, item in parsed:  # cycles through several units: one message per cycle
            path: list[str] = []
            code = item["code"]
            while code and code not in path:
                path.append(code)
                code = parent_of.get(code, "")
            if not code or code in reported:
                continue
            cycle = path[path.index(code) :]
            reported.update(cycle)
            first = min(cycle, key=lambda c: line_of.get(c, line))
            result.errors.append(
                Problem(
                    table.file,
                    line_of.get(first, line),
                    header_of["parent"],
                    _(
                        "The parent links form a cycle: %(codes)s.",
                        codes=" → ".join([*cycle, cycle[0]]),
                    ),
                )
            )
    if result.errors:
        return result

    created: list[str] = []
    updated: list[str] = []
    units = dict(existing)
    for _line, item in parsed:
        unit = units.get(item["code"])
        if item["is_rural"] is None:
            item["is_rural"] = (
                unit.is_rural if unit is not None else item["kind"] is UnitKind.rural_office
            )
        if unit is None:
            unit = Unit(
                code=item["code"],
                name=item["name"],
                kind=item["kind"],
                is_rural=item["is_rural"],
                path="",
            )
            db.add(unit)
            units[item["code"]] = unit
            created.append(item["code"])
        else:
            before = (unit.name, unit.kind, unit.is_rural, _parent_code(unit, code_of_id))
            after = (item["name"], item["kind"], item["is_rural"], item["parent"])
            if before != after:
                unit.name, unit.kind, unit.is_rural = item["name"], item["kind"], item["is_rural"]
                updated.append(item["code"])
    db.flush()
    for _line, item in parsed:
        unit = units[item["code"]]
        parent_id = units[item["parent"]].id if item["parent"] else None
        if unit.parent_id != parent_id:
            unit.parent_id = parent_id
    for order, (_line, item) in enumerate(parsed):
        if item["code"] in created:
            units[item["code"]].sort_order = order
    db.flush()
    rebuild_paths(db)
    result.imported = len(created) + len(updated)
    result.unchanged = len(parsed) - result.imported
    result.details = {"created": len(created), "updated": len(updated)}
    if result.imported:
        audit(
            db,
            actor=actor,
            action="units.import",
            object_type="unit",
            summary=f"{table.file}: {len(created)} created, {len(updated)} updated",
            after={"created": created[:200], "updated": updated[:200]},
        )
    return result


def _parent_code(unit: Unit, code_of_id: dict[int, str]) -> str:
    return code_of_id.get(unit.parent_id, "") if unit.parent_id else ""


def export_units(db: Session) -> tuple[list[str], list[list[Any]]]:
    """The unit tree in the units file format (parents before children)."""
    headers = [c.header for c in UNIT_COLUMNS]
    rows = []
    for unit, _depth, _count in unit_tree(db):
        rows.append(
            [
                unit.code,
                unit.name,
                unit.parent.code if unit.parent else "",
                UNIT_KIND_LABELS[unit.kind],
                format_bool(unit.is_rural),
            ]
        )
    return headers, rows


# Employees ---------------------------------------------------------------------------------


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
