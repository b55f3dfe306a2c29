"""The personal training file (一人一档): a person's ledger rows, totals and certificates, on
a page and as XLSX and PDF. Employees see their own, managers their subtree's, HR everyone's;
anyone else gets 404."""

from __future__ import annotations

import io
import re

from flask import Blueprint, current_app, render_template, send_file

from lms.db import db_session
from lms.i18n import lazy_gettext as _l
from lms.i18n import local_date
from lms.org.models import Employee
from lms.pdf import render_pdf
from lms.security import current_employee, get_employee_or_404, login_required
from lms.sheets import write_xlsx
from lms.training import services
from lms.training.models import LedgerSource, TrainingForm
from lms.training.programmes import all_programmes

bp = Blueprint("training", __name__)

FORM_LABELS = {
    TrainingForm.online: _l("Online"),
    TrainingForm.classroom: _l("Classroom"),
    TrainingForm.practical: _l("Practical"),
    TrainingForm.study_day: _l("Study day"),
    TrainingForm.meeting: _l("Training at a meeting"),
}

SOURCE_LABELS = {
    LedgerSource.online: _l("Online course"),
    LedgerSource.session: _l("Classroom session"),
    LedgerSource.imported: _l("Imported"),
}

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: column widths of the ledger sheet, in characters
SHEET_WIDTHS = (10, 12, 20, 14, 16, 24, 6, 8, 6, 6, 18, 20, 12, 12, 36)


@bp.route("/me/record")
@login_required
def my_record():
    return _record_page(current_employee())


@bp.route("/employees/<int:employee_id>/record")
@login_required
def record(employee_id: int):
    return _record_page(get_employee_or_404(db_session, current_employee(), employee_id))


def _record_page(person: Employee) -> str:
    programmes = all_programmes(db_session)
    return render_template(
        "lms/training/record.html",
        person=person,
        entries=services.entries_of(db_session, person.id),
        summary=services.record_summary(db_session, person.id),
        certificates=services.record_certificates(db_session, person.id, include_revoked=True),
        programme_labels={code: info.label for code, info in programmes.items()},
        form_labels=FORM_LABELS,
        source_labels=SOURCE_LABELS,
        number=services.format_number,
        date_range=services.date_range,
    )


@bp.route("/employees/<int:employee_id>/record.xlsx")
@login_required
def record_xlsx(employee_id: int):
    person = get_employee_or_404(db_session, current_employee(), employee_id)
    headers, rows = services.ledger_sheet(db_session, person)
    body = write_xlsx(headers, rows, title="教育培训台账", widths=SHEET_WIDTHS)
    return _download(body, XLSX, person, "xlsx")


@bp.route("/employees/<int:employee_id>/record.pdf")
@login_required
def record_pdf(employee_id: int):
    person = get_employee_or_404(db_session, current_employee(), employee_id)
    context = services.training_file_document(
        db_session, person, bureau_name=current_app.config["LMS_BUREAU_NAME"], today=local_date()
    )
    body = render_pdf("lms/training/record_pdf.html", context)
    return _download(body, "application/pdf", person, "pdf")


def _download(body: bytes, mimetype: str, person: Employee, extension: str):
    """The file as an attachment named after the person (in Chinese, with an ASCII fallback),
    kept out of shared caches."""
    name = re.sub(r"[^\w-]+", "_", f"一人一档-{person.name}-{person.emp_no}").strip("_")
    response = send_file(
        io.BytesIO(body),
        mimetype=mimetype,
        as_attachment=True,
        download_name=f"{name}-{local_date().isoformat()}.{extension}",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
