"""HR's certificate pages: the register (search, status filters computed in SQL, pages), issuing
to one person (named errors, a second issue refused), the bulk issue (preview, job, a
re-run issuing nothing), importing (a bad file changes nothing), design previews; 404 for anyone
but HR and admins, CSRF on every form."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lms import storage
from lms.audit.models import AuditEntry
from lms.certificates.models import Certificate, CertificateSource, CertificateStatus
from lms.i18n import local_date
from lms.org.models import Role
from lms.training.models import LedgerSource, TrainingForm
from lms.training.services import add_ledger_entry
from tests.conftest import count_rows, csrf_token, hidden_value, pdf_text, wait_for_job

BASE = "/admin/certificates"


@pytest.fixture
def app_config(tmp_path: Any) -> dict[str, Any]:
    return {
        "LMS_DEFAULT_LOCALE": "en",
        "LMS_DATA_DIR": str(tmp_path / "data"),
        "LMS_PAGE_SIZE": 4,
    }


@pytest.fixture
def hr(create_employee: Any, login: Any) -> Any:
    """An HR employee, signed in on ``client``."""
    person = create_employee(role=Role.hr, emp_no="HR0001")
    login(person)
    return person


@pytest.fixture
def course(db: Any, create_course: Any) -> Any:
    """A published course whose certificate is the 合格证 design."""
    found = create_course(title="营业窗口服务规范")
    found.certificate_design = "qualification"
    db.commit()
    return found


def certificate_row(db: Any, person: Any, serial: str, **values: Any) -> Certificate:
    """A certificate row without a PDF (the register only reads rows)."""
    values = {
        "verification_code": serial.replace("-", "").ljust(22, "x")[:22],
        "design": "qualification",
        "kind": "qualification",
        "title": "营业窗口服务规范",
        "issued_on": date(2026, 1, 1),
        "status": CertificateStatus.valid,
        "source": CertificateSource.issued,
        **values,
    }
    row = Certificate(serial=serial, employee_id=person.id, **values)
    db.add(row)
    db.commit()
    return row


def serials(page: str) -> list[str]:
    return re.findall(r'data-serial="([^"]+)"', page)


def test_anyone_but_hr_and_admins_gets_404(app, db, create_employee, login) -> None:
    """An employee and a manager get 404 on every page and form; signed out: the sign-in page."""
    certificate_row(db, create_employee(), "X-1")
    gets = [
        BASE,
        f"{BASE}?status=expired",
        f"{BASE}/issue",
        f"{BASE}/bulk",
        f"{BASE}/import",
        f"{BASE}/import/template.csv",
        f"{BASE}/designs",
        f"{BASE}/designs/qualification/preview.pdf",
    ]
    posts = [
        f"{BASE}/issue",
        f"{BASE}/bulk",
        f"{BASE}/import",
        f"{BASE}/import/confirm",
    ]
    anonymous = app.test_client()
    for path in gets:
        response = anonymous.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    for role in (Role.employee, Role.manager):
        client = app.test_client()
        login(create_employee(role=role, is_manager=role is Role.manager), client=client)
        token = csrf_token(client, "/me/certificates")
        for path in gets:
            assert client.get(path).status_code == 404, (role, path)
        for path in posts:
            assert client.post(path, data={"csrf_token": token}).status_code == 404, (role, path)


def test_each_page_for_hr(client, db, hr) -> None:
    """HR sees each page, linked from the register."""
    register = client.get(BASE)
    assert register.status_code == 200
    page = register.get_data(as_text=True)
    for path in ("/issue", "/bulk", "/import", "/designs"):
        assert f'href="{BASE}{path}"' in page
        assert client.get(BASE + path).status_code == 200, path
    template = client.get(f"{BASE}/import/template.csv")
    assert template.mimetype == "text/csv"
    assert template.data.decode("utf-8-sig").strip() == "工号,证书类型,证书编号,发证日期,有效期至"
    assert client.get(f"{BASE}/999999").status_code == 404


def test_register_searches_and_filters_in_sql(app, client, db, hr, create_employee) -> None:
    """Search by 工号, name or serial; the status filters agree with status_on (boundaries
    included); kind filter; newest first, by pages; bad parameters are ignored."""
    with app.app_context():
        today = local_date()
    zhang = create_employee("张三", emp_no="LC100001")
    li = create_employee("李四", emp_no="LC200002")
    day = timedelta(days=1)
    certificate_row(db, zhang, "S-VALID", valid_until=today + 91 * day, issued_on=date(2026, 1, 6))
    certificate_row(db, zhang, "S-SOON", valid_until=today + 90 * day, issued_on=date(2026, 1, 5))
    certificate_row(db, li, "S-TODAY", valid_until=today, issued_on=date(2026, 1, 4))
    certificate_row(db, li, "S-PAST", valid_until=today - day, issued_on=date(2026, 1, 3))
    certificate_row(
        db, li, "S-REVOKED", status=CertificateStatus.revoked, issued_on=date(2026, 1, 2)
    )
    certificate_row(
        db, zhang, "S-REPLACED", status=CertificateStatus.replaced, issued_on=date(2026, 1, 1)
    )
    certificate_row(
        db,
        li,
        "DW-88",
        kind="电工进网作业许可证",
        design="",
        title="电工进网作业许可证",
        source=CertificateSource.imported,
        issued_on=date(2020, 5, 1),
    )

    def found(query: str) -> list[str]:
        response = client.get(f"{BASE}?{query}")
        assert response.status_code == 200, query
        return serials(response.get_data(as_text=True))

    assert found("") == ["S-VALID", "S-SOON", "S-TODAY", "S-PAST"]  # newest first, 4 a page
    assert found("page=2") == ["S-REVOKED", "S-REPLACED", "DW-88"]
    assert found("status=valid") == ["S-VALID", "DW-88"]
    assert found("status=expiring") == ["S-SOON", "S-TODAY"]
    assert found("status=expired") == ["S-PAST"]
    assert found("status=revoked") == ["S-REVOKED"]
    assert found("status=replaced") == ["S-REPLACED"]
    assert found("q=LC2000") == ["S-TODAY", "S-PAST", "S-REVOKED", "DW-88"]
    assert found("q=张") == ["S-VALID", "S-SOON", "S-REPLACED"]
    assert found("q=DW-8") == ["DW-88"]
    assert found("q=LC1&status=expiring") == ["S-SOON"]
    assert found("kind=电工进网作业许可证") == ["DW-88"]
    assert found("q=%25") == [] and len(found("q=%00")) == 4  # NUL is dropped
    assert len(found("status=bogus&kind=bogus&page=abc")) == 4
    page = client.get(f"{BASE}?q=DW-88").get_data(as_text=True)
    assert 'data-status="valid"' in page and "Imported" in page and "张三" not in page
    assert f"/employees/{li.id}/record" in page
    # each row's status, as shown, is the one its filter finds
    for status in ("valid", "expiring", "expired", "revoked", "replaced"):
        shown = client.get(f"{BASE}?status={status}").get_data(as_text=True)
        assert set(re.findall(r'data-status="([^"]+)"', shown)) == {status}


def issue_form(client: Any, **values: str) -> Any:
    token = csrf_token(client, f"{BASE}/issue")
    return client.post(f"{BASE}/issue", data={"csrf_token": token, **values})


def test_issue_to_one_person(app, client, db, hr, course, create_employee, create_course, tmp_path):
    """A stored PDF with the name and serial; named errors; a second issue is refused and
    points to the record page, where HR reissues."""
    person = create_employee("欧阳晓燕", emp_no="LC300003")
    no_design = create_course(title="没有证书的课程")
    form = client.get(f"{BASE}/issue?emp_no=LC300003").get_data(as_text=True)
    assert 'value="LC300003"' in form and f'value="{course.id}"' in form

    refused = issue_form(client, emp_no="LC999999", course_id="", issued_on="2026-13-01")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "No employee has the 工号 LC999999." in page and "Course: choose a course." in page
    assert "Issue date: a date like 2026-03-15." in page
    refused = issue_form(
        client, emp_no="LC300003", course_id=str(no_design.id), issued_on="2099-01-01", score="x"
    )
    page = refused.get_data(as_text=True)
    assert "Issue date: the date is in the future." in page
    assert f"The course {no_design.code} has no certificate design: choose one." in page
    assert "Score: a number such as 92.5, or nothing." in page
    assert count_rows(db, Certificate) == 0

    done = issue_form(
        client, emp_no="LC300003", course_id=str(course.id), issued_on="2026-11-02", score="92.5"
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(f"{BASE}?q=LC300003")
    db.rollback()
    certificate = db.scalars(sa.select(Certificate)).one()
    assert certificate.employee_id == person.id and certificate.score == Decimal("92.5")
    assert certificate.issued_on == date(2026, 11, 2) and certificate.issued_by_id == hr.id
    stored = storage.blob_path(app.config["LMS_DATA_DIR"], "certificates", certificate.pdf_sha256)
    text = pdf_text(stored.read_bytes(), tmp_path)
    assert "欧阳晓燕" in text and certificate.serial in text
    audit = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "certificate.issue")).one()
    assert audit.actor_id == hr.id and audit.object_id == certificate.serial
    register = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"The certificate {certificate.serial} is issued to 欧阳晓燕." in register
    assert f"/certificates/{certificate.id}.pdf" in register

    again = issue_form(client, emp_no="LC300003", course_id=str(course.id), issued_on="2026-11-03")
    page = again.get_data(as_text=True)
    assert again.status_code == 400
    assert f"already holds the valid certificate {certificate.serial} of this course" in page
    assert f'href="/employees/{person.id}/record#certificates-heading"' in page  # to reissue
    assert count_rows(db, Certificate) == 1


@pytest.fixture
def passed(db: Any) -> Any:
    """``passed(person, course, day)``: a passing ledger row of the course."""
    numbers = iter(range(1, 10_000))

    def add(person: Any, course: Any, day: date, ok: bool = True) -> None:
        add_ledger_entry(
            db,
            employee_id=person.id,
            programme=course.programme,
            title=course.title,
            form=TrainingForm.online,
            start_on=day,
            end_on=day,
            hours=Decimal("2"),
            source=LedgerSource.online,
            source_ref=f"admin-test:{next(numbers)}",
            course_id=course.id,
            score=Decimal("88") if ok else Decimal("40"),
            passed=ok,
        )
        db.commit()

    return add


def test_bulk_issue(app, client, db, hr, course, create_employee, passed) -> None:
    """The preview counts and lists the candidates; the issue runs the job, which issues to
    exactly them with unique serials; a re-run issues nothing more."""
    people = [create_employee(f"员工{n}", emp_no=f"LC40000{n}") for n in range(5)]
    for person in people[:3]:
        passed(person, course, date(2025, 6, 1))
    passed(people[3], course, date(2024, 6, 1))  # before the period
    passed(people[4], course, date(2025, 6, 1), ok=False)  # failed
    form = client.get(f"{BASE}/bulk").get_data(as_text=True)
    assert 'name="start"' in form and f'value="{local_date_of(app).year}-01-01"' in form
    token = csrf_token(client, f"{BASE}/bulk")
    period = {"csrf_token": token, "course_id": str(course.id), "design": ""}

    backwards = client.post(
        f"{BASE}/bulk",
        data={**period, "start": "2025-12-31", "end": "2025-01-01", "action": "preview"},
    )
    assert backwards.status_code == 400
    assert "The period ends before it starts." in backwards.get_data(as_text=True)

    year = {**period, "start": "2025-01-01", "end": "2025-12-31"}
    preview = client.post(f"{BASE}/bulk", data={**year, "action": "preview"})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "3 people would get a certificate" in page
    assert re.findall(r'data-emp-no="([^"]+)"', page) == ["LC400000", "LC400001", "LC400002"]
    assert count_rows(db, Certificate) == 0

    job = wait_for_job(client, client.post(f"{BASE}/bulk", data={**year, "action": "issue"}))
    assert job["state"] == "succeeded", job
    db.rollback()
    rows = db.scalars(sa.select(Certificate)).all()
    assert sorted(r.employee_id for r in rows) == sorted(p.id for p in people[:3])
    assert len({r.serial for r in rows}) == 3
    assert all(r.serial.startswith("LCGD-2025-HG-") and r.pdf_sha256 for r in rows)

    again = wait_for_job(client, client.post(f"{BASE}/bulk", data={**year, "action": "issue"}))
    assert again["state"] == "succeeded"
    assert count_rows(db, Certificate) == 3
    preview = client.post(f"{BASE}/bulk", data={**year, "action": "preview"})
    assert "0 people would get a certificate" in preview.get_data(as_text=True)


def local_date_of(app: Any) -> date:
    with app.app_context():
        return local_date()


def upload(client: Any, text: str) -> Any:
    token = csrf_token(client, f"{BASE}/import")
    return client.post(
        f"{BASE}/import",
        data={"csrf_token": token, "file": (io.BytesIO(text.encode("utf-8")), "certs.csv")},
        content_type="multipart/form-data",
    )


def test_import_preview_and_confirm(client, db, hr, create_employee) -> None:
    """A bad file changes nothing and names the line and column; a good one imports."""
    create_employee("张三", emp_no="LC900001")
    bad = upload(
        client,
        "工号,证书类型,证书编号,发证日期,有效期至\n"
        "LC900001,onboarding,SG-1,2024-03-01,\n"
        "LC999999,onboarding,SG-2,2024-03-01,\n",
    )
    page = bad.get_data(as_text=True)
    assert 'data-testid="import-errors"' in page and hidden_value(page, "token") is None
    assert re.search(r"<td>3</td><td>工号</td><td>No employee has the 工号 LC999999", page)
    assert count_rows(db, Certificate) == 0
    assert "Columns" in client.get(f"{BASE}/import").get_data(as_text=True)

    good = upload(
        client,
        "工号,证书类型,证书编号,发证日期,有效期至\n"
        "LC900001,上岗培训合格证,SG-2024-0001,2024-03-01,2027-02-28\n"
        "LC900001,电工进网作业许可证,DW-88,2020-05-01,\n",
    )
    page = good.get_data(as_text=True)
    assert 'data-testid="import-summary"' in page and count_rows(db, Certificate) == 0
    token, csrf = hidden_value(page, "token"), hidden_value(page, "csrf_token")
    confirm = client.post(f"{BASE}/import/confirm", data={"csrf_token": csrf, "token": token})
    job = wait_for_job(client, confirm)
    assert job["state"] == "succeeded", job
    db.rollback()
    rows = {c.serial: c for c in db.scalars(sa.select(Certificate))}
    assert set(rows) == {"SG-2024-0001", "DW-88"}
    assert all(c.source is CertificateSource.imported for c in rows.values())
    twice = client.post(f"{BASE}/import/confirm", data={"csrf_token": csrf, "token": token})
    assert twice.status_code == 404
    register = client.get(f"{BASE}?q=DW-88").get_data(as_text=True)
    assert "Imported" in register and f"/certificates/{rows['DW-88'].id}.pdf" not in register


def test_design_preview(client, db, hr, tmp_path) -> None:
    """Each design is listed; its preview is a PDF with the sample data, neither stored nor
    issued; an unknown design is 404."""
    page = client.get(f"{BASE}/designs").get_data(as_text=True)
    assert "上岗培训合格证" in page and "合格证" in page
    assert f"{BASE}/designs/onboarding/preview.pdf" in page
    response = client.get(f"{BASE}/designs/qualification/preview.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data, tmp_path)
    assert "张三" in text and "LC000000" in text and "样例" in text
    assert count_rows(db, Certificate) == 0
    assert client.get(f"{BASE}/designs/nothing/preview.pdf").status_code == 404
    assert client.get(f"{BASE}/designs/..%2Fetc/preview.pdf").status_code == 404


def test_forms_need_the_csrf_token(client, db, hr, course) -> None:
    """A POST without the token is refused and changes nothing."""
    values = {"emp_no": "HR0001", "course_id": str(course.id), "issued_on": "2026-11-01"}
    assert client.post(f"{BASE}/issue", data=values).status_code == 400
    bulk = {"course_id": str(course.id), "start": "2025-01-01", "end": "2025-12-31"}
    assert client.post(f"{BASE}/bulk", data={**bulk, "action": "issue"}).status_code == 400
    assert client.post(f"{BASE}/import", data={}).status_code == 400
    assert client.post(f"{BASE}/import/confirm", data={"token": "x"}).status_code == 400
    assert count_rows(db, Certificate) == 0
