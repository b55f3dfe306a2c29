"""HR's employee pages: list, search, pages, status filter, edit (audited), move (dated)."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.org.models import Employee, EmployeeMove, EmploymentStatus, Role, UnitKind
from tests.conftest import csrf_token


@pytest.fixture
def app_config():
    return {"LMS_PAGE_SIZE": 3}


@pytest.fixture
def bureau(create_unit, create_employee):
    """A bureau with an office below it and seven people; returns (hr, office, people)."""
    root = create_unit("龙城供电局", kind=UnitKind.bureau)
    office = create_unit("湖塘供电所", parent=root, kind=UnitKind.rural_office, rural=True)
    hr = create_employee("人资甲", unit=root, role=Role.hr, emp_no="H001")
    people = [
        create_employee(name, unit=office, emp_no=emp_no)
        for emp_no, name in [
            ("10001", "张三"),
            ("10002", "张三丰"),
            ("10010", "李四"),
            ("10011", "王五"),
            ("20001", "赵六"),
        ]
    ]
    people.append(
        create_employee(
            "钱七", unit=office, emp_no="20002", status=EmploymentStatus.long_sick_leave
        )
    )
    return hr, office, people


def listed(response) -> list[str]:
    return re.findall(r'href="/employees/\d+">([^<]+)</a>', response.get_data(as_text=True))


def test_list_is_paginated(bureau, client, login):
    """The list shows one page at a time, ordered by 工号, with a link to the next page."""
    login(bureau[0])
    first = client.get("/employees")
    assert listed(first) == ["10001", "10002", "10010"]
    assert 'rel="next"' in first.get_data(as_text=True)
    assert listed(client.get("/employees?page=2")) == ["10011", "20001", "20002"]
    assert listed(client.get("/employees?page=3")) == ["H001"]
    assert listed(client.get("/employees?page=99")) == []


def test_search_by_emp_no_prefix(bureau, client, login):
    """A 工号 prefix finds everyone whose 工号 starts with it."""
    login(bureau[0])
    assert listed(client.get("/employees?q=1001")) == ["10010", "10011"]
    assert listed(client.get("/employees?q=20002")) == ["20002"]


def test_search_by_part_of_name(bureau, client, login):
    """Part of a name finds everyone whose name contains it."""
    login(bureau[0])
    assert listed(client.get("/employees?q=三")) == ["10001", "10002"]
    assert listed(client.get("/employees?q=%25")) == []  # LIKE wildcards are literal


def test_status_filter(bureau, client, login):
    """The status filter keeps only people with that employment status."""
    login(bureau[0])
    assert listed(client.get("/employees?status=长病假")) == ["20002"]


def test_unit_filter(bureau, client, login):
    """?unit= keeps the people of that unit's subtree."""
    login(bureau[0])
    office = bureau[1]
    response = client.get(f"/employees?unit={office.id}&page=2")
    assert listed(response) == ["10011", "20001", "20002"]
    assert 'rel="next"' not in response.get_data(as_text=True)


def test_units_page(bureau, client, login):
    """HR sees the unit tree with headcounts and an export link."""
    login(bureau[0])
    page = client.get("/units").get_data(as_text=True)
    assert "湖塘供电所" in page and "/units/export.xlsx" in page


def edit_data(client, person, **changes):
    data = {
        "csrf_token": csrf_token(client, f"/employees/{person.id}"),
        "name": person.name,
        "status": person.status.value,
        "hired_on": "",
        "left_on": "",
        "staff_kind": "",
        "role": person.role.value,
    }
    data.update(changes)
    return data


def test_edit_role_is_audited(bureau, client, login, db):
    """HR changes someone's role: it is saved and the audit log has before and after."""
    hr, _office, people = bureau
    login(hr)
    person = people[0]
    response = client.post(
        f"/employees/{person.id}/edit",
        data=edit_data(client, person, role="manager", hired_on="2020-03-15", is_manager="y"),
    )
    assert response.status_code == 302
    db.expire_all()
    stored = db.get(Employee, person.id)
    assert stored.role is Role.manager and stored.is_manager is True
    assert stored.hired_on == date(2020, 3, 15)
    entry = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "employee.role")).one()
    assert entry.actor_id == hr.id and entry.object_id == person.emp_no
    assert entry.before["role"] == "employee" and entry.after["role"] == "manager"


def test_edit_refuses_bad_dates(bureau, client, login, db):
    """A leaving date before the hiring date is refused and nothing changes."""
    hr, _office, people = bureau
    login(hr)
    person = people[0]
    client.post(
        f"/employees/{person.id}/edit",
        data=edit_data(client, person, hired_on="2020-01-02", left_on="2019-01-01"),
    )
    db.expire_all()
    assert db.get(Employee, person.id).hired_on is None


def test_edit_unknown_role_refused(bureau, client, login, db):
    """A role that is not offered is refused."""
    hr, _office, people = bureau
    login(hr)
    person = people[0]
    client.post(f"/employees/{person.id}/edit", data=edit_data(client, person, role="root"))
    db.expire_all()
    assert db.get(Employee, person.id).role is Role.employee


def test_move_is_recorded_and_shown(bureau, client, login, db, create_unit):
    """HR moves someone: the move is stored with its date and shown on the person's page."""
    hr, office, people = bureau
    login(hr)
    target = create_unit("营销部", kind=UnitKind.department)
    person = people[1]
    response = client.post(
        f"/employees/{person.id}/move",
        data={
            "csrf_token": csrf_token(client, f"/employees/{person.id}"),
            "unit_id": str(target.id),
            "post": "营业窗口",
            "effective_on": "2026-03-15",
            "note": "轮岗",
        },
    )
    assert response.status_code == 302
    db.expire_all()
    move = db.scalars(sa.select(EmployeeMove)).one()
    assert (move.from_unit_id, move.to_unit_id) == (office.id, target.id)
    assert move.effective_on == date(2026, 3, 15) and move.recorded_by_id == hr.id
    assert db.get(Employee, person.id).unit_id == target.id
    page = client.get(f"/employees/{person.id}").get_data(as_text=True)
    assert "2026-03-15" in page and "营业窗口" in page and "轮岗" in page


def test_move_without_change_records_nothing(bureau, client, login, db):
    """Moving someone to where they already are records no move."""
    hr, office, people = bureau
    login(hr)
    person = people[0]
    client.post(
        f"/employees/{person.id}/move",
        data={
            "csrf_token": csrf_token(client, f"/employees/{person.id}"),
            "unit_id": str(office.id),
            "post": "",
            "effective_on": "2026-03-15",
        },
    )
    assert db.scalar(sa.select(sa.func.count()).select_from(EmployeeMove)) == 0


def test_move_to_unknown_unit_refused(bureau, client, login, db):
    """A unit id that is not in the tree is refused."""
    hr, _office, people = bureau
    login(hr)
    person = people[0]
    client.post(
        f"/employees/{person.id}/move",
        data={
            "csrf_token": csrf_token(client, f"/employees/{person.id}"),
            "unit_id": "999999",
            "effective_on": "2026-03-15",
        },
    )
    assert db.scalar(sa.select(sa.func.count()).select_from(EmployeeMove)) == 0


def test_export_downloads(bureau, client, login):
    """HR downloads employees and units as CSV and XLSX attachments."""
    login(bureau[0])
    for url in (
        "/employees/export.csv",
        "/employees/export.xlsx",
        "/units/export.csv",
        "/units/export.xlsx",
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment;")
    text = client.get("/employees/export.csv").get_data().decode("utf-8-sig")
    assert len(text.strip().splitlines()) == 8


def test_my_record(bureau, client, login, create_employee):
    """/me leads an employee to their own page."""
    person = bureau[2][0]
    login(person)
    response = client.get("/me")
    assert response.headers["Location"].endswith(f"/employees/{person.id}")
    page = client.get(f"/employees/{person.id}").get_data(as_text=True)
    assert person.name in page and "/edit" not in page
