"""Passwords: forced change at first sign-in, initial passwords from HR, sessions ending."""

from __future__ import annotations

import re

import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.org.models import Employee, Role
from tests.conftest import TEST_PASSWORD, csrf_token

NEW_PASSWORD = "a-new-and-long-one-7"


def change_password(client, current: str, new: str, confirm: str | None = None):
    token = csrf_token(client, "/password")
    return client.post(
        "/password",
        data={
            "csrf_token": token,
            "current_password": current,
            "new_password": new,
            "confirm": new if confirm is None else confirm,
        },
    )


def test_forced_change_blocks_other_pages(client, create_employee, login):
    """An account that must change its password is sent to /password from every page."""
    person = create_employee(must_change=True)
    response = login(person)
    assert response.headers["Location"] == "/password"
    for path in ("/", f"/employees/{person.id}", "/me"):
        page = client.get(path)
        assert page.status_code == 302 and page.headers["Location"] == "/password", path
    assert client.get("/password").status_code == 200


def test_forced_change_then_free(client, create_employee, login, db):
    """After choosing a password the account is no longer forced, and the new one works."""
    person = create_employee(must_change=True)
    login(person)
    response = change_password(client, TEST_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    db.expire_all()
    assert db.get(Employee, person.id).must_change_password is False
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert login(person, NEW_PASSWORD).headers["Location"] == "/"


def test_password_rules(client, create_employee, login, db):
    """Wrong current password, too short, the same again, or a mismatch: refused."""
    person = create_employee(emp_no="12345678")
    login(person)
    for current, new, confirm in [
        ("wrong-current", NEW_PASSWORD, None),
        (TEST_PASSWORD, "short", None),
        (TEST_PASSWORD, TEST_PASSWORD, None),
        (TEST_PASSWORD, "12345678", None),
        (TEST_PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x"),
    ]:
        response = change_password(client, current, new, confirm)
        assert response.status_code == 200, (current, new)
    db.expire_all()
    assert db.get(Employee, person.id).session_version == 1


def test_change_ends_other_sessions(app, client, create_employee, login):
    """After a password change, other sessions of the account stop working; this one goes on."""
    person = create_employee()
    other = app.test_client()
    token = csrf_token(other, "/login")
    other.post(
        "/login", data={"emp_no": person.emp_no, "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert other.get("/").status_code == 200
    login(person)
    assert change_password(client, TEST_PASSWORD, NEW_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    response = other.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_initial_password_from_hr(client, create_employee, login, db, app):
    """HR issues a one-time password: it signs in once, forces a change, then stops working."""
    hr = create_employee(role=Role.hr)
    person = create_employee(password=None, must_change=True)
    login(hr)
    page = client.post(
        f"/employees/{person.id}/initial-password",
        data={"csrf_token": csrf_token(client, f"/employees/{person.id}")},
    ).get_data(as_text=True)
    initial = re.search(r'data-testid="initial-password">([^<]+)<', page).group(1)
    entry = db.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "employee.initial_password")
    ).one()
    assert entry.actor_id == hr.id and initial not in str(entry.summary)

    employee_client = app.test_client()
    token = csrf_token(employee_client, "/login")
    signed = employee_client.post(
        "/login", data={"emp_no": person.emp_no, "password": initial, "csrf_token": token}
    )
    assert signed.headers["Location"] == "/password"
    assert employee_client.get("/").headers["Location"] == "/password"
    assert change_password(employee_client, initial, NEW_PASSWORD).status_code == 302
    assert employee_client.get("/").status_code == 200

    again = app.test_client()
    token = csrf_token(again, "/login")
    response = again.post(
        "/login", data={"emp_no": person.emp_no, "password": initial, "csrf_token": token}
    )
    assert response.status_code == 200  # the initial password no longer works


def test_initial_password_not_for_others(client, create_employee, login):
    """Employees and managers cannot issue initial passwords (404)."""
    target = create_employee()
    login(create_employee(role=Role.manager, unit=target.unit))
    response = client.post(
        f"/employees/{target.id}/initial-password",
        data={"csrf_token": csrf_token(client, "/")},
    )
    assert response.status_code == 404


def test_password_page_needs_sign_in(client):
    """An anonymous visitor to /password is sent to sign in."""
    response = client.get("/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
