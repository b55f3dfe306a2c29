"""A person's certificates page, downloading the stored PDF (own, the manager's subtree, HR;
404 for anyone else), and HR revoking with a reason, after which the QR page says revoked."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from lms import storage
from lms.certificates.designs import shipped_designs
from lms.certificates.issuing import verify_url
from lms.certificates.services import issue_certificate
from lms.db import utcnow
from lms.org.models import Role
from tests.conftest import csrf_token


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_DEFAULT_LOCALE": "en"}


@pytest.fixture
def setting(app, db, create_unit, create_employee, create_course) -> dict[str, Any]:
    office = create_unit("湖塘供电所")
    other_office = create_unit("城东供电所")
    holder = create_employee("张三", unit=office)
    course = create_course(title="营业窗口服务规范")
    with app.test_request_context():
        certificate = issue_certificate(
            db,
            employee=holder,
            course=course,
            design=shipped_designs()["qualification"],
            issued_on=date(2026, 11, 29),
            score=Decimal(90),
            bureau="龙城供电局",
            serial_bureau="LCGD",
            verify_url=verify_url,
            data_dir=storage.data_dir(app),
            actor=None,
            now=utcnow(),
        )
        db.commit()
    return {
        "certificate": certificate,
        "holder": holder,
        "colleague": create_employee(unit=office),
        "manager": create_employee(unit=office, role=Role.manager),
        "other_manager": create_employee(unit=other_office, role=Role.manager),
        "hr": create_employee(role=Role.hr),
    }


def test_holder_lists_and_downloads(app, client, login, setting) -> None:
    certificate = setting["certificate"]
    login(setting["holder"])
    page = client.get("/me/certificates").get_data(as_text=True)
    assert (
        certificate.serial in page and "营业窗口服务规范" in page and 'data-status="valid"' in page
    )
    response = client.get(f"/certificates/{certificate.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    stored = storage.blob_path(storage.data_dir(app), "certificates", certificate.pdf_sha256)
    assert response.data == stored.read_bytes()


@pytest.mark.parametrize(
    ("who", "status"),
    [("colleague", 404), ("other_manager", 404), ("manager", 200), ("hr", 200)],
)
def test_download_scope(app, login, setting, who, status) -> None:
    client = app.test_client()
    login(setting[who], client=client)
    assert client.get(f"/certificates/{setting['certificate'].id}.pdf").status_code == status
    assert client.get("/certificates/999999.pdf").status_code == 404


def test_hr_revokes_with_a_reason(app, db, login, setting) -> None:
    certificate = setting["certificate"]
    url = f"/certificates/{certificate.id}/revoke"
    manager = app.test_client()
    login(setting["manager"], client=manager)
    token = csrf_token(manager, "/me/certificates")
    assert manager.post(url, data={"csrf_token": token, "reason": "x"}).status_code == 404

    hr = app.test_client()
    login(setting["hr"], client=hr)
    token = csrf_token(hr, "/me/certificates")
    assert hr.post(url, data={"reason": "弄虚作假"}).status_code == 400  # no CSRF token
    refused = hr.post(url, data={"csrf_token": token, "reason": " "}, follow_redirects=True)
    assert "say why the certificate is revoked" in refused.get_data(as_text=True)
    done = hr.post(url, data={"csrf_token": token, "reason": "弄虚作假"}, follow_redirects=True)
    assert "is revoked" in done.get_data(as_text=True)
    public = app.test_client().get(f"/verify/{certificate.verification_code}")
    assert 'data-status="revoked"' in public.get_data(as_text=True)
