"""The manager dashboard: who is behind, unit by unit and rural office by rural office.

Everything is counted by the database: one grouped query gives each unit's counts for the
people directly in it, which are added up in Python over the units (never over the
assignments), so a bureau of 100,000 people costs a handful of grouped queries.

What counts is an assignment not closed (state
:attr:`~lms.training.assignments.AssignmentState.closed` is left out), of someone who has not
left, due in the chosen period; its state is :func:`lms.training.assignments.state_of`'s,
written in SQL: completed, else overdue (due date passed), else in progress (a course run under
way), else not started.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.certificates.models import Certificate
from lms.certificates.services import to_renew
from lms.courses.models import Course, CourseRun, RunStatus
from lms.org.models import Employee, EmploymentStatus, Post, Unit, UnitKind
from lms.security import is_staff, subtree_condition, unit_scope
from lms.training.models import Assignment

#: years a period may name (anything else is refused with a message)
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class Period:
    """Which assignments count: those due in ``year``, or (``year`` None) every one not closed,
    with a due date or without."""

    year: int | None = None

    def condition(self) -> sa.ColumnElement[bool]:
        if self.year is None:
            return sa.true()
        return Assignment.due_on.between(date(self.year, 1, 1), date(self.year, 12, 31))


def parse_period(value: str | None, *, today: date) -> Period:
    """``?year=``: empty means this year, ``all`` every open assignment, else a year between
    :data:`FIRST_YEAR` and :data:`LAST_YEAR`; ValueError for anything else."""
    text = (value or "").strip()
    if not text:
        return Period(today.year)
    if text == "all":
        return Period(None)
    if text.isascii() and text.isdigit() and FIRST_YEAR <= int(text) <= LAST_YEAR:
        return Period(int(text))
    raise ValueError(text)


@dataclass
class Counts:
    """Assignments by state for a group of people."""

    people: int = 0
    assignments: int = 0
    completed: int = 0
    in_progress: int = 0
    not_started: int = 0
    overdue: int = 0

    def add(self, other: Counts) -> None:
        self.people += other.people
        self.assignments += other.assignments
        self.completed += other.completed
        self.in_progress += other.in_progress
        self.not_started += other.not_started
        self.overdue += other.overdue

    @property
    def rate(self) -> Fraction | None:
        """completed / assignments, exact (compare these, never rounded percentages); None
        when nothing is assigned."""
        return Fraction(self.completed, self.assignments) if self.assignments else None

    @property
    def percent(self) -> float | None:
        """The completion rate in percent, rounded to one decimal: for display only."""
        return None if self.rate is None else round(float(self.rate * 100), 1)


@dataclass(frozen=True)
class UnitInfo:
    """The columns of a unit the dashboard shows."""

    id: int
    code: str
    name: str
    kind: UnitKind
    is_rural: bool
    parent_id: int | None
    path: str
    sort_order: int

    @property
    def ids(self) -> list[int]:
        """The ids on the unit's path, the root first and the unit itself last."""
        return path_ids(self.path)


@dataclass
class UnitRow:
    unit: UnitInfo
    counts: Counts = field(default_factory=Counts)
    #: the people directly in the chosen unit, not in any unit below it
    direct: bool = False
    #: the parent unit's name (a rural office is shown with it: names repeat across the tree)
    parent_name: str = ""


@dataclass
class Summary:
    """The chosen unit (None: the whole bureau, when it has several roots), one row per unit
    below it, each its whole subtree (and one for the people directly in it), the rural offices
    in it, and the total."""

    unit: UnitInfo | None
    rows: list[UnitRow]
    rural: list[UnitRow]
    total: Counts


@dataclass(frozen=True)
class PersonRow:
    employee_id: int
    name: str
    emp_no: str
    counts: Counts


@dataclass(frozen=True)
class OverdueRow:
    assignment_id: int
    employee_id: int
    name: str
    emp_no: str
    unit_name: str
    post_name: str
    course_code: str
    course_title: str
    due_on: date
    days: int


def path_ids(path: str) -> list[int]:
    """``/1/5/23/`` -> ``[1, 5, 23]`` (nothing for a path not built)."""
    return [int(part) for part in path.strip("/").split("/") if part.isdigit()]


def default_unit(db: Session, actor: Employee) -> Unit | None:
    """The unit a dashboard opens on: a manager's own; for HR the root of the tree, or None (the
    whole bureau) when there are several roots or none."""
    if not is_staff(actor):
        return actor.unit
    roots = db.scalars(sa.select(Unit).where(Unit.parent_id.is_(None)).limit(2)).all()
    return roots[0] if len(roots) == 1 else None


def breadcrumbs(db: Session, actor: Employee, unit: Unit | None) -> list[UnitInfo]:
    """The units from the top of ``actor``'s scope down to ``unit`` (itself included)."""
    if unit is None:
        return []
    ids = path_ids(unit.path)
    units = {u.id: u for u in _unit_infos(db, sa.and_(Unit.id.in_(ids), unit_scope(actor)))}
    return [units[i] for i in ids if i in units]


def scope_condition(actor_scope: sa.ColumnElement[bool], unit: Unit | None) -> sa.ColumnElement:
    """People (Employee joined to its Unit) in ``actor_scope`` and in ``unit``'s subtree."""
    if unit is None:
        return actor_scope
    # the subtree's unit ids, not a LIKE on the joined unit: SQLite then reads the subtree's
    # people by index instead of scanning everyone's (correlate(None): the outer query's
    # Unit is another row)
    units = sa.select(Unit.id).where(subtree_condition(unit.path)).correlate(None)
    return sa.and_(actor_scope, Employee.unit_id.in_(units))


def _unit_infos(db: Session, condition: sa.ColumnElement[bool]) -> list[UnitInfo]:
    columns = (
        Unit.id,
        Unit.code,
        Unit.name,
        Unit.kind,
        Unit.is_rural,
        Unit.parent_id,
        Unit.path,
        Unit.sort_order,
    )
    return [UnitInfo(*row) for row in db.execute(sa.select(*columns).where(condition))]


def _counted(scope: sa.ColumnElement[bool], period: Period) -> sa.ColumnElement[bool]:
    """The assignments that count: in scope, not closed, of someone who has not left, due in
    the period."""
    return sa.and_(
        scope,
        Employee.status != EmploymentStatus.left,
        sa.or_(Assignment.closed_at.is_(None), Assignment.completed_at.is_not(None)),
        period.condition(),
    )


def _state_sums(
    scope: sa.ColumnElement[bool], today: date
) -> tuple[sa.Subquery, list[sa.ColumnElement[int]]]:
    """The ``started`` pairs of ``scope``'s people (an outer join, which PostgreSQL hashes where
    a correlated EXISTS would run once per row; limited to the scope, so that a small unit does
    not read the whole bureau's course runs) and the columns counting assignments and their
    states."""
    started = (
        sa.select(CourseRun.employee_id, CourseRun.course_id)
        .join(Employee, Employee.id == CourseRun.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(CourseRun.status == RunStatus.in_progress, scope)
        .distinct()
        .subquery("started")
    )
    done = Assignment.completed_at.is_not(None)
    late = sa.and_(Assignment.completed_at.is_(None), Assignment.due_on < today)
    going = started.c.employee_id.is_not(None)

    def total(*whens: tuple[sa.ColumnElement[bool], int]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(sa.case(*whens, else_=0)), 0)

    return started, [
        sa.func.count(Assignment.id).label("assignments"),
        total((done, 1)).label("completed"),
        total((done, 0), (late, 0), (going, 1)).label("in_progress"),
        total((late, 1)).label("overdue"),
    ]


def _grouped(
    scope: sa.ColumnElement[bool], *, period: Period, today: date, by: list[sa.ColumnElement]
) -> sa.Select:
    """The counted assignments of ``scope`` in ``period``, grouped ``by``, with their counts."""
    started, sums = _state_sums(scope, today)
    return (
        sa.select(*by, *sums)
        .select_from(Assignment)
        .join(Employee, Employee.id == Assignment.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .outerjoin(
            started,
            sa.and_(
                started.c.employee_id == Assignment.employee_id,
                started.c.course_id == Assignment.course_id,
            ),
        )
        .where(_counted(scope, period))
        .group_by(*by)
    )


def _counts(people: int, assignments: int, completed: int, going: int, late: int) -> Counts:
    assignments, completed, going, late = int(assignments), int(completed), int(going), int(late)
    return Counts(
        people=int(people),
        assignments=assignments,
        completed=completed,
        in_progress=going,
        not_started=assignments - completed - going - late,
        overdue=late,
    )


def counts_by_unit(
    db: Session, scope: sa.ColumnElement[bool], *, period: Period, today: date
) -> dict[int, Counts]:
    """For each unit with counted assignments, the counts of the people directly in it."""
    # per person first, then per unit: counting people is then count(*), which both databases
    # hash, where count(DISTINCT) over the assignments sorts them all
    people = _grouped(
        scope, period=period, today=today, by=[Employee.unit_id, Assignment.employee_id]
    ).subquery("people")
    rows = db.execute(
        sa.select(
            people.c.unit_id,
            sa.func.count(),
            *(
                sa.func.sum(people.c[name])
                for name in ("assignments", "completed", "in_progress", "overdue")
            ),
        ).group_by(people.c.unit_id)
    )
    return {unit_id: _counts(*sums) for unit_id, *sums in rows}


def summary(
    db: Session,
    *,
    actor_scope: sa.ColumnElement[bool],
    unit: Unit | None,
    period: Period,
    today: date,
) -> Summary:
    """The counts per unit below ``unit`` (each row its whole subtree: a person in a grandchild
    counts in the child's row), per rural office in it, and in total, for the people of
    ``actor_scope`` (a condition on Employee joined to Unit, as
    :func:`lms.security.employee_scope` gives)."""
    units = _unit_infos(
        db,
        sa.true() if unit is None else sa.or_(Unit.id == unit.id, subtree_condition(unit.path)),
    )
    by_id = {u.id: u for u in units}
    per_unit = counts_by_unit(db, scope_condition(actor_scope, unit), period=period, today=today)
    # ids on a path above the chosen unit's (the chosen unit itself is at depth - 1)
    depth = len(path_ids(unit.path)) if unit is not None else 0
    order = {u.id: (u.sort_order, u.code) for u in units}
    children = sorted(
        (u for u in units if u.parent_id == (unit.id if unit is not None else None)),
        key=lambda u: order[u.id],
    )
    rows = {u.id: UnitRow(u) for u in children}
    direct = UnitRow(by_id[unit.id], direct=True) if unit is not None else None
    rural = {u.id: UnitRow(u, parent_name=_name(by_id, u.parent_id)) for u in units if u.is_rural}
    total = Counts()
    for unit_id, counts in per_unit.items():
        info = by_id.get(unit_id)
        if info is None:
            continue  # not in the subtree (cannot happen: the scope says so)
        total.add(counts)
        ids = info.ids
        if len(ids) > depth and ids[depth] in rows:
            rows[ids[depth]].counts.add(counts)
        elif direct is not None and unit_id == direct.unit.id:
            direct.counts.add(counts)
        for ancestor in ids[max(depth - 1, 0) :]:
            if ancestor in rural:
                rural[ancestor].counts.add(counts)
    table = list(rows.values())
    if direct is not None and direct.counts.assignments:
        table.insert(0, direct)
    return Summary(
        unit=by_id[unit.id] if unit is not None else None,
        rows=table,
        rural=sorted(rural.values(), key=behind_first),
        total=total,
    )


def _name(by_id: dict[int, UnitInfo], unit_id: int | None) -> str:
    return by_id[unit_id].name if unit_id in by_id else ""


def behind_first(row: UnitRow) -> tuple:
    """Lowest completion rate first (exact fractions), then most overdue; units with nothing
    assigned last."""
    rate = row.counts.rate
    return (rate is None, rate or 0, -row.counts.overdue, row.unit.sort_order, row.unit.code)


def counts_by_person(
    db: Session,
    actor_scope: sa.ColumnElement[bool],
    unit: Unit,
    *,
    period: Period,
    today: date,
    limit: int,
) -> list[PersonRow]:
    """The counts of each person directly in ``unit`` (the drill-down's last level), most
    overdue first, then by 工号; the first ``limit``."""
    scope = sa.and_(actor_scope, Employee.unit_id == unit.id)
    by = [Employee.id, Employee.name, Employee.emp_no]
    query = _grouped(scope, period=period, today=today, by=by)
    rows = db.execute(
        query.order_by(query.selected_columns.overdue.desc(), Employee.emp_no).limit(limit)
    )
    return [PersonRow(i, name, emp_no, _counts(1, *rest)) for i, name, emp_no, *rest in rows]


def _overdue_condition(scope: sa.ColumnElement[bool], *, today: date) -> sa.ColumnElement[bool]:
    return sa.and_(
        scope,
        Employee.status != EmploymentStatus.left,
        Assignment.completed_at.is_(None),
        Assignment.closed_at.is_(None),
        Assignment.due_on < today,
    )


def overdue_select(scope: sa.ColumnElement[bool], *, period: Period, today: date) -> sa.Select:
    """The overdue assignments of ``scope`` due in ``period`` as plain columns, longest overdue
    first."""
    return (
        sa.select(
            Assignment.id,
            Employee.id,
            Employee.name,
            Employee.emp_no,
            Unit.name,
            Post.name,
            Course.code,
            Course.title,
            Assignment.due_on,
        )
        .select_from(Assignment)
        .join(Employee, Employee.id == Assignment.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .outerjoin(Post, Post.id == Employee.post_id)
        .join(Course, Course.id == Assignment.course_id)
        .where(_overdue_condition(scope, today=today), period.condition())
        .order_by(Assignment.due_on, Employee.emp_no, Course.code, Assignment.id)
    )


def overdue(
    db: Session,
    scope: sa.ColumnElement[bool],
    *,
    period: Period,
    today: date,
    limit: int | None,
) -> Iterator[OverdueRow]:
    """The first ``limit`` overdue assignments (all for None), with the days each is late."""
    query = overdue_select(scope, period=period, today=today)
    if limit is not None:
        query = query.limit(limit)
    for row in db.execute(query):
        *values, due_on = row
        values = [v if v is not None else "" for v in values]
        yield OverdueRow(*values, due_on=due_on, days=(today - due_on).days)


def overdue_before(
    db: Session, scope: sa.ColumnElement[bool], *, period: Period, today: date
) -> int:
    """Overdue assignments due before the period's year (still open, so still behind): the page
    says how many the year leaves out."""
    if period.year is None:
        return 0
    return (
        db.scalar(
            sa.select(sa.func.count(Assignment.id))
            .select_from(Assignment)
            .join(Employee, Employee.id == Assignment.employee_id)
            .join(Unit, Unit.id == Employee.unit_id)
            .where(
                _overdue_condition(scope, today=today),
                Assignment.due_on < date(period.year, 1, 1),
            )
        )
        or 0
    )


def expiring_certificates(
    db: Session, scope: sa.ColumnElement[bool], *, today: date, days: int, limit: int
) -> tuple[list[Certificate], int]:
    """The first ``limit`` certificates to renew in ``scope`` (as
    :func:`lms.certificates.services.to_renew` decides), and how many there are."""
    select = to_renew(scope, today=today, days=days)
    total = db.scalar(
        sa.select(sa.func.count()).select_from(select.with_only_columns(Certificate.id).subquery())
    )
    return list(db.scalars(select.limit(limit))), total or 0
