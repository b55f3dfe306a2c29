"""The unit tree: materialised paths, the tree in order, and the units file (import, export)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.i18n import gettext as _
from lms.org.models import (
    UNIT_KIND_LABELS,
    Employee,
    Unit,
    UnitKind,
)
from lms.sheets import Column, ImportResult, Problem, Table, format_bool, parse_bool

Progress = Callable[[int, int], None]


UNIT_COLUMNS = (
    Column("code", "单位编码", required=True),
    Column("name", "单位名称", required=True),
    Column("parent", "上级单位"),
    Column("kind", "类型", required=True),
    Column("rural", "农村"),
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
