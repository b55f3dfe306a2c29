"""The demo's three years of history make the annual report tell a story: some units above and
some below each target; study days with attendance in the ledger; certificates valid, expiring,
expired and revoked; people who moved; the rural-office pack assigned, some of it overdue."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from lms.certificates.models import Certificate, CertificateStatus
from lms.cli import lms_commands
from lms.i18n import local_date
from lms.org.models import EmployeeMove
from lms.reports.coverage import CoverageSettings, coverage, targets
from lms.training.models import Assignment, LedgerEntry, SessionAttendee, TrainingSession


@pytest.fixture
def demo(app, runner):
    result = runner.invoke(lms_commands, ["demo", "--employees", "900"])
    assert result.exit_code == 0, result.output
    assert "History:" in result.output
    return app


@pytest.fixture
def today(demo) -> date:
    with demo.app_context():
        return local_date()


def test_history_tells_a_story(demo, db, today) -> None:
    settings = CoverageSettings()
    found = coverage(
        db,
        year=today.year,
        as_of=today,
        unit=None,
        settings=settings,
        zone=ZoneInfo("Asia/Shanghai"),
    )
    departments = [row for row in found.units if row.depth == 1 and row.counts.headcount >= 5]
    for key in ("all_staff_training", "management_certification", "professional_ethics"):
        met = [
            next(t for t in targets(row.counts, settings) if t.key == key).met
            for row in departments
            if key != "management_certification" or row.counts.managers
        ]
        assert any(met) and not all(met), key  # some units above, some below

    for year in (today.year - 2, today.year - 1, today.year):
        count = db.scalar(
            sa.select(sa.func.count(LedgerEntry.id)).where(
                LedgerEntry.end_on.between(date(year, 1, 1), date(year, 12, 31))
            )
        )
        assert count > 500, year


def test_study_days_certificates_moves_and_assignments(demo, db, today) -> None:
    study_days = db.scalar(sa.select(sa.func.count(TrainingSession.id)))
    present = db.scalar(sa.select(sa.func.count()).where(SessionAttendee.present.is_(True)))
    rows = db.scalar(
        sa.select(sa.func.count(LedgerEntry.id)).where(LedgerEntry.programme == "study_day")
    )
    assert study_days > 20 and present == rows > 0

    statuses = {s for (s,) in db.execute(sa.select(Certificate.status).distinct())}
    assert CertificateStatus.valid in statuses
    ends = db.scalars(sa.select(Certificate.valid_until)).all()
    assert any(e < today for e in ends)  # expired
    assert any(today <= e <= today + timedelta(days=90) for e in ends)  # expiring
    assert CertificateStatus.revoked in statuses
    with_pdf = db.scalars(sa.select(Certificate).where(Certificate.pdf_sha256.is_not(None))).all()
    assert {c.employee.emp_no for c in with_pdf} == {"LC000004", "LC000006"}

    assert db.scalar(sa.select(sa.func.count(EmployeeMove.id))) >= 1
    overdue = db.scalar(
        sa.select(sa.func.count(Assignment.id)).where(
            Assignment.completed_at.is_(None), Assignment.due_on < today
        )
    )
    assert overdue > 0
