"""The home page lists certificates to renew: an employee their own, a manager their subtree's,
within LMS_CERTIFICATE_EXPIRING_DAYS of their end or past it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from lms.certificates.models import Certificate, CertificateStatus
from lms.certificates.numbers import verification_code
from lms.db import utcnow
from lms.org.models import Role


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_DEFAULT_LOCALE": "en"}


def add(db: Any, employee: Any, serial: str, ends_in: int, **values: Any) -> None:
    db.add(
        Certificate(
            serial=serial,
            verification_code=verification_code(),
            employee_id=employee.id,
            design="qualification",
            kind="qualification",
            title=f"课程{serial}",
            issued_on=date(2024, 1, 1),
            valid_until=utcnow().date() + timedelta(days=ends_in),
            **values,
        )
    )
    db.commit()


def test_home_lists_certificates_to_renew(app, db, login, create_unit, create_employee) -> None:
    office, other_office = create_unit("湖塘供电所"), create_unit("城东供电所")
    me = create_employee("张三", unit=office)
    add(db, me, "SOON", 30)
    add(db, me, "LATER", 400)
    add(db, me, "GONE", -5)
    add(db, me, "REVOKED", 10, status=CertificateStatus.revoked)
    stranger = create_employee("王五", unit=other_office)
    add(db, stranger, "THEIRS", 20)

    client = app.test_client()
    login(me, client=client)
    page = client.get("/").get_data(as_text=True)
    assert 'data-serial="SOON"' in page and 'data-serial="GONE"' in page
    for absent in ("LATER", "REVOKED", "THEIRS"):
        assert f'data-serial="{absent}"' not in page

    manager = app.test_client()
    login(create_employee(unit=office, role=Role.manager), client=manager)
    page = manager.get("/").get_data(as_text=True)
    assert 'data-serial="SOON"' in page and "张三" in page and 'data-serial="THEIRS"' not in page
