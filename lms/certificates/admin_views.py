"""HR's certificate pages under ``/admin/certificates``: the register of every certificate,
issuing to one person, the bulk issue (a job with progress), importing certificates held
before the system, and a preview of each design with sample data.

HR and admins only; anyone else gets 404 (signed-out visitors the sign-in page), as for the
other admin pages. Thin views over :mod:`lms.certificates.services`, :mod:`.register`,
:mod:`.bulk` and :mod:`.imports`; the forms are read by :mod:`.admin_forms`.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
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

from lms import storage
from lms.certificates import services
from lms.certificates.admin_forms import (
    BulkForm,
    ImportConfirmForm,
    ImportUploadForm,
    IssueForm,
    course_choices,
    design_choices,
    read_bulk,
    read_issue,
)
from lms.certificates.bulk import bulk_candidates
from lms.certificates.designs import shipped_designs
from lms.certificates.imports import CERTIFICATE_COLUMNS, import_certificates
from lms.certificates.issuing import renderer, verify_url, verify_url_builder
from lms.certificates.numbers import serial_prefix
from lms.certificates.register import STATUSES, kinds_in_use, search_certificates
from lms.certificates.rendering import RenderTimeout
from lms.courses.models import Course
from lms.db import db_session, utcnow
from lms.i18n import gettext as _
from lms.i18n import local_date
from lms.jobs.services import enqueue
from lms.jobs.uploads import claim_uploads, store_uploads, upload_dir
from lms.org.models import Employee, Unit
from lms.security import STAFF_ROLES, current_employee, employee_scope, roles_required
from lms.sheets import FileProblem, ImportResult, read_table, write_csv

log = logging.getLogger(__name__)

bp = Blueprint("certificate_admin", __name__, url_prefix="/admin/certificates")

#: how many of the bulk issue's candidates the preview lists
PREVIEW_ROWS = 50
#: the verification code in a design preview's QR code: no certificate has it
SAMPLE_CODE = "SAMPLE-NOT-A-CERTIFICATE"


def _expiring_days() -> int:
    return int(current_app.config["LMS_CERTIFICATE_EXPIRING_DAYS"])


def _issue_settings() -> dict[str, Any]:
    """What every issue from these pages shares: the bureau, the serial prefix, the data folder,
    the render pool."""
    config = current_app.config
    return {
        "bureau": config["LMS_BUREAU_NAME"],
        "serial_bureau": config["LMS_CERTIFICATE_SERIAL_PREFIX"],
        "data_dir": storage.data_dir(current_app),
        "renderer": renderer().render,
    }


def _service_message(error: Exception) -> str:
    """A service's refusal in the page's language (the services' messages are English)."""
    if isinstance(error, RenderTimeout):
        return _("The certificate took too long to render; nothing was issued. Try again.")
    return _("The certificate could not be issued: %(why)s", why=error)


def _kind_labels() -> dict[str, str]:
    """Each kind's name: the title of the first design of that kind (any other kind, as
    imported, is shown as it is)."""
    labels: dict[str, str] = {}
    for design in shipped_designs().values():
        labels.setdefault(design.kind, design.title)
    return labels


@bp.context_processor
def _helpers() -> dict[str, Any]:
    designs = shipped_designs()
    return {
        "status_labels": {
            "valid": _("Valid"),
            "expiring": _("Valid, expiring soon"),
            "expired": _("Expired"),
            "revoked": _("Revoked"),
            "replaced": _("Replaced by a newer certificate"),
        },
        "kind_labels": _kind_labels(),
        "designs": designs,
    }


# The register ----------------------------------------------------------------------------------


@bp.route("")
@roles_required(*STAFF_ROLES)
def register():
    """Every certificate, newest first, searched by 工号, name or serial, filtered by status
    (on today) and kind."""
    query = request.args.get("q", "")[:100]
    status = request.args.get("status", "")
    status = status if status in STATUSES else ""
    kinds = kinds_in_use(db_session)
    kind = request.args.get("kind", "")
    kind = kind if kind in kinds else ""
    today = local_date()
    page = search_certificates(
        db_session,
        query=query,
        status=status,
        kind=kind,
        today=today,
        expiring_days=_expiring_days(),
        page=request.args.get("page", 1, type=int),
        page_size=current_app.config["LMS_PAGE_SIZE"],
    )
    return render_template(
        "lms/certificates/admin/register.html",
        page=page,
        query=query,
        status=status,
        kind=kind,
        kinds=kinds,
        statuses=STATUSES,
        status_of=lambda c: services.status_on(c, today, expiring_days=_expiring_days()),
    )


# Issuing to one person -------------------------------------------------------------------------


@bp.route("/issue", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def issue():
    """Issue a course's certificate to one person; refused (pointing to the reissue) when they
    hold a valid one of the course already."""
    form = IssueForm()
    form.course_id.choices = course_choices(db_session)
    form.design.choices = design_choices()
    held = None
    problems: list[str] = []
    today = local_date()
    if request.method == "GET":
        form.emp_no.data = request.args.get("emp_no", "")[:64]
        form.issued_on.data = today.isoformat()
    elif form.validate_on_submit():
        wanted = read_issue(db_session, form, today=today)
        if wanted is not None:
            held = services.valid_certificate(db_session, wanted.employee.id, wanted.course.id)
            if held is not None:
                form.course_id.errors = [
                    _(
                        "%(name)s (%(emp_no)s) already holds the valid certificate %(serial)s "
                        "of this course. To replace it, reissue it.",
                        name=wanted.employee.name,
                        emp_no=wanted.employee.emp_no,
                        serial=held.serial,
                    )
                ]
            else:
                try:
                    certificate = services.issue_certificate(
                        db_session,
                        employee=wanted.employee,
                        course=wanted.course,
                        design=wanted.design,
                        issued_on=wanted.issued_on,
                        score=wanted.score,
                        verify_url=verify_url,
                        actor=current_employee(),
                        now=utcnow(),
                        **_issue_settings(),
                    )
                except (services.CertificateError, RenderTimeout) as error:
                    db_session.rollback()
                    log.warning("issuing a certificate failed: %s", error)
                    problems.append(_service_message(error))
                else:
                    db_session.commit()
                    flash(
                        _(
                            "The certificate %(serial)s is issued to %(name)s.",
                            serial=certificate.serial,
                            name=wanted.employee.name,
                        ),
                        "success",
                    )
                    return redirect(url_for(".register", q=wanted.employee.emp_no))
    status = 400 if request.method == "POST" else 200
    return (
        render_template(
            "lms/certificates/admin/issue.html", form=form, held=held, problems=problems
        ),
        status,
    )


# Bulk issue ------------------------------------------------------------------------------------


@bp.route("/bulk", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def bulk():
    """Everyone who passed a course in a period: "preview" counts and lists them (nothing is
    issued); "issue" runs the bulk issue as a job and shows its progress."""
    form = BulkForm()
    form.course_id.choices = course_choices(db_session)
    form.design.choices = design_choices()
    preview = None
    if request.method == "GET":
        today = local_date()
        form.start.data = date(today.year, 1, 1).isoformat()
        form.end.data = today.isoformat()
        if request.args.get("course", "").isdecimal():
            form.course_id.data = request.args["course"][:10]
    elif form.validate_on_submit():
        wanted = read_bulk(db_session, form)
        if wanted is not None:
            actor = current_employee()
            if request.form.get("action") == "issue":
                params = {
                    "course": wanted.course.code,
                    "start": wanted.start.isoformat(),
                    "end": wanted.end.isoformat(),
                    "design": wanted.design.name,
                    "dry_run": False,
                    # the QR codes point at this server when LMS_PUBLIC_URL is not set
                    "base_url": request.host_url,
                }
                db_session.commit()  # end this request's transaction: the job is stored in its own
                job_id = enqueue(
                    current_app._get_current_object(), "certificates.bulk_issue", params, actor
                )
                return redirect(url_for("lms.jobs.show", job_id=job_id))
            candidates = bulk_candidates(
                db_session, wanted.course.id, wanted.start, wanted.end, employee_scope(actor)
            )
            preview = {
                "request": wanted,
                "count": len(candidates),
                "rows": _candidate_rows(candidates[:PREVIEW_ROWS]),
            }
    status = 400 if request.method == "POST" and preview is None else 200
    return render_template("lms/certificates/admin/bulk.html", form=form, preview=preview), status


def _candidate_rows(candidates: list[Any]) -> list[dict[str, Any]]:
    """工号, name, unit and the day passed of the bulk issue's candidates (one query)."""
    people = {
        row.id: row
        for row in db_session.execute(
            sa.select(Employee.id, Employee.emp_no, Employee.name, Unit.name.label("unit"))
            .join(Unit, Unit.id == Employee.unit_id)
            .where(Employee.id.in_([c.employee_id for c in candidates]))
        )
    }
    return [
        {
            "employee_id": c.employee_id,
            "emp_no": people[c.employee_id].emp_no,
            "name": people[c.employee_id].name,
            "unit": people[c.employee_id].unit,
            "passed_on": c.passed_on,
            "score": c.score,
        }
        for c in candidates
        if c.employee_id in people
    ]


# Import ----------------------------------------------------------------------------------------


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def import_start():
    """Upload a certificates file; it is checked at once (a dry run) and the preview shown."""
    form = ImportUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        file = Path(upload.filename or "upload").name[:200] or "upload"
        try:
            table = read_table(
                data,
                file,
                CERTIFICATE_COLUMNS,
                max_rows=current_app.config["LMS_IMPORT_MAX_ROWS"],
            )
            result = import_certificates(db_session, table, actor=current_employee(), now=utcnow())
        except FileProblem as exc:
            result = ImportResult(errors=exc.problems)
        db_session.rollback()  # a preview changes nothing
        confirm = None
        if result.ok:  # only a clean file is kept for the confirm step
            token = store_uploads(upload_dir(current_app), [(file, data)], {})
            confirm = ImportConfirmForm(token=token)
        return render_template(
            "lms/certificates/admin/import_preview.html",
            result=result,
            file=file,
            confirm=confirm,
        )
    kinds = _kind_labels()
    return render_template(
        "lms/certificates/admin/import.html",
        form=form,
        columns=CERTIFICATE_COLUMNS,
        kinds="、".join(f"{kind} {title}" for kind, title in kinds.items()),
    )


@bp.route("/import/confirm", methods=["POST"])
@roles_required(*STAFF_ROLES)
def import_confirm():
    """Run the previewed import as a job, and show its progress."""
    form = ImportConfirmForm()
    if not form.validate():
        abort(400)
    upload = claim_uploads(upload_dir(current_app), form.token.data)
    if upload is None or len(upload.get("files", [])) != 1:  # unknown, or already confirmed
        abort(404)
    (stored,) = upload["files"]
    params = {"path": stored["path"], "file": stored["file"], "delete": True}
    actor = current_employee()
    db_session.commit()  # end this request's transaction: the job is stored in its own
    job_id = enqueue(current_app._get_current_object(), "certificates.import", params, actor)
    return redirect(url_for("lms.jobs.show", job_id=job_id))


@bp.route("/import/template.csv")
@roles_required(*STAFF_ROLES)
def import_template():
    """An empty certificates file: the header row only."""
    body = write_csv([column.header for column in CERTIFICATE_COLUMNS], [])
    response = Response(body, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = "attachment; filename=certificates.csv"
    return response


# Designs ---------------------------------------------------------------------------------------


@bp.route("/designs")
@roles_required(*STAFF_ROLES)
def designs():
    """The shipped designs, each with a sample PDF."""
    return render_template("lms/certificates/admin/designs.html")


@bp.route("/designs/<name>/preview.pdf")
@roles_required(*STAFF_ROLES)
def design_preview(name: str):
    """The design rendered with sample data (a sample name, a serial marked as a sample, a QR
    code of a code no certificate has), through the render pool; neither stored nor issued."""
    design = shipped_designs().get(name)
    if design is None:
        abort(404)
    today = local_date()
    config = current_app.config
    # transient objects, never added to the session: the sample holder and course
    holder = Employee(name="张三", emp_no="LC000000", unit=Unit(name="城东供电所"))
    course = Course(code="SAMPLE", title="营业窗口服务规范（样例）", hours=Decimal(2))
    context = services.certificate_context(
        employee=holder,
        course=course,
        serial=serial_prefix(config["LMS_CERTIFICATE_SERIAL_PREFIX"], today.year, design.code)
        + "-样例",
        code=SAMPLE_CODE,
        issued_on=today,
        valid_until=services.add_months(today, design.validity_months)
        if design.validity_months
        else None,
        score=Decimal("92.5"),
        bureau=config["LMS_BUREAU_NAME"],
        verify_url=verify_url_builder(),
    )
    try:
        pdf, refused = renderer().render(design, context)
    except RenderTimeout:
        refused, pdf = ["(time limit)"], b""
    if refused:
        log.warning("the design %s could not be previewed: %s", design.name, refused[0][:100])
        flash(_("The design %(name)s could not be rendered.", name=design.name), "error")
        return redirect(url_for(".designs"))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"inline; filename={design.name}-sample.pdf"
    response.headers["Cache-Control"] = "no-store"
    return response
