"""The monthly cumulative trend of the three targets: for each month-end of the year up to the
as-of date (the last point is the as-of date itself), how far the report's people had got.

The trend breaks down the report's own numbers by month (DESIGN.md: "the same numbers break
down by unit, by post, and by month (cumulative)"): the people are those in scope on the as-of
date, in the unit they were in on it (:func:`lms.reports.coverage.in_scope_people`, as a
subquery), so every point shares the report's denominators, and a point's numerators count
who had, by that month-end, completed training in the year (with at least the minimum hours),
completed professional-ethics training, or (managers) held a valid certificate of the counted
kinds on that day. The last point is therefore exactly the report's figures, and the line shows
how the year's training built up to them.

One statement: the in-scope people, joined to one row per person with the day they first
counted as trained and as ethics-trained in the year (with a minimum of hours: their hours up
to each month-end), and to one row per certificate holder with a flag per month-end; summed
per month-end in the database.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.certificates.models import Certificate, CertificateStatus
from lms.org.models import Unit
from lms.reports.coverage import (
    Counts,
    CoverageSettings,
    TargetResult,
    in_scope_people,
    targets,
)
from lms.security import subtree_condition
from lms.training.models import LedgerEntry


@dataclass(frozen=True)
class TrendPoint:
    """The three targets as they stood at the end of ``month`` (``on``: the month's last day,
    or the as-of date in its month)."""

    month: int
    on: date
    targets: list[TargetResult]

    @property
    def label(self) -> str:
        return f"{self.month}月"


def points_of(year: int, as_of: date) -> list[date]:
    """Each month-end of ``year`` before ``as_of``, then ``as_of`` itself (empty when ``as_of``
    is before the year)."""
    days: list[date] = []
    for month in range(1, 13):
        if date(year, month, 1) > as_of:
            break
        end = date(year, month, calendar.monthrange(year, month)[1])
        days.append(min(end, as_of))
    return days


def _held_on(day: date, zone: tzinfo) -> sa.ColumnElement[bool]:
    """A certificate valid on ``day``: the rule of :func:`in_scope_people` for its as-of date
    (issued by then, not expired on it, not revoked before the day ended)."""
    after = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return sa.and_(
        Certificate.issued_on <= day,
        sa.or_(Certificate.valid_until.is_(None), Certificate.valid_until >= day),
        sa.or_(
            Certificate.status.in_([CertificateStatus.valid, CertificateStatus.replaced]),
            sa.and_(
                Certificate.status == CertificateStatus.revoked, Certificate.revoked_at >= after
            ),
        ),
    )


def trend(
    db: Session,
    *,
    year: int,
    as_of: date,
    unit: Unit | None,
    settings: CoverageSettings,
    zone: tzinfo,
) -> list[TrendPoint]:
    """The three targets at each point of :func:`points_of` for ``unit``'s subtree (the whole
    bureau when None)."""
    days = points_of(year, as_of)
    if not days:
        return []
    people = in_scope_people(year=year, as_of=as_of, settings=settings, zone=zone).subquery(
        "people"
    )
    completed = sa.and_(
        LedgerEntry.passed.is_(True), LedgerEntry.end_on.between(date(year, 1, 1), days[-1])
    )
    ethics = LedgerEntry.programme.in_(list(settings.ethics_programmes))
    # per person: the day they first counted as trained and as ethics-trained (with a minimum
    # of hours, trained needs the hours up to each month-end: one sum per point instead)
    columns: list[Any] = [
        sa.func.min(sa.case((ethics, LedgerEntry.end_on), else_=None)).label("first_ethics")
    ]
    if settings.min_hours > 0:
        columns += [
            sa.func.sum(sa.case((LedgerEntry.end_on <= day, LedgerEntry.hours), else_=0)).label(
                f"h{n}"
            )
            for n, day in enumerate(days)
        ]
    else:
        columns.append(sa.func.min(LedgerEntry.end_on).label("first_done"))
    rows = (
        sa.select(LedgerEntry.employee_id.label("employee_id"), *columns)
        .where(completed)
        .group_by(LedgerEntry.employee_id)
        .subquery("firsts")
    )
    held = (
        sa.select(
            Certificate.employee_id.label("employee_id"),
            *(
                sa.func.max(sa.case((_held_on(day, zone), 1), else_=0)).label(f"c{n}")
                for n, day in enumerate(days)
            ),
        )
        .where(Certificate.kind.in_(list(settings.certificate_kinds)))
        .group_by(Certificate.employee_id)
        .subquery("held")
    )
    sums: list[Any] = [sa.func.count(), sa.func.sum(people.c.manager)]
    for n, day in enumerate(days):
        trained = (
            rows.c[f"h{n}"] >= settings.min_hours
            if settings.min_hours > 0
            else rows.c.first_done <= day
        )
        certified = sa.and_(people.c.manager == 1, held.c[f"c{n}"] == 1)
        sums += [
            sa.func.sum(sa.case((trained, 1), else_=0)),
            sa.func.sum(sa.case((certified, 1), else_=0)),
            sa.func.sum(sa.case((rows.c.first_ethics <= day, 1), else_=0)),
        ]
    query = (
        sa.select(*sums)
        .select_from(people)
        .outerjoin(rows, rows.c.employee_id == people.c.employee_id)
        .outerjoin(held, held.c.employee_id == people.c.employee_id)
    )
    if unit is not None:
        query = query.where(
            people.c.unit_id.in_(sa.select(Unit.id).where(subtree_condition(unit.path)))
        )
    else:
        query = query.where(people.c.unit_id.is_not(None))
    values = db.execute(query).one()
    headcount, managers = int(values[0] or 0), int(values[1] or 0)
    points = []
    for n, day in enumerate(days):
        trained, certified, ethics_count = (int(v or 0) for v in values[2 + 3 * n : 5 + 3 * n])
        counts = Counts(
            headcount=headcount,
            trained=trained,
            managers=managers,
            certified=certified,
            ethics=ethics_count,
        )
        points.append(TrendPoint(day.month, day, targets(counts, settings)))
    return points
