"""The annual training plan (年度培训计划, /plan) and its plan-versus-actual table (完成情况,
/plan/actual), with their XLSX exports and HR's import of the plan file.

The plan is the bureau's: HR and admins edit it (add, change, delete, reorder, import, and the
未完成原因 of items under target); managers read it, the completion table and the exports;
employees get 404, as does a manager on any of HR's pages. Thin views over
:mod:`lms.training.plan`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
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

from lms.db import db_session, utcnow
from lms.i18n import gettext as _
from lms.i18n import local_date
from lms.jobs.uploads import claim_uploads, store_uploads, upload_dir
from lms.org.models import Role
from lms.security import STAFF_ROLES, current_employee, is_staff, roles_required
from lms.sheets import write_csv, write_xlsx
from lms.training import plan
from lms.training.models import PlanItem, TrainingForm
from lms.training.plan_forms import (
    PlanConfirmForm,
    PlanItemForm,
    PlanUploadForm,
    ShortfallForm,
    fill,
    read_item_form,
    set_choices,
)
from lms.training.programmes import all_programmes

bp = Blueprint("plan", __name__)

READERS = (Role.manager, Role.hr, Role.admin)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: what the stored upload says it holds (a token of another import page is refused here)
UPLOAD_KIND = "training_plan"
PLAN_WIDTHS = (6, 30, 16, 20, 9, 9, 7, 9, 10, 14, 14, 12, 12, 24)
ACTUAL_WIDTHS = (6, 30, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 30)


def _year() -> tuple[int, str | None]:
    """``?year=``: this year when empty; a year out of range or not a number gives this year
    and a message."""
    text = request.args.get("year", "").strip()
    this_year = local_date().year
    if not text:
        return this_year, None
    if text.isascii() and text.isdigit() and plan.FIRST_YEAR <= int(text) <= plan.LAST_YEAR:
        return int(text), None
    message = _(
        "Year: choose a year between %(first)d and %(last)d.",
        first=plan.FIRST_YEAR,
        last=plan.LAST_YEAR,
    )
    return this_year, message


def _editing_year() -> int:
    """The year an HR form works on: an unknown year is a page that does not exist."""
    year, problem = _year()
    if problem:
        abort(404)
    return year


def _years(year: int) -> list[int]:
    this_year = local_date().year
    years = {*plan.plan_years(db_session), this_year - 1, this_year, this_year + 1, year}
    return sorted(years, reverse=True)


def _item_or_404(item_id: int) -> PlanItem:
    item = plan.get_item(db_session, item_id)
    if item is None:
        abort(404)
    return item


def _xlsx(body: bytes, name: str) -> Response:
    response = Response(body, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename={name}.xlsx"
    response.headers["Cache-Control"] = "no-store"
    return response


def _actuals(year: int) -> list[plan.Actual]:
    zone = ZoneInfo(current_app.config["LMS_TIMEZONE"])
    return plan.plan_versus_actual(db_session, year, now=utcnow(), zone=zone)


# -- the plan ------------------------------------------------------------------------------------


@bp.route("/plan")
@roles_required(*READERS)
def show():
    """The year's plan with the DESIGN.md columns; HR's edit, reorder and delete buttons."""
    year, year_error = _year()
    items = plan.items_of(db_session, year)
    return render_template(
        "lms/training/plan.html",
        year=year,
        year_error=year_error,
        years=_years(year),
        items=items,
        courses=plan.course_names(db_session, items),
        linked=plan.linked_counts(db_session, year),
        programmes=all_programmes(db_session),
        headers=plan.PLAN_HEADERS,
        format_months=plan.format_months,
        can_edit=is_staff(current_employee()),
    )


@bp.route("/plan.xlsx")
@roles_required(*READERS)
def export():
    year, _problem = _year()
    body = write_xlsx(
        plan.PLAN_HEADERS,
        plan.plan_rows(db_session, year),
        title=f"{year}年度培训计划",
        widths=PLAN_WIDTHS,
    )
    return _xlsx(body, f"plan-{year}")


def _form_page(form: PlanItemForm, year: int, item: PlanItem | None) -> tuple[str, int]:
    page = render_template("lms/training/plan_form.html", form=form, year=year, item=item)
    return page, 400 if request.method == "POST" else 200


def _save(form: PlanItemForm, year: int, item: PlanItem | None) -> bool:
    """Create or change the item from the submitted form; False with the problems on their
    fields (all of them at once: the form's own checks and the values read)."""
    valid = form.validate()
    wanted = read_item_form(db_session, form, year)
    if not valid or wanted is None:
        return False
    actor = current_employee()
    try:
        if item is None:
            plan.create_item(db_session, actor=actor, year=year, fields=wanted)
        else:
            plan.update_item(db_session, actor=actor, item=item, fields=wanted)
    except plan.PlanError as error:
        db_session.rollback()
        field = getattr(form, error.field, None) or form.title
        field.errors = [*field.errors, error.message]
        return False
    db_session.commit()
    return True


@bp.route("/plan/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def new_item():
    """Add an item at the end of the year's plan."""
    year = _editing_year()
    form = PlanItemForm()
    set_choices(db_session, form)
    if request.method == "GET":
        form.form.data = TrainingForm.classroom.value
        form.months.data = form.months.data or "全年"
    if form.is_submitted() and _save(form, year, None):
        flash(_("The item is added to the %(year)d plan.", year=year), "success")
        return redirect(url_for(".show", year=year))
    return _form_page(form, year, None)


@bp.route("/plan/<int:item_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit_item(item_id: int):
    item = _item_or_404(item_id)
    form = PlanItemForm()
    set_choices(db_session, form, item)
    if request.method == "GET":
        fill(form, item)
    if form.is_submitted() and _save(form, item.year, item):
        flash(_("The item is saved."), "success")
        return redirect(url_for(".show", year=item.year))
    return _form_page(form, item.year, item)


@bp.route("/plan/<int:item_id>/delete", methods=["POST"])
@roles_required(*STAFF_ROLES)
def delete_item(item_id: int):
    """Remove an item (its sessions stay, unlinked)."""
    item = _item_or_404(item_id)
    year, title = item.year, item.title
    plan.delete_item(db_session, actor=current_employee(), item=item)
    db_session.commit()
    flash(_("%(title)s is removed from the %(year)d plan.", title=title, year=year), "success")
    return redirect(url_for(".show", year=year))


@bp.route("/plan/<int:item_id>/move", methods=["POST"])
@roles_required(*STAFF_ROLES)
def move_item(item_id: int):
    """Move an item one place up or down (``direction``)."""
    item = _item_or_404(item_id)
    step = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if step is None:
        abort(400)
    plan.move_item(db_session, actor=current_employee(), item=item, step=step)
    db_session.commit()
    return redirect(url_for(".show", year=item.year, _anchor=f"item-{item.id}"))


# -- 完成情况 ------------------------------------------------------------------------------------


@bp.route("/plan/actual")
@roles_required(*READERS)
def actual():
    """Plan versus actual, item by item, as the ledger shows it now."""
    year, year_error = _year()
    staff = is_staff(current_employee())
    return render_template(
        "lms/training/plan_actual.html",
        year=year,
        year_error=year_error,
        years=_years(year),
        actuals=_actuals(year),
        percent=plan.percent,
        shortfall_form=ShortfallForm() if staff else None,
    )


@bp.route("/plan/actual.xlsx")
@roles_required(*READERS)
def actual_export():
    year, _problem = _year()
    body = write_xlsx(
        plan.ACTUAL_HEADERS,
        plan.actual_rows(_actuals(year)),
        title=f"{year}年度培训计划完成情况",
        widths=ACTUAL_WIDTHS,
    )
    return _xlsx(body, f"plan-actual-{year}")


@bp.route("/plan/<int:item_id>/shortfall", methods=["POST"])
@roles_required(*STAFF_ROLES)
def shortfall(item_id: int):
    """Record why an item under target fell short (未完成原因); clearing it is always allowed."""
    item = _item_or_404(item_id)
    back = redirect(url_for(".actual", year=item.year, _anchor=f"item-{item.id}"))
    form = ShortfallForm()
    if not form.validate_on_submit():
        for message in form.reason.errors:
            flash(message, "error")
        return back
    reason = form.reason.data or ""
    found = [a for a in _actuals(item.year) if a.item.id == item.id]
    if reason.strip() and found and not found[0].under_target:
        message = _(
            "%(title)s has reached its planned people: no reason is needed.", title=item.title
        )
        flash(message, "error")
        return back
    try:
        changed = plan.set_shortfall_reason(
            db_session, actor=current_employee(), item=item, reason=reason
        )
    except plan.PlanError as error:
        db_session.rollback()
        flash(error.message, "error")
        return back
    db_session.commit()
    if changed:
        flash(_("The reason is saved."), "success")
    return back


# -- the import ----------------------------------------------------------------------------------


def _max_rows() -> int:
    return min(int(current_app.config["LMS_IMPORT_MAX_ROWS"]), plan.MAX_PLAN_ROWS)


@bp.route("/plan/import", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def import_start():
    """Upload a plan file; it is checked at once (nothing written) and the preview shown."""
    form = PlanUploadForm()
    if request.method == "GET":
        year, _problem = _year()
        form.year.data = year
    if form.validate_on_submit():
        year = form.year.data
        upload = form.file.data
        data = upload.read()
        file = Path(upload.filename or "upload").name[:200] or "upload"
        result = plan.run_import(
            db_session,
            data,
            file,
            year=year,
            actor=current_employee(),
            max_rows=_max_rows(),
            write=False,
        )
        db_session.rollback()  # a preview changes nothing
        confirm = None
        if result.ok:  # only a clean file is kept for the confirm step
            params = {"kind": UPLOAD_KIND, "year": year}
            token = store_uploads(upload_dir(current_app), [(file, data)], params)
            confirm = PlanConfirmForm(token=token)
        return render_template(
            "lms/training/plan_import_preview.html",
            result=result,
            file=file,
            year=year,
            confirm=confirm,
        )
    page = render_template(
        "lms/training/plan_import.html",
        form=form,
        columns=plan.PLAN_COLUMNS,
        programmes=list(all_programmes(db_session).values()),
        forms=list(TrainingForm),
    )
    return page, 400 if request.method == "POST" else 200


@bp.route("/plan/import/confirm", methods=["POST"])
@roles_required(*STAFF_ROLES)
def import_confirm():
    """Import the previewed file (a plan is tens of lines: no job needed). Should the plan have
    changed since the preview so that the file no longer passes, nothing is imported and the
    problems are shown."""
    form = PlanConfirmForm()
    if not form.validate():
        abort(400)
    upload = claim_uploads(upload_dir(current_app), form.token.data)
    if upload is None or upload.get("kind") != UPLOAD_KIND or len(upload["files"]) != 1:
        abort(404)
    (stored,) = upload["files"]
    year = int(upload["year"])
    path = Path(stored["path"])
    try:
        data = path.read_bytes()
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
    result = plan.run_import(
        db_session,
        data,
        stored["file"],
        year=year,
        actor=current_employee(),
        max_rows=_max_rows(),
    )
    if not result.ok:
        db_session.rollback()
        return render_template(
            "lms/training/plan_import_preview.html",
            result=result,
            file=stored["file"],
            year=year,
            confirm=None,
        )
    db_session.commit()
    flash(
        _(
            "The %(year)d plan is imported: %(added)d added, %(updated)d updated, "
            "%(unchanged)d unchanged.",
            year=year,
            added=result.imported,
            updated=result.details["updated"],
            unchanged=result.unchanged,
        ),
        "success",
    )
    return redirect(url_for(".show", year=year))


@bp.route("/plan/import/template.csv")
@roles_required(*STAFF_ROLES)
def import_template():
    """An empty plan file: the header row only (the DESIGN.md columns)."""
    body = write_csv(list(plan.PLAN_HEADERS), [])
    response = Response(body, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = "attachment; filename=training-plan.csv"
    return response
