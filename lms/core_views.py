"""The home page (one per role), the language switch, and the health check."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for

from lms.certificates import services as certificates
from lms.courses.learning import home_learning
from lms.db import db_session
from lms.i18n import LOCALE_COOKIE, local_date
from lms.org import services as org
from lms.org.models import Employee, Role
from lms.security import (
    current_employee,
    employee_scope,
    is_local_path,
    login_required,
    unit_scope,
)

bp = Blueprint("core", __name__)


@bp.route("/")
@login_required
def home():
    employee = current_employee()
    units = (
        org.unit_tree(db_session, unit_scope(employee)) if employee.role.value != "employee" else []
    )
    summary = org.home_summary(db_session, employee)
    today = local_date()
    learning = home_learning(db_session, employee, today=today)
    days = int(current_app.config["LMS_CERTIFICATE_EXPIRING_DAYS"])
    scope = (
        Employee.id == employee.id if employee.role is Role.employee else employee_scope(employee)
    )
    return render_template(
        "lms/core/home.html",
        units=units[:12],
        summary=summary,
        learning=learning,
        expiring=certificates.expiring(db_session, scope, today=today, days=days),
        today=today,
    )


@bp.route("/language", methods=["POST"])
def set_language():
    """Remember the chosen language (cookie, and the employee's profile when signed in)."""
    locale = request.form.get("locale", "")
    if locale not in current_app.config["LMS_LOCALES"]:
        abort(400)
    employee = current_employee()
    if employee is not None:
        org.set_locale(db_session, employee, locale)
        db_session.commit()
    target = request.form.get("next")
    response = redirect(target if is_local_path(target) else url_for("lms.core.home"))
    response.set_cookie(
        LOCALE_COOKIE, locale, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
    )
    return response
