"""Sign-in, sign-out, and changing one's password."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user

from lms.auth import services
from lms.auth.forms import ChangePasswordForm, LoginForm
from lms.db import db_session
from lms.i18n import gettext as _
from lms.security import current_employee, is_local_path

bp = Blueprint("auth", __name__)


def _owns_login() -> None:
    if not current_app.extensions["lms"].owns_login:
        abort(404)


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after signing in."""
    return target if is_local_path(target) else url_for("lms.core.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    _owns_login()
    form = LoginForm()
    if form.validate_on_submit():
        try:
            employee = services.authenticate(
                db_session, form.emp_no.data, form.password.data, request.remote_addr or ""
            )
        except services.Throttled:
            db_session.commit()
            flash(_("Too many failed sign-ins. Please wait a few minutes and try again."), "error")
            return render_template("lms/auth/login.html", form=form), 429
        db_session.commit()
        if employee is None:
            flash(_("Wrong employee number or password."), "error")
            return render_template("lms/auth/login.html", form=form), 200
        login_user(employee)
        if employee.must_change_password:
            return redirect(url_for("lms.auth.change_password"))
        return redirect(_safe_next(request.args.get("next")))
    return render_template("lms/auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    _owns_login()
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("lms.auth.login"))


@bp.route("/password", methods=["GET", "POST"])
def change_password():
    _owns_login()
    employee = current_employee()
    if employee is None:
        return redirect(url_for("lms.auth.login"))
    form = ChangePasswordForm()
    if form.validate_on_submit():
        problem = None
        if not services.verify_password(employee, form.current_password.data):
            problem = _("The current password is wrong.")
        elif form.new_password.data == form.current_password.data:
            problem = _("Choose a password different from the current one.")
        else:
            problem = services.password_problem(form.new_password.data, employee)
        if problem:
            flash(problem, "error")
        else:
            services.set_password(db_session, employee, form.new_password.data)
            db_session.commit()
            login_user(employee)  # the session id changed with the password
            flash(_("Your password has been changed."), "info")
            return redirect(url_for("lms.core.home"))
    return render_template(
        "lms/auth/change_password.html", form=form, forced=employee.must_change_password
    )
