"""HR's catalogue pages (HR and admins; 404 for anyone else): the courses with filters, a course
(its fields, lessons in order, files, versions), forms to create and edit, a lesson editor with a
preview rendered on the server, publishing with what changed since the last version, retiring;
and the download of lesson files for everyone who may see the course (``course_files``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from markupsafe import Markup

from lms import storage
from lms.courses import admin
from lms.courses.admin.attachments import is_image
from lms.courses.admin_forms import (
    RULE_NAMES,
    STATUS_NAMES,
    ActionForm,
    AttachmentForm,
    CourseForm,
    LessonForm,
    MoveForm,
)
from lms.courses.models import Course, CourseStatus, Lesson, LessonAttachment
from lms.db import db_session
from lms.i18n import gettext as _
from lms.org.forms import choices
from lms.questions.html import markdown_to_html
from lms.security import (
    STAFF_ROLES,
    current_employee,
    is_staff,
    login_required,
    roles_required,
    valid_id,
)
from lms.training.programmes import all_programmes

bp = Blueprint("course_admin", __name__, url_prefix="/admin/courses")
files_bp = Blueprint("course_files", __name__, url_prefix="/courses")


def data_dir() -> Path:
    """``LMS_DATA_DIR`` (default: the instance folder's ``data/``); lesson files are kept in its
    ``attachments/``."""
    return storage.data_dir(current_app)


def lesson_html(body: str) -> Markup:
    """A lesson's Markdown as sanitised HTML (raw HTML in it is shown as text)."""
    return Markup(markdown_to_html(body or ""))


def attachment_markdown(attachment: LessonAttachment, url: str) -> str:
    """What to put in a lesson's Markdown to show an image (``![name](url)``) or link a file."""
    name = "".join(c for c in attachment.filename if c not in "[]()\\`*_<>!")
    if is_image(attachment.content_type):
        return f"![{name}]({url})"
    return f"[{name}]({url})"


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "lesson_html": lesson_html,
        "attachment_markdown": attachment_markdown,
        "rule_names": RULE_NAMES,
        "course_status_names": STATUS_NAMES,
        "programme_names": {code: p.label for code, p in all_programmes(db_session).items()},
    }


def _course_or_404(course_id: int) -> Course:
    course = db_session.get(Course, course_id) if valid_id(course_id) else None
    if course is None:
        abort(404)
    return course


def _lesson_or_404(course: Course, lesson_id: int) -> Lesson:
    lesson = db_session.get(Lesson, lesson_id) if valid_id(lesson_id) else None
    if lesson is None or lesson.course_id != course.id:
        abort(404)
    return lesson


def _show_problems(form: Any, error: admin.CatalogueError) -> list[str]:
    """Put each problem on its field; return those that belong to no field."""
    general = []
    for name, message in error.problems.items():
        if name and name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            general.append(message)
    return general


def _course_form() -> CourseForm:
    form = CourseForm()
    form.programme.choices = choices(
        [(code, f"{p.label} ({code})") for code, p in all_programmes(db_session).items()]
    )
    return form


# The list and one course -----------------------------------------------------------------------


@bp.route("")
@roles_required(*STAFF_ROLES)
def courses():
    args = request.args
    programmes = all_programmes(db_session)
    programme = args.get("programme") if args.get("programme") in programmes else None
    status = args.get("status") if args.get("status") in STATUS_NAMES else None
    query = args.get("q", "").strip()[:100]
    page = admin.search_courses(
        db_session,
        programme=programme,
        status=CourseStatus(status) if status else None,
        query=query,
        page=args.get("page", 1, type=int),
        page_size=current_app.config["LMS_PAGE_SIZE"],
    )
    return render_template(
        "lms/courses/admin/courses.html",
        page=page,
        programmes=programmes,
        filters={"programme": programme, "status": status, "q": query},
    )


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def new_course():
    form = _course_form()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            course = admin.create_course(db_session, current_employee(), form.fields())
        except admin.CatalogueError as error:
            db_session.rollback()
            problems = _show_problems(form, error)
        else:
            db_session.commit()
            flash(_("The course is created as a draft. Add its lessons."), "info")
            return redirect(url_for(".course", course_id=course.id))
    return render_template(
        "lms/courses/admin/course_form.html", form=form, course=None, problems=problems
    )


@bp.route("/<int:course_id>")
@roles_required(*STAFF_ROLES)
def course(course_id: int):
    course = _course_or_404(course_id)
    return render_template(
        "lms/courses/admin/course.html",
        course=course,
        history=admin.version_history(db_session, course),
        changes=admin.pending_changes(db_session, course),
        delete_problem=admin.delete_problem(db_session, course),
    )


@bp.route("/<int:course_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit_course(course_id: int):
    course = _course_or_404(course_id)
    form = _course_form()
    problems: list[str] = []
    if request.method == "GET":
        form.fill(course)
    elif form.validate_on_submit():
        try:
            changed = admin.update_course(db_session, current_employee(), course, form.fields())
        except admin.CatalogueError as error:
            db_session.rollback()
            problems = _show_problems(form, error)
        else:
            db_session.commit()
            flash(_("Saved.") if changed else _("Nothing changed."), "info")
            return redirect(url_for(".course", course_id=course.id))
    return render_template(
        "lms/courses/admin/course_form.html", form=form, course=course, problems=problems
    )


# Lessons ---------------------------------------------------------------------------------------


def _lesson_page(course: Course, lesson: Lesson | None, form: LessonForm, **extra: Any) -> str:
    return render_template(
        "lms/courses/admin/lesson_form.html",
        course=course,
        lesson=lesson,
        form=form,
        upload_form=AttachmentForm(formdata=None),
        **{"problems": [], "preview": None, **extra},
    )


def _save_lesson(course: Course, lesson: Lesson | None) -> Any:
    """The lesson form's POST: ``preview`` renders the text without saving; otherwise save."""
    form = LessonForm()
    valid = form.validate()
    if request.form.get("action") == "preview":  # shown even while other fields are wrong
        return _lesson_page(course, lesson, form, preview=lesson_html(form.body.data or ""))
    if not valid:
        return _lesson_page(course, lesson, form)
    try:
        if lesson is None:
            lesson = admin.add_lesson(db_session, current_employee(), course, form.fields())
            message = _("The lesson is added.")
        else:
            changed = admin.update_lesson(db_session, current_employee(), lesson, form.fields())
            message = _("Saved.") if changed else _("Nothing changed.")
    except admin.CatalogueError as error:
        db_session.rollback()
        return _lesson_page(course, lesson, form, problems=_show_problems(form, error))
    db_session.commit()
    flash(message, "info")
    return redirect(url_for(".edit_lesson", course_id=course.id, lesson_id=lesson.id))


@bp.route("/<int:course_id>/lessons/new", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def new_lesson(course_id: int):
    course = _course_or_404(course_id)
    if request.method == "POST":
        return _save_lesson(course, None)
    return _lesson_page(course, None, LessonForm(formdata=None))


@bp.route("/<int:course_id>/lessons/<int:lesson_id>", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def edit_lesson(course_id: int, lesson_id: int):
    course = _course_or_404(course_id)
    lesson = _lesson_or_404(course, lesson_id)
    if request.method == "POST":
        return _save_lesson(course, lesson)
    form = LessonForm(formdata=None)
    form.fill(lesson)
    return _lesson_page(course, lesson, form)


@bp.route("/<int:course_id>/lessons/<int:lesson_id>/move", methods=["POST"])
@roles_required(*STAFF_ROLES)
def move_lesson(course_id: int, lesson_id: int):
    course = _course_or_404(course_id)
    lesson = _lesson_or_404(course, lesson_id)
    form = MoveForm()
    if not form.validate():
        abort(400)
    offset = -1 if form.direction.data == "up" else 1
    if admin.move_lesson(db_session, current_employee(), lesson, offset):
        db_session.commit()
    return redirect(url_for(".course", course_id=course.id, _anchor="lessons"))


@bp.route("/<int:course_id>/lessons/<int:lesson_id>/delete", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def delete_lesson(course_id: int, lesson_id: int):
    """GET asks for confirmation (no script needed); POST deletes."""
    course = _course_or_404(course_id)
    lesson = _lesson_or_404(course, lesson_id)
    form = ActionForm()
    if request.method == "POST" and form.validate():
        shas = [a.sha256 for a in lesson.attachments]
        admin.delete_lesson(db_session, current_employee(), lesson)
        db_session.commit()
        for sha256 in shas:
            admin.remove_unused_file(db_session, sha256, data_dir=data_dir())
        flash(_("The lesson is deleted."), "info")
        return redirect(url_for(".course", course_id=course.id, _anchor="lessons"))
    return render_template(
        "lms/courses/admin/confirm.html",
        course=course,
        form=form,
        title=_("Delete the lesson %(title)s?", title=lesson.title),
        message=_(
            "The lesson and its files leave the course. Published versions keep them for the "
            "people studying those versions."
        ),
        action=url_for(".delete_lesson", course_id=course.id, lesson_id=lesson.id),
        button=_("Delete the lesson"),
        back=url_for(".edit_lesson", course_id=course.id, lesson_id=lesson.id),
    )


@bp.route("/<int:course_id>/lessons/<int:lesson_id>/attachments", methods=["POST"])
@roles_required(*STAFF_ROLES)
def upload_attachment(course_id: int, lesson_id: int):
    course = _course_or_404(course_id)
    lesson = _lesson_or_404(course, lesson_id)
    form = AttachmentForm()
    back = redirect(url_for(".edit_lesson", course_id=course.id, lesson_id=lesson.id))
    if not form.validate():
        flash(_("Choose a file to upload."), "error")
        return back
    upload = form.file.data
    try:
        attachment = admin.store_attachment(
            db_session,
            lesson,
            upload.filename or "file",
            upload.read(),
            data_dir=data_dir(),
            max_bytes=current_app.config["LMS_MAX_UPLOAD_MB"] * 1024 * 1024,
            actor=current_employee(),
        )
    except admin.CatalogueError as error:
        db_session.rollback()
        for message in error.problems.values():
            flash(message, "error")
        return back
    db_session.commit()
    flash(_("%(name)s is added to the lesson.", name=attachment.filename), "info")
    return back


@bp.route(
    "/<int:course_id>/lessons/<int:lesson_id>/attachments/<int:attachment_id>/delete",
    methods=["POST"],
)
@roles_required(*STAFF_ROLES)
def delete_attachment(course_id: int, lesson_id: int, attachment_id: int):
    course = _course_or_404(course_id)
    lesson = _lesson_or_404(course, lesson_id)
    attachment = (
        db_session.get(LessonAttachment, attachment_id) if valid_id(attachment_id) else None
    )
    if attachment is None or attachment.lesson_id != lesson.id:
        abort(404)
    if not ActionForm().validate():
        abort(400)
    name = attachment.filename
    sha256 = admin.delete_attachment(db_session, current_employee(), attachment)
    db_session.commit()
    admin.remove_unused_file(db_session, sha256, data_dir=data_dir())
    flash(_("%(name)s is removed from the lesson.", name=name), "info")
    return redirect(url_for(".edit_lesson", course_id=course.id, lesson_id=lesson.id))


# Publishing, retiring, versions ----------------------------------------------------------------


@bp.route("/<int:course_id>/publish", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def publish(course_id: int):
    """GET shows what a publication would change; POST publishes."""
    course = _course_or_404(course_id)
    form = ActionForm()
    if request.method == "POST" and form.validate():
        try:
            version = admin.publish_course(db_session, current_employee(), course)
        except admin.CatalogueError as error:
            db_session.rollback()
            for message in error.problems.values():
                flash(message, "error")
            return redirect(url_for(".publish", course_id=course.id))
        db_session.commit()
        flash(_("Published as version %(number)d.", number=version.number), "info")
        return redirect(url_for(".course", course_id=course.id))
    return render_template(
        "lms/courses/admin/publish.html",
        course=course,
        form=form,
        changes=admin.pending_changes(db_session, course),
        problem=admin.publish_problem(db_session, course),
    )


def _status_action(course_id: int, change: Any, message: str) -> Any:
    course = _course_or_404(course_id)
    if not ActionForm().validate():
        abort(400)
    try:
        change(db_session, current_employee(), course)
    except admin.CatalogueError as error:
        db_session.rollback()
        for problem in error.problems.values():
            flash(problem, "error")
    else:
        db_session.commit()
        flash(message, "info")
    return redirect(url_for(".course", course_id=course.id))


@bp.route("/<int:course_id>/retire", methods=["POST"])
@roles_required(*STAFF_ROLES)
def retire(course_id: int):
    return _status_action(
        course_id,
        admin.retire_course,
        _("The course is retired: it has left the catalogue; runs already started carry on."),
    )


@bp.route("/<int:course_id>/reinstate", methods=["POST"])
@roles_required(*STAFF_ROLES)
def reinstate(course_id: int):
    return _status_action(
        course_id, admin.reinstate_course, _("The course is back in the catalogue.")
    )


@bp.route("/<int:course_id>/delete", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def delete_course(course_id: int):
    """GET asks for confirmation; POST deletes a draft that was never published."""
    course = _course_or_404(course_id)
    form = ActionForm()
    if request.method == "POST" and form.validate():
        shas = {a.sha256 for lesson in course.lessons for a in lesson.attachments}
        try:
            admin.delete_course(db_session, current_employee(), course)
        except admin.CatalogueError as error:
            db_session.rollback()
            for problem in error.problems.values():
                flash(problem, "error")
            return redirect(url_for(".course", course_id=course_id))
        db_session.commit()
        for sha256 in shas:
            admin.remove_unused_file(db_session, sha256, data_dir=data_dir())
        flash(_("The draft is deleted."), "info")
        return redirect(url_for(".courses"))
    return render_template(
        "lms/courses/admin/confirm.html",
        course=course,
        form=form,
        title=_("Delete the draft %(title)s?", title=course.title),
        message=admin.delete_problem(db_session, course)
        or _("The course, its lessons and its files are deleted."),
        action=url_for(".delete_course", course_id=course.id),
        button=_("Delete the draft"),
        back=url_for(".course", course_id=course.id),
    )


@bp.route("/<int:course_id>/versions/<int:number>")
@roles_required(*STAFF_ROLES)
def version(course_id: int, number: int):
    """One published version as it was frozen, read-only."""
    course = _course_or_404(course_id)
    history = admin.version_history(db_session, course)
    found, publisher = next(((v, p) for v, p in history if v.number == number), (None, None))
    if found is None:
        abort(404)
    return render_template(
        "lms/courses/admin/version.html",
        course=course,
        version=found,
        snapshot=found.snapshot,
        publisher=publisher,
    )


# Downloads -------------------------------------------------------------------------------------


@files_bp.route("/<int:course_id>/attachments/<int:attachment_id>")
@login_required
def attachment(course_id: int, attachment_id: int):
    """A lesson's file, to anyone who may see the course: HR and admins any course's files;
    everyone else the files of a published version of a course that has been published (a
    retired course's too: runs started on it carry on). Images are shown inline, documents
    downloaded; the type is the one found from the bytes at upload, never sniffed."""
    actor = current_employee()
    course = db_session.get(Course, course_id) if valid_id(course_id) else None
    staff = is_staff(actor)
    if course is None or not valid_id(attachment_id):
        abort(404)
    if not staff and (not course.current_version or course.status is CourseStatus.draft):
        abort(404)
    found = admin.find_attachment(db_session, course, attachment_id, drafts=staff)
    if found is None:
        abort(404)
    path = admin.blob_path(data_dir(), found.sha256)
    if not path.is_file():
        abort(404)
    response = send_file(
        path,
        mimetype=found.content_type,
        as_attachment=not found.is_image,
        download_name=found.filename,
        conditional=True,
        etag=found.sha256,
        max_age=None,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
