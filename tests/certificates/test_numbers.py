"""Serial numbers and verification codes: per prefix, in order, unique when 20 issues run at
once; and one valid certificate per person and course, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from lms.certificates.models import Certificate, CertificateStatus
from lms.certificates.numbers import next_serial, serial_prefix, verification_code
from tests.conftest import run_threads


def certificate(employee_id: int, serial: str, course_id: int | None = None) -> Certificate:
    return Certificate(
        serial=serial,
        verification_code=verification_code(),
        employee_id=employee_id,
        course_id=course_id,
        design="qualification",
        kind="qualification",
        title="安全规程",
        issued_on=date(2026, 11, 29),
    )


def test_prefix_and_order(db: Any) -> None:
    assert serial_prefix("LCGD", 2026, "SG") == "LCGD-2026-SG"
    for bad in ("lcgd", "LC-GD", "", "A" * 13):
        with pytest.raises(ValueError):
            serial_prefix(bad, 2026, "SG")
    serials = [next_serial(db, "LCGD-2026-SG") for _ in range(3)]
    serials.append(next_serial(db, "LCGD-2026-SS"))
    db.commit()
    assert serials == [
        "LCGD-2026-SG-000001",
        "LCGD-2026-SG-000002",
        "LCGD-2026-SG-000003",
        "LCGD-2026-SS-000001",
    ]


def test_verification_codes_are_long_and_distinct() -> None:
    codes = {verification_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(len(code) == 22 for code in codes)  # 16 random bytes, URL-safe


def test_twenty_at_once_get_unique_serials(app: Any, db: Any, create_employee: Any) -> None:
    people = [create_employee().id for _ in range(20)]

    def issue(session: Any, n: int) -> str:
        serial = next_serial(session, "LCGD-2026-SG")
        session.add(certificate(people[n], serial))
        session.flush()
        return serial

    results = run_threads(app, 20, issue)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results) == [f"LCGD-2026-SG-{n:06d}" for n in range(1, 21)]
    assert db.scalar(sa.select(sa.func.count(Certificate.id))) == 20


def test_one_valid_certificate_per_person_and_course(
    app: Any, db: Any, create_employee: Any, create_course: Any
) -> None:
    person = create_employee().id
    course = create_course().id

    def issue(session: Any, n: int) -> str:
        serial = next_serial(session, "LCGD-2026-SG")
        session.add(certificate(person, serial, course))
        session.flush()
        return serial

    results = run_threads(app, 20, issue)
    won = [r for r in results if isinstance(r, str)]
    assert len(won) == 1
    assert all(isinstance(r, IntegrityError) for r in results if not isinstance(r, str))
    valid = db.scalars(sa.select(Certificate).where(Certificate.employee_id == person)).all()
    assert [c.serial for c in valid] == won
    # once replaced (or revoked), a new valid one may be issued for the same course
    valid[0].status = CertificateStatus.replaced
    db.add(certificate(person, next_serial(db, "LCGD-2026-SG"), course))
    db.commit()
    assert db.scalar(sa.select(sa.func.count(Certificate.id))) == 2
