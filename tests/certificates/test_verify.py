"""The public verification page: no sign-in; the masked name, course, dates and status, nothing
else about the person; unknown codes are 404; each look-up is recorded; too many from one
address are refused (429)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lms.certificates.models import Certificate, CertificateStatus, CertificateVerification
from lms.certificates.numbers import verification_code
from lms.certificates.services import mask_name, status_on
from lms.db import utcnow


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_DEFAULT_LOCALE": "en", "LMS_VERIFY_PER_MINUTE": 5}


@pytest.fixture
def certificate(db: Any, create_employee: Any, create_course: Any) -> Certificate:
    person = create_employee(name="欧阳晓燕", emp_no="LC123456")
    row = Certificate(
        serial="LCGD-2026-SG-000007",
        verification_code=verification_code(),
        employee_id=person.id,
        course_id=create_course(title="管理人员上岗培训").id,
        design="onboarding",
        kind="onboarding",
        title="管理人员上岗培训",
        issued_on=date(2026, 3, 1),
        valid_until=utcnow().date() + timedelta(days=400),
    )
    db.add(row)
    db.commit()
    return row


def test_mask_and_status() -> None:
    assert mask_name("张三") == "张*" and mask_name("欧阳晓燕") == "欧***" and mask_name("") == ""
    row = Certificate(status=CertificateStatus.valid, valid_until=date(2026, 12, 31))
    assert status_on(row, date(2026, 1, 1), expiring_days=90) == "valid"
    assert status_on(row, date(2026, 10, 2), expiring_days=90) == "expiring"
    assert status_on(row, date(2026, 12, 31), expiring_days=90) == "expiring"
    assert status_on(row, date(2027, 1, 1), expiring_days=90) == "expired"
    row.status = CertificateStatus.revoked
    assert status_on(row, date(2026, 1, 1), expiring_days=90) == "revoked"


def test_anyone_verifies_by_code(client: Any, db: Any, certificate: Certificate) -> None:
    response = client.get(f"/verify/{certificate.verification_code}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "欧***" in page and "欧阳晓燕" not in page and "LC123456" not in page
    assert "管理人员上岗培训" in page and "LCGD-2026-SG-000007" in page
    assert 'data-status="valid"' in page and "上岗培训合格证" in page
    certificate.status = CertificateStatus.revoked
    db.commit()
    page = client.get(f"/verify?code={certificate.verification_code}").get_data(as_text=True)
    assert 'data-status="revoked"' in page
    assert client.get("/verify/" + "x" * 22).status_code == 404
    assert client.get("/verify").status_code == 200
    db.rollback()
    logged = db.scalars(sa.select(CertificateVerification)).all()
    assert [v.certificate_id for v in logged] == [certificate.id, certificate.id, None]


def test_too_many_look_ups_are_refused(client: Any, certificate: Certificate) -> None:
    for _ in range(5):
        assert client.get("/verify/" + "y" * 22).status_code == 404
    response = client.get(f"/verify/{certificate.verification_code}")
    assert response.status_code == 429
    assert "Too many look-ups" in response.get_data(as_text=True)
