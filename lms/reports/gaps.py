"""The people behind the targets' gaps, for managers to act on: who is not yet trained this year,
who has had no professional-ethics training this year, which managers hold no valid
上岗培训合格证 on the as-of date.

The lists are the complement of the coverage's numerators, read from the same statement
(:func:`lms.reports.coverage.in_scope_people`, as a subquery), so a list's length is always the
denominator minus the numerator of its target. Each person appears with the unit and post they
were in on the as-of date. The database filters, orders and cuts the rows; exports stream them
in batches (:func:`iter_gaps`), so the whole bureau's list is never held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.org.models import Employee, Post, Unit
from lms.reports.coverage import Coverage, CoverageSettings, in_scope_people
from lms.security import subtree_condition

UNTRAINED = "untrained"
NO_ETHICS = "no_ethics"
UNCERTIFIED = "uncertified"
#: the lists, in the order the report shows them
KINDS = (UNTRAINED, NO_ETHICS, UNCERTIFIED)

#: each list's title in files (Chinese, as the report's other fixed words)
TITLES = {
    UNTRAINED: "本年度未参训人员",
    NO_ETHICS: "本年度未参加四职业培训人员",
    UNCERTIFIED: "未持有效上岗培训合格证的管理人员",
}
HEADERS = ["姓名", "工号", "单位", "单位编码", "岗位", "本年学时"]
WIDTHS = (12, 14, 28, 14, 18, 10)
#: rows fetched per round trip when a list is streamed
BATCH = 2000


@dataclass(frozen=True)
class GapRow:
    """One person on a gap list: the unit and post are those on the as-of date."""

    employee_id: int
    name: str
    emp_no: str
    unit_name: str
    unit_code: str
    post_name: str
    hours: float

    def cells(self) -> list[Any]:
        """The row of a file, in :data:`HEADERS` order."""
        return [
            self.name,
            self.emp_no,
            self.unit_name,
            self.unit_code,
            self.post_name,
            self.hours,
        ]


def _people(year: int, as_of: date, settings: CoverageSettings, zone: tzinfo) -> Any:
    return in_scope_people(year=year, as_of=as_of, settings=settings, zone=zone)


def _select(people: Any, kind: str, unit: Unit | None) -> sa.Select[Any]:
    """The people of ``people`` (the in-scope rows) on list ``kind`` in ``unit``'s subtree."""
    conditions = {
        UNTRAINED: people.c.trained == 0,
        NO_ETHICS: people.c.ethics == 0,
        UNCERTIFIED: sa.and_(people.c.manager == 1, people.c.certified == 0),
    }
    if kind not in conditions:
        raise ValueError(f"unknown gap list {kind!r}")
    query = (
        sa.select(
            Employee.id.label("employee_id"),
            Employee.name.label("name"),
            Employee.emp_no.label("emp_no"),
            Unit.name.label("unit_name"),
            Unit.code.label("unit_code"),
            Post.name.label("post_name"),
            people.c.hours.label("hours"),
            Unit.path.label("unit_path"),
        )
        .select_from(people)
        .join(Employee, Employee.id == people.c.employee_id)
        # the unit on the as-of date (the one the coverage counts the person in)
        .join(Unit, Unit.id == people.c.unit_id)
        .outerjoin(Post, Post.id == people.c.post_id)
        .where(conditions[kind])
    )
    if unit is not None:
        query = query.where(subtree_condition(unit.path))
    return query.order_by(Unit.path, Unit.code, Employee.emp_no)


def gap_query(
    kind: str,
    *,
    year: int,
    as_of: date,
    unit: Unit | None,
    settings: CoverageSettings,
    zone: tzinfo,
) -> sa.Select[Any]:
    """The people on list ``kind`` in ``unit``'s subtree (the whole bureau when None), ordered
    by unit then 工号. Raises ``ValueError`` for an unknown kind."""
    return _select(_people(year, as_of, settings, zone).subquery("people"), kind, unit)


def _row(values: Any) -> GapRow:
    return GapRow(
        employee_id=values.employee_id,
        name=values.name,
        emp_no=values.emp_no,
        unit_name=values.unit_name,
        unit_code=values.unit_code,
        post_name=values.post_name or "",
        hours=float(values.hours or 0),
    )


def first_gaps(
    db: Session,
    kinds: Sequence[str],
    *,
    year: int,
    as_of: date,
    unit: Unit | None,
    settings: CoverageSettings,
    zone: tzinfo,
    limit: int,
) -> dict[str, list[GapRow]]:
    """The first ``limit`` people of each list of ``kinds`` (for the page), in one statement:
    the in-scope people are worked out once (a CTE used by every list), not once a list."""
    if not kinds:
        return {}
    people = _people(year, as_of, settings, zone).cte("people")
    parts = [
        sa.select(sa.literal(n).label("list"), part)
        for n, part in enumerate(
            _select(people, kind, unit).limit(limit).subquery(f"list{n}")
            for n, kind in enumerate(kinds)
        )
    ]
    found: dict[str, list[tuple[Any, GapRow]]] = {kind: [] for kind in kinds}
    for values in db.execute(sa.union_all(*parts)):
        key = (values.unit_path, values.unit_code, values.emp_no)
        found[kinds[values.list]].append((key, _row(values)))
    # a union keeps no order: each list is sorted again as its query sorted it
    return {
        kind: [row for _key, row in sorted(rows, key=lambda r: r[0])]
        for kind, rows in found.items()
    }


def iter_gaps(
    db: Session,
    kind: str,
    *,
    year: int,
    as_of: date,
    unit: Unit | None,
    settings: CoverageSettings,
    zone: tzinfo,
) -> Iterator[GapRow]:
    """Every person of list ``kind``, read from the database in batches of :data:`BATCH` rows
    (a server-side cursor on PostgreSQL), so that memory stays flat however long the list."""
    query = gap_query(kind, year=year, as_of=as_of, unit=unit, settings=settings, zone=zone)
    result = db.execute(query.execution_options(yield_per=BATCH))
    try:
        for values in result:
            yield _row(values)
    finally:
        result.close()


def gap_count(result: Coverage, kind: str) -> int:
    """How many people list ``kind`` holds: the target's denominator minus its numerator."""
    total = result.total
    if kind == UNTRAINED:
        return total.headcount - total.trained
    if kind == NO_ETHICS:
        return total.headcount - total.ethics
    if kind == UNCERTIFIED:
        return total.managers - total.certified
    raise ValueError(f"unknown gap list {kind!r}")
