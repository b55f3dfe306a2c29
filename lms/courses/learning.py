"""What an employee's learning pages read: the catalogue with each course's status for them, a
course's lessons with their progress, prerequisites, the home page's lists.

Read-only queries (the writes are in :mod:`lms.courses.services`). Every function takes the
employee it answers for and only ever returns that employee's runs and rows.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.courses.models import Course, CourseRun, CourseStatus, LessonProgress, RunStatus
from lms.courses.services import lessons_done, version_of
from lms.db import Page
from lms.exams.models import ExamPaper
from lms.org.models import Employee, Post
from lms.security import valid_id
from lms.training.models import Assignment, LedgerEntry


class MyStatus(enum.StrEnum):
    """Where an employee stands with a course."""

    not_started = "not_started"
    in_progress = "in_progress"
    completed = "completed"


#: the catalogue's post filter: courses for my post (the default), every course, or one post
POST_MINE = "mine"
POST_ALL = "all"


@dataclass
class CourseRow:
    course: Course
    status: MyStatus


def published_course(db: Session, course_id: int) -> Course | None:
    """A published course by id; None for a draft, a retired course or no course at all."""
    if not valid_id(course_id):
        return None
    return db.scalar(
        sa.select(Course).where(Course.id == course_id, Course.status == CourseStatus.published)
    )


def visible_course(db: Session, employee: Employee, course_id: int) -> Course | None:
    """A course the employee may open: published, or retired when they had started it (a retired
    course leaves the catalogue, but the runs already under way carry on)."""
    if not valid_id(course_id):
        return None
    started = sa.exists().where(
        CourseRun.course_id == Course.id, CourseRun.employee_id == employee.id
    )
    return db.scalar(
        sa.select(Course).where(
            Course.id == course_id,
            sa.or_(
                Course.status == CourseStatus.published,
                sa.and_(Course.status == CourseStatus.retired, started),
            ),
        )
    )


def my_run(db: Session, employee: Employee, run_id: int) -> CourseRun | None:
    """The employee's own run ``run_id`` of a published or retired course (runs under way carry
    on after a course is retired); None for anyone else's run."""
    if not valid_id(run_id):
        return None
    return db.scalar(
        sa.select(CourseRun)
        .join(Course, Course.id == CourseRun.course_id)
        .where(
            CourseRun.id == run_id,
            CourseRun.employee_id == employee.id,
            Course.status.in_([CourseStatus.published, CourseStatus.retired]),
        )
    )


def for_post_condition(post_id: int | None) -> sa.ColumnElement[bool]:
    """Courses meant for a post: those whose audience names it, and those for everyone (no
    audience at all)."""
    everyone = ~Course.audience.any()
    if post_id is None:
        return everyone
    return sa.or_(everyone, Course.audience.any(Post.id == post_id))


def statuses(db: Session, employee: Employee, course_ids: Iterable[int]) -> dict[int, MyStatus]:
    """The employee's status for each course: in progress (an open run), completed (a completed
    run, or a passed ledger row for the course, such as an imported one), else not started."""
    ids = list(set(course_ids))
    if not ids:
        return {}
    open_ids = set(
        db.scalars(
            sa.select(CourseRun.course_id).where(
                CourseRun.employee_id == employee.id,
                CourseRun.course_id.in_(ids),
                CourseRun.status == RunStatus.in_progress,
            )
        )
    )
    done_ids = completed_course_ids(db, employee, ids)
    return {
        course_id: MyStatus.in_progress
        if course_id in open_ids
        else MyStatus.completed
        if course_id in done_ids
        else MyStatus.not_started
        for course_id in ids
    }


def completed_course_ids(db: Session, employee: Employee, course_ids: list[int]) -> set[int]:
    """Of ``course_ids``, those the employee has completed (online or on record)."""
    if not course_ids:
        return set()
    runs = sa.select(CourseRun.course_id).where(
        CourseRun.employee_id == employee.id,
        CourseRun.course_id.in_(course_ids),
        CourseRun.status == RunStatus.completed,
    )
    ledger = sa.select(LedgerEntry.course_id).where(
        LedgerEntry.employee_id == employee.id,
        LedgerEntry.course_id.in_(course_ids),
        LedgerEntry.passed.is_(True),
    )
    return set(db.scalars(sa.union(runs, ledger)))


def catalogue(
    db: Session,
    employee: Employee,
    *,
    query: str = "",
    programme: str | None = None,
    post: str | int = POST_MINE,
    page: int = 1,
    page_size: int = 50,
) -> Page[CourseRow]:
    """Published courses, by code: ``query`` searches titles and codes; ``programme`` keeps one
    programme; ``post`` is :data:`POST_MINE` (courses for the employee's post, and those for
    everyone), :data:`POST_ALL`, or a post id."""
    conditions: list[Any] = [Course.status == CourseStatus.published]
    text = query.strip()
    if text:
        conditions.append(
            sa.or_(
                Course.title.icontains(text, autoescape=True),
                Course.code.icontains(text, autoescape=True),
            )
        )
    if programme:
        conditions.append(Course.programme == programme)
    if post == POST_MINE:
        conditions.append(for_post_condition(employee.post_id))
    elif isinstance(post, int):
        conditions.append(Course.audience.any(Post.id == post))
    total = db.scalar(sa.select(sa.func.count()).select_from(Course).where(*conditions)) or 0
    page = max(1, page)
    courses = list(
        db.scalars(
            sa.select(Course)
            .where(*conditions)
            .order_by(Course.code)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    )
    found = statuses(db, employee, [c.id for c in courses])
    return Page([CourseRow(c, found[c.id]) for c in courses], total, page, page_size)


def latest_run(db: Session, employee: Employee, course: Course) -> CourseRun | None:
    """The employee's open run of the course, else their latest completed one."""
    return db.scalar(
        sa.select(CourseRun)
        .where(CourseRun.employee_id == employee.id, CourseRun.course_id == course.id)
        .order_by((CourseRun.status == RunStatus.in_progress).desc(), CourseRun.id.desc())
        .limit(1)
    )


def open_assignment(db: Session, employee: Employee, course: Course) -> Assignment | None:
    """The employee's assignment of the course that is neither completed nor closed."""
    return db.scalar(
        sa.select(Assignment)
        .where(
            Assignment.employee_id == employee.id,
            Assignment.course_id == course.id,
            Assignment.completed_at.is_(None),
            Assignment.closed_at.is_(None),
        )
        .order_by(Assignment.due_on.is_(None), Assignment.due_on)
        .limit(1)
    )


@dataclass
class Prerequisite:
    course: Course
    met: bool


def prerequisites(db: Session, employee: Employee, course: Course) -> list[Prerequisite]:
    """The course's prerequisites, each with whether the employee has completed it."""
    required = sorted(course.prerequisites, key=lambda c: c.code)
    done = completed_course_ids(db, employee, [c.id for c in required])
    return [Prerequisite(c, c.id in done) for c in required]


def exam_required(snapshot: dict[str, Any]) -> bool:
    """Whether a course version completes through an exam rather than on its lessons alone.

    A version with an exam (the snapshot's ``exam``, which the exams issue sets when a course gets
    its paper) completes when the exam is passed: the exam calls ``services.complete_run``. The
    banks a course names are where its exam will draw from; they are not an exam by themselves,
    so until a course has its exam it completes on its lessons.
    """
    return bool(snapshot.get("exam"))


def exam_paper(db: Session, employee: Employee, snapshot: dict[str, Any]) -> ExamPaper | None:
    """The version's exam paper, while the employee may still see it (published)."""
    from lms.exams.services import visible_to

    exam = snapshot.get("exam")
    if not isinstance(exam, dict):
        return None
    paper = db.get(ExamPaper, exam.get("paper_id"))
    if paper is None or not visible_to(paper, employee):
        return None
    return paper


@dataclass
class LessonLine:
    """One lesson of a run's version (or of the current version before a run starts)."""

    id: int
    position: int
    title: str
    min_seconds: int
    seconds: int = 0
    done: bool = False
    viewed: bool = False


@dataclass
class Outline:
    """A course version's lessons with one run's progress."""

    snapshot: dict[str, Any]
    lessons: list[LessonLine] = field(default_factory=list)

    @property
    def done_count(self) -> int:
        return sum(1 for line in self.lessons if line.done)

    @property
    def all_done(self) -> bool:
        return all(line.done for line in self.lessons)

    @property
    def seconds(self) -> int:
        return sum(line.seconds for line in self.lessons)

    def first_to_study(self) -> LessonLine | None:
        """The first lesson not done yet (else the first lesson)."""
        for line in self.lessons:
            if not line.done:
                return line
        return self.lessons[0] if self.lessons else None

    def neighbours(self, lesson_id: int) -> tuple[LessonLine | None, LessonLine | None]:
        ids = [line.id for line in self.lessons]
        index = ids.index(lesson_id)
        before = self.lessons[index - 1] if index > 0 else None
        after = self.lessons[index + 1] if index + 1 < len(self.lessons) else None
        return before, after


def outline(db: Session, course: Course, run: CourseRun | None) -> Outline:
    """The lessons of the run's version (of the course's current version without a run), with
    the run's time and done marks."""
    version = version_of(db, course.id, run.version if run else course.current_version)
    progress: dict[int, LessonProgress] = {}
    if run is not None:
        progress = {
            p.lesson_id: p
            for p in db.scalars(sa.select(LessonProgress).where(LessonProgress.run_id == run.id))
        }
    lines = []
    for position, lesson in enumerate(version.snapshot["lessons"], start=1):
        mine = progress.get(lesson["id"])
        lines.append(
            LessonLine(
                id=lesson["id"],
                position=position,
                title=lesson["title"],
                min_seconds=int(lesson.get("min_seconds") or 0),
                seconds=mine.seconds if mine else 0,
                done=bool(mine and mine.done_at),
                viewed=mine is not None,
            )
        )
    return Outline(version.snapshot, lines)


def lesson_of(snapshot: dict[str, Any], lesson_id: int) -> dict[str, Any] | None:
    for lesson in snapshot["lessons"]:
        if lesson["id"] == lesson_id:
            return lesson
    return None


def run_progress(db: Session, run: CourseRun) -> tuple[int, int]:
    """(lessons done, lessons in the run's version)."""
    version = version_of(db, run.course_id, run.version)
    wanted = {lesson["id"] for lesson in version.snapshot["lessons"]}
    return len(wanted & lessons_done(db, run)), len(wanted)


@dataclass
class AssignedCourse:
    assignment: Assignment
    course: Course
    status: MyStatus
    overdue: bool


@dataclass
class RunningCourse:
    run: CourseRun
    course: Course
    done: int
    total: int


@dataclass
class HomeLearning:
    assigned: list[AssignedCourse]
    in_progress: list[RunningCourse]
    for_my_post: list[Course]
    more_for_my_post: bool


def home_learning(db: Session, employee: Employee, *, today: date, limit: int = 8) -> HomeLearning:
    """The home page's lists: assigned courses not completed (soonest due first; overdue when
    the due date has passed), courses in progress, and courses for the employee's post that
    they have not completed and that are in neither other list."""
    assigned_rows = db.execute(
        sa.select(Assignment, Course)
        .join(Course, Course.id == Assignment.course_id)
        .where(
            Assignment.employee_id == employee.id,
            Assignment.completed_at.is_(None),
            Assignment.closed_at.is_(None),
            Course.status == CourseStatus.published,
        )
        .order_by(Assignment.due_on.is_(None), Assignment.due_on, Course.code)
    ).all()
    seen: set[int] = set()
    assigned = []
    found = statuses(db, employee, [course.id for _a, course in assigned_rows])
    for assignment, course in assigned_rows:
        if course.id in seen:
            continue
        seen.add(course.id)
        overdue = assignment.due_on is not None and assignment.due_on < today
        assigned.append(AssignedCourse(assignment, course, found[course.id], overdue))

    running = []
    for run, course in db.execute(
        sa.select(CourseRun, Course)
        .join(Course, Course.id == CourseRun.course_id)
        .where(
            CourseRun.employee_id == employee.id,
            CourseRun.status == RunStatus.in_progress,
            Course.status == CourseStatus.published,
        )
        .order_by(CourseRun.started_at.desc())
    ).all():
        done, total = run_progress(db, run)
        running.append(RunningCourse(run, course, done, total))

    shown = seen | {r.course.id for r in running}
    candidates = list(
        db.scalars(
            sa.select(Course)
            .where(
                Course.status == CourseStatus.published,
                for_post_condition(employee.post_id),
                Course.id.not_in(shown) if shown else sa.true(),
            )
            .order_by(Course.code)
        )
    )
    done_ids = completed_course_ids(db, employee, [c.id for c in candidates])
    open_courses = [c for c in candidates if c.id not in done_ids]
    return HomeLearning(assigned, running, open_courses[:limit], len(open_courses) > limit)
