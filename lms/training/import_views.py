"""HR's page for importing training records kept elsewhere, under ``/admin/records``: upload a
file, which is checked at once (a dry run, changing nothing) and previewed; confirm, and the
import runs as the ``training.records_import`` job with its progress page.

HR and admins only; anyone else gets 404, as for the other import pages. Thin views over
:mod:`lms.training.imports`.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, render_template, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField
from wtforms.validators import DataRequired

from lms.db import db_session
from lms.i18n import lazy_gettext as _l
from lms.jobs.services import enqueue
from lms.jobs.uploads import claim_uploads, store_uploads, upload_dir
from lms.security import STAFF_ROLES, current_employee, roles_required
from lms.sheets import write_csv
from lms.training.imports import RECORD_COLUMNS, run_import
from lms.training.models import TrainingForm
from lms.training.programmes import all_programmes

bp = Blueprint("record_admin", __name__, url_prefix="/admin/records")

#: what the stored upload says it holds (a token of another import page is refused here)
UPLOAD_KIND = "training_records"


class RecordsUploadForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])


class RecordsConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def import_start():
    """Upload a training records file; it is checked at once (a dry run) and the preview
    shown."""
    form = RecordsUploadForm()
    if form.validate_on_submit():
        upload = form.file.data
        data = upload.read()
        file = Path(upload.filename or "upload").name[:200] or "upload"
        result = run_import(
            db_session,
            data,
            file,
            actor=current_employee(),
            max_rows=current_app.config["LMS_IMPORT_MAX_ROWS"],
            write=False,
        )
        db_session.rollback()  # a preview changes nothing
        confirm = None
        if result.ok:  # only a clean file is kept for the confirm step
            token = store_uploads(upload_dir(current_app), [(file, data)], {"kind": UPLOAD_KIND})
            confirm = RecordsConfirmForm(token=token)
        return render_template(
            "lms/training/import_preview.html", result=result, file=file, confirm=confirm
        )
    return render_template(
        "lms/training/import.html",
        form=form,
        columns=RECORD_COLUMNS,
        programmes=list(all_programmes(db_session).values()),
        forms=list(TrainingForm),
    )


@bp.route("/import/confirm", methods=["POST"])
@roles_required(*STAFF_ROLES)
def import_confirm():
    """Run the previewed import as a job, and show its progress."""
    form = RecordsConfirmForm()
    if not form.validate():
        abort(400)
    upload = claim_uploads(upload_dir(current_app), form.token.data)
    # unknown, already confirmed, or another page's upload
    if upload is None or upload.get("kind") != UPLOAD_KIND or len(upload["files"]) != 1:
        abort(404)
    (stored,) = upload["files"]
    params = {"path": stored["path"], "file": stored["file"], "delete": True}
    actor = current_employee()
    db_session.commit()  # end this request's transaction: the job is stored in its own
    job_id = enqueue(current_app._get_current_object(), "training.records_import", params, actor)
    return redirect(url_for("lms.jobs.show", job_id=job_id))


@bp.route("/import/template.csv")
@roles_required(*STAFF_ROLES)
def import_template():
    """An empty training records file: the header row only."""
    body = write_csv([column.header for column in RECORD_COLUMNS], [])
    response = Response(body, mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = "attachment; filename=training-records.csv"
    return response
