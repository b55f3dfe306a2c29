"""Versions: what changed since the last publication, publishing, retiring, reinstating."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.courses import services
from lms.courses.admin.courses import CatalogueError
from lms.courses.models import Course, CourseStatus, CourseVersion
from lms.i18n import gettext as _
from lms.i18n import lazy_gettext as _l
from lms.org.models import Employee


def latest_version(db: Session, course: Course) -> CourseVersion | None:
    if not course.current_version:
        return None
    return services.version_of(db, course.id, course.current_version)


def versions(db: Session, course: Course) -> Sequence[CourseVersion]:
    """The course's versions, newest first."""
    return db.scalars(
        sa.select(CourseVersion)
        .where(CourseVersion.course_id == course.id)
        .order_by(CourseVersion.number.desc())
    ).all()


def version_history(db: Session, course: Course) -> list[tuple[CourseVersion, Employee | None]]:
    """The course's versions, newest first, each with who published it (None: a command)."""
    found = versions(db, course)
    ids = {v.published_by_id for v in found if v.published_by_id}
    people = {e.id: e for e in db.scalars(sa.select(Employee).where(Employee.id.in_(ids)))}
    return [(v, people.get(v.published_by_id)) for v in found]


FIELD_LABELS = {
    "code": _l("Code"),
    "title": _l("Title"),
    "programme": _l("Programme"),
    "summary": _l("Summary"),
    "hours": _l("Hours"),
    "completion_rule": _l("Completion rule"),
    "bank_codes": _l("Question banks"),
    "certificate_design": _l("Certificate design"),
}


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What changed from snapshot ``old`` to snapshot ``new``, one line each, in words."""
    lines = []
    for key, label in FIELD_LABELS.items():
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key == "summary":
            lines.append(_("The summary changed."))
        else:
            lines.append(
                _(
                    "%(field)s: %(before)s → %(after)s",
                    field=label,
                    before=_shown(before),
                    after=_shown(after),
                )
            )
    old_lessons = {lesson["id"]: lesson for lesson in old.get("lessons", [])}
    new_lessons = {lesson["id"]: lesson for lesson in new.get("lessons", [])}
    for lesson in new.get("lessons", []):
        before = old_lessons.get(lesson["id"])
        if before is None:
            lines.append(_("New lesson: %(title)s", title=lesson["title"]))
            continue
        lines += _lesson_changes(before, lesson)
    for lesson in old.get("lessons", []):
        if lesson["id"] not in new_lessons:
            lines.append(_("Lesson removed: %(title)s", title=lesson["title"]))
    kept_old = [i for i in old_lessons if i in new_lessons]
    kept_new = [i for i in new_lessons if i in old_lessons]
    if kept_old != kept_new:
        lines.append(_("The lessons are in a new order."))
    return lines


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "—"
    return "—" if value in (None, "") else str(value)


def _lesson_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    title = new["title"]
    lines = []
    if old["title"] != title:
        lines.append(_("Lesson renamed: %(before)s → %(after)s", before=old["title"], after=title))
    if old["body"] != new["body"]:
        lines.append(_("Lesson text changed: %(title)s", title=title))
    if old["video_url"] != new["video_url"]:
        lines.append(_("Video link changed: %(title)s", title=title))
    if old["min_seconds"] != new["min_seconds"]:
        lines.append(
            _(
                "Minimum time of %(title)s: %(before)s s → %(after)s s",
                title=title,
                before=old["min_seconds"],
                after=new["min_seconds"],
            )
        )
    old_files = {a["id"]: a["filename"] for a in old.get("attachments", [])}
    new_files = {a["id"]: a["filename"] for a in new.get("attachments", [])}
    for number, name in new_files.items():
        if number not in old_files:
            lines.append(_("File added to %(title)s: %(name)s", title=title, name=name))
    for number, name in old_files.items():
        if number not in new_files:
            lines.append(_("File removed from %(title)s: %(name)s", title=title, name=name))
    return lines


def pending_changes(db: Session, course: Course) -> list[str] | None:
    """What a publication would change since the current version; None when the course was
    never published (all of it is new)."""
    version = latest_version(db, course)
    if version is None:
        return None
    return compare(version.snapshot, services.snapshot(course))


def publish_problem(db: Session, course: Course) -> str | None:
    """Why the course cannot be published now (None when it can)."""
    if course.status is CourseStatus.retired:
        return _("The course is retired: return it to the catalogue first.")
    if not course.lessons:
        return _("A course without lessons cannot be published.")
    changes = pending_changes(db, course)
    if changes is not None and not changes:
        return _("Nothing has changed since version %(number)d.", number=course.current_version)
    return None


def publish_course(db: Session, actor: Employee | None, course: Course) -> CourseVersion:
    """Publish the course as its next version (new runs start on it; runs on earlier versions
    keep theirs). Raises :class:`CatalogueError` when there is nothing new to publish."""
    # One publication at a time: the second of two concurrent clicks finds nothing new.
    db.refresh(course, with_for_update=True)
    problem = publish_problem(db, course)
    if problem:
        raise CatalogueError({"": problem})
    changes = pending_changes(db, course) or []
    version = services.publish(db, course, actor=actor)
    audit(
        db,
        actor=actor,
        action="course.publish",
        object_type="course",
        object_id=course.code,
        summary=f"version {version.number}",
        after={"version": version.number, "changes": changes},
    )
    db.flush()
    return version


def _set_status(db: Session, actor: Employee | None, course: Course, status: CourseStatus) -> None:
    before = course.status
    course.status = status
    audit(
        db,
        actor=actor,
        action=f"course.{'retire' if status is CourseStatus.retired else 'reinstate'}",
        object_type="course",
        object_id=course.code,
        before={"status": before.value},
        after={"status": status.value},
    )
    db.flush()


def retire_course(db: Session, actor: Employee | None, course: Course) -> None:
    """Withdraw a published course from the catalogue: no new runs start on it; runs already
    started carry on, and completed ones, ledger rows and certificates stay."""
    if course.status is not CourseStatus.published:
        raise CatalogueError({"": _("Only a published course can be retired.")})
    _set_status(db, actor, course, CourseStatus.retired)


def reinstate_course(db: Session, actor: Employee | None, course: Course) -> None:
    """Put a retired course back in the catalogue, at its current version."""
    if course.status is not CourseStatus.retired or not course.current_version:
        raise CatalogueError({"": _("Only a retired course can return to the catalogue.")})
    _set_status(db, actor, course, CourseStatus.published)
