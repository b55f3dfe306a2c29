"""HR's question bank pages: the banks, a bank's questions (filters, pages), one question (its
current version, a candidate's view, its history; enable, disable, edit), imports with a preview
of every question, and exports. HR and admins only: anyone else gets 404."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

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

from lms.db import db_session
from lms.i18n import gettext as _
from lms.jobs.services import enqueue
from lms.jobs.uploads import claim_uploads, store_uploads, upload_dir
from lms.org.forms import choices
from lms.questions import services
from lms.questions.data import QuestionData
from lms.questions.display import answer_summary, letter, safe_html, stem_text
from lms.questions.exports import export_bank, left_out_by_format
from lms.questions.formats import ParsedFile, formats, writable_formats
from lms.questions.forms import (
    MAX_OPTIONS,
    TARGET_FILE,
    TARGET_NEW,
    EnableForm,
    ImportConfirmForm,
    ImportUploadForm,
    QuestionForm,
    YamlForm,
    parse_question_yaml,
    question_yaml,
)
from lms.questions.jobs import (
    BankChoice,
    bank_code_problem,
    import_parsed,
    read_files,
)
from lms.questions.models import Question, QuestionBank
from lms.security import STAFF_ROLES, current_employee, roles_required, valid_id
from lms.sheets import ImportResult, Problem

bp = Blueprint("questions", __name__, url_prefix="/banks")
bp.add_app_template_filter(safe_html, "lms_question_html")

MIMETYPES = {
    "gift": "text/plain; charset=utf-8",
    "moodlexml": "application/xml",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "yaml": "application/yaml; charset=utf-8",
}


def _types() -> Any:
    return current_app.extensions["lms"].question_types


def _bank_or_404(code: str) -> QuestionBank:
    bank = services.get_bank(db_session, code[:64])
    if bank is None:
        abort(404)
    return bank


def _question_or_404(bank: QuestionBank, question_id: int) -> Question:
    question = db_session.get(Question, question_id) if valid_id(question_id) else None
    if question is None or question.bank_id != bank.id:
        abort(404)
    return question


def _type_label(name: str) -> str:
    question_type = _types().get(name)
    return str(question_type.label) if question_type else name


@bp.context_processor
def _question_helpers() -> dict[str, Any]:
    return {"question_type_label": _type_label, "option_letter": letter}


@bp.route("")
@roles_required(*STAFF_ROLES)
def banks():
    return render_template("lms/questions/banks.html", rows=services.banks_with_counts(db_session))


@bp.route("/<code>")
@roles_required(*STAFF_ROLES)
def bank(code: str):
    bank = _bank_or_404(code)
    args = request.args
    types = _types()
    filters: dict[str, Any] = {
        "type": args.get("type") if args.get("type") in types else None,
        "difficulty": int(args["difficulty"])
        if args.get("difficulty", "") in {"1", "2", "3", "4", "5"}
        else None,
        "knowledge_point": args.get("knowledge_point", "")[:200] or None,
        "post": args.get("post", "")[:200] or None,
        "text": args.get("q", "")[:200],
        "enabled": {"1": True, "0": False}.get(args.get("enabled", "")),
    }
    page = services.search_questions(
        db_session,
        bank=bank,
        page=args.get("page", 1, type=int),
        page_size=current_app.config["LMS_PAGE_SIZE"],
        **filters,
    )
    return render_template(
        "lms/questions/bank.html",
        bank=bank,
        page=page,
        filters=filters,
        query=args.get("q", ""),
        types=types,
        knowledge_points=services.label_values(db_session, "knowledge_point", bank),
        posts=services.label_values(db_session, "post", bank),
    )


@bp.route("/<code>/export")
@roles_required(*STAFF_ROLES)
def exports(code: str):
    """The writable formats, each with the questions it would leave out."""
    bank = _bank_or_404(code)
    return render_template(
        "lms/questions/export.html",
        bank=bank,
        formats=left_out_by_format(db_session, bank, _types()),
    )


@bp.route("/<code>/export.<fmt>")
@roles_required(*STAFF_ROLES)
def export(code: str, fmt: str):
    bank = _bank_or_404(code)
    chosen = writable_formats().get(fmt)
    if chosen is None:
        abort(404)
    written = export_bank(db_session, bank, chosen, types=_types())
    response = Response(written.body, mimetype=MIMETYPES.get(fmt, "application/octet-stream"))
    response.headers["Content-Disposition"] = f"attachment; filename={written.filename}"
    return response


# One question ----------------------------------------------------------------------------------


def _render_question(
    bank: QuestionBank,
    question: Question,
    *,
    form: QuestionForm | None = None,
    yaml_form: YamlForm | None = None,
    problems: list[str] | None = None,
    template: str = "lms/questions/question.html",
    status: int = 200,
) -> tuple[str, int]:
    data = services.current_data(db_session, question)
    question_type = _types().get(data.type)
    history = [
        (version, QuestionData.from_dict(version.data))
        for version in services.versions(db_session, question)
    ]
    page = render_template(
        template,
        bank=bank,
        question=question,
        data=data,
        question_type=question_type,
        public=question_type.public(data) if question_type else None,
        answer=answer_summary(data),
        history=history,
        enable_form=EnableForm(enabled="0" if question.enabled else "1"),
        form=form,
        yaml_form=yaml_form,
        problems=problems or [],
        max_options=MAX_OPTIONS,
        editable_answers=data.type in (*QuestionForm.CHOICE_TYPES, "true_false", "short_answer"),
    )
    return page, status


@bp.route("/<code>/questions/<int:question_id>")
@roles_required(*STAFF_ROLES)
def question(code: str, question_id: int):
    bank = _bank_or_404(code)
    return _render_question(bank, _question_or_404(bank, question_id))


@bp.route("/<code>/questions/<int:question_id>/enabled", methods=["POST"])
@roles_required(*STAFF_ROLES)
def set_enabled(code: str, question_id: int):
    bank = _bank_or_404(code)
    question = _question_or_404(bank, question_id)
    form = EnableForm()
    if not form.validate():
        abort(400)
    enabled = form.enabled.data == "1"
    services.set_enabled(db_session, current_employee(), question, enabled)
    db_session.commit()
    flash(_("The question is enabled.") if enabled else _("The question is disabled."), "info")
    return redirect(url_for(".question", code=bank.code, question_id=question.id))


def _form_problems(form: Any) -> list[str]:
    """A submitted form's errors as ``label: message`` lines (none when it validates)."""
    if form.validate():
        return []
    problems = []
    for name, errors in form.errors.items():
        flat = [e for item in errors for e in (item if isinstance(item, list) else [item])]
        problems += [f"{form[name].label.text}: {error}" for error in flat if error]
    return problems


def _edit_forms(data: QuestionData) -> tuple[QuestionForm, YamlForm]:
    form = QuestionForm(formdata=None)
    form.fill(data)
    return form, YamlForm(formdata=None, yaml=question_yaml(data))


def _save(bank: QuestionBank, question: Question, edited: QuestionData) -> Any:
    """Store an edit as a new version and go back to the question. Raises ValueError with the
    type's messages when it refuses the edit (the caller shows the form again)."""
    if edited.type not in _types():  # a plug-in type that is no longer installed
        raise ValueError(_("Unknown question type %(type)s.", type=edited.type))
    version = services.edit_question(
        db_session, current_employee(), question, edited, types=_types()
    )
    db_session.commit()
    flash(
        _("Saved as version %(number)d.", number=version.number)
        if version
        else _("Nothing changed."),
        "info",
    )
    return redirect(url_for(".question", code=bank.code, question_id=question.id))


@bp.route("/<code>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit(code: str, question_id: int):
    bank = _bank_or_404(code)
    question = _question_or_404(bank, question_id)
    current = services.current_data(db_session, question)
    form, yaml_form = _edit_forms(current)
    if request.method == "POST":
        form = QuestionForm()
        problems = _form_problems(form)
        if not problems:
            try:
                return _save(bank, question, form.to_data(current))
            except ValueError as exc:
                problems = str(exc).split("; ")
        db_session.rollback()
        return _render_question(
            bank,
            question,
            form=form,
            yaml_form=yaml_form,
            problems=problems,
            template="lms/questions/edit.html",
        )
    return _render_question(
        bank, question, form=form, yaml_form=yaml_form, template="lms/questions/edit.html"
    )


@bp.route("/<code>/questions/<int:question_id>/edit-yaml", methods=["POST"])
@roles_required(*STAFF_ROLES)
def edit_yaml(code: str, question_id: int):
    bank = _bank_or_404(code)
    question = _question_or_404(bank, question_id)
    current = services.current_data(db_session, question)
    form, _unused = _edit_forms(current)
    yaml_form = YamlForm()
    problems = _form_problems(yaml_form)
    if not problems:
        edited, problems = parse_question_yaml(yaml_form.yaml.data, _types())
        if edited is not None:
            try:
                return _save(bank, question, edited)
            except ValueError as exc:
                problems = str(exc).split("; ")
    db_session.rollback()
    return _render_question(
        bank,
        question,
        form=form,
        yaml_form=yaml_form,
        problems=problems,
        template="lms/questions/edit.html",
    )


# Import ---------------------------------------------------------------------------------------


def _upload_form() -> ImportUploadForm:
    form = ImportUploadForm()
    form.format.choices = choices(
        [("", _("Detect from the content"))]
        + [(name, fmt.label) for name, fmt in formats().items()]
    )
    form.target.choices = choices(
        [(TARGET_FILE, _("The bank each file names")), (TARGET_NEW, _("A new bank"))]
        + [
            (f"bank:{bank.code}", f"{bank.code} · {bank.title}")
            for bank, _total, _enabled in services.banks_with_counts(db_session)
        ]
    )
    if request.method == "GET" and request.args.get("bank"):
        form.target.data = f"bank:{request.args['bank'][:64]}"
    return form


def _bank_choice(form: ImportUploadForm) -> BankChoice | None:
    """The bank the form chose; None (with the field's error set) when the choice is wrong."""
    target = form.target.data
    if target == TARGET_FILE:
        return BankChoice()
    if target.startswith("bank:"):
        return BankChoice(target.removeprefix("bank:"))
    code = (form.new_code.data or "").strip()
    problem = bank_code_problem(code) if code else _("Give the new bank a code.")
    if problem is None and services.get_bank(db_session, code) is not None:
        problem = _("A bank with this code exists already: choose it in the list.")
    if problem:
        form.new_code.errors = [problem]
        return None
    return BankChoice(code, (form.new_title.data or "").strip() or code)


def _preview_rows(parsed_files: list[ParsedFile], result: ImportResult) -> list[dict[str, Any]]:
    """Every parsed question: where it is, its type, text and answer, and its problems (the
    errors naming its line; the page lists every error as well)."""
    by_place: dict[tuple[str, int | None], list[Problem]] = defaultdict(list)
    for problem in result.errors:
        by_place[(problem.file, problem.line)].append(problem)
    rows = []
    for parsed in parsed_files:
        for question in parsed.questions:
            place = (parsed.file, question.line)
            rows.append(
                {
                    "file": parsed.file,
                    "line": question.line,
                    "type": _type_label(question.type),
                    "stem": stem_text(question),
                    "answer": answer_summary(question),
                    "problems": [p.message for p in by_place.get(place, [])],
                }
            )
    return rows


@bp.route("/import", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def import_start():
    """Upload files; they are checked at once (a dry run) and every question previewed."""
    form = _upload_form()
    if form.validate_on_submit():
        choice = _bank_choice(form)
        if choice is not None:
            uploads = [
                (Path(upload.filename or "upload").name[:200] or "upload", upload.read())
                for upload in form.files.data
            ]
            parsed = read_files(uploads, form.format.data or None)
            result = import_parsed(
                db_session, parsed, bank=choice, types=_types(), actor=current_employee()
            )
            db_session.rollback()  # a preview changes nothing
            confirm = None
            if result.ok:  # only clean files are kept for the confirm step
                token = store_uploads(
                    upload_dir(current_app),
                    uploads,
                    {
                        "bank_code": choice.code,
                        "bank_title": choice.title,
                        "format": form.format.data or None,
                    },
                )
                confirm = ImportConfirmForm(token=token)
            return render_template(
                "lms/questions/import_preview.html",
                result=result,
                files=[name for name, _data in uploads],
                confirm=confirm,
                rows=_preview_rows(parsed, result),
            )
    return render_template("lms/questions/import.html", form=form)


@bp.route("/import/confirm", methods=["POST"])
@roles_required(*STAFF_ROLES)
def import_confirm():
    """Run the previewed import as a job, and show its progress."""
    form = ImportConfirmForm()
    if not form.validate():
        abort(400)
    upload = claim_uploads(upload_dir(current_app), form.token.data)
    if upload is None:  # unknown, malformed, or already confirmed
        abort(404)
    actor = current_employee()
    db_session.commit()  # end this request's transaction: the job is stored in its own
    job_id = enqueue(
        current_app._get_current_object(), "questions.import", {**upload, "delete": True}, actor
    )
    return redirect(url_for("lms.jobs.show", job_id=job_id))
