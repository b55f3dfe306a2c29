"""Lessons of a course: added, changed, removed, moved up or down (positions 1..n)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.courses.admin.courses import CatalogueError
from lms.courses.models import Course, Lesson
from lms.i18n import gettext as _
from lms.org.models import Employee

MAX_BODY = 200_000
MAX_LESSON_SECONDS = 24 * 3600


@dataclass
class LessonFields:
    title: str
    body: str = ""
    video_url: str = ""
    min_seconds: int = 0


def video_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a lesson's video link (None when it can): only ``https://`` or
    ``http://`` addresses of a host, nothing a browser would run or read from the disk."""
    if not url:
        return None
    parts = urlsplit(url)
    if (
        len(url) > 500
        or parts.scheme.lower() not in ("http", "https")
        or not parts.netloc
        or not url.lower().startswith(("http://", "https://"))
        or any(c.isspace() or ord(c) < 32 or c in "\\<>\"'" for c in url)
    ):
        return _("A video link is a web address starting with https:// (or http://).")
    return None


def _check_lesson(fields: LessonFields) -> dict[str, Any]:
    values = {
        "title": fields.title.strip(),
        "body": fields.body.replace("\r\n", "\n"),
        "video_url": fields.video_url.strip(),
        "min_seconds": fields.min_seconds,
    }
    problems = {}
    if not values["title"] or len(values["title"]) > 200:
        problems["title"] = _("Give the lesson a title of at most 200 characters.")
    if len(values["body"]) > MAX_BODY:
        problems["body"] = _("The lesson text is longer than 200,000 characters.")
    problem = video_url_problem(values["video_url"])
    if problem:
        problems["video_url"] = problem
    if not isinstance(fields.min_seconds, int) or not (
        0 <= fields.min_seconds <= MAX_LESSON_SECONDS
    ):
        problems["min_seconds"] = _("The minimum time is 0 to 86,400 seconds.")
    if problems:
        raise CatalogueError(problems)
    return values


def _lesson_state(lesson: Lesson) -> dict[str, Any]:
    return {
        "title": lesson.title,
        "body": lesson.body,
        "video_url": lesson.video_url,
        "min_seconds": lesson.min_seconds,
    }


def _renumber(db: Session, course: Course) -> None:
    db.flush()
    db.expire(course, ["lessons"])
    for position, lesson in enumerate(course.lessons, start=1):
        lesson.position = position
    db.flush()


def add_lesson(db: Session, actor: Employee | None, course: Course, fields: LessonFields) -> Lesson:
    """A new lesson at the end of the course. Raises :class:`CatalogueError`."""
    values = _check_lesson(fields)
    last = db.scalar(sa.select(sa.func.max(Lesson.position)).where(Lesson.course_id == course.id))
    lesson = Lesson(course_id=course.id, position=(last or 0) + 1, **values)
    db.add(lesson)
    db.flush()
    db.expire(course, ["lessons"])
    audit(
        db,
        actor=actor,
        action="lesson.create",
        object_type="course",
        object_id=course.code,
        summary=lesson.title,
        after={"lesson_id": lesson.id, "title": lesson.title},
    )
    db.flush()
    return lesson


def update_lesson(
    db: Session, actor: Employee | None, lesson: Lesson, fields: LessonFields
) -> list:
    """Change a lesson; returns the names of the fields that changed."""
    values = _check_lesson(fields)
    before = _lesson_state(lesson)
    changed = [key for key, value in values.items() if before[key] != value]
    for key in changed:
        setattr(lesson, key, values[key])
    if changed:
        shown = [k for k in changed if k != "body"]  # the text itself is not copied to the log
        audit(
            db,
            actor=actor,
            action="lesson.update",
            object_type="course",
            object_id=lesson.course.code,
            summary=f"{lesson.title}: {', '.join(changed)}",
            before={"lesson_id": lesson.id, **{k: before[k] for k in shown}},
            after={"lesson_id": lesson.id, **{k: values[k] for k in shown}},
        )
    db.flush()
    return changed


def delete_lesson(db: Session, actor: Employee | None, lesson: Lesson) -> None:
    """Remove a lesson and its attachments from the course (published versions keep theirs)."""
    course = lesson.course
    audit(
        db,
        actor=actor,
        action="lesson.delete",
        object_type="course",
        object_id=course.code,
        summary=lesson.title,
        before={"lesson_id": lesson.id, **_lesson_state(lesson)},
    )
    db.delete(lesson)
    _renumber(db, course)


def move_lesson(db: Session, actor: Employee | None, lesson: Lesson, offset: int) -> bool:
    """Move a lesson one place up (``-1``) or down (``+1``); False at either end."""
    course = lesson.course
    _renumber(db, course)
    lessons = list(course.lessons)
    here = lessons.index(lesson)
    there = here + (1 if offset > 0 else -1)
    if not 0 <= there < len(lessons):
        return False
    other = lessons[there]
    lesson.position, other.position = other.position, lesson.position
    audit(
        db,
        actor=actor,
        action="lesson.move",
        object_type="course",
        object_id=course.code,
        summary=f"{lesson.title}: {here + 1} → {there + 1}",
    )
    _renumber(db, course)
    return True
