"""The course catalogue as files: one YAML file per course (docs/course-catalogue-format.md);
the bureau's own catalogue ships in ``catalogue/``.

An import is all or nothing: every file is read (:mod:`lms.courses.catalogue.reader`) and every
reference (programme, question banks, prerequisites, the exam's draw rules) checked before
anything is written; then each course is upserted by its code, its exam paper set up
(:mod:`lms.courses.catalogue.exam`), and a course whose content or exam changed is published as a
new version, so that runs already under way keep the version they started on.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.orm import Session
from yaml.nodes import MappingNode, Node, ScalarNode

from lms.audit.services import record as audit
from lms.courses.catalogue.exam import apply_exam, check_exams
from lms.courses.catalogue.reader import (
    CourseData,
    DrawData,
    ExamData,
    LessonData,
    read_course_file,
)
from lms.courses.models import Course, CourseStatus, Lesson, course_prerequisite
from lms.courses.services import publish as publish_course
from lms.courses.services import snapshot
from lms.exams.admin import PaperError
from lms.i18n import gettext as _
from lms.migrate import shipped_dir
from lms.org.models import Employee, Post
from lms.org.services import get_or_create_post
from lms.sheets import ImportResult, Problem
from lms.training.programmes import all_programmes

__all__ = [
    "CourseData",
    "DrawData",
    "ExamData",
    "LessonData",
    "import_catalogue",
    "import_shipped_catalogue",
    "read_course_file",
    "shipped_catalogue_files",
]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Checking references -------------------------------------------------------------------------


def shipped_bank_codes() -> set[str]:
    """The codes of the shipped question banks (their ``bank: code:``), read without the
    questions. A course may name one before the banks are imported (they ship together)."""
    from lms.questions.shipped import shipped_bank_files

    codes: set[str] = set()
    for path in shipped_bank_files():
        try:
            root = yaml.compose(path.read_text("utf-8-sig"), Loader=_Loader)
        except (yaml.YAMLError, UnicodeDecodeError):
            continue  # the bank import reports it
        bank = _value(root, "bank")
        code = _value(bank, "code")
        if isinstance(code, ScalarNode):
            codes.add(code.value.strip())
    return codes


def _value(node: Node | None, key: str) -> Node | None:
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return v
    return None


def known_bank_codes(db: Session) -> set[str]:
    """Bank codes a course may name: the banks in the database and the shipped ones."""
    from lms.questions.models import QuestionBank

    return set(db.scalars(sa.select(QuestionBank.code))) | shipped_bank_codes()


def _check_references(
    db: Session, courses: list[CourseData], warnings: list[Problem]
) -> list[Problem]:
    """Duplicate codes across the files, unknown programmes, banks and prerequisites,
    prerequisites that go round in a circle, and exams that cannot be set up (see
    :func:`lms.courses.catalogue.exam.check_exams`; its warnings go to ``warnings``)."""
    problems: list[Problem] = []

    def error(course: CourseData, key: str, column: str, message: str) -> None:
        problems.append(Problem(course.file, course.lines.get(key), column, message))

    programmes = all_programmes(db)
    banks = known_bank_codes(db)
    by_code: dict[str, CourseData] = {}
    for course in courses:
        first = by_code.setdefault(course.code, course)
        if first is not course:
            message = _(
                "Course %(code)s is also in %(file)s (line %(line)d).",
                code=course.code,
                file=first.file,
                line=first.lines.get("code", 0),
            )
            error(course, "code", "code", message)
        if course.programme not in programmes:
            close = difflib.get_close_matches(course.programme, list(programmes), n=1)
            message = _("Unknown programme %(code)s.", code=course.programme)
            if close:
                message += " " + _("Did you mean %(close)s?", close=close[0])
            error(course, "programme", "programme", message)
        for index, bank in enumerate(course.banks):
            if bank not in banks:
                message = _("Unknown question bank %(code)s.", code=bank)
                error(course, f"banks.{index}", "banks", message)
    wanted = {code for course in courses for code in course.prerequisites}
    in_database = set(db.scalars(sa.select(Course.code).where(Course.code.in_(wanted))))
    for course in courses:
        for index, code in enumerate(course.prerequisites):
            key = f"prerequisites.{index}"
            if code == course.code:
                error(course, key, "prerequisites", _("A course cannot require itself."))
            elif code not in by_code and code not in in_database:
                message = _("Unknown prerequisite course %(code)s.", code=code)
                error(course, key, "prerequisites", message)
    if not problems:
        for course in _in_cycles(db, by_code):
            message = _("The prerequisites of %(code)s go round in a circle.", code=course.code)
            error(course, "prerequisites", "prerequisites", message)
    exam_errors, exam_warnings = check_exams(db, courses, banks)
    problems.extend(exam_errors)
    warnings.extend(exam_warnings)
    return problems


def _in_cycles(db: Session, by_code: dict[str, CourseData]) -> list[CourseData]:
    """The imported courses that require themselves through other courses (the database's
    prerequisites for courses not in the import)."""
    requiring = sa.orm.aliased(Course)
    required = sa.orm.aliased(Course)
    graph: dict[str, list[str]] = {}
    for code, requires in db.execute(
        sa.select(requiring.code, required.code)
        .join(course_prerequisite, course_prerequisite.c.course_id == requiring.id)
        .join(required, course_prerequisite.c.requires_id == required.id)
    ):
        if code not in by_code:
            graph.setdefault(code, []).append(requires)
    graph |= {code: course.prerequisites for code, course in by_code.items()}

    def reaches(start: str, goal: str) -> bool:
        stack, visited = list(graph.get(start, [])), set()
        while stack:
            code = stack.pop()
            if code == goal:
                return True
            if code not in visited:
                visited.add(code)
                stack.extend(graph.get(code, []))
        return False

    return [course for code, course in by_code.items() if reaches(code, code)]


# Importing -----------------------------------------------------------------------------------


def import_catalogue(
    db: Session,
    files: Sequence[tuple[str, bytes]],
    *,
    actor: Employee | None,
    publish: bool = True,
) -> ImportResult:
    """Import catalogue files ``(name, content)``: all or nothing, upserting each course by code.

    A course whose content changed (or that was never published) is published as a new
    version when ``publish``; a retired course is updated but stays retired. ``imported`` counts
    the courses created or changed (their exam paper included), ``unchanged`` the others. The
    caller commits when the result is ok, and rolls back otherwise (a refused exam setting is
    found after some writes) and for a dry run."""
    result = ImportResult()
    courses: list[CourseData] = []
    for name, data in files:
        course, problems = read_course_file(data, name)
        result.errors.extend(problems)
        if course is not None:
            courses.append(course)
    if not result.errors:
        result.errors.extend(_check_references(db, courses, result.warnings))
    result.details = {
        "files": [name for name, _data in files],
        "courses": [course.code for course in courses],
        "created": 0,
        "new_versions": 0,
        "new_posts": [],
    }
    if result.errors:
        return result

    existing = {
        course.code: course
        for course in db.scalars(
            sa.select(Course).where(Course.code.in_([c.code for c in courses]))
        )
    }
    rows: list[tuple[CourseData, Course, Any]] = []
    for data in courses:
        row = existing.get(data.code)
        before = _fingerprint(row) if row is not None else None
        if row is None:
            row = Course(code=data.code, status=CourseStatus.draft, current_version=0)
            db.add(row)
        _apply(db, row, data, result.details["new_posts"])
        rows.append((data, row, before))
    db.flush()
    _apply_prerequisites(db, [(data, row) for data, row, _before in rows])

    # The exam papers first: publishing a course freezes its published exam into the version
    # (and a new, removed or renamed exam changes the snapshot, so the course is published).
    exam_changed: dict[str, bool] = {}
    for data, row, _before in rows:
        try:
            exam_changed[data.code] = apply_exam(db, row, data, actor=actor, publish=publish)
        except PaperError as refused:
            line = data.lines.get("exam")
            for name, message in refused.problems.items():
                column = f"exam.{name}" if name else "exam"
                result.errors.append(Problem(data.file, line, column, message))
    if result.errors:
        return result  # the caller rolls back

    for data, row, before in rows:
        after = _fingerprint(row)
        content_changed = before is None or before[0] != after[0]
        release = (
            publish
            and row.status is not CourseStatus.retired
            and (content_changed or row.status is not CourseStatus.published)
        )
        if before == after and not release and not exam_changed[data.code]:
            result.unchanged += 1
            continue
        result.imported += 1
        if release:
            publish_course(db, row, actor=actor)
            if before is not None:
                result.details["new_versions"] += 1
        if before is None:
            result.details["created"] += 1
        audit(
            db,
            actor=actor,
            action="courses.import",
            object_type="course",
            object_id=row.code,
            summary=f"{data.file}: " + ("new" if before is None else "changed"),
            after={
                "file": data.file,
                "version": row.current_version,
                "exam": exam_changed[data.code],
            },
        )
    db.flush()
    return result


def _fingerprint(course: Course) -> tuple[dict[str, Any], list[str], list[str]]:
    """What an import may change: the published content, the audience and the prerequisites."""
    return (
        snapshot(course),
        sorted(post.name for post in course.audience),
        sorted(other.code for other in course.prerequisites),
    )


def _set(row: Any, name: str, value: Any) -> None:
    """Set an attribute only when it differs, so that unchanged rows stay clean."""
    if getattr(row, name) != value:
        setattr(row, name, value)


def _apply(db: Session, course: Course, data: CourseData, new_posts: list[str]) -> None:
    for name, value in (
        ("title", data.title),
        ("programme", data.programme),
        ("summary", data.summary),
        ("hours", data.hours),
        ("completion_rule", data.completion_rule),
        ("bank_codes", data.banks),
        ("certificate_design", data.certificate),
    ):
        _set(course, name, value)
    if sorted(post.name for post in course.audience) != sorted(data.audience):
        known = set(db.scalars(sa.select(Post.name).where(Post.name.in_(data.audience))))
        new_posts.extend(name for name in data.audience if name not in known)
        course.audience = [get_or_create_post(db, name) for name in data.audience]
    _apply_lessons(course, data.lessons)


def _apply_lessons(course: Course, lessons: list[LessonData]) -> None:
    """Replace the lessons in order, keeping the row (and id) of a lesson with the same title,
    so that an unchanged lesson stays the same lesson; the other old rows go."""
    old = list(course.lessons)
    by_title: dict[str, list[Lesson]] = {}
    for lesson in old:
        by_title.setdefault(lesson.title, []).append(lesson)
    new: list[Lesson] = []
    for position, data in enumerate(lessons, start=1):
        same = by_title.get(data.title)
        lesson = same.pop(0) if same else Lesson(title=data.title)
        _set(lesson, "position", position)
        _set(lesson, "body", data.body)
        _set(lesson, "video_url", data.video_url)
        _set(lesson, "min_seconds", data.min_seconds)
        new.append(lesson)
    if [id(lesson) for lesson in new] != [id(lesson) for lesson in old]:
        course.lessons = new


def _apply_prerequisites(db: Session, rows: list[tuple[CourseData, Course]]) -> None:
    codes = {code for data, _row in rows for code in data.prerequisites}
    by_code = {row.code: row for _data, row in rows}
    missing = codes - set(by_code)
    if missing:
        by_code |= {
            c.code: c for c in db.scalars(sa.select(Course).where(Course.code.in_(missing)))
        }
    for data, row in rows:
        if sorted(c.code for c in row.prerequisites) != sorted(data.prerequisites):
            row.prerequisites = [by_code[code] for code in data.prerequisites]
    db.flush()


def shipped_catalogue_files() -> list[tuple[str, bytes]]:
    """The shipped catalogue's files ``(name, content)``, in name order."""
    paths = sorted(shipped_dir("catalogue").glob("*.yaml"))
    return [(path.name, path.read_bytes()) for path in paths]


def import_shipped_catalogue(db: Session, *, actor: Employee | None = None) -> ImportResult:
    """Import the shipped catalogue (the same as ``lms courses import catalogue/*.yaml``); the
    caller commits when the result is ok."""
    return import_catalogue(db, shipped_catalogue_files(), actor=actor)
