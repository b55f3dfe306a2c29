"""The three targets, exactly as DESIGN.md defines them, for a year and an as-of date, for the
whole bureau or any unit's subtree, with the breakdowns the annual report shows.

Everything is counted in the database: one statement gives, per unit (the one each person was
in on the as-of date), post and staff kind, the in-scope head count and how many of them were
trained, hold the management certificate, and had professional-ethics training; the unit tree's
subtree totals are summed from those rows. Comparisons are on integers (``trained * 100 > 80 *
headcount``), never on rounded percentages.

Who is in scope on D: hired on or before D (or no hire date), not left by D (no leave date, or
one after D), and in an included status (default 在岗). Status is the employee's current one
(there is no status history), except that a leaver whose leave date is after D counts as in post
on D. The unit is the one on D: the unit a person moved from, for a move that took effect after
D, else their current one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.certificates.models import Certificate, CertificateStatus
from lms.org.models import Employee, EmployeeMove, EmploymentStatus, Post, StaffKind, Unit
from lms.training.models import LedgerEntry

ALL_STAFF = "all_staff_training"
MANAGEMENT = "management_certification"
ETHICS = "professional_ethics"

LABELS = {
    ALL_STAFF: "全员培训率",
    MANAGEMENT: "管理人员上岗培训持证率",
    ETHICS: "四职业培训率",
}


@dataclass(frozen=True)
class TargetRule:
    """A threshold (percent, whole or with decimals) and how the rate is compared with it."""

    threshold: int
    comparison: str  # ">" or ">="

    def met(self, numerator: int, denominator: int) -> bool:
        """Compared on integers: ``numerator * 100 > threshold * denominator``."""
        if denominator <= 0:
            return False
        left, right = numerator * 100, self.threshold * denominator
        return left > right if self.comparison == ">" else left >= right


@dataclass(frozen=True)
class CoverageSettings:
    """The report's settings, with DESIGN.md's defaults."""

    all_staff: TargetRule = TargetRule(80, ">")
    management: TargetRule = TargetRule(40, ">")
    ethics: TargetRule = TargetRule(20, ">=")
    #: statuses in scope (the others are excluded)
    included_statuses: frozenset[EmploymentStatus] = frozenset({EmploymentStatus.active})
    #: hours of completed training in the year to count as trained (0: any completed row)
    min_hours: float = 0
    ethics_programmes: tuple[str, ...] = ("professional_ethics",)
    #: certificate kinds the management target counts
    certificate_kinds: tuple[str, ...] = ("onboarding",)

    @classmethod
    def from_config(cls, config: Any) -> CoverageSettings:
        """The settings from the app's ``LMS_REPORT_*`` configuration."""
        statuses = frozenset(
            EmploymentStatus(s) if s in {m.value for m in EmploymentStatus} else EmploymentStatus[s]
            for s in config["LMS_REPORT_INCLUDED_STATUSES"]
        )
        return cls(
            all_staff=TargetRule(
                int(config["LMS_TARGET_ALL_STAFF"]), config["LMS_TARGET_ALL_STAFF_COMPARISON"]
            ),
            management=TargetRule(
                int(config["LMS_TARGET_MANAGEMENT"]), config["LMS_TARGET_MANAGEMENT_COMPARISON"]
            ),
            ethics=TargetRule(
                int(config["LMS_TARGET_ETHICS"]), config["LMS_TARGET_ETHICS_COMPARISON"]
            ),
            included_statuses=statuses,
            min_hours=float(config["LMS_REPORT_MIN_HOURS"]),
            ethics_programmes=tuple(config["LMS_REPORT_ETHICS_PROGRAMMES"]),
            certificate_kinds=tuple(config["LMS_REPORT_CERTIFICATE_KINDS"]),
        )


@dataclass
class Counts:
    """Head counts of one group (a unit's subtree, a post, a staff kind)."""

    headcount: int = 0
    trained: int = 0
    managers: int = 0
    certified: int = 0
    ethics: int = 0
    #: 参训人次 and 总学时 in the year (completed rows of in-scope people)
    records: int = 0
    hours: float = 0.0

    def add(self, other: Counts) -> None:
        for name in ("headcount", "trained", "managers", "certified", "ethics", "records"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.hours += other.hours


@dataclass(frozen=True)
class TargetResult:
    key: str
    label: str
    numerator: int
    denominator: int
    threshold: int
    comparison: str
    met: bool

    @property
    def rate(self) -> float | None:
        """Percent, rounded to two decimals for display only."""
        return round(self.numerator * 100 / self.denominator, 2) if self.denominator else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "rate": self.rate,
            "threshold": self.threshold,
            "comparison": self.comparison,
            "met": self.met,
        }


def targets(counts: Counts, settings: CoverageSettings) -> list[TargetResult]:
    """The three targets of a group's counts."""
    rows = (
        (ALL_STAFF, counts.trained, counts.headcount, settings.all_staff),
        (MANAGEMENT, counts.certified, counts.managers, settings.management),
        (ETHICS, counts.ethics, counts.headcount, settings.ethics),
    )
    return [
        TargetResult(
            key, LABELS[key], num, den, rule.threshold, rule.comparison, rule.met(num, den)
        )
        for key, num, den, rule in rows
    ]


@dataclass
class UnitRow:
    """A unit's subtree's counts, in tree order."""

    unit: Unit
    depth: int
    counts: Counts
    own: Counts = field(default_factory=Counts)


@dataclass
class Coverage:
    year: int
    as_of: date
    unit: Unit | None
    total: Counts
    targets: list[TargetResult]
    units: list[UnitRow]
    by_post: list[tuple[str, Counts]]
    by_staff_kind: list[tuple[StaffKind | None, Counts]]


def default_as_of(year: int, today: date) -> date:
    """31 December of ``year``, or today while the year is running."""
    end = date(year, 12, 31)
    return today if today.year == year and today < end else end


def in_scope_people(
    *, year: int, as_of: date, settings: CoverageSettings, zone: tzinfo
) -> sa.Select[Any]:
    """One row per in-scope person on ``as_of``: id, unit on that date, post, staff kind,
    manager flag, and the three flags (trained, certified, ethics) with their completed rows
    and hours in the year up to ``as_of``."""
    start = date(year, 1, 1)
    end = min(as_of, date(year, 12, 31))
    completed = sa.and_(LedgerEntry.passed.is_(True), LedgerEntry.end_on.between(start, end))
    ethics_programmes = list(settings.ethics_programmes)
    year_rows = (
        sa.select(
            LedgerEntry.employee_id.label("employee_id"),
            sa.func.count().label("records"),
            sa.func.sum(LedgerEntry.hours).label("hours"),
            sa.func.max(sa.case((LedgerEntry.programme.in_(ethics_programmes), 1), else_=0)).label(
                "ethics"
            ),
        )
        .where(completed)
        .group_by(LedgerEntry.employee_id)
        .cte("year_rows")
    )
    after_as_of = datetime.combine(as_of + timedelta(days=1), time.min, tzinfo=zone)
    certified = (
        sa.select(Certificate.employee_id)
        .where(
            Certificate.kind.in_(list(settings.certificate_kinds)),
            Certificate.issued_on <= as_of,
            sa.or_(Certificate.valid_until.is_(None), Certificate.valid_until >= as_of),
            sa.or_(
                Certificate.status.in_([CertificateStatus.valid, CertificateStatus.replaced]),
                sa.and_(
                    Certificate.status == CertificateStatus.revoked,
                    Certificate.revoked_at >= after_as_of,
                ),
            ),
        )
        .distinct()
        .cte("certified")
    )
    first_move_after = (
        sa.select(
            EmployeeMove.employee_id.label("employee_id"),
            EmployeeMove.from_unit_id.label("from_unit_id"),
            EmployeeMove.from_post_id.label("from_post_id"),
            sa.func.row_number()
            .over(
                partition_by=EmployeeMove.employee_id,
                order_by=(EmployeeMove.effective_on, EmployeeMove.id),
            )
            .label("n"),
        )
        .where(EmployeeMove.effective_on > as_of)
        .subquery()
    )
    moved = sa.select(first_move_after).where(first_move_after.c.n == 1).cte("moved")
    statuses = [s for s in settings.included_statuses]
    status_ok = Employee.status.in_(statuses)
    if EmploymentStatus.active in settings.included_statuses:
        # a leaver who left after the as-of date was in post on it
        status_ok = sa.or_(
            status_ok,
            sa.and_(Employee.status == EmploymentStatus.left, Employee.left_on > as_of),
        )
    trained = year_rows.c.employee_id.is_not(None)
    if settings.min_hours > 0:
        trained = sa.and_(trained, year_rows.c.hours >= settings.min_hours)
    return (
        sa.select(
            Employee.id.label("employee_id"),
            sa.func.coalesce(moved.c.from_unit_id, Employee.unit_id).label("unit_id"),
            sa.case(
                (moved.c.employee_id.is_not(None), moved.c.from_post_id), else_=Employee.post_id
            ).label("post_id"),
            Employee.staff_kind.label("staff_kind"),
            sa.case((Employee.is_manager.is_(True), 1), else_=0).label("manager"),
            sa.case((trained, 1), else_=0).label("trained"),
            sa.case(
                (sa.and_(Employee.is_manager.is_(True), certified.c.employee_id.is_not(None)), 1),
                else_=0,
            ).label("certified"),
            sa.func.coalesce(year_rows.c.ethics, 0).label("ethics"),
            sa.func.coalesce(year_rows.c.records, 0).label("records"),
            sa.func.coalesce(year_rows.c.hours, 0).label("hours"),
        )
        .select_from(Employee)
        .outerjoin(moved, moved.c.employee_id == Employee.id)
        .outerjoin(year_rows, year_rows.c.employee_id == Employee.id)
        .outerjoin(certified, certified.c.employee_id == Employee.id)
        .where(
            status_ok,
            sa.or_(Employee.hired_on.is_(None), Employee.hired_on <= as_of),
            sa.or_(Employee.left_on.is_(None), Employee.left_on > as_of),
        )
    )


def _grouped(db: Session, people: sa.Subquery, *keys: Any) -> list[tuple[Any, Counts]]:
    """The people's counts grouped by ``keys`` (one key: its value; several: a tuple)."""
    rows = db.execute(
        sa.select(
            *keys,
            sa.func.count(),
            sa.func.sum(people.c.trained),
            sa.func.sum(people.c.manager),
            sa.func.sum(people.c.certified),
            sa.func.sum(people.c.ethics),
            sa.func.sum(people.c.records),
            sa.func.sum(people.c.hours),
        ).group_by(*keys)
    ).all()
    found = []
    for row in rows:
        values = tuple(row[: len(keys)])
        count, trained, managers, certified, ethics, records, hours = row[len(keys) :]
        counts = Counts(
            headcount=int(count),
            trained=int(trained or 0),
            managers=int(managers or 0),
            certified=int(certified or 0),
            ethics=int(ethics or 0),
            records=int(records or 0),
            hours=float(hours or 0),
        )
        found.append((values[0] if len(keys) == 1 else values, counts))
    return found


def _summed(groups: Sequence[tuple[Any, Counts]]) -> dict[Any, Counts]:
    summed: dict[Any, Counts] = {}
    for key, counts in groups:
        summed.setdefault(key, Counts()).add(counts)
    return summed


def coverage(
    db: Session,
    *,
    year: int,
    as_of: date,
    unit: Unit | None,
    settings: CoverageSettings,
    zone: tzinfo,
    breakdowns: bool = True,
) -> Coverage:
    """The three targets for ``unit``'s subtree (the whole bureau when None) for ``year`` as of
    ``as_of``, with every subtree's numbers in tree order, and (``breakdowns``) by post and by
    staff kind."""
    people = in_scope_people(year=year, as_of=as_of, settings=settings, zone=zone).subquery()
    units = list(db.scalars(sa.select(Unit)))
    by_id = {u.id: u for u in units}
    root_path = unit.path if unit is not None else ""
    in_tree = {u.id for u in units if u.path.startswith(root_path)}
    # one pass over the people: counts by unit, post and staff kind, summed below as needed
    keys = [people.c.unit_id]
    if breakdowns:
        keys += [people.c.post_id, people.c.staff_kind]
    groups = _grouped(db, people, *keys)
    if not breakdowns:
        groups = [((uid, None, None), counts) for uid, counts in groups]
    own = _summed([(uid, c) for (uid, _post, _kind), c in groups])
    # each unit's subtree: its own people plus every descendant's (paths are "/1/5/")
    subtree: dict[int, Counts] = {uid: Counts() for uid in in_tree}
    for uid, counts in own.items():
        member = by_id.get(uid)
        if member is None:
            continue
        for ancestor in (int(part) for part in member.path.strip("/").split("/") if part):
            if ancestor in subtree:
                subtree[ancestor].add(counts)
    total = Counts()
    for uid, counts in own.items():
        if uid in in_tree:
            total.add(counts)
    rows = _tree_rows([u for u in units if u.id in in_tree], subtree, own, unit)
    by_post: list[tuple[str, Counts]] = []
    by_kind: list[tuple[StaffKind | None, Counts]] = []
    if breakdowns:
        scoped = [(key, c) for key, c in groups if key[0] in in_tree]
        posts = dict(db.execute(sa.select(Post.id, Post.name)).all())
        post_counts = _summed(
            [(posts.get(pid, "") if pid else "", c) for (_u, pid, _k), c in scoped]
        )
        by_post = sorted(post_counts.items(), key=lambda item: (-item[1].headcount, item[0]))
        kind_counts = _summed([(kind, c) for (_u, _p, kind), c in scoped])
        by_kind = sorted(
            kind_counts.items(), key=lambda item: (item[0] is None, str(item[0] or ""))
        )
    return Coverage(
        year=year,
        as_of=as_of,
        unit=unit,
        total=total,
        targets=targets(total, settings),
        units=rows,
        by_post=by_post,
        by_staff_kind=by_kind,
    )


def _tree_rows(
    units: Sequence[Unit], subtree: dict[int, Counts], own: dict[int, Counts], root: Unit | None
) -> list[UnitRow]:
    children: dict[int | None, list[Unit]] = {}
    ids = {u.id for u in units}
    for member in units:
        parent = member.parent_id if member.parent_id in ids else None
        children.setdefault(parent, []).append(member)
    rows: list[UnitRow] = []

    def walk(parent: int | None, depth: int) -> None:
        for member in sorted(children.get(parent, []), key=lambda u: (u.sort_order, u.code)):
            rows.append(UnitRow(member, depth, subtree[member.id], own.get(member.id, Counts())))
            walk(member.id, depth + 1)

    walk(None, 0)
    return rows


def as_json(result: Coverage, settings: CoverageSettings) -> dict[str, Any]:
    """The coverage JSON of DESIGN.md: ``{"year", "as_of", "unit", "targets": [...],
    "units": [...]}`` (each unit with its subtree's targets)."""

    codes = {row.unit.id: row.unit.code for row in result.units}

    def unit_json(row: UnitRow) -> dict[str, Any]:
        return {
            "code": row.unit.code,
            "name": row.unit.name,
            "parent": codes.get(row.unit.parent_id) if row.unit.parent_id else None,
            "depth": row.depth,
            "rural": row.unit.is_rural,
            "headcount": row.counts.headcount,
            "managers": row.counts.managers,
            "targets": [t.as_dict() for t in targets(row.counts, settings)],
        }

    return {
        "year": result.year,
        "as_of": result.as_of.isoformat(),
        "unit": result.unit.code if result.unit is not None else None,
        "targets": [t.as_dict() for t in result.targets],
        "units": [unit_json(row) for row in result.units],
    }
