"""A certificate's lifecycle on the pages: HR revokes and reissues from the person's record page
(reason required, CSRF checked, 404 outside the role), the old one then verifies as replaced;
the holder's page says what replaced what; managers and HR see what is to be renewed, on a page
and as XLSX, within their scope only."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from lms import storage
from lms.certificates.designs import shipped_designs
from lms.certificates.issuing import verify_url
from lms.certificates.models import Certificate, CertificateSource, CertificateStatus
from lms.certificates.numbers import verification_code
from lms.certificates.services import issue_certificate
from lms.db import utcnow
from lms.i18n import local_date
from lms.org.models import Role
from lms.training.models import LedgerSource, TrainingForm
from lms.training.services import add_ledger_entry
from tests.conftest import count_rows, csrf_token


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_DEFAULT_LOCALE": "en", "LMS_PAGE_SIZE": 3}


@pytest.fixture
def setting(app, db, create_unit, create_employee, create_course) -> dict[str, Any]:
    office = create_unit("湖塘供电所")
    other_office = create_unit("城东供电所")
    holder = create_employee("张三", unit=office)
    stranger = create_employee("王五", unit=other_office)
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
            valid_until=date(2099, 12, 31),
        )
        db.commit()
    return {
        "office": office,
        "other_office": other_office,
        "certificate": certificate,
        "holder": holder,
        "stranger": stranger,
        "manager": create_employee(unit=office, role=Role.manager),
        "other_manager": create_employee(unit=other_office, role=Role.manager),
        "hr": create_employee(role=Role.hr),
    }


def signed_in(app: Any, login: Any, employee: Any) -> Any:
    client = app.test_client()
    login(employee, client=client)
    return client


def add(
    db: Any, employee: Any, serial: str, ends_in: int, *, today: date, **values: Any
) -> Certificate:
    """A certificate (imported, no PDF) ending ``ends_in`` days from the bureau's today."""
    certificate = Certificate(
        serial=serial,
        verification_code=verification_code(),
        employee_id=employee.id,
        design="qualification",
        kind="qualification",
        title=f"课程{serial}",
        issued_on=date(2024, 1, 1),
        valid_until=today + timedelta(days=ends_in),
        source=CertificateSource.imported,
        **values,
    )
    db.add(certificate)
    db.commit()
    return certificate


def fresh(db: Any) -> None:
    """Read what the app committed since: a new snapshot, and no stale objects kept."""
    db.rollback()
    db.expire_all()


def bureau_today(app: Any) -> date:
    with app.app_context():
        return local_date()


# -- the record page's forms -------------------------------------------------------------------


def test_only_hr_sees_revoke_and_reissue_forms(app, login, setting) -> None:
    """HR sees both forms on a record page; the manager and the holder see the row, no forms."""
    holder = setting["holder"]
    url = f"/employees/{holder.id}/record"
    page = signed_in(app, login, setting["hr"]).get(url).get_data(as_text=True)
    serial = setting["certificate"].serial
    assert f'data-serial="{serial}" data-status="valid"' in page
    assert 'data-testid="revoke-form"' in page and 'data-testid="reissue-form"' in page
    assert f"/certificates/{setting['certificate'].id}.pdf" in page
    for who, path in (("manager", url), ("holder", "/me/record")):
        page = signed_in(app, login, setting[who]).get(path).get_data(as_text=True)
        assert f'data-serial="{serial}"' in page
        assert "revoke-form" not in page and "reissue-form" not in page


def test_imported_certificate_shows_as_imported_without_reissue(app, db, login, setting) -> None:
    """An imported certificate is marked so, may be revoked, and offers no reissue."""
    today = bureau_today(app)
    add(db, setting["holder"], "OLD-1", 400, today=today)
    page = (
        signed_in(app, login, setting["hr"])
        .get(f"/employees/{setting['holder'].id}/record")
        .get_data(as_text=True)
    )
    row = page[page.index('data-serial="OLD-1"') :].split("</tr>")[0]
    assert "Held before the system" in row and "revoke-form" in row
    assert "reissue-form" not in row and ".pdf" not in row


def test_revoke_needs_a_reason_and_returns_to_the_record(app, db, login, setting) -> None:
    """No reason: a named error and nothing changed; with one: back to the record page."""
    certificate = setting["certificate"]
    hr = signed_in(app, login, setting["hr"])
    record = f"/employees/{setting['holder'].id}/record"
    token = csrf_token(hr, record)
    url = f"/certificates/{certificate.id}/revoke"
    refused = hr.post(url, data={"csrf_token": token, "reason": "  ", "next": record})
    assert refused.status_code == 302 and refused.location.endswith(record)
    page = hr.get(record).get_data(as_text=True)
    assert "Reason: say why the certificate is revoked." in page
    fresh(db)
    assert db.get(Certificate, certificate.id).status is CertificateStatus.valid

    # without ``next`` (or with one off the site) it goes back to the holder's record too
    done = hr.post(url, data={"csrf_token": token, "reason": "弄虚作假", "next": "//evil.example"})
    assert done.status_code == 302 and done.location.endswith(record)
    assert "is revoked" in hr.get(record).get_data(as_text=True)
    fresh(db)
    row = db.get(Certificate, certificate.id)
    assert row.status is CertificateStatus.revoked and row.revoked_reason == "弄虚作假"


def test_revoked_certificate_shows_its_reason_on_the_record_page(app, db, login, setting) -> None:
    """After revocation the record page lists it as revoked, with the reason, and no forms."""
    certificate = setting["certificate"]
    hr = signed_in(app, login, setting["hr"])
    record = f"/employees/{setting['holder'].id}/record"
    hr.post(
        f"/certificates/{certificate.id}/revoke",
        data={"csrf_token": csrf_token(hr, record), "reason": "培训记录不实"},
    )
    page = hr.get(record).get_data(as_text=True)
    row = page[page.index(f'data-serial="{certificate.serial}"') :].split("</tr>")[0]
    assert 'data-status="revoked"' in row and "培训记录不实" in row
    assert "revoke-form" not in row and "reissue-form" not in row


def test_reissue_makes_a_new_certificate_and_the_old_verifies_replaced(
    app, db, login, setting
) -> None:
    """A new serial, code and PDF with the same end date, naming the old one, now replaced."""
    old = setting["certificate"]
    old_id, old_serial, old_code = old.id, old.serial, old.verification_code
    hr = signed_in(app, login, setting["hr"])
    record = f"/employees/{setting['holder'].id}/record"
    response = hr.post(
        f"/certificates/{old_id}/reissue",
        data={"csrf_token": csrf_token(hr, record), "reason": "证书遗失", "next": record},
    )
    assert response.status_code == 302 and response.location.endswith(record)

    fresh(db)
    rows = db.scalars(sa.select(Certificate).order_by(Certificate.id)).all()
    assert len(rows) == 2
    before, after = rows
    assert before.id == old_id and before.status is CertificateStatus.replaced
    assert after.status is CertificateStatus.valid and after.replaces_id == old_id
    assert after.serial != old_serial and after.verification_code != old_code
    assert after.valid_until == date(2099, 12, 31) and after.score == before.score
    assert storage.blob_path(storage.data_dir(app), "certificates", after.pdf_sha256).is_file()

    page = hr.get(record).get_data(as_text=True)
    assert f"is reissued as {after.serial}" in page
    assert f'data-serial="{old_serial}" data-status="replaced"' in page
    assert f"Replaced by {after.serial}" in page and f"Replaces {old_serial}" in page

    public = app.test_client()
    assert 'data-status="replaced"' in public.get(f"/verify/{old_code}").get_data(as_text=True)
    new_page = public.get(f"/verify/{after.verification_code}").get_data(as_text=True)
    assert 'data-status="valid"' in new_page

    mine = signed_in(app, login, setting["holder"]).get("/me/certificates").get_data(as_text=True)
    assert f"Replaced by {after.serial}" in mine and 'data-status="replaced"' in mine


def test_reissued_certificate_takes_the_ledger_row_in_the_xlsx(
    app, db, login, create_course, setting
) -> None:
    """The training file's XLSX shows the new serial on the row the old one was issued for."""
    holder, course = setting["holder"], create_course(title="抄表业务规范")
    day = date(2026, 3, 2)
    entry = add_ledger_entry(
        db,
        employee_id=holder.id,
        programme=course.programme,
        title=course.title,
        form=TrainingForm.online,
        start_on=day,
        end_on=day,
        hours=Decimal("2"),
        source=LedgerSource.online,
        source_ref="test:reissue",
        course_id=course.id,
        score=Decimal("90"),
    )
    with app.test_request_context():
        old = issue_certificate(
            db,
            employee=holder,
            course=course,
            design=shipped_designs()["qualification"],
            issued_on=day,
            score=Decimal(90),
            bureau="龙城供电局",
            serial_bureau="LCGD",
            verify_url=verify_url,
            data_dir=storage.data_dir(app),
            actor=None,
            now=utcnow(),
            ledger_entry_id=entry.id,
        )
        db.commit()
    hr = signed_in(app, login, setting["hr"])
    record = f"/employees/{holder.id}/record"
    hr.post(
        f"/certificates/{old.id}/reissue",
        data={"csrf_token": csrf_token(hr, record), "reason": "姓名更正"},
    )
    fresh(db)
    new = db.scalars(sa.select(Certificate).where(Certificate.replaces_id == old.id)).one()
    sheet = openpyxl.load_workbook(io.BytesIO(hr.get(f"{record}.xlsx").data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    serials = [row[rows[0].index("证书编号")] for row in rows[1:]]
    assert serials == [new.serial]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no reason", "Reason: say why the certificate is reissued."),
        ("revoked", "Only a valid certificate can be reissued."),
        ("imported", "A certificate held before the system cannot be reissued."),
        ("design gone", "is not installed any more"),
    ],
)
def test_reissue_refusals_are_named_and_change_nothing(
    app, db, login, setting, case, message
) -> None:
    """No reason, not valid, imported, a design no longer installed: a message, no new row."""
    certificate = setting["certificate"]
    if case == "revoked":
        certificate.status = CertificateStatus.revoked
    elif case == "imported":
        certificate.source = CertificateSource.imported
    elif case == "design gone":
        certificate.design = "withdrawn"
    db.commit()
    hr = signed_in(app, login, setting["hr"])
    record = f"/employees/{setting['holder'].id}/record"
    response = hr.post(
        f"/certificates/{certificate.id}/reissue",
        data={"csrf_token": csrf_token(hr, record), "reason": "" if case == "no reason" else "x"},
    )
    assert response.status_code == 302
    assert message in hr.get(record).get_data(as_text=True)
    assert count_rows(db, Certificate) == 1
    fresh(db)
    assert db.get(Certificate, certificate.id).replaces_id is None


@pytest.mark.parametrize("action", ["revoke", "reissue"])
def test_lifecycle_actions_are_hr_only_and_need_csrf(app, db, login, setting, action) -> None:
    """Managers (own unit or another) and employees get 404; unknown ids 404; no CSRF 400."""
    certificate = setting["certificate"]
    url = f"/certificates/{certificate.id}/{action}"
    for who in ("manager", "other_manager", "holder", "stranger"):
        client = signed_in(app, login, setting[who])
        token = csrf_token(client, "/me/certificates")
        assert client.post(url, data={"csrf_token": token, "reason": "x"}).status_code == 404
    hr = signed_in(app, login, setting["hr"])
    token = csrf_token(hr, "/me/certificates")
    assert hr.post(url, data={"reason": "x"}).status_code == 400  # no CSRF token
    for missing in (999999, 2**40):
        response = hr.post(f"/certificates/{missing}/{action}", data={"csrf_token": token})
        assert response.status_code == 404
    fresh(db)
    assert db.get(Certificate, certificate.id).status is CertificateStatus.valid
    assert count_rows(db, Certificate) == 1


# -- certificates to renew ---------------------------------------------------------------------


def test_manager_sees_own_subtree_to_renew(app, db, login, setting) -> None:
    """Soonest first, overdue ones said so, another unit's and later ones absent."""
    today = bureau_today(app)
    holder = setting["holder"]
    add(db, holder, "SOON", 30, today=today)
    add(db, holder, "GONE", -5, today=today)
    add(db, holder, "LATER", 400, today=today)
    add(db, holder, "REVOKED", 10, today=today, status=CertificateStatus.revoked)
    add(db, setting["stranger"], "THEIRS", 20, today=today)

    page = signed_in(app, login, setting["manager"]).get("/certificates/expiring")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.index('data-serial="GONE"') < text.index('data-serial="SOON"')
    for absent in ("LATER", "REVOKED", "THEIRS", setting["certificate"].serial):
        assert f'data-serial="{absent}"' not in text
    assert "5 days overdue" in text and 'data-days="30"' in text and "张三" in text
    assert "2 certificates" in text and holder.emp_no in text and "湖塘供电所" in text

    other = signed_in(app, login, setting["other_manager"]).get("/certificates/expiring")
    text = other.get_data(as_text=True)
    assert 'data-serial="THEIRS"' in text and 'data-serial="SOON"' not in text


def test_hr_sees_everyone_paginated(app, db, login, setting) -> None:
    """HR sees every unit's; LMS_PAGE_SIZE rows a page, with a count and a pager."""
    today = bureau_today(app)
    for n in range(4):
        add(db, setting["holder"], f"H{n}", n, today=today)
    add(db, setting["stranger"], "THEIRS", 20, today=today)
    hr = signed_in(app, login, setting["hr"])
    first = hr.get("/certificates/expiring").get_data(as_text=True)
    assert "5 certificates" in first and "Page 1 of 2" in first
    assert 'data-serial="H0"' in first and "Ends today" in first
    second = hr.get("/certificates/expiring?page=2").get_data(as_text=True)
    assert 'data-serial="THEIRS"' in second and 'data-serial="H0"' not in second
    assert hr.get("/certificates/expiring?page=99999999999").status_code == 200
    assert hr.get("/certificates/expiring?page=x").status_code == 200


def test_expiring_xlsx_matches_the_scope_and_is_formula_safe(
    app, db, login, create_employee, setting
) -> None:
    """The same rows as the page, with days left (negative: overdue); text never a formula."""
    today = bureau_today(app)
    tricky = create_employee('=HYPERLINK("http://x","y")', unit=setting["office"])
    add(db, tricky, "GONE", -5, today=today)
    add(db, setting["holder"], "SOON", 30, today=today)
    add(db, setting["stranger"], "THEIRS", 20, today=today)
    response = signed_in(app, login, setting["manager"]).get("/certificates/expiring.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("sheet")
    assert "no-store" in response.headers["Cache-Control"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][:3] == ["姓名", "工号", "单位"] and rows[0][-2:] == ["剩余天数", "状态"]
    assert [row[6] for row in rows[1:]] == ["GONE", "SOON"]
    assert rows[1][0] == '=HYPERLINK("http://x","y")' and sheet["A2"].data_type == "s"
    assert rows[1][8] == -5 and rows[1][9] == "已过期" and rows[2][8] == 30
    assert rows[2][7] == (today + timedelta(days=30)).isoformat()


def test_employees_get_404_for_the_expiring_pages(app, login, setting) -> None:
    """The list and its export do not exist for a plain employee."""
    client = signed_in(app, login, setting["holder"])
    assert client.get("/certificates/expiring").status_code == 404
    assert client.get("/certificates/expiring.xlsx").status_code == 404


def test_home_links_managers_to_the_full_list(app, db, login, setting) -> None:
    """The home page's list to renew links to the whole list for a manager."""
    add(db, setting["holder"], "SOON", 30, today=bureau_today(app))
    page = signed_in(app, login, setting["manager"]).get("/").get_data(as_text=True)
    assert 'data-testid="home-expiring-all"' in page and "/certificates/expiring" in page
    mine = signed_in(app, login, setting["holder"]).get("/").get_data(as_text=True)
    assert "home-expiring-all" not in mine


def test_my_certificates_say_expiring_expired_and_revoked(app, db, login, setting) -> None:
    """The holder's page shows days left, expired and revoked (with its reason) plainly."""
    today = bureau_today(app)
    add(db, setting["holder"], "SOON", 30, today=today)
    add(db, setting["holder"], "GONE", -5, today=today)
    add(
        db,
        setting["holder"],
        "STRUCK",
        300,
        today=today,
        status=CertificateStatus.revoked,
        revoked_reason="培训记录不实",
        revoked_at=utcnow(),
    )
    page = signed_in(app, login, setting["holder"]).get("/me/certificates").get_data(as_text=True)
    assert 'data-status="expiring" data-serial="SOON"' in page and "30 days left" in page
    assert 'data-status="expired" data-serial="GONE"' in page
    assert 'data-status="revoked" data-serial="STRUCK"' in page and "培训记录不实" in page
