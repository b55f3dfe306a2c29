"""The three targets, exactly (DESIGN.md): integer comparisons at the boundaries, who is in scope
on the as-of date, which certificates count, which records count, 人数 not 人次, and the unit a
person was in on the as-of date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from lms.certificates.models import Certificate, CertificateSource, CertificateStatus
from lms.org.models import EmployeeMove, EmploymentStatus
from lms.reports.coverage import (
    ALL_STAFF,
    ETHICS,
    MANAGEMENT,
    CoverageSettings,
    TargetRule,
    coverage,
    default_as_of,
)
from lms.training.models import LedgerEntry
from tests.reports.conftest import certificate, people, record

ZONE = ZoneInfo("Asia/Shanghai")
SETTINGS = CoverageSettings()


def result(db, year=2026, as_of=date(2026, 12, 31), unit=None, settings=SETTINGS):
    db.commit()
    return coverage(db, year=year, as_of=as_of, unit=unit, settings=settings, zone=ZONE)


def target(found, key):
    return next(t for t in found.targets if t.key == key)


def test_integer_comparisons_at_the_boundaries() -> None:
    assert not TargetRule(80, ">").met(1440, 1800)  # 80.00% fails
    assert TargetRule(80, ">").met(1441, 1800)
    assert TargetRule(20, ">=").met(360, 1800)  # 20.00% passes
    assert not TargetRule(20, ">=").met(359, 1800)
    assert not TargetRule(40, ">").met(104, 260)  # 40.00% fails
    assert TargetRule(40, ">").met(105, 260)
    assert not TargetRule(80, ">").met(0, 0)


def test_the_four_boundary_cases_in_the_database(app, db, create_unit) -> None:
    """1800 in post, 1440 trained (fails), 360 with ethics (passes); 260 managers of whom 104
    hold the certificate (fails), then 105 (passes)."""
    unit = create_unit("某供电局")
    staff = people(db, unit, 1540)
    managers = people(db, unit, 260, is_manager=True)
    everyone = staff + managers
    rows = [record(p, date(2026, 5, 1)) for p in everyone[:1080]]
    rows += [
        record(p, date(2026, 5, 2), programme="professional_ethics") for p in everyone[1080:1440]
    ]
    db.execute(sa.insert(LedgerEntry), rows)
    db.execute(sa.insert(Certificate), [certificate(p) for p in managers[:104]])
    found = result(db)
    assert (found.total.headcount, found.total.managers) == (1800, 260)
    trained, certified, ethics = (target(found, k) for k in (ALL_STAFF, MANAGEMENT, ETHICS))
    assert (trained.numerator, trained.denominator, trained.met) == (1440, 1800, False)
    assert trained.rate == 80.0
    assert (ethics.numerator, ethics.met) == (360, True)
    assert (certified.numerator, certified.denominator, certified.met) == (104, 260, False)
    db.execute(sa.insert(Certificate), [certificate(managers[104])])
    certified = target(result(db), MANAGEMENT)
    assert (certified.numerator, certified.met) == (105, True)


def test_scope_on_the_as_of_date(app, db, create_unit) -> None:
    """Leavers (left by D) and people hired after D drop out of both sides; excluded statuses are
    out; a leaver who left after D was in post on D; only rows dated in the year up to D count,
    31 December and 1 January at the edges; failed rows are not training; several rows are one
    person."""
    unit = create_unit("城东供电所")
    (stays,) = people(db, unit, 1)
    (left_before,) = people(db, unit, 1, status=EmploymentStatus.left, left_on=date(2026, 6, 30))
    (left_after,) = people(db, unit, 1, status=EmploymentStatus.left, left_on=date(2027, 1, 10))
    (hired_after,) = people(db, unit, 1, hired_on=date(2027, 1, 2))
    (hired_on_d,) = people(db, unit, 1, hired_on=date(2026, 12, 31))
    (seconded,) = people(db, unit, 1, status=EmploymentStatus.seconded)
    (retired,) = people(db, unit, 1, status=EmploymentStatus.early_retired)
    (failed,) = people(db, unit, 1)
    db.execute(
        sa.insert(LedgerEntry),
        [
            record(stays, date(2026, 12, 31)),  # the last day counts
            record(stays, date(2026, 3, 1)),  # a second row: still one person
            record(left_before, date(2026, 3, 1)),
            record(left_after, date(2026, 1, 1)),  # the first day counts
            record(hired_on_d, date(2025, 12, 31)),  # last year's: does not count
            record(seconded, date(2026, 3, 1)),
            record(failed, date(2026, 3, 1), passed=False),
        ],
    )
    found = result(db)
    assert found.total.headcount == 4  # stays, left_after, hired_on_d, failed
    trained = target(found, ALL_STAFF)
    assert (trained.numerator, trained.denominator) == (2, 4)
    assert found.total.records == 3 and found.total.hours == 6.0  # 人次 and hours of in-scope

    # as of 29 June: the 31 December row has not happened yet; left_before (leaving on 30 June)
    # is still in post; on the day they leave they are out
    assert result(db, as_of=date(2026, 6, 30)).total.headcount == 3
    mid = result(db, as_of=date(2026, 6, 29))
    assert target(mid, ALL_STAFF).numerator == 3  # stays (March), left_before, left_after
    assert mid.total.headcount == 4  # stays, left_before (leaves after D), left_after, failed

    # statuses are settings: count the seconded too
    wider = CoverageSettings(
        included_statuses=frozenset({EmploymentStatus.active, EmploymentStatus.seconded})
    )
    assert target(result(db, settings=wider), ALL_STAFF).numerator == 3
    del retired, hired_after


def test_min_hours_setting(app, db, create_unit) -> None:
    unit = create_unit()
    short, enough = people(db, unit, 2)
    db.execute(
        sa.insert(LedgerEntry),
        [
            record(short, date(2026, 2, 1), hours="4"),
            record(enough, date(2026, 2, 1), hours="4"),
            record(enough, date(2026, 3, 1), hours="4.5"),
        ],
    )
    found = result(db, settings=CoverageSettings(min_hours=8))
    assert target(found, ALL_STAFF).numerator == 1


def test_which_certificates_count(app, db, create_unit) -> None:
    """On D: issued on or before D, not expired on D, not revoked by D, of the kind; imported
    ones count like issued ones; a certificate of a non-manager counts for nobody."""
    unit = create_unit()
    (valid, imported, expired, revoked, revoked_later, issued_after, other_kind, ends_on_d) = (
        people(db, unit, 8, is_manager=True)
    )
    (not_manager,) = people(db, unit, 1)
    d = date(2026, 12, 31)
    db.execute(
        sa.insert(Certificate),
        [
            certificate(valid),
            certificate(imported, source=CertificateSource.imported, design="imported"),
            certificate(expired, valid_until=date(2026, 12, 30)),
            certificate(
                revoked,
                status=CertificateStatus.revoked,
                revoked_at=datetime(2026, 11, 1, 2, 0, tzinfo=UTC),
            ),
            certificate(
                revoked_later,
                status=CertificateStatus.revoked,
                revoked_at=datetime(2027, 1, 5, 2, 0, tzinfo=UTC),
            ),
            certificate(issued_after, issued_on=date(2027, 1, 1)),
            certificate(other_kind, kind="qualification"),
            certificate(ends_on_d, valid_until=d),
            certificate(not_manager),
        ],
    )
    certified = target(result(db, as_of=d), MANAGEMENT)
    assert (certified.numerator, certified.denominator) == (4, 8)  # valid, imported, later, on_d


def test_a_person_counts_in_the_unit_they_were_in_on_the_as_of_date(app, db, create_unit) -> None:
    """Moved from A to B on 1 July: as of 31 December in B; as of 30 June in A. Subtree totals
    add up through the tree."""
    bureau = create_unit("龙城供电局")
    a = create_unit("甲所", parent=bureau)
    b = create_unit("乙所", parent=bureau)
    (mover,) = people(db, b, 1)
    (stays,) = people(db, a, 1)
    db.add(
        EmployeeMove(
            employee_id=mover, effective_on=date(2026, 7, 1), from_unit_id=a.id, to_unit_id=b.id
        )
    )
    db.execute(sa.insert(LedgerEntry), [record(mover, date(2026, 3, 1))])

    def heads(found):
        return {row.unit.name: (row.counts.headcount, row.counts.trained) for row in found.units}

    assert heads(result(db)) == {"龙城供电局": (2, 1), "甲所": (1, 0), "乙所": (1, 1)}
    assert heads(result(db, as_of=date(2026, 6, 30))) == {
        "龙城供电局": (2, 1),
        "甲所": (2, 1),
        "乙所": (0, 0),
    }
    only_a = result(db, unit=a, as_of=date(2026, 6, 30))
    assert [row.unit.name for row in only_a.units] == ["甲所"]
    assert target(only_a, ALL_STAFF).denominator == 2
    del stays


def test_default_as_of() -> None:
    assert default_as_of(2026, date(2026, 11, 29)) == date(2026, 11, 29)
    assert default_as_of(2025, date(2026, 11, 29)) == date(2025, 12, 31)


@pytest.mark.parametrize("kind", ["by_post", "by_staff_kind"])
def test_breakdowns_add_up(app, db, create_unit, kind) -> None:
    unit = create_unit()
    ids = people(db, unit, 3)
    db.execute(sa.insert(LedgerEntry), [record(ids[0], date(2026, 3, 1))])
    found = result(db)
    groups = getattr(found, kind)
    assert sum(c.headcount for _k, c in groups) == 3
    assert sum(c.trained for _k, c in groups) == 1
