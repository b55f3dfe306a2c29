"""One place that decides access: who is signed in, what role they have, what they may see.

Scope rules: an employee sees only their own records; a manager sees everyone in their own unit's
subtree; HR and admins see everything. Anything out of scope answers 404, exactly like anything
that does not exist, so that ids cannot be probed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import abort, current_app, g, redirect, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.orm import Session
from wtforms import ValidationError

from lms.db import SAFE_METHODS, db_session
from lms.org.models import Employee, Role, Unit

F = TypeVar("F", bound=Callable[..., Any])

STAFF_ROLES = frozenset({Role.hr, Role.admin})


def current_employee() -> Employee | None:
    """The signed-in employee, or None.

    Standalone, Flask-Login's ``current_user`` is the employee. In plugin mode with a host login
    manager, the configured adapter maps the host's user to a 工号, looked up once per request.
    """
    if "_lms_employee" in g:
        return g._lms_employee
    state = current_app.extensions["lms"]
    employee: Employee | None = None
    if state.owns_login:
        if (
            current_user
            and current_user.is_authenticated
            and isinstance(current_user._get_current_object(), Employee)
        ):
            employee = current_user._get_current_object()
    elif state.user_adapter is not None:
        emp_no = state.user_adapter(current_user._get_current_object() if current_user else None)
        if emp_no:
            employee = db_session.scalar(sa.select(Employee).where(Employee.emp_no == str(emp_no)))
            if employee is not None and not employee.is_active:
                employee = None
    g._lms_employee = employee
    return employee


def login_url() -> str:
    """The LMS's own sign-in page (standalone), coming back here afterwards."""
    return url_for("lms.auth.login", next=request.full_path.rstrip("?"))


def host_unauthorized() -> Any:
    """Plugin mode, no employee: the host's login manager handles anonymous users (its login
    view with ``next=``, or its own unauthorized handler), or ``LMS_LOGIN_URL`` if set. A user
    the host has signed in but who maps to no active employee gets 403: sending them to the
    host's login page would only bring them back here."""
    if current_user and current_user.is_authenticated:
        abort(403)
    if current_app.config.get("LMS_LOGIN_URL"):
        return redirect(current_app.config["LMS_LOGIN_URL"])
    return current_app.login_manager.unauthorized()


def login_required(view: F) -> F:
    """Require a signed-in employee who has set their own password."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        employee = current_employee()
        if employee is None:
            if not current_app.extensions["lms"].owns_login:
                return host_unauthorized()
            return redirect(login_url())
        if current_app.extensions["lms"].owns_login and employee.must_change_password:
            return redirect(url_for("lms.auth.change_password"))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Require one of ``roles``; anyone else gets 404 (the page does not exist for them)."""

    def decorator(view: F) -> F:
        @login_required
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_employee().role not in roles:  # type: ignore[union-attr]
                abort(404)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def is_staff(actor: Employee) -> bool:
    """HR and admins: the whole bureau is in scope."""
    return actor.role in STAFF_ROLES


def can_change_role(actor: Employee | None, before: Role | None, after: Role) -> bool:
    """Roles are the administrators' business: HR may make people employees or managers, but
    only an admin gives or takes the HR and admin roles (else HR could make itself admin).
    ``actor`` None is the command line, run by whoever runs the server; ``before`` None is a
    new employee."""
    if before == after or actor is None or actor.role is Role.admin:
        return True
    return actor.role is Role.hr and before not in STAFF_ROLES and after not in STAFF_ROLES


def can_manage_account(actor: Employee, person: Employee) -> bool:
    """Whether ``actor`` may issue ``person`` an initial password: admins for everyone, HR for
    everyone but HR and admins (who could otherwise be signed in as by a colleague)."""
    if actor.role is Role.admin:
        return True
    return actor.role is Role.hr and person.role not in STAFF_ROLES


def _is_path(unit_path: str | None) -> bool:
    """A materialised path such as ``/1/5/``: an empty one (not built yet) would match
    every unit as a prefix, so it must never reach a scope."""
    return (
        bool(unit_path)
        and unit_path.startswith("/")
        and unit_path.endswith("/")
        and len(unit_path) > 2
    )


def subtree_condition(unit_path: str) -> sa.ColumnElement[bool]:
    """Units in the subtree rooted at the unit with ``unit_path`` (itself included); no unit at
    all for a path that is not built."""
    if not _is_path(unit_path):
        return sa.false()
    return Unit.path.startswith(unit_path, autoescape=True)


def employee_scope(actor: Employee) -> sa.ColumnElement[bool]:
    """A condition on ``Employee`` (joined to its ``Unit``) that keeps what ``actor`` may see."""
    if is_staff(actor):
        return sa.true()
    if actor.role is Role.manager:
        return sa.or_(subtree_condition(actor.unit.path), Employee.id == actor.id)
    return Employee.id == actor.id


def unit_scope(actor: Employee) -> sa.ColumnElement[bool]:
    """A condition on ``Unit`` keeping the units ``actor`` may see: all for HR, own subtree for
    managers, nothing for plain employees."""
    if is_staff(actor):
        return sa.true()
    if actor.role is Role.manager:
        return subtree_condition(actor.unit.path)
    return sa.false()


def can_see_employee(actor: Employee, employee: Employee) -> bool:
    if is_staff(actor) or actor.id == employee.id:
        return True
    return (
        actor.role is Role.manager
        and _is_path(actor.unit.path)
        and employee.unit.path.startswith(actor.unit.path)
    )


#: Ids are 32-bit integers; larger numbers in URLs cannot exist (and overflow SQLite's driver).
MAX_ID = 2**31 - 1


def valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def get_employee_or_404(db: Session, actor: Employee, employee_id: int) -> Employee:
    """The employee with ``employee_id`` if ``actor`` may see them; 404 otherwise."""
    employee = db.get(Employee, employee_id) if valid_id(employee_id) else None
    if employee is None or not can_see_employee(actor, employee):
        abort(404)
    return employee


def get_unit_or_404(db: Session, actor: Employee, unit_id: int) -> Unit:
    """The unit with ``unit_id`` if it is in ``actor``'s scope; 404 otherwise."""
    if not valid_id(unit_id):
        abort(404)
    unit = db.scalar(sa.select(Unit).where(Unit.id == unit_id, unit_scope(actor)))
    if unit is None:
        abort(404)
    return unit


FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def check_csrf() -> None:
    """``before_request`` for every LMS blueprint: unsafe methods need a valid CSRF token,
    from the form's ``csrf_token`` field or the ``X-CSRFToken`` header."""
    if request.method in SAFE_METHODS or not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    # Only a form body has form fields: reading ``request.form`` of a JSON request (an exam's
    # autosave) would parse nothing at some cost; the result is the same.
    form = request.form if request.mimetype in FORM_TYPES else None
    token = (form.get("csrf_token") if form else None) or request.headers.get("X-CSRFToken")
    try:
        validate_csrf(token)
    except ValidationError as exc:
        raise CSRFError(exc.args[0]) from exc


CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'self'"
)


def add_security_headers(response: Any) -> Any:
    """``after_request``: a strict CSP (no inline script), nosniff, framing and referrer rules."""
    if not current_app.config.get("LMS_SECURITY_HEADERS", True):
        return response
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    return response


def is_local_path(target: str | None) -> bool:
    """A path on this site: ``/...``, but not ``//host``, ``/\\host`` or anything with control
    characters (browsers read a backslash as a slash and drop tabs and newlines)."""
    return bool(
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(c) < 32 or ord(c) == 127 for c in target)
        and not urlsplit(target).netloc
        and not urlsplit(target).scheme
    )
