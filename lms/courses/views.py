"""Learning pages for every signed-in employee: the catalogue, a course with its lessons and
progress, starting a run, a lesson page (which beats while visible), completion.

A draft, a retired course (unless one had started it) and anyone else's run answer 404. Study
time is credited by :func:`lms.courses.services.heartbeat` from the lesson page's heartbeats
(``lms.js``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.routing import BuildError

from lms.courses import learning, services
from lms.courses.models import Course, CourseRun, CourseStatus, RunStatus
from lms.db import db_session, use_write_session
from lms.i18n import gettext as _
from lms.i18n import local_date
from lms.org.models import Post
from lms.questions.html import markdown_to_html
from lms.security import current_employee, login_required
from lms.training.programmes import all_programmes

bp = Blueprint("courses", __name__)

LESSON_ENDPOINT = "lms.courses.lesson"
#: the lesson files' download page (lms/courses/admin_views.py)
ATTACHMENT_ENDPOINT = "lms.course_files.attachment"


@bp.before_request
def _write_session_for_lesson_pages() -> None:
    """Opening a lesson records it: a GET that writes needs a write session."""
    if request.endpoint == LESSON_ENDPOINT:
        use_write_session()


def heartbeat_seconds() -> int:
    """Seconds between heartbeats: the setting, kept within what one beat may credit."""
    return max(1, min(int(current_app.config["LMS_HEARTBEAT_SECONDS"]), services.MAX_BEAT_SECONDS))


def _course_or_404(course_id: int) -> Course:
    course = learning.visible_course(db_session, current_employee(), course_id)
    if course is None:
        abort(404)
    return course


def _run_or_404(run_id: int) -> CourseRun:
    run = learning.my_run(db_session, current_employee(), run_id)
    if run is None:
        abort(404)
    return run


def _programme_labels() -> dict[str, Any]:
    return {code: info.label for code, info in all_programmes(db_session).items()}


def _post_filter(value: str) -> str | int:
    if value == learning.POST_ALL:
        return learning.POST_ALL
    if value.isdecimal() and len(value) < 10:
        return int(value)
    return learning.POST_MINE


@bp.route("/courses")
@login_required
def catalogue():
    me = current_employee()
    programmes = _programme_labels()
    programme = request.args.get("programme", "")
    post = _post_filter(request.args.get("post", ""))
    query = request.args.get("q", "")[:100]
    page = learning.catalogue(
        db_session,
        me,
        query=query,
        programme=programme if programme in programmes else None,
        post=post,
        page=request.args.get("page", 1, type=int),
        page_size=current_app.config["LMS_PAGE_SIZE"],
    )
    posts = list(db_session.scalars(sa.select(Post).order_by(Post.name)))
    return render_template(
        "lms/courses/catalogue.html",
        page=page,
        programmes=programmes,
        programme=programme if programme in programmes else "",
        post=str(post),
        posts=posts,
        query=query,
    )


@bp.route("/courses/<int:course_id>")
@login_required
def course(course_id: int):
    me = current_employee()
    course = _course_or_404(course_id)
    run = learning.latest_run(db_session, me, course)
    outline = learning.outline(db_session, course, run)
    prerequisites = learning.prerequisites(db_session, me, course)
    assignment = learning.open_assignment(db_session, me, course)
    status = learning.statuses(db_session, me, [course.id])[course.id]
    return render_template(
        "lms/courses/course.html",
        course=course,
        run=run,
        outline=outline,
        prerequisites=prerequisites,
        unmet=[p.course for p in prerequisites if not p.met],
        assignment=assignment,
        overdue=bool(assignment and assignment.due_on and assignment.due_on < local_date()),
        status=status,
        exam_required=learning.exam_required(outline.snapshot),
        exam_paper=learning.exam_paper(db_session, me, outline.snapshot),
        # A completed course is studied again only when it is assigned again.
        can_restart=run is not None
        and run.status is RunStatus.completed
        and assignment is not None,
        programme_label=_programme_labels().get(course.programme, course.programme),
    )


@bp.route("/courses/<int:course_id>/start", methods=["POST"])
@login_required
def start(course_id: int):
    """Start the course (or continue the open run) and go to the first lesson not done."""
    me = current_employee()
    course = _course_or_404(course_id)
    if any(not p.met for p in learning.prerequisites(db_session, me, course)):
        flash(_("Complete the prerequisite courses first."), "error")
        return redirect(url_for(".course", course_id=course.id))
    run = services.open_run(db_session, me, course)
    if run is None and course.status is not CourseStatus.published:
        flash(_("This course has been retired: it can no longer be started."), "error")
        return redirect(url_for(".course", course_id=course.id))
    if run is None:
        latest = learning.latest_run(db_session, me, course)
        if latest is not None and learning.open_assignment(db_session, me, course) is None:
            flash(_("You have completed this course."), "info")
            return redirect(url_for(".course", course_id=course.id))
        run = services.start_run(db_session, me, course)
        db_session.commit()
    target = learning.outline(db_session, course, run).first_to_study()
    if target is None:
        return redirect(url_for(".course", course_id=course.id))
    return redirect(url_for(".lesson", run_id=run.id, lesson_id=target.id))


def _video_url(url: str) -> str | None:
    """The lesson's video link when it is an https URL (anything else is not shown)."""
    url = (url or "").strip()
    return url if url.lower().startswith("https://") and len(url) > len("https://") else None


@bp.route("/learn/<int:run_id>/lessons/<int:lesson_id>")
@login_required
def lesson(run_id: int, lesson_id: int):
    run = _run_or_404(run_id)
    course = run.course
    snapshot = services.version_of(db_session, run.course_id, run.version).snapshot
    lesson = learning.lesson_of(snapshot, lesson_id)
    if lesson is None:
        abort(404)
    studying = run.status is RunStatus.in_progress
    if studying:
        services.view_lesson(db_session, run, lesson_id)
        db_session.commit()
    outline = learning.outline(db_session, course, run)
    current = next(line for line in outline.lessons if line.id == lesson_id)
    before, after = outline.neighbours(lesson_id)
    return render_template(
        "lms/courses/lesson.html",
        course=course,
        run=run,
        lesson=lesson,
        line=current,
        outline=outline,
        before=before,
        after=after,
        body=markdown_to_html(lesson.get("body") or ""),
        video_url=_video_url(lesson.get("video_url", "")),
        attachments=lesson.get("attachments") or [],
        attachment_url=_attachment_url,
        studying=studying,
        min_time=snapshot.get("completion_rule") == "min_time",
        heartbeat_seconds=heartbeat_seconds(),
    )


def _attachment_url(run: CourseRun, attachment: dict[str, Any]) -> str | None:
    """Where a lesson's attachment downloads from (the course files' download page, which
    decides who may fetch it); None while no such page is registered."""
    try:
        return url_for(ATTACHMENT_ENDPOINT, course_id=run.course_id, attachment_id=attachment["id"])
    except BuildError:
        return None


@bp.route("/learn/<int:run_id>/lessons/<int:lesson_id>/beat", methods=["POST"])
@login_required
def beat(run_id: int, lesson_id: int):
    """A heartbeat from an open, visible lesson page: credit the time since the previous one.
    ``{"resume": true}`` (the page became visible again) restarts the clock without credit."""
    run = _run_or_404(run_id)
    snapshot = services.version_of(db_session, run.course_id, run.version).snapshot
    if learning.lesson_of(snapshot, lesson_id) is None:
        abort(404)
    if run.status is not RunStatus.in_progress:
        return jsonify(error="completed"), 409
    payload = request.get_json(silent=True) or {}
    if payload.get("resume") is True:
        progress = services.view_lesson(db_session, run, lesson_id)
    else:
        progress = services.heartbeat(db_session, run, lesson_id)
    done, total = learning.run_progress(db_session, run)
    db_session.commit()
    return jsonify(
        seconds=progress.seconds,
        done=progress.done_at is not None,
        all_done=done == total,
        lessons_done=done,
        lessons_total=total,
    )


@bp.route("/learn/<int:run_id>/complete", methods=["POST"])
@login_required
def complete(run_id: int):
    """Complete a run whose lessons are all done (a course with an exam completes through the
    exam instead). A second request for the same run (a double click, two tabs) finds it
    completed and writes nothing."""
    run = _run_or_404(run_id)
    back = redirect(url_for(".course", course_id=run.course_id))
    if run.status is RunStatus.completed:
        flash(_("You have completed this course."), "info")
        return back
    snapshot = services.version_of(db_session, run.course_id, run.version).snapshot
    if learning.exam_required(snapshot):
        flash(_("This course is completed by passing its exam."), "error")
        return back
    if not services.all_lessons_done(db_session, run):
        flash(_("Study every lesson before completing the course."), "error")
        return back
    if services.complete_run(db_session, run):
        db_session.commit()
        flash(
            _(
                "Course completed: %(hours)s hours recorded in your training file.",
                hours=_hours(snapshot["hours"]),
            ),
            "info",
        )
    else:
        flash(_("You have completed this course."), "info")
    return back


def _hours(value: Any) -> str:
    text = str(value)
    return text[:-2] if text.endswith(".0") else text


@bp.app_template_filter("lms_hours")
def hours_filter(value: Any) -> str:
    """学时 as the bureau writes them: 2, 1.5."""
    return _hours(value)


@bp.app_template_filter("lms_duration")
def duration_filter(seconds: int) -> str:
    """Study time as minutes and seconds, ``12:05``."""
    seconds = int(seconds or 0)
    return f"{seconds // 60}:{seconds % 60:02d}"


@bp.app_template_filter("lms_local_date")
def local_date_filter(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return local_date(moment).isoformat()
