"""HR's exam paper pages (HR and admins; 404 for anyone else): the shared papers, a paper's
settings, a fixed paper's questions, a drawn paper's draw rules, the preview (can the rules be
met together, the distribution, a sample draw with answers), publishing and deleting.

Thin views over :mod:`lms.exams.admin`. When a paper that belongs to a course is published,
unpublished, moved to another course or deleted, the course's published version names the old
exam; once the change is committed the course is published again (a new version) so that new
runs need the right exam.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from lms.courses.models import Course
from lms.db import db_session, utcnow
from lms.exams import admin, attempt_admin
from lms.exams.admin_forms import (
    KIND_NAMES,
    PASS_UNITS,
    REVIEW_NAMES,
    ActionForm,
    AddQuestionsForm,
    PaperForm,
    QuestionRowForm,
    RuleForm,
)
from lms.exams.models import ExamAttempt, ExamDrawRule, ExamPaper, ExamPaperQuestion, PaperKind
from lms.exams.services import ExamError
from lms.i18n import gettext as _
from lms.org.forms import choices
from lms.questions import services as questions
from lms.questions.display import answer_summary, stem_text
from lms.questions.models import QuestionBank
from lms.security import STAFF_ROLES, current_employee, roles_required, valid_id

bp = Blueprint("exam_admin", __name__)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["LMS_TIMEZONE"])


def _local_input(moment: datetime | None) -> str:
    """A moment as the value of a ``datetime-local`` input, in the bureau's time zone."""
    return moment.astimezone(_zone()).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _types() -> Any:
    return current_app.extensions["lms"].question_types


def _type_label(name: str | None) -> str:
    if not name:
        return _("Any")
    question_type = _types().get(name)
    return str(question_type.label) if question_type else name


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "paper_kind_names": KIND_NAMES,
        "review_names": REVIEW_NAMES,
        "question_type_label": _type_label,
        "stem_text": stem_text,
        "answer_summary": answer_summary,
    }


def _paper_or_404(paper_id: int) -> ExamPaper:
    """A shared paper (personal practice papers are their owner's, not HR's to edit)."""
    paper = db_session.get(ExamPaper, paper_id) if valid_id(paper_id) else None
    if paper is None or paper.owner_id is not None:
        abort(404)
    return paper


def _show_problems(form: Any, error: admin.PaperError) -> list[str]:
    """Put each problem on its field; return those that belong to no field."""
    general = []
    for name, message in error.problems.items():
        if name and name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            general.append(message)
    return general


def _flash_problems(error: admin.PaperError) -> None:
    for message in error.problems.values():
        flash(message, "error")


def _republish(course_ids: set[int]) -> None:
    """After a committed change to a course's exam: publish each affected published course
    again, so that new runs take (or no longer need) the exam."""
    if not course_ids:
        return
    done = admin.republish_courses(db_session, current_employee(), course_ids)
    db_session.commit()
    for course, version in done:
        flash(
            _(
                "The course %(code)s is published again as version %(number)d, so that new "
                "runs take its current exam.",
                code=course.code,
                number=version.number,
            ),
            "info",
        )


def _paper_form() -> PaperForm:
    form = PaperForm()
    form.course_id.choices = choices(
        [("", _("No course (a stand-alone exam)")), *admin.course_choices(db_session)]
    )
    return form


# The list, a paper, its settings ---------------------------------------------------------------


@bp.route("/admin/exams")
@roles_required(*STAFF_ROLES)
def papers():
    query = request.args.get("q", "").strip()[:100]
    page = admin.search_papers(
        db_session,
        query=query,
        page=request.args.get("page", 1, type=int),
        page_size=current_app.config["LMS_PAGE_SIZE"],
    )
    return render_template("lms/exams/admin/papers.html", page=page, query=query)


@bp.route("/admin/exams/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def new_paper():
    form = _paper_form()
    problems: list[str] = []
    if request.method == "GET":
        form.pass_mark_unit.data = "percent"
    elif form.validate_on_submit():
        try:
            paper = admin.create_paper(db_session, current_employee(), form.fields(), zone=_zone())
        except admin.PaperError as error:
            db_session.rollback()
            problems = _show_problems(form, error)
        else:
            db_session.commit()
            flash(_("The paper is created, unpublished. Add its questions or draw rules."), "info")
            return redirect(url_for(".paper", paper_id=paper.id))
    return render_template(
        "lms/exams/admin/paper_form.html",
        form=form,
        paper=None,
        problems=problems,
        pass_units=PASS_UNITS,
    )


@bp.route("/admin/exams/<int:paper_id>")
@roles_required(*STAFF_ROLES)
def paper(paper_id: int):
    paper = _paper_or_404(paper_id)
    questions_of, banks = admin.paper_contents(db_session, paper)
    count, points = admin.paper_size(paper)
    return render_template(
        "lms/exams/admin/paper.html",
        paper=paper,
        course=db_session.get(Course, paper.course_id) if paper.course_id else None,
        questions_of=questions_of,
        banks=banks,
        size=count,
        points=points,
        attempts=admin.attempt_count(db_session, paper),
        publish_problem=admin.publish_problem(db_session, paper),
        delete_problem=admin.delete_problem(db_session, paper),
    )


@bp.route("/admin/exams/<int:paper_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit_paper(paper_id: int):
    paper = _paper_or_404(paper_id)
    form = _paper_form()
    problems: list[str] = []
    if request.method == "GET":
        form.fill(paper, _local_input)
    elif form.validate_on_submit():
        try:
            changed, courses = admin.update_paper(
                db_session, current_employee(), paper, form.fields(), zone=_zone()
            )
        except admin.PaperError as error:
            db_session.rollback()
            problems = _show_problems(form, error)
        else:
            db_session.commit()
            flash(_("Saved.") if changed else _("Nothing changed."), "info")
            _republish(courses)
            return redirect(url_for(".paper", paper_id=paper.id))
    return render_template(
        "lms/exams/admin/paper_form.html",
        form=form,
        paper=paper,
        problems=problems,
        pass_units=PASS_UNITS,
    )


# A fixed paper's questions ---------------------------------------------------------------------


@bp.route("/admin/exams/<int:paper_id>/questions", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def add_questions(paper_id: int):
    """GET: choose a bank and filter its enabled questions; POST: add the ticked ones."""
    paper = _paper_or_404(paper_id)
    if paper.kind is not PaperKind.fixed:
        abort(404)
    form = AddQuestionsForm()
    problems: list[str] = []
    if request.method == "POST" and form.validate():
        ids = [int(v) for v in request.form.getlist("question") if v.isdigit() and len(v) < 10]
        try:
            added = admin.add_questions(
                db_session, current_employee(), paper, ids, form.points.data or ""
            )
        except admin.PaperError as error:
            db_session.rollback()
            problems = _show_problems(form, error)
        else:
            db_session.commit()
            flash(_("%(num)d questions added.", num=added), "info")
            return redirect(url_for(".paper", paper_id=paper.id, _anchor="questions"))
    args = request.values
    banks = questions.banks_with_counts(db_session)
    bank = questions.get_bank(db_session, args.get("bank", "")[:64]) if args.get("bank") else None
    types = _types()
    filters: dict[str, Any] = {
        "type": args.get("type") if args.get("type") in types else None,
        "difficulty": int(args["difficulty"])
        if args.get("difficulty", "") in {"1", "2", "3", "4", "5"}
        else None,
        "knowledge_point": args.get("knowledge_point", "")[:200] or None,
        "text": args.get("q", "")[:200],
    }
    page = None
    if bank is not None:
        page = questions.search_questions(
            db_session,
            bank=bank,
            enabled=True,  # only enabled questions may go on a paper
            page=request.args.get("page", 1, type=int),
            page_size=current_app.config["LMS_PAGE_SIZE"],
            **filters,
        )
    return render_template(
        "lms/exams/admin/add_questions.html",
        paper=paper,
        form=form,
        problems=problems,
        banks=banks,
        bank=bank,
        types=types,
        filters=filters,
        knowledge_points=questions.label_values(db_session, "knowledge_point", bank)
        if bank
        else [],
        page=page,
        present={q.question_id for q in paper.questions},
    )


@bp.route("/admin/exams/<int:paper_id>/questions/<int:entry_id>", methods=["POST"])
@roles_required(*STAFF_ROLES)
def change_question(paper_id: int, entry_id: int):
    """One question of a fixed paper: save its points, move it up or down, or remove it."""
    paper = _paper_or_404(paper_id)
    entry = db_session.get(ExamPaperQuestion, entry_id) if valid_id(entry_id) else None
    if entry is None or entry.paper_id != paper.id:
        abort(404)
    form = QuestionRowForm()
    if not form.validate():
        abort(400)
    me = current_employee()
    action = form.action.data
    try:
        if action == "save":
            changed = admin.set_question_points(db_session, me, paper, entry, form.points.data)
            message = _("Saved.") if changed else _("Nothing changed.")
        elif action == "remove":
            admin.remove_question(db_session, me, paper, entry)
            message = _("The question is removed from the paper.")
        else:
            admin.move_question(db_session, me, paper, entry, -1 if action == "up" else 1)
            message = ""
    except admin.PaperError as error:
        db_session.rollback()
        _flash_problems(error)
    else:
        db_session.commit()
        if message:
            flash(message, "info")
    return redirect(url_for(".paper", paper_id=paper.id, _anchor="questions"))


# A drawn paper's rules -------------------------------------------------------------------------


def _rule_form() -> RuleForm:
    form = RuleForm()
    form.bank_code.choices = choices(
        [
            (b.code, f"{b.code} {b.title}")
            for b, _total, _enabled in questions.banks_with_counts(db_session)
        ]
    )
    form.type.choices = choices(
        [("", _("Any")), *[(name, str(t.label)) for name, t in _types().items()]]
    )
    return form


def _rule_page(paper: ExamPaper, rule: ExamDrawRule | None, form: RuleForm, problems: list[str]):
    return render_template(
        "lms/exams/admin/rule_form.html",
        paper=paper,
        rule=rule,
        form=form,
        problems=problems,
        knowledge_points=questions.label_values(db_session, "knowledge_point"),
    )


def _save_rule(paper: ExamPaper, rule: ExamDrawRule | None) -> Any:
    form = _rule_form()
    if request.method == "GET":
        if rule is not None:
            bank = db_session.get(QuestionBank, rule.bank_id)
            form.fill(rule, bank.code if bank else "")
        return _rule_page(paper, rule, form, [])
    if not form.validate():
        abort(400)
    me = current_employee()
    try:
        if rule is None:
            admin.add_rule(db_session, me, paper, form.fields(), types=_types())
            message = _("The draw rule is added.")
        else:
            changed = admin.update_rule(db_session, me, paper, rule, form.fields(), types=_types())
            message = _("Saved.") if changed else _("Nothing changed.")
    except admin.PaperError as error:
        db_session.rollback()
        return _rule_page(paper, rule, form, _show_problems(form, error))
    db_session.commit()
    flash(message, "info")
    return redirect(url_for(".paper", paper_id=paper.id, _anchor="rules"))


@bp.route("/admin/exams/<int:paper_id>/rules/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def new_rule(paper_id: int):
    paper = _paper_or_404(paper_id)
    if paper.kind is not PaperKind.drawn:
        abort(404)
    return _save_rule(paper, None)


def _rule_or_404(paper: ExamPaper, rule_id: int) -> ExamDrawRule:
    rule = db_session.get(ExamDrawRule, rule_id) if valid_id(rule_id) else None
    if rule is None or rule.paper_id != paper.id:
        abort(404)
    return rule


@bp.route("/admin/exams/<int:paper_id>/rules/<int:rule_id>", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit_rule(paper_id: int, rule_id: int):
    paper = _paper_or_404(paper_id)
    return _save_rule(paper, _rule_or_404(paper, rule_id))


@bp.route("/admin/exams/<int:paper_id>/rules/<int:rule_id>/delete", methods=["POST"])
@roles_required(*STAFF_ROLES)
def delete_rule(paper_id: int, rule_id: int):
    paper = _paper_or_404(paper_id)
    rule = _rule_or_404(paper, rule_id)
    if not ActionForm().validate():
        abort(400)
    admin.delete_rule(db_session, current_employee(), paper, rule)
    db_session.commit()
    flash(_("The draw rule is removed."), "info")
    return redirect(url_for(".paper", paper_id=paper.id, _anchor="rules"))


# Preview, publishing, deleting -----------------------------------------------------------------


@bp.route("/admin/exams/<int:paper_id>/preview")
@roles_required(*STAFF_ROLES)
def preview(paper_id: int):
    """Whether the rules can be met together and the distribution; ``?sample=1`` adds one
    random draw with the answers (this page is HR's, never a candidate's)."""
    paper = _paper_or_404(paper_id)
    sample = admin.sample_draw(db_session, paper) if request.args.get("sample") else None
    return render_template(
        "lms/exams/admin/preview.html",
        paper=paper,
        preview=admin.check_rules(db_session, paper),
        sample=sample,
        any_value=admin.ANY,
    )


@bp.route("/admin/exams/<int:paper_id>/publish", methods=["POST"])
@roles_required(*STAFF_ROLES)
def publish(paper_id: int):
    return _set_published(paper_id, True)


@bp.route("/admin/exams/<int:paper_id>/unpublish", methods=["POST"])
@roles_required(*STAFF_ROLES)
def unpublish(paper_id: int):
    return _set_published(paper_id, False)


def _set_published(paper_id: int, published: bool) -> Any:
    paper = _paper_or_404(paper_id)
    if not ActionForm().validate():
        abort(400)
    try:
        courses = admin.set_published(db_session, current_employee(), paper, published)
    except admin.PaperError as error:
        db_session.rollback()
        _flash_problems(error)
    else:
        db_session.commit()
        flash(
            _("The paper is published: candidates can take it.")
            if published
            else _("The paper is unpublished: candidates no longer see it."),
            "info",
        )
        _republish(courses)
    return redirect(url_for(".paper", paper_id=paper.id))


@bp.route("/admin/exams/<int:paper_id>/delete", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def delete_paper(paper_id: int):
    """GET asks for confirmation; POST deletes a paper nobody attempted."""
    paper = _paper_or_404(paper_id)
    problem = admin.delete_problem(db_session, paper)
    form = ActionForm()
    if request.method == "POST" and form.validate():
        try:
            courses = admin.delete_paper(db_session, current_employee(), paper)
        except admin.PaperError as error:
            db_session.rollback()
            _flash_problems(error)
            return redirect(url_for(".paper", paper_id=paper_id))
        db_session.commit()
        flash(_("The paper is deleted."), "info")
        _republish(courses)
        return redirect(url_for(".papers"))
    return render_template(
        "lms/exams/admin/confirm_delete.html", paper=paper, form=form, problem=problem
    )


# -- a paper's attempts ------------------------------------------------------------------------


@bp.route("/admin/exams/<int:paper_id>/attempts")
@roles_required(*STAFF_ROLES)
def attempts(paper_id: int):
    """Who sat the paper and how it went; open attempts can be voided from here."""
    paper = _paper_or_404(paper_id)
    state = request.args.get("state", "")
    page = attempt_admin.paper_attempts(
        db_session,
        paper,
        state=state,
        page=request.args.get("page", 1, type=int),
        page_size=current_app.config["LMS_PAGE_SIZE"],
    )
    return render_template("lms/exams/admin/attempts.html", paper=paper, page=page, state=state)


@bp.route("/admin/exams/<int:paper_id>/attempts/<int:attempt_id>/void", methods=["POST"])
@roles_required(*STAFF_ROLES)
def void_attempt(paper_id: int, attempt_id: int):
    """End an open attempt ungraded (abandoned), with a reason; the candidate may start again."""
    paper = _paper_or_404(paper_id)
    attempt = db_session.get(ExamAttempt, attempt_id) if valid_id(attempt_id) else None
    if attempt is None or attempt.paper_id != paper.id:
        abort(404)
    reasons = {
        "a reason is needed": _("Reason: say why the attempt is voided."),
        "the reason is too long": _("Reason: at most 500 characters."),
        "the attempt is not open": _("The attempt is no longer open: it was submitted or ended."),
    }
    try:
        attempt_admin.void_attempt(
            db_session,
            attempt,
            actor=current_employee(),
            reason=request.form.get("reason", ""),
            now=utcnow(),
        )
        db_session.commit()
        flash(_("The attempt is voided; the candidate may start again."), "success")
    except ExamError as error:
        db_session.rollback()
        flash(reasons.get(str(error), str(error)), "error")
    return redirect(url_for(".attempts", paper_id=paper.id))
