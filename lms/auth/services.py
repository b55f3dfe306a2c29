"""Passwords (Argon2), sign-in checks and throttling of failed sign-ins."""

from __future__ import annotations

import contextlib
import functools
import secrets
from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy.orm import Session, lazyload

from lms.audit.services import record as audit
from lms.auth.models import LoginFailure
from lms.db import db_session, utcnow
from lms.org.models import Employee

#: Verified against when the 工号 is unknown, so both cases take the same time.
_DUMMY_HASH_CACHE: dict[tuple[int, int], str] = {}


def password_hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(
        time_cost=config["LMS_ARGON2_TIME_COST"], memory_cost=config["LMS_ARGON2_MEMORY_KIB"]
    )


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def verify_password(employee: Employee | None, password: str) -> bool:
    """True when ``password`` is the employee's; an unknown employee costs the same time."""
    hasher = password_hasher()
    if employee is None or employee.password_hash is None:
        key = (hasher.time_cost, hasher.memory_cost)
        if key not in _DUMMY_HASH_CACHE:
            _DUMMY_HASH_CACHE[key] = hasher.hash(secrets.token_hex(8))
        with contextlib.suppress(VerificationError):
            hasher.verify(_DUMMY_HASH_CACHE[key], password)
        return False
    try:
        return hasher.verify(employee.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class Throttled(Exception):
    """Too many failed sign-ins for this account or address; try again later."""


def check_throttle(db: Session, emp_no: str, address: str) -> None:
    """Raise :class:`Throttled` when the account or the address has failed too often lately."""
    config = current_app.config
    since = utcnow() - timedelta(seconds=config["LMS_LOGIN_THROTTLE_WINDOW_S"])
    per_account = db.scalar(
        sa.select(sa.func.count()).where(LoginFailure.emp_no == emp_no, LoginFailure.at >= since)
    )
    if per_account >= config["LMS_LOGIN_MAX_FAILURES_PER_ACCOUNT"]:
        raise Throttled()
    per_address = db.scalar(
        sa.select(sa.func.count()).where(LoginFailure.address == address, LoginFailure.at >= since)
    )
    if per_address >= config["LMS_LOGIN_MAX_FAILURES_PER_ADDRESS"]:
        raise Throttled()


def forget_old_failures(db: Session) -> None:
    """Failures older than the throttling window no longer count: delete them, so that the
    table stays small."""
    since = utcnow() - timedelta(seconds=current_app.config["LMS_LOGIN_THROTTLE_WINDOW_S"])
    db.execute(sa.delete(LoginFailure).where(LoginFailure.at < since))


def authenticate(db: Session, emp_no: str, password: str, address: str) -> Employee | None:
    """The employee if 工号 and password match and they may sign in; records failures.

    Raises :class:`Throttled` before checking anything when there were too many failures.
    """
    # PostgreSQL refuses NUL in text; a replacement character matches no 工号 but still counts.
    emp_no = emp_no.strip().replace("\x00", "\ufffd")
    check_throttle(db, emp_no, address)
    forget_old_failures(db)
    employee = db.scalar(sa.select(Employee).where(Employee.emp_no == emp_no))
    if verify_password(employee, password) and employee is not None and employee.is_active:
        db.execute(sa.delete(LoginFailure).where(LoginFailure.emp_no == emp_no))
        if password_hasher().check_needs_rehash(employee.password_hash):
            employee.password_hash = hash_password(password)
        return employee
    db.add(LoginFailure(emp_no=emp_no[:64], address=address[:64]))
    db.flush()
    return None


def set_password(
    db: Session, employee: Employee, password: str, *, must_change: bool = False
) -> None:
    """Set a new password; older sessions of this employee stop working."""
    employee.password_hash = hash_password(password)
    employee.must_change_password = must_change
    employee.session_version += 1
    db.flush()


def issue_initial_password(db: Session, actor: Employee, employee: Employee) -> str:
    """A one-time password for an imported account: shown once to HR; the employee must choose
    their own at first sign-in."""
    password = secrets.token_urlsafe(9)
    set_password(db, employee, password, must_change=True)
    audit(
        db,
        actor=actor,
        action="employee.initial_password",
        object_type="employee",
        object_id=employee.emp_no,
        summary="initial password issued",
    )
    return password


def password_problem(password: str, employee: Employee) -> str | None:
    """Why a chosen password is refused, or None."""
    from lms.i18n import gettext as _

    if len(password) < current_app.config["LMS_PASSWORD_MIN_LENGTH"]:
        return _(
            "The password must have at least %(n)d characters.",
            n=current_app.config["LMS_PASSWORD_MIN_LENGTH"],
        )
    if password == employee.emp_no or (password.isdigit() and len(set(password)) <= 2):
        return _("This password is too easy to guess.")
    return None


@functools.cache
def _employee_by_id() -> sa.Select[tuple[Employee]]:
    # Without the unit and post Employee joins by default: most requests (an exam's pages and
    # saves, the learner's pages) never look at them, and the few that do (a manager's scope)
    # load the unit by its key when they first ask.
    return (
        sa.select(Employee)
        .where(Employee.id == sa.bindparam("employee_id"))
        .options(lazyload(Employee.unit), lazyload(Employee.post))
    )


def load_user_from_session_id(session_id: str) -> Employee | None:
    """Flask-Login's user loader: ``"<id>:<session_version>"``."""
    employee_id, _, version = session_id.partition(":")
    if not employee_id.isdecimal() or not version.isdecimal():
        return None
    # A statement built once rather than ``Session.get``, which builds its query on every call:
    # every request loads the signed-in employee (the first statement of its session, so the
    # identity map that ``get`` would look in first is empty anyway).
    employee = db_session.execute(
        _employee_by_id(), {"employee_id": int(employee_id)}
    ).scalar_one_or_none()
    if employee is None or employee.session_version != int(version) or not employee.is_active:
        return None
    return employee
