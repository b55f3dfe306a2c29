"""HR's audit log (every sensitive change: who, when, before and after) and the monthly audit
and assessment ledger (按月稽查、考核台账) read from it, with their XLSX exports.

The log is HR's and the administrators'. Inspection findings are recorded by HR anywhere and by
managers for the units of their subtree, who see those units' findings only."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from lms.audit import ledger
from lms.audit.forms import FindingForm, ReviewForm
from lms.db import db_session
from lms.i18n import gettext as _
from lms.i18n import local_date, local_midnight
from lms.org.models import Employee, Role, Unit
from lms.org.services import unit_tree
from lms.security import current_employee, get_unit_or_404, is_staff, roles_required, unit_scope
from lms.sheets import write_xlsx

bp = Blueprint("audit", __name__)

#: rows in one spreadsheet export of the log
EXPORT_MAX_ROWS = 100_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _log_filter() -> ledger.LogFilter:
    """The search from the query string: dates are the bureau's calendar days, both included."""
    start, end = _day("start"), _day("end")
    return ledger.LogFilter(
        action=request.args.get("action", "")[:64],
        actor_emp_no=request.args.get("actor", "").strip()[:32],
        object_id=request.args.get("object", "").strip()[:64],
        since=local_midnight(start) if start else None,
        before=local_midnight(end + timedelta(days=1)) if end else None,
    )


def _xlsx(body: bytes, name: str) -> Response:
    response = Response(body, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename={name}.xlsx"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/admin/audit")
@roles_required(Role.hr, Role.admin)
def log():
    """The audit log, newest first, searchable by action, actor, object and dates."""
    criteria = _log_filter()
    page = ledger.search_log(
        db_session,
        criteria,
        page=request.args.get("page", 1, type=int),
        page_size=int(current_app.config["LMS_PAGE_SIZE"]),
    )
    return render_template(
        "lms/audit/log.html",
        page=page,
        criteria=criteria,
        start=request.args.get("start", ""),
        end=request.args.get("end", ""),
        actions=ledger.actions(db_session),
    )


@bp.route("/admin/audit.xlsx")
@roles_required(Role.hr, Role.admin)
def log_export():
    """The filtered log as a spreadsheet (at most 100,000 rows, newest first)."""
    zone = ZoneInfo(current_app.config["LMS_TIMEZONE"])
    rows = ledger.log_rows(db_session, _log_filter(), limit=EXPORT_MAX_ROWS, zone=zone)
    body = write_xlsx(ledger.LOG_HEADERS, rows, title="审计日志", widths=(20, 12, 10, 24))
    return _xlsx(body, f"audit-{local_date().isoformat()}")


# -- 按月稽查、考核台账 --------------------------------------------------------------------------


def _month() -> str:
    month = request.args.get("month", "")
    try:
        return date.fromisoformat(month + "-01").strftime("%Y-%m")
    except ValueError:
        return local_date().strftime("%Y-%m")


def _visible_units(actor: Employee) -> list[tuple[Unit, int, int]]:
    return unit_tree(db_session, unit_scope(actor))


def _findings(actor: Employee, **kwargs) -> list[ledger.Finding]:
    units = None if is_staff(actor) else {u.id for u, _d, _c in _visible_units(actor)}
    return ledger.findings(db_session, units=units, **kwargs)


@bp.route("/inspections")
@roles_required(Role.manager, Role.hr, Role.admin)
def inspections():
    """The month's findings in the actor's scope, with their rectification results."""
    month = _month()
    return render_template(
        "lms/audit/inspections.html",
        month=month,
        rows=_findings(current_employee(), month=month),
        headers=ledger.LEDGER_HEADERS,
        review_form=ReviewForm(),
    )


@bp.route("/inspections.xlsx")
@roles_required(Role.manager, Role.hr, Role.admin)
def inspections_export():
    month = _month()
    rows = [f.row() for f in _findings(current_employee(), month=month)]
    body = write_xlsx(ledger.LEDGER_HEADERS, rows, title=f"{month} 稽查考核台账")
    return _xlsx(body, f"inspections-{month}")


@bp.route("/inspections/new", methods=["GET", "POST"])
@roles_required(Role.manager, Role.hr, Role.admin)
def new_finding():
    """Record a finding for a unit in the actor's scope."""
    actor = current_employee()
    form = FindingForm()
    tree = _visible_units(actor)
    form.unit.choices = [(u.id, "　" * depth + u.name) for u, depth, _count in tree]
    if request.method == "GET":
        form.month.data = form.month.data or _month()
    if form.validate_on_submit():
        unit = get_unit_or_404(db_session, actor, form.unit.data)
        try:
            ledger.record_finding(
                db_session,
                actor=actor,
                unit=unit,
                month=form.month.data.strip(),
                item=form.item.data,
                method=form.method.data,
                problem=form.problem.data,
                responsible=form.responsible.data or "",
                deduction=form.deduction.data or "",
                requirement=form.requirement.data or "",
                deadline=form.deadline.data,
            )
        except ledger.InspectionError as error:
            db_session.rollback()
            messages = {
                "month": _("Give the month as YYYY-MM, e.g. 2026-03."),
                "deduction": _("Give the points or amount as a number of 0 or more."),
                "deadline": _("The deadline cannot be before the month inspected."),
            }
            getattr(form, error.field).errors = [messages.get(error.field, _("Check this field."))]
        else:
            db_session.commit()
            flash(_("The finding is recorded."), "success")
            return redirect(url_for("lms.audit.inspections", month=form.month.data.strip()))
    return render_template("lms/audit/finding_form.html", form=form)


@bp.route("/inspections/<finding_id>/review", methods=["POST"])
@roles_required(Role.manager, Role.hr, Role.admin)
def review(finding_id: str):
    """Record the result of a finding's rectification (复查), as the signed-in person."""
    actor = current_employee()
    found = _findings(actor, finding_id=finding_id[:32])
    if not found:
        abort(404)
    form = ReviewForm()
    if not form.validate_on_submit():
        flash(_("Rectification result: say what was put right."), "error")
    else:
        ledger.review_finding(db_session, actor=actor, finding=found[0], result=form.result.data)
        db_session.commit()
        flash(_("The review is recorded."), "success")
    return redirect(url_for("lms.audit.inspections", month=found[0].month))
