"""HR's item statistics page of a paper: the score distribution, pass rate and mean, and per
question the facility and discrimination indexes, flags and option choices (the right options
marked: HR may see answers). A Refresh button recomputes them as a job. HR and admins only:
anyone else gets 404."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, url_for

from lms.charts import bar_chart
from lms.db import db_session
from lms.exams import statistics
from lms.exams.models import ExamPaper
from lms.i18n import gettext as _
from lms.jobs.services import enqueue
from lms.questions.display import stem_text
from lms.questions.types import registry
from lms.security import STAFF_ROLES, current_employee, roles_required, valid_id

bp = Blueprint("exam_statistics", __name__)


def _paper_or_404(paper_id: int) -> ExamPaper:
    paper = db_session.get(ExamPaper, paper_id) if valid_id(paper_id) else None
    if paper is None:
        abort(404)
    return paper


def _type_label(name: str) -> str:
    try:
        return str(registry()[name].label)
    except KeyError:
        return name


def _flag_names() -> dict[str, str]:
    return {
        statistics.FLAG_TOO_EASY: _("Too easy"),
        statistics.FLAG_TOO_HARD: _("Too hard"),
        statistics.FLAG_NEGATIVE: _("Negative discrimination"),
    }


@bp.route("/admin/exams/<int:paper_id>/statistics")
@roles_required(*STAFF_ROLES)
def paper(paper_id: int):
    """The paper's stored statistics (or a note that there are none yet) and Refresh."""
    exam = _paper_or_404(paper_id)
    report = statistics.paper_report(db_session, exam)
    chart = None
    if report.paper is not None:
        chart = bar_chart(
            statistics.histogram_bars(report.paper.histogram or [0] * statistics.BANDS),
            value_format=lambda v: f"{v:.0f}",
            title=_("Score distribution (percent of the maximum)"),
            empty_label=_("No data"),
        )
    return render_template(
        "lms/exams/statistics/paper.html",
        paper=exam,
        report=report,
        chart=chart,
        flag_names=_flag_names(),
        type_label=_type_label,
        stem_text=stem_text,
        thresholds={
            "too_easy": statistics.TOO_EASY,
            "too_hard": statistics.TOO_HARD,
            "min_attempts": statistics.MIN_ATTEMPTS_FOR_DISCRIMINATION,
        },
    )


@bp.route("/admin/exams/<int:paper_id>/statistics/refresh", methods=["POST"])
@roles_required(*STAFF_ROLES)
def refresh(paper_id: int):
    """Recompute the paper's statistics as a job, and show its progress."""
    exam = _paper_or_404(paper_id)
    actor = current_employee()
    db_session.commit()  # end this request's transaction: the job is stored in its own
    job_id = enqueue(
        current_app._get_current_object(), statistics.JOB_KIND, {"paper_id": exam.id}, actor
    )
    return redirect(url_for("lms.jobs.show", job_id=job_id))
