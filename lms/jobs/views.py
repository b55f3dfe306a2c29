"""A job's progress page, and its JSON for the page's progress indicator."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template

from lms.db import db_session
from lms.jobs.models import Job
from lms.jobs.services import job_progress
from lms.security import current_employee, is_staff, login_required, valid_id

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def _visible_job(job_id: int) -> Job:
    """Only the person who started a job (or HR/admin) may see it."""
    actor = current_employee()
    job = db_session.get(Job, job_id) if valid_id(job_id) else None
    if job is None or not (job.created_by_id == actor.id or is_staff(actor)):
        abort(404)
    return job


@bp.route("/<int:job_id>")
@login_required
def show(job_id: int):
    job = _visible_job(job_id)
    return render_template("lms/jobs/show.html", job=job, progress=job_progress(job))


@bp.route("/<int:job_id>.json")
@login_required
def status(job_id: int):
    job = _visible_job(job_id)
    progress = job_progress(job)
    return jsonify(
        id=job.id,
        kind=job.kind,
        state=progress.state.value,
        done=progress.done,
        total=progress.total,
        percent=progress.percent,
        message=progress.message,
        finished=job.finished,
        error=job.error,
    )
