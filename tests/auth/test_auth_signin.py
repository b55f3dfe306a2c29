"""Signing in and out: Argon2, one message for every failure, throttling, next, cookies."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from lms.org.models import Employee, EmploymentStatus
from tests.conftest import TEST_PASSWORD, csrf_token

WRONG = "用户名或密码"  # part of the Chinese "wrong 工号 or password" message


@pytest.fixture
def app_config():
    return {"LMS_LOGIN_MAX_FAILURES_PER_ACCOUNT": 3, "LMS_LOGIN_MAX_FAILURES_PER_ADDRESS": 5}


def sign_in(client, emp_no: str, password: str, path: str = "/login"):
    token = csrf_token(client, "/login")
    return client.post(path, data={"emp_no": emp_no, "password": password, "csrf_token": token})


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_sign_in_with_emp_no_and_password(client, create_employee, db):
    """The right 工号 and password sign in; the stored hash is Argon2."""
    person = create_employee(emp_no="10001")
    response = sign_in(client, "10001", TEST_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert signed_in(client)
    stored = db.scalar(sa.select(Employee.password_hash).where(Employee.id == person.id))
    assert stored.startswith("$argon2")


def test_wrong_password_and_unknown_emp_no_look_the_same(client, create_employee):
    """A wrong password and an unknown 工号 give the same status and the same message."""
    create_employee(emp_no="10001")
    wrong = sign_in(client, "10001", "not-the-password")
    unknown = sign_in(client, "99999", "not-the-password")
    assert wrong.status_code == unknown.status_code == 200
    message = _flash(wrong)
    assert message and message == _flash(unknown)
    assert not signed_in(client)


def _flash(response) -> str:
    import re

    match = re.search(r'class="flash flash-error"[^>]*>([^<]+)<', response.get_data(as_text=True))
    return match.group(1).strip() if match else ""


def test_account_without_password_cannot_sign_in(client, create_employee):
    """An imported account with no password cannot sign in with any password."""
    create_employee(emp_no="10001", password=None)
    assert sign_in(client, "10001", "").status_code == 200
    assert sign_in(client, "10001", "anything").status_code == 200
    assert not signed_in(client)


def test_leaver_cannot_sign_in(client, create_employee):
    """An employee who has left (离职) cannot sign in, even with the right password."""
    create_employee(emp_no="10001", status=EmploymentStatus.left)
    response = sign_in(client, "10001", TEST_PASSWORD)
    assert response.status_code == 200
    assert not signed_in(client)


def test_leaver_session_ends(client, create_employee, login, db):
    """Someone signed in who is then marked as left is signed out on the next request."""
    person = create_employee()
    login(person)
    db.get(Employee, person.id).status = EmploymentStatus.left
    db.commit()
    assert not signed_in(client)


def test_throttled_per_account(client, create_employee):
    """After N failures for one account, even the right password is refused with 429."""
    create_employee(emp_no="10001")
    for _ in range(3):
        assert sign_in(client, "10001", "wrong-password").status_code == 200
    response = sign_in(client, "10001", TEST_PASSWORD)
    assert response.status_code == 429
    assert not signed_in(client)


def test_throttle_is_per_account(client, create_employee):
    """Failures for one account do not block another one (below the address limit)."""
    create_employee(emp_no="10001")
    create_employee(emp_no="10002")
    for _ in range(3):
        sign_in(client, "10001", "wrong-password")
    assert sign_in(client, "10002", TEST_PASSWORD).status_code == 302


def test_throttled_per_address(client, create_employee):
    """After M failures from one address across accounts, every sign-in from it gets 429."""
    create_employee(emp_no="10001")
    for number in range(5):
        sign_in(client, f"9000{number}", "wrong-password")
    assert sign_in(client, "10001", TEST_PASSWORD).status_code == 429


def test_success_clears_failures(client, create_employee):
    """A successful sign-in clears the account's failures."""
    create_employee(emp_no="10001")
    for _ in range(2):
        sign_in(client, "10001", "wrong-password")
    assert sign_in(client, "10001", TEST_PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    for _ in range(2):
        sign_in(client, "10001", "wrong-password")
    assert sign_in(client, "10001", TEST_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
    ],
)
def test_next_never_leaves_the_site(client, create_employee, target):
    """After signing in, ``next`` is followed only to a local path."""
    from urllib.parse import quote

    create_employee(emp_no="10001")
    response = sign_in(client, "10001", TEST_PASSWORD, path="/login?next=" + quote(target))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_next_to_a_local_page(client, create_employee):
    """A local ``next`` (with its query) is where the sign-in leads."""
    person = create_employee(emp_no="10001")
    first = client.get(f"/employees/{person.id}?x=1")
    assert first.status_code == 302 and "next=" in first.headers["Location"]
    response = sign_in(client, "10001", TEST_PASSWORD, path=first.headers["Location"])
    assert response.headers["Location"] == f"/employees/{person.id}?x=1"


def test_sign_out_needs_post_with_csrf(client, create_employee, login):
    """GET does not sign out, POST without a token is refused, POST with one signs out."""
    login(create_employee())
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert signed_in(client)
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert not signed_in(client)


def test_session_cookie_is_hardened(client, create_employee, login):
    """The session cookie is HttpOnly and SameSite=Lax."""
    response = login(create_employee())
    cookies = [v for k, v in response.headers.items() if k.lower() == "set-cookie"]
    session = [c for c in cookies if "session" in c.split("=", 1)[0]]
    assert session, cookies
    assert "HttpOnly" in session[0]
    assert "SameSite=Lax" in session[0]


def test_login_page_when_signed_in_still_works(client, create_employee, login):
    """The sign-in page still opens for someone signed in (to switch accounts)."""
    login(create_employee())
    assert client.get("/login").status_code == 200


def test_long_inputs_are_refused_quietly(client, create_employee):
    """Overlong 工号 or password is a failed sign-in, not an error page."""
    create_employee(emp_no="10001")
    assert sign_in(client, "1" * 500, TEST_PASSWORD).status_code == 200
    assert sign_in(client, "10001", "x" * 5000).status_code == 200


def test_old_failures_do_not_count(client, create_employee, db):
    """Failures older than the throttling window neither throttle nor stay in the table."""
    from datetime import timedelta

    from lms.auth.models import LoginFailure
    from lms.db import utcnow

    create_employee(emp_no="10001")
    long_ago = utcnow() - timedelta(days=1)
    db.add_all(LoginFailure(emp_no="10001", address="127.0.0.1", at=long_ago) for _ in range(9))
    db.commit()
    assert sign_in(client, "10001", TEST_PASSWORD).status_code == 302
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 0
