"""Issuing: the PDF rendered once and stored with its hash, a second issue returns the same
certificate, and 20 concurrent issues give one certificate per person and course with unique
serials, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.certificates.designs import shipped_designs
from lms.certificates.models import Certificate, CertificateSource, CertificateStatus
from lms.certificates.numbers import next_serial, reserve_serials
from lms.certificates.services import (
    CertificateError,
    add_months,
    issue_certificate,
    reissue_certificate,
)
from lms.courses.models import Course
from lms.org.models import Employee, Role
from tests.conftest import pdf_text, run_threads

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


@pytest.fixture
def app_config() -> dict[str, Any]:
    # twenty issues each render under SQLite's one write lock: on a loaded machine they can
    # queue for longer than the default 15 s; uniqueness, not latency, is what is tested here
    return {"LMS_SQLITE_BUSY_TIMEOUT_MS": 120_000}


def issue(session: Any, employee_id: int, course_id: int, data_dir: Path) -> Certificate:
    return issue_certificate(
        session,
        employee=session.get(Employee, employee_id),
        course=session.get(Course, course_id),
        design=shipped_designs()["qualification"],
        issued_on=date(2026, 11, 29),
        score=Decimal("92.50"),
        bureau="龙城供电局",
        serial_bureau="LCGD",
        verify_url=lambda code: f"https://lms.example.cn/verify/{code}",
        data_dir=data_dir,
        actor=None,
        now=NOW,
    )


def test_add_months() -> None:
    assert add_months(date(2026, 11, 29), 36) == date(2029, 11, 29)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_issue_stores_the_pdf_once(app, db, create_employee, create_course, tmp_path) -> None:
    person = create_employee(name="欧阳晓燕")
    course = create_course(title="电力安全工作规程")
    with app.app_context():
        first = issue(db, person.id, course.id, tmp_path)
        db.commit()
        again = issue(db, person.id, course.id, tmp_path)
    assert again.id == first.id
    assert first.serial == "LCGD-2026-HG-000001" and first.valid_until == date(2029, 11, 29)
    assert len(first.verification_code) == 22
    stored = (tmp_path / first.pdf_path).read_bytes()
    assert hashlib.sha256(stored).hexdigest() == first.pdf_sha256
    text = pdf_text(stored, tmp_path)
    assert "欧阳晓燕" in text and "电力安全工作规程" in text and first.serial in text
    assert f"https://lms.example.cn/verify/{first.verification_code}" not in text  # QR only
    entry = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "certificate.issue")).one()
    assert entry.object_id == first.serial


def test_twenty_concurrent_issues(app, db, create_employee, create_course, tmp_path) -> None:
    course = create_course().id
    same = create_employee().id
    others = [create_employee().id for _ in range(10)]
    people = [same] * 10 + others

    results = run_threads(app, 20, lambda s, n: issue(s, people[n], course, tmp_path).serial)
    assert not [r for r in results if isinstance(r, Exception)], results
    db.rollback()
    rows = db.scalars(sa.select(Certificate)).all()
    assert len(rows) == 11  # one for the person asked ten times, one each for the others
    assert len({r.serial for r in rows}) == 11
    assert {r.employee_id for r in rows} == set(people)
    assert len({r for r in results if r in {x.serial for x in rows if x.employee_id == same}}) == 1


def test_reissue_links_and_keeps_validity(app, db, create_employee, create_course, tmp_path):
    """A reissue: new serial, code and PDF, the same course, score and end of validity; the old
    one replaced and naming nothing new itself; both audited; refused without a reason, for a
    replaced certificate, and for an imported one."""
    person = create_employee(name="王五")
    hr = create_employee(role=Role.hr)
    course = create_course(title="供电服务规范")
    with app.app_context():
        old = issue(db, person.id, course.id, tmp_path)
        db.commit()

        def reissue(certificate: Certificate, reason: str = "遗失补发") -> Certificate:
            return reissue_certificate(
                db,
                certificate,
                reason=reason,
                design=shipped_designs()["qualification"],
                bureau="龙城供电局",
                serial_bureau="LCGD",
                verify_url=lambda code: f"https://lms.example.cn/verify/{code}",
                data_dir=tmp_path,
                actor=hr,
                now=NOW,
                issued_on=date(2027, 2, 1),
            )

        with pytest.raises(CertificateError, match="reason"):
            reissue(old, "  ")
        new = reissue(old)
        db.commit()
        assert new.serial == "LCGD-2027-HG-000001" and new.replaces_id == old.id
        assert new.verification_code != old.verification_code
        assert (new.issued_on, new.valid_until) == (date(2027, 2, 1), old.valid_until)
        assert new.score == old.score and new.pdf_sha256 != old.pdf_sha256
        assert old.status is CertificateStatus.replaced
        assert new.status is CertificateStatus.valid
        with pytest.raises(CertificateError, match="only a valid"):
            reissue(old)
        new.source = CertificateSource.imported
        with pytest.raises(CertificateError, match="imported"):
            reissue(new)
        db.rollback()
    actions = db.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["certificate.issue", "certificate.reissue", "certificate.replace"]


def test_reserved_serials_are_consecutive(app, db) -> None:
    with app.app_context():
        assert reserve_serials(db, "LCGD-2026-SG", 3) == [
            "LCGD-2026-SG-000001",
            "LCGD-2026-SG-000002",
            "LCGD-2026-SG-000003",
        ]
        assert reserve_serials(db, "LCGD-2026-SG", 0) == []
        assert next_serial(db, "LCGD-2026-SG") == "LCGD-2026-SG-000004"
        db.rollback()
