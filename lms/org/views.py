"""HR and manager pages: the unit tree, the employee list and search, one employee (edit, move,
initial password), imports with preview and confirm, and exports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

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

from lms.auth import services as auth
from lms.db import db_session
from lms.i18n import gettext as _
from lms.jobs.services import enqueue
from lms.jobs.uploads import claim_uploads, store_uploads, upload_dir
from lms.org import services
from lms.org.forms import EmployeeForm, ImportConfirmForm, ImportUploadForm, MoveForm, choices
from lms.org.jobs import IMPORTS, run_import
from lms.org.models import EmploymentStatus, Role, StaffKind
from lms.security import (
    STAFF_ROLES,
    can_manage_account,
    current_employee,
    employee_scope,
    get_employee_or_404,
    get_unit_or_404,
    login_required,
    roles_required,
    unit_scope,
)
from lms.sheets import write_csv, write_xlsx

bp = Blueprint("org", __name__)

MANAGERS_AND_STAFF = (Role.manager, Role.hr, Role.admin)


@bp.route("/units")
@roles_required(*MANAGERS_AND_STAFF)
def units():
    tree = services.unit_tree(db_session, unit_scope(current_employee()))
    return render_template("lms/org/units.html", tree=tree)


@bp.route("/employees")
@roles_required(*MANAGERS_AND_STAFF)
def employees():
    actor = current_employee()
    unit = None
    if request.args.get("unit", "").isdecimal():
        unit = get_unit_or_404(db_session, actor, int(request.args["unit"]))
    status = None
    if request.args.get("status") in {s.value for s in EmploymentStatus}:
        status = EmploymentStatus(request.args["status"])
    page = services.search_employees(
        db_session,
        actor,
        query=request.args.get("q", "")[:100],
        unit=unit,
        status=status,
        page=request.args.get("page", 1, type=int),
        page_size=current_app.config["LMS_PAGE_SIZE"],
    )
    return render_template(
        "lms/org/employees.html",
        page=page,
        unit=unit,
        status=status,
        statuses=list(EmploymentStatus),
        query=request.args.get("q", ""),
    )


@bp.route("/me")
@login_required
def my_record():
    return redirect(url_for("lms.org.employee", employee_id=current_employee().id))


@bp.route("/employees/<int:employee_id>", methods=["GET"])
@login_required
def employee(employee_id: int):
    actor = current_employee()
    person = get_employee_or_404(db_session, actor, employee_id)
    edit_form = move_form = None
    if actor.role in STAFF_ROLES:
        edit_form = EmployeeForm(obj=person, formdata=None)
        edit_form.status.data = person.status.value
        edit_form.role.data = person.role.value
        edit_form.staff_kind.data = person.staff_kind.value if person.staff_kind else ""
        move_form = _move_form(person)
    return render_template(
        "lms/org/employee.html",
        person=person,
        moves=services.employee_moves(db_session, person),
        edit_form=edit_form,
        move_form=move_form,
        can_reset=can_manage_account(actor, person),
    )


def _move_form(person, formdata=None) -> MoveForm:
    form = MoveForm(formdata=formdata)
    form.unit_id.choices = choices(
        [(u.id, "\u3000" * depth + u.name) for u, depth, _count in services.unit_tree(db_session)]
    )
    if formdata is None:
        form.unit_id.data = person.unit_id
        form.post.data = person.post.name if person.post else ""
        form.effective_on.data = date.today()
    return form


@bp.route("/employees/<int:employee_id>/edit", methods=["POST"])
@roles_required(*STAFF_ROLES)
def edit_employee(employee_id: int):
    actor = current_employee()
    person = get_employee_or_404(db_session, actor, employee_id)
    form = EmployeeForm()
    if not form.validate():
        flash(
            _("Please correct the highlighted fields: %(fields)s", fields=", ".join(form.errors)),
            "error",
        )
        return redirect(url_for(".employee", employee_id=person.id))
    if form.left_on.data and form.hired_on.data and form.left_on.data < form.hired_on.data:
        flash(_("The leaving date is before the hiring date."), "error")
        return redirect(url_for(".employee", employee_id=person.id))
    changes = {
        "name": form.name.data.strip(),
        "status": EmploymentStatus(form.status.data),
        "hired_on": form.hired_on.data,
        "left_on": form.left_on.data,
        "is_manager": form.is_manager.data,
        "role": Role(form.role.data),
        "staff_kind": StaffKind(form.staff_kind.data) if form.staff_kind.data else None,
    }
    try:
        changed = services.update_employee(db_session, actor, person, changes)
    except services.RoleNotAllowed:
        flash(_("Only an administrator may give or take the HR or admin role."), "error")
        return redirect(url_for(".employee", employee_id=person.id))
    db_session.commit()
    flash(_("Saved.") if changed else _("Nothing changed."), "info")
    return redirect(url_for(".employee", employee_id=person.id))


@bp.route("/employees/<int:employee_id>/move", methods=["POST"])
@roles_required(*STAFF_ROLES)
def move_employee(employee_id: int):
    actor = current_employee()
    person = get_employee_or_404(db_session, actor, employee_id)
    form = _move_form(person, formdata=request.form)
    if not form.validate():
        flash(
            _("Please correct the highlighted fields: %(fields)s", fields=", ".join(form.errors)),
            "error",
        )
        return redirect(url_for(".employee", employee_id=person.id))
    unit = get_unit_or_404(db_session, actor, form.unit_id.data)
    post_name = (form.post.data or "").strip()  # a field left out of the form is None
    post = services.get_or_create_post(db_session, post_name) if post_name else None
    move = services.move_employee(
        db_session,
        actor,
        person,
        unit=unit,
        post=post,
        effective_on=form.effective_on.data,
        note=(form.note.data or "").strip(),
    )
    db_session.commit()
    flash(_("The move has been recorded.") if move else _("Nothing changed."), "info")
    return redirect(url_for(".employee", employee_id=person.id))


@bp.route("/employees/<int:employee_id>/initial-password", methods=["POST"])
@roles_required(*STAFF_ROLES)
def initial_password(employee_id: int):
    actor = current_employee()
    person = get_employee_or_404(db_session, actor, employee_id)
    if not can_manage_account(actor, person):
        abort(404)
    password = auth.issue_initial_password(db_session, actor, person)
    db_session.commit()
    return render_template("lms/org/initial_password.html", person=person, password=password)


# Import and export ---------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def import_start():
    """Upload a file; it is checked at once (a dry run) and the preview shown."""
    form = ImportUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        file = Path(upload.filename or "upload").name[:200]
        result = run_import(
            db_session,
            form.kind.data,
            data,
            file,
            actor=current_employee(),
            max_rows=current_app.config["LMS_IMPORT_MAX_ROWS"],
        )
        db_session.rollback()  # a preview changes nothing
        confirm = None
        if result.ok:  # only a clean file is kept for the confirm step
            token = store_uploads(upload_dir(current_app), [(file, data)], {"kind": form.kind.data})
            confirm = ImportConfirmForm(token=token)
        return render_template(
            "lms/org/import_preview.html",
            result=result,
            kind=form.kind.data,
            file=file,
            confirm=confirm,
        )
    return render_template("lms/org/import.html", form=form)


@bp.route("/import/confirm", methods=["POST"])
@roles_required(*STAFF_ROLES)
def import_confirm():
    """Run the previewed import as a job, and show its progress."""
    form = ImportConfirmForm()
    if not form.validate():
        abort(400)
    upload = claim_uploads(upload_dir(current_app), form.token.data)
    if upload is None or upload.get("kind") not in IMPORTS:  # unknown, or already confirmed
        abort(404)
    (stored,) = upload["files"]
    params = {
        "kind": upload["kind"],
        "path": stored["path"],
        "file": stored["file"],
        "delete": True,
    }
    actor = current_employee()
    db_session.commit()  # end this request's transaction: the job is stored in its own
    job_id = enqueue(current_app._get_current_object(), "org.import", params, actor)
    return redirect(url_for("lms.jobs.show", job_id=job_id))


def _export(headers, rows, name: str, fmt: str) -> Response:
    if fmt == "xlsx":
        body = write_xlsx(headers, rows, title=name)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body, mimetype, fmt = write_csv(headers, rows), "text/csv; charset=utf-8", "csv"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename={name}-{date.today().isoformat()}.{fmt}"
    )
    return response


@bp.route("/units/export.<any(csv, xlsx):fmt>")
@roles_required(*STAFF_ROLES)
def export_units(fmt: str):
    headers, rows = services.export_units(db_session)
    return _export(headers, rows, "units", fmt)


@bp.route("/employees/export.<any(csv, xlsx):fmt>")
@roles_required(*MANAGERS_AND_STAFF)
def export_employees(fmt: str):
    headers, rows = services.export_employees(db_session, employee_scope(current_employee()))
    return _export(headers, rows, "employees", fmt)
