"""Courses: their fields checked (code, programme, hours, audience, prerequisites without
cycles, banks), created, changed, and deleted while they are drafts never published.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.courses.models import (
    CompletionRule,
    Course,
    CourseRun,
    CourseStatus,
    Lesson,
    course_prerequisite,
)
from lms.db import Page
from lms.i18n import gettext as _
from lms.org.models import Employee
from lms.org.services import get_or_create_post
from lms.questions.services import get_bank
from lms.training.programmes import all_programmes

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_HOURS = Decimal("999.9")


class CatalogueError(ValueError):
    """A refused change; ``problems`` maps a field name (``""``: the whole) to its message."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems.values()))


@dataclass
class CourseFields:
    """What HR types for a course. Lists hold post names, course codes and bank codes."""

    code: str
    title: str
    programme: str
    hours: Decimal | str | int
    summary: str = ""
    audience: Sequence[str] = ()
    prerequisites: Sequence[str] = ()
    completion_rule: CompletionRule | str = CompletionRule.viewed
    bank_codes: Sequence[str] = ()
    certificate_design: str | None = None


@dataclass
class _Checked:
    values: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def _hours(value: Decimal | str | int) -> Decimal | None:
    try:
        hours = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return hours if hours.is_finite() else None


def _check_course(db: Session, fields: CourseFields, course: Course | None) -> _Checked:
    checked = _Checked()
    values, problems = checked.values, checked.problems
    code = fields.code.strip()
    if not CODE.match(code):
        problems["code"] = _(
            "A code is 1 to 64 letters, digits, dots, hyphens or underscores (such as SVC-01)."
        )
    elif course is not None and course.current_version and code != course.code:
        problems["code"] = _("The code cannot change once the course has been published.")
    elif db.scalar(
        sa.select(Course.id).where(Course.code == code, Course.id != (course.id if course else -1))
    ):
        problems["code"] = _("Another course has the code %(code)s.", code=code)
    values["code"] = code
    values["title"] = fields.title.strip()
    if not values["title"] or len(values["title"]) > 200:
        problems["title"] = _("Give the course a title of at most 200 characters.")
    if fields.programme not in all_programmes(db):
        problems["programme"] = _("Unknown programme %(code)s.", code=fields.programme)
    values["programme"] = fields.programme
    hours = _hours(fields.hours)
    if hours is None or not (0 < hours <= MAX_HOURS) or hours != hours.quantize(Decimal("0.1")):
        problems["hours"] = _("Hours are more than 0 and at most 999.9, with one decimal place.")
    values["hours"] = hours
    values["summary"] = fields.summary.strip()
    if len(values["summary"]) > 5000:
        problems["summary"] = _("The summary is longer than 5,000 characters.")
    try:
        values["completion_rule"] = CompletionRule(fields.completion_rule)
    except ValueError:
        problems["completion_rule"] = _("Unknown completion rule.")
    posts = list(dict.fromkeys(p.strip() for p in fields.audience if p.strip()))
    if any(len(p) > 100 for p in posts):
        problems["audience"] = _("A post name is at most 100 characters.")
    values["audience"] = posts
    banks = list(dict.fromkeys(b.strip() for b in fields.bank_codes if b.strip()))
    missing = [b for b in banks if get_bank(db, b) is None]
    if missing:
        problems["bank_codes"] = _("No question bank %(codes)s.", codes=", ".join(missing))
    values["bank_codes"] = banks
    design = (fields.certificate_design or "").strip()
    if len(design) > 64:
        problems["certificate_design"] = _("A certificate design name is at most 64 characters.")
    values["certificate_design"] = design or None
    values["prerequisites"] = _check_prerequisites(db, fields.prerequisites, code, course, problems)
    return checked


def _check_prerequisites(
    db: Session, codes: Sequence[str], own_code: str, course: Course | None, problems: dict
) -> list[Course]:
    wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if own_code in wanted or (course is not None and course.code in wanted):
        problems["prerequisites"] = _("A course cannot require itself.")
        return []
    found = {c.code: c for c in db.scalars(sa.select(Course).where(Course.code.in_(wanted)))}
    missing = [c for c in wanted if c not in found]
    if missing:
        problems["prerequisites"] = _("No course %(codes)s.", codes=", ".join(missing))
        return []
    required = [found[c] for c in wanted]
    if course is not None and course.id is not None:
        cycle = _cycle(db, course, required)
        if cycle:
            problems["prerequisites"] = _(
                "The prerequisites would go round in a circle: %(path)s.", path=" → ".join(cycle)
            )
            return []
    return required


def _cycle(db: Session, course: Course, required: list[Course]) -> list[str] | None:
    """The codes of a circle that requiring ``required`` would close, if any: a path from one of
    them back to ``course`` through the prerequisites already recorded."""
    edges: dict[int, list[int]] = {}
    for source, target in db.execute(
        sa.select(course_prerequisite.c.course_id, course_prerequisite.c.requires_id)
    ):
        if source != course.id:  # the course's own links are being replaced
            edges.setdefault(source, []).append(target)
    for start in required:
        path, seen = [start.id], {start.id}
        stack = [iter(edges.get(start.id, []))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                stack.pop()
                path.pop()
                continue
            if step == course.id:
                ids = [course.id, *path, course.id]
                rows = db.execute(sa.select(Course.id, Course.code).where(Course.id.in_(ids)))
                codes = {number: code for number, code in rows}
                return [codes[i] for i in ids]
            if step not in seen:
                seen.add(step)
                path.append(step)
                stack.append(iter(edges.get(step, [])))
    return None


def search_courses(
    db: Session,
    *,
    programme: str | None = None,
    status: CourseStatus | None = None,
    query: str = "",
    page: int = 1,
    page_size: int = 50,
) -> Page[tuple[Course, int]]:
    """Courses of every status, by code, with their number of lessons; filtered by programme,
    status and a text in the code or title."""
    stmt = sa.select(Course)
    if programme:
        stmt = stmt.where(Course.programme == programme)
    if status:
        stmt = stmt.where(Course.status == status)
    if query:
        stmt = stmt.where(
            sa.or_(
                Course.code.contains(query, autoescape=True),
                Course.title.contains(query, autoescape=True),
            )
        )
    total = db.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    lessons = sa.select(sa.func.count(Lesson.id)).where(Lesson.course_id == Course.id)
    page = max(1, page)
    rows = db.execute(
        stmt.add_columns(lessons.scalar_subquery())
        .order_by(Course.code)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return Page([(course, count) for course, count in rows], total, page, page_size)


def _course_state(course: Course) -> dict[str, Any]:
    """The course's own fields as plain data (for the audit log)."""
    return {
        "code": course.code,
        "title": course.title,
        "programme": course.programme,
        "summary": course.summary,
        "hours": None if course.hours is None else str(course.hours),
        "completion_rule": course.completion_rule.value if course.completion_rule else None,
        "audience": [p.name for p in course.audience],
        "prerequisites": [c.code for c in course.prerequisites],
        "bank_codes": list(course.bank_codes or []),
        "certificate_design": course.certificate_design,
    }


def _apply(db: Session, course: Course, values: dict[str, Any]) -> None:
    for key in ("code", "title", "programme", "summary", "hours", "completion_rule"):
        setattr(course, key, values[key])
    course.bank_codes = values["bank_codes"]
    course.certificate_design = values["certificate_design"]
    course.audience = [get_or_create_post(db, name) for name in values["audience"]]
    course.prerequisites = values["prerequisites"]


def create_course(db: Session, actor: Employee | None, fields: CourseFields) -> Course:
    """A new draft course. Raises :class:`CatalogueError`."""
    checked = _check_course(db, fields, None)
    if checked.problems:
        raise CatalogueError(checked.problems)
    course = Course(status=CourseStatus.draft, current_version=0)
    db.add(course)
    _apply(db, course, checked.values)
    db.flush()
    audit(
        db,
        actor=actor,
        action="course.create",
        object_type="course",
        object_id=course.code,
        summary=course.title,
        after=_course_state(course),
    )
    db.flush()
    return course


def update_course(
    db: Session, actor: Employee | None, course: Course, fields: CourseFields
) -> list:
    """Change a course's fields; returns the names of those that changed (audited with their
    values before and after). Raises :class:`CatalogueError`."""
    checked = _check_course(db, fields, course)
    if checked.problems:
        raise CatalogueError(checked.problems)
    before = _course_state(course)
    _apply(db, course, checked.values)
    after = _course_state(course)
    changed = [key for key in before if before[key] != after[key]]
    if changed:
        audit(
            db,
            actor=actor,
            action="course.update",
            object_type="course",
            object_id=course.code,
            summary=", ".join(changed),
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    db.flush()
    return changed


def delete_problem(db: Session, course: Course) -> str | None:
    if course.current_version or course.status is not CourseStatus.draft:
        return _("A course that has been published cannot be deleted: retire it instead.")
    if db.scalar(sa.select(CourseRun.id).where(CourseRun.course_id == course.id).limit(1)):
        return _("Someone has started this course.")
    from lms.training.models import Assignment

    if db.scalar(sa.select(Assignment.id).where(Assignment.course_id == course.id).limit(1)):
        return _("The course has been assigned.")
    required_by = db.scalars(
        sa.select(Course.code)
        .join(course_prerequisite, course_prerequisite.c.course_id == Course.id)
        .where(course_prerequisite.c.requires_id == course.id)
    ).all()
    if required_by:
        return _("Courses %(codes)s require this one.", codes=", ".join(required_by))
    return None


def delete_course(db: Session, actor: Employee | None, course: Course) -> None:
    """Delete a draft that was never published, with its lessons and attachments."""
    problem = delete_problem(db, course)
    if problem:
        raise CatalogueError({"": problem})
    audit(
        db,
        actor=actor,
        action="course.delete",
        object_type="course",
        object_id=course.code,
        summary=course.title,
        before=_course_state(course),
    )
    db.delete(course)
    db.flush()
