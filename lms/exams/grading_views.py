"""Grading pages: the queue of short answers waiting for a person (HR and admins: all; managers:
their unit's subtree), grading one attempt (also changing an earlier grade), and HR's regrade of
a corrected question (a dry run, then apply).

Thin views over :mod:`lms.exams.grading`. An attempt out of the grader's scope, their own, an
unfinished or an unknown one answers 404, as does every page for plain employees.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from lms.db import db_session, utcnow
from lms.exams import grading
from lms.exams.models import ExamAttempt
from lms.i18n import gettext as _
from lms.org.models import Employee
from lms.questions.models import Question
from lms.security import STAFF_ROLES, current_employee, roles_required, valid_id

bp = Blueprint("grading", __name__)


def _attempt_or_404(attempt_id: int) -> tuple[ExamAttempt, Employee]:
    """An attempt the signed-in grader may grade, with its candidate; 404 otherwise."""
    attempt = db_session.get(ExamAttempt, attempt_id) if valid_id(attempt_id) else None
    candidate = db_session.get(Employee, attempt.employee_id) if attempt else None
    if (
        attempt is None
        or candidate is None
        or not grading.can_grade(current_employee(), attempt, candidate)
    ):
        abort(404)
    return attempt, candidate


def _question_or_404(question_id: int) -> Question:
    question = db_session.get(Question, question_id) if valid_id(question_id) else None
    if question is None:
        abort(404)
    return question


@bp.route("/grading")
@roles_required(*grading.GRADER_ROLES)
def queue():
    """Finished attempts whose short answers wait for a person, oldest first."""
    entries = grading.queue_entries(db_session, current_employee())
    return render_template("lms/exams/grading/queue.html", entries=entries)


@bp.route("/grading/attempts/<int:attempt_id>", methods=["GET", "POST"])
@roles_required(*grading.GRADER_ROLES)
def attempt(attempt_id: int):
    """The short answers of one attempt with the reference answers; points and comments."""
    attempt, candidate = _attempt_or_404(attempt_id)
    problems: dict[int, str] = {}
    typed: dict[int, tuple[str, str]] = {}
    if request.method == "POST":
        items = grading.manual_items(db_session, attempt)
        typed = {
            m.item.id: (
                request.form.get(f"points-{m.item.id}", ""),
                request.form.get(f"comment-{m.item.id}", ""),
            )
            for m in items
        }
        try:
            changed = grading.grade_attempt(
                db_session, attempt, typed, actor=current_employee(), now=utcnow()
            )
        except grading.GradingError as error:
            db_session.rollback()
            problems = error.problems
        else:
            db_session.commit()
            flash(_("Grades saved.") if changed else _("Nothing changed."), "info")
            return redirect(url_for(".attempt", attempt_id=attempt_id))
        attempt, candidate = _attempt_or_404(attempt_id)
    return render_template(
        "lms/exams/grading/attempt.html",
        attempt=attempt,
        candidate=candidate,
        paper=attempt.paper,
        items=grading.manual_items(db_session, attempt),
        problems=problems,
        typed=typed,
    )


@bp.route("/admin/questions/<int:question_id>/regrade", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def regrade(question_id: int):
    """The dry run of regrading a corrected question; POST applies it and shows what changed."""
    question = _question_or_404(question_id)
    if request.method == "POST":
        result = grading.regrade_apply(
            db_session, question.id, actor=current_employee(), now=utcnow()
        )
        db_session.commit()
        return render_template(
            "lms/exams/grading/regrade_done.html", question=question, result=result
        )
    preview = grading.regrade_preview(db_session, question.id, now=utcnow())
    return render_template("lms/exams/grading/regrade.html", question=question, preview=preview)
