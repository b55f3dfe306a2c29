"""The audit log (HR's, searchable, exported) and the monthly audit and assessment ledger read
from it: findings recorded and reviewed, scoped to a manager's subtree, exported formula-safe."""

from __future__ import annotations

import io

import openpyxl
import pytest
import sqlalchemy as sa

from lms.audit.ledger import LEDGER_HEADERS, findings
from lms.audit.models import AuditEntry
from lms.audit.services import record
from lms.org.models import Role
from tests.conftest import csrf_token


@pytest.fixture
def hr(create_employee):
    return create_employee(name="人资甲", role=Role.hr, emp_no="HR0001")


@pytest.fixture
def offices(create_unit):
    """A rural-affairs department with one office, and another department elsewhere."""
    department = create_unit("农电工作部")
    office = create_unit("湖塘供电所", parent=department, rural=True)
    elsewhere = create_unit("城东供电所")
    return department, office, elsewhere


def finding_form(unit_id: int, **changes) -> dict:
    values = {
        "month": "2026-03",
        "unit": str(unit_id),
        "item": "营业窗口服务规范",
        "method": "现场检查",
        "problem": '=HYPERLINK("http://x") 未公示收费标准',
        "responsible": "张三",
        "deduction": "2",
        "requirement": "一周内公示",
        "deadline": "2026-03-31",
    }
    values.update(changes)
    return values


def test_log_is_hr_only_searchable_and_exports(app, db, client, login, hr, create_employee):
    """HR searches the log by action domain, actor and date; the XLSX holds the same rows with
    before and after; an employee and a manager get 404."""
    other = create_employee(emp_no="HR0002", role=Role.hr)
    record(
        db,
        actor=hr,
        action="certificate.revoke",
        object_type="certificate",
        object_id="S-1",
        summary="遗失",
        before={"status": "valid"},
        after={"status": "revoked"},
    )
    record(db, actor=other, action="course.publish", object_type="course", object_id="C1")
    db.commit()
    for role in (Role.employee, Role.manager):
        login(create_employee(role=role))
        assert client.get("/admin/audit").status_code == 404
        assert client.get("/admin/audit.xlsx").status_code == 404
    login(hr)
    page = client.get("/admin/audit?action=certificate").get_data(as_text=True)
    assert "certificate.revoke" in page and "course.publish" not in page
    assert "revoked" in page and "遗失" in page
    assert "course.publish" in client.get("/admin/audit?actor=HR0002").get_data(as_text=True)
    assert "certificate.revoke" not in client.get("/admin/audit?start=2999-01-01").get_data(
        as_text=True
    )
    response = client.get("/admin/audit.xlsx?action=certificate")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][3] == "操作" and len(rows) == 2
    assert rows[1][3] == "certificate.revoke" and '"revoked"' in rows[1][8]


def test_findings_recorded_reviewed_and_exported(app, db, client, login, hr, offices):
    """HR records a finding and a manager of the subtree reviews it; the month's ledger shows
    the DESIGN.md columns; both are audit entries; a formula-like problem stays text."""
    _department, office, _elsewhere = offices
    login(hr)
    token = csrf_token(client, "/inspections/new")
    response = client.post(
        "/inspections/new", data={**finding_form(office.id), "csrf_token": token}
    )
    assert response.status_code == 302
    (finding,) = findings(db, month="2026-03")
    assert (finding.unit, finding.deduction, finding.result) == ("湖塘供电所", "2", "")

    page = client.get("/inspections?month=2026-03").get_data(as_text=True)
    assert "湖塘供电所" in page and "未公示收费标准" in page
    token = csrf_token(client, "/inspections?month=2026-03")
    client.post(f"/inspections/{finding.id}/review", data={"result": "已整改", "csrf_token": token})
    db.rollback()
    (finding,) = findings(db, month="2026-03")
    assert (finding.result, finding.reviewer) == ("已整改", "人资甲")
    actions = db.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["inspection.record", "inspection.review"]

    response = client.get("/inspections.xlsx?month=2026-03")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == LEDGER_HEADERS
    assert rows[1][0] == "2026-03" and rows[1][9] == "已整改" and rows[1][10] == "人资甲"
    cell = sheet.cell(row=2, column=5)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_managers_see_and_inspect_their_subtree_only(
    app, db, client, login, hr, offices, create_employee
):
    """A manager records findings for their subtree only (another unit: 404) and sees only
    their subtree's; a finding of another unit cannot be reviewed (404); employees get 404."""
    department, office, elsewhere = offices
    manager = create_employee(unit=department, role=Role.manager)
    login(hr)
    token = csrf_token(client, "/inspections/new")
    client.post("/inspections/new", data={**finding_form(elsewhere.id), "csrf_token": token})
    (foreign,) = findings(db)
    db.rollback()  # end this session's read snapshot before others write

    login(manager)
    token = csrf_token(client, "/inspections/new")
    outside = client.post(
        "/inspections/new", data={**finding_form(elsewhere.id), "csrf_token": token}
    )
    assert outside.status_code == 404
    inside = client.post("/inspections/new", data={**finding_form(office.id), "csrf_token": token})
    assert inside.status_code == 302
    page = client.get("/inspections?month=2026-03").get_data(as_text=True)
    assert "湖塘供电所" in page and "城东供电所" not in page
    review = client.post(
        f"/inspections/{foreign.id}/review", data={"result": "x", "csrf_token": token}
    )
    assert review.status_code == 404
    db.rollback()
    login(create_employee(unit=office))
    assert client.get("/inspections").status_code == 404
    assert client.get("/inspections.xlsx").status_code == 404


def test_bad_findings_name_the_field_and_change_nothing(app, db, client, login, hr, offices):
    _department, office, _elsewhere = offices
    login(hr)
    token = csrf_token(client, "/inspections/new")
    for changes, message in (
        ({"month": "2026-13"}, "YYYY-MM"),
        ({"deduction": "两分"}, "number"),
        ({"deadline": "2026-02-01"}, "deadline"),
        ({"item": ""}, "required"),
    ):
        response = client.post(
            "/inspections/new",
            data={**finding_form(office.id, **changes), "csrf_token": token},
            headers={"Accept-Language": "en"},
        )
        assert response.status_code == 200, changes
        assert message.lower() in response.get_data(as_text=True).lower(), changes
    no_token = client.post("/inspections/new", data=finding_form(office.id))
    assert no_token.status_code == 400
    assert db.scalar(sa.select(sa.func.count(AuditEntry.id))) == 0
