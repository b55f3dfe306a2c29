"""Candidate exam pages: a paper with its Start/Resume button, the attempt page (every item
with its widget, autosaved by ``lms.js`` through a JSON endpoint), submitting, and the result
under the paper's review policy.

Thin views over :mod:`lms.exams.services`; the server's clock decides (the page's countdown is
decoration). Anyone else's attempt, or an unknown one, answers 404.
"""

from __future__ import annotations

import functools
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from jinja2 import Environment, nodes, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from lms.db import begin_writing, db_session, reads_first, use_write_session, utcnow
from lms.exams import services
from lms.exams.models import AttemptState, ExamAttempt, ExamPaper
from lms.i18n import gettext as _
from lms.security import current_employee, login_required

bp = Blueprint("exams", __name__)


def _reason(error: services.ExamError) -> str:
    """The services' reasons, translated (an unknown one as it is)."""
    reasons = {
        "the exam is not open yet": _("The exam is not open yet."),
        "the exam is closed": _("The exam is closed."),
        "no attempts left": _("You have no attempts left."),
        "the retake wait has not passed yet": _("You cannot retake the exam yet."),
        "the paper has no questions": _("The exam has no questions."),
        "the attempt no longer takes answers": _("Time is up: answers are no longer accepted."),
        "no such question in this attempt": _("This question is not part of your exam."),
        "not an option of this question": _("That is not an option of this question."),
    }
    return reasons.get(str(error), str(error))


def _paper_or_404(paper_id: int) -> ExamPaper:
    """A paper the signed-in employee may see: published, and not someone else's practice."""
    paper = db_session.get(ExamPaper, paper_id)
    if paper is None or not services.visible_to(paper, current_employee()):
        abort(404)
    return paper


def _attempt_or_404(attempt_id: int, *, with_paper: bool = False) -> ExamAttempt:
    """The signed-in employee's attempt (``with_paper``: its paper in the same query)."""
    options = [joinedload(ExamAttempt.paper)] if with_paper else None
    attempt = db_session.get(ExamAttempt, attempt_id, options=options)
    if attempt is None or attempt.employee_id != current_employee().id:
        abort(404)
    return attempt


@bp.route("/exams")
@login_required
def papers():
    """The exams the employee can take: published, not closed, each with their last attempt."""
    rows = services.open_papers(db_session, current_employee(), now=utcnow())
    return render_template("lms/exams/papers.html", rows=rows)


@bp.route("/exams/<int:paper_id>")
@login_required
def paper(paper_id: int):
    paper = _paper_or_404(paper_id)
    attempts = services.attempts_of(db_session, paper, current_employee())
    open_attempt = next((a for a in attempts if a.state in services.OPEN_STATES), None)
    return render_template(
        "lms/exams/paper.html", paper=paper, attempts=attempts, open_attempt=open_attempt
    )


@bp.route("/exams/<int:paper_id>/start", methods=["POST"])
@login_required
def start(paper_id: int):
    """Start the paper (or resume the open attempt) and go to the attempt page."""
    paper = _paper_or_404(paper_id)
    me = current_employee()
    for retry in (False, True):
        try:
            attempt = services.start_attempt(db_session, paper, me, now=utcnow())
            db_session.commit()
            break
        except IntegrityError:  # two first starts at once: the other one won, resume it
            db_session.rollback()
            if retry:
                raise
            paper = _paper_or_404(paper_id)
            me = current_employee()
        except services.ExamError as error:
            db_session.rollback()
            flash(_("The exam cannot be started: %(reason)s", reason=_reason(error)), "error")
            return redirect(url_for(".paper", paper_id=paper_id))
    return redirect(url_for(".attempt", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>")
@login_required
def attempt(attempt_id: int):
    """The attempt page. It reads in a read session (on SQLite a write session would take the
    database's write lock for the whole page, so that pages and saves would queue behind each
    other); only an attempt past its deadline and grace, which opening finishes, is re-read and
    submitted in a write session."""
    attempt = _attempt_or_404(attempt_id, with_paper=True)
    now = utcnow()
    if attempt.state in services.OPEN_STATES and not services.accepts_answers(attempt, now):
        _restart_in_write_session()
        attempt = _attempt_or_404(attempt_id)
        if attempt.state in services.OPEN_STATES and not services.accepts_answers(attempt, now):
            services.submit(db_session, attempt, now=now)  # past the deadline and grace
            db_session.commit()
    if attempt.state not in services.OPEN_STATES:
        return redirect(url_for(".result", attempt_id=attempt.id))
    return render_template(
        "lms/exams/attempt.html",
        attempt=attempt,
        paper=attempt.paper,
        items=services.public_items(db_session, attempt),
    )


def _restart_in_write_session() -> None:
    """End the request's read session and give it a write session (a read transaction on
    SQLite cannot safely become a writer: another writer may have committed since it began)."""
    session = g.pop("_lms_session", None)
    if session is not None:
        session.close()
    use_write_session()


@bp.route("/attempts/<int:attempt_id>/answers/<public_key>", methods=["POST"])
@reads_first
@login_required
def save(attempt_id: int, public_key: str):
    """Autosave one answer: ``{"response": ...}`` in shown option positions.

    The signed-in employee is loaded in a read transaction; the save's own statements (the
    attempt's owner, state and deadline read under its lock, then the upsert) run in the write
    transaction, so that on SQLite the database's write lock is held only for those."""
    now = utcnow()  # the request's time, before any wait for the lock
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or "response" not in payload:
        _attempt_or_404(attempt_id)  # someone else's attempt answers 404 whatever was sent
        return jsonify(error=_("The answer could not be read.")), 400
    me = current_employee()
    begin_writing(db_session)
    try:
        services.save_answer_of(
            db_session, attempt_id, me.id, public_key, payload["response"], now=now
        )
    except services.NoSuchAttempt:
        db_session.rollback()
        abort(404)
    except services.AttemptClosed as error:
        db_session.rollback()
        return jsonify(error=_reason(error)), 409
    except services.ExamError as error:
        db_session.rollback()
        return jsonify(error=_reason(error)), 400
    db_session.commit()
    return jsonify(saved_at=now.isoformat())


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@login_required
def submit(attempt_id: int):
    attempt = _attempt_or_404(attempt_id)
    if attempt.state is not AttemptState.finished:
        try:
            services.submit(db_session, attempt, now=utcnow())
            db_session.commit()
        except services.ExamError as error:
            db_session.rollback()
            flash(_reason(error), "error")
            return redirect(url_for(".paper", paper_id=attempt.paper_id))
    return redirect(url_for(".result", attempt_id=attempt.id))


@bp.route("/attempts/<int:attempt_id>/away", methods=["POST"])
@login_required
def away(attempt_id: int):
    """The attempt page became hidden (the candidate switched away): count it, and submit the
    attempt at ``LMS_EXAM_MAX_TAB_SWITCHES`` switches. Answers ``{switches, limit, submitted}``
    (``submitted`` also for an attempt finished before) and, once finished, the result's URL."""
    attempt = _attempt_or_404(attempt_id)
    limit = int(current_app.config["LMS_EXAM_MAX_TAB_SWITCHES"])
    try:
        outcome = services.record_tab_switch(db_session, attempt, max_switches=limit, now=utcnow())
    except services.ExamError as error:
        db_session.rollback()
        return jsonify(error=_reason(error)), 409
    db_session.commit()
    finished = attempt.state not in services.OPEN_STATES
    body: dict[str, Any] = {
        "switches": outcome.switches,
        "limit": outcome.limit,
        "submitted": outcome.submitted or finished,
    }
    if finished:
        body["result_url"] = url_for(".result", attempt_id=attempt.id)
    return jsonify(body)


@bp.route("/attempts/<int:attempt_id>/result")
@login_required
def result(attempt_id: int):
    attempt = _attempt_or_404(attempt_id)
    if attempt.state in services.OPEN_STATES:
        return redirect(url_for(".attempt", attempt_id=attempt.id))
    now = utcnow()
    other_exam = services.exam_under_way(db_session, attempt.employee_id, now=now)
    review = services.review(db_session, attempt, now, exam_under_way=other_exam is not None)
    return render_template(
        "lms/exams/result.html", attempt=attempt, paper=attempt.paper, review=review
    )


def widget_template(question: dict[str, Any]) -> str:
    """The candidate widget of a question's type (from its public view)."""
    from lms.questions.types import registry

    return registry()[question["type"]].widget


bp.add_app_template_global(widget_template, "lms_exam_widget")


@functools.lru_cache(maxsize=128)
def _defines_widget(environment: Environment, name: str) -> bool:
    """Whether a widget template defines the ``widget`` macro (found in its source, so that a
    plug-in's include-style template is never run without the names it expects)."""
    if environment.loader is None:
        return False
    source = environment.loader.get_source(environment, name)[0]
    return any(m.name == "widget" for m in environment.parse(source).find_all(nodes.Macro))


#: where a request keeps the widget macros its page imported
_WIDGETS_KEY = "_lms_widget_macros"


@pass_context
def widget_html(
    context: Context,
    question: dict[str, Any],
    response: Any = None,
    field: str = "response",
    disabled: bool = False,
) -> Markup:
    """The candidate widget of a question, for pages that show many items (the exam page, the
    result). Each type's widget template is imported once per page, with the page's context
    (its ``_``), and its ``widget`` macro called per item: an ``{% include %}`` per item built
    a new context each time. A plug-in type whose template defines no macro is included as
    before, with ``question``, ``response``, ``field`` and ``disabled`` set."""
    # Kept for the request (g), by page and type: the context a call gets is not the page's
    # own but derived from it whenever the loop around the call sets a name, so it holds
    # nothing from one call to the next.
    macros = g.setdefault(_WIDGETS_KEY, {})
    kind = (context.name, question["type"])
    macro = macros.get(kind, False)  # one look-up of the type's template per page
    if macro is False:
        name = widget_template(question)
        macro = None
        if _defines_widget(context.environment, name):
            template = context.environment.get_template(name, context.name)
            # Without the page's own ``question``, if it has one: the template renders a widget
            # at its top level only when included with a question. Shared, as Jinja's own
            # imports with context: the page's names hold the globals already, which an
            # unshared context would copy again (some 200 of them).
            names = {k: v for k, v in context.get_all().items() if k != "question"}
            macro = getattr(template.make_module(names, True), "widget", None)
        macros[kind] = macro
    if macro is not None:
        return macro(question, response, field, disabled)
    template = context.environment.get_template(widget_template(question), context.name)
    names = dict(
        context.get_all(), question=question, response=response, field=field, disabled=disabled
    )
    return Markup("".join(template.root_render_func(template.new_context(names, True))))


bp.add_app_template_global(widget_html, "lms_exam_widget_html")


@bp.app_template_filter("lms_points")
def points_filter(value: Any) -> str:
    """Points without trailing zeros: 10, 2.5."""
    text = f"{Decimal(str(value)):f}" if value is not None else ""
    return text.rstrip("0").rstrip(".") if "." in text else text


@bp.app_template_filter("lms_local_time")
def local_time_filter(moment: datetime | None) -> str:
    """A moment in the bureau's time zone, ``2026-11-02 09:00``."""
    if moment is None:
        return ""
    zone = ZoneInfo(current_app.config["LMS_TIMEZONE"])
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
