"""Courses: publishing versions, runs, study time from heartbeats, lesson and course completion.

Study time is credited on the server: each heartbeat from an open lesson page credits the time
since the previous one, at most :data:`MAX_BEAT_SECONDS`, so that a tab left open in the
background (the page stops beating while hidden) or a forged burst of beats earns nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from lms.courses.models import (
    CompletionRule,
    Course,
    CourseRun,
    CourseStatus,
    CourseVersion,
    LessonProgress,
    RunStatus,
)
from lms.db import utcnow
from lms.org.models import Employee
from lms.training.models import LedgerSource, TrainingForm
from lms.training.services import add_ledger_entry

#: the page beats every 15 s while visible; a gap longer than this earns only this much
MAX_BEAT_SECONDS = 30


def course_exam(db: Session, course: Course) -> dict[str, Any] | None:
    """The course's exam: its latest published shared paper that is not practice, as the
    snapshot keeps it (``paper_id``, ``code``, ``title``), or None."""
    from lms.exams.models import ExamPaper

    paper = db.scalars(
        sa.select(ExamPaper)
        .where(
            ExamPaper.course_id == course.id,
            ExamPaper.published,
            ExamPaper.owner_id.is_(None),
            ~ExamPaper.practice,
        )
        .order_by(ExamPaper.id.desc())
        .limit(1)
    ).first()
    if paper is None:
        return None
    return {"paper_id": paper.id, "code": paper.code, "title": paper.title}


def snapshot(course: Course) -> dict[str, Any]:
    """The course and its lessons as plain data, frozen into a version when published (with
    the course's exam, if it has one: runs of this version complete by passing it)."""
    db = object_session(course)
    return {
        "code": course.code,
        "title": course.title,
        "programme": course.programme,
        "summary": course.summary,
        "hours": str(course.hours),
        "completion_rule": course.completion_rule.value,
        "bank_codes": list(course.bank_codes or []),
        "certificate_design": course.certificate_design,
        "exam": course_exam(db, course) if db is not None else None,
        "lessons": [
            {
                "id": lesson.id,
                "title": lesson.title,
                "body": lesson.body,
                "video_url": lesson.video_url,
                "min_seconds": lesson.min_seconds,
                "attachments": [
                    {
                        "id": a.id,
                        "filename": a.filename,
                        "content_type": a.content_type,
                        "size": a.size,
                        # the stored file, so that this version keeps it after a removal
                        "sha256": a.sha256,
                    }
                    for a in lesson.attachments
                ],
            }
            for lesson in course.lessons
        ],
    }


def publish(db: Session, course: Course, *, actor: Employee | None) -> CourseVersion:
    """Freeze the course as its next version and make it the one new runs start on. Runs that
    started on an earlier version keep studying that version."""
    number = course.current_version + 1
    version = CourseVersion(
        course_id=course.id,
        number=number,
        snapshot=snapshot(course),
        published_by_id=actor.id if actor else None,
    )
    db.add(version)
    course.current_version = number
    course.status = CourseStatus.published
    db.flush()
    return version


def version_of(db: Session, course_id: int, number: int) -> CourseVersion:
    return db.scalars(
        sa.select(CourseVersion).where(
            CourseVersion.course_id == course_id, CourseVersion.number == number
        )
    ).one()


def open_run(db: Session, employee: Employee, course: Course) -> CourseRun | None:
    """The employee's run of the course that is not completed yet, if any."""
    return db.scalars(
        sa.select(CourseRun)
        .where(
            CourseRun.employee_id == employee.id,
            CourseRun.course_id == course.id,
            CourseRun.status == RunStatus.in_progress,
        )
        .order_by(CourseRun.id.desc())
    ).first()


def start_run(db: Session, employee: Employee, course: Course) -> CourseRun:
    """The open run of the course, or a new one on its current version."""
    if course.status is not CourseStatus.published or not course.current_version:
        raise ValueError("only a published course can be studied")
    run = open_run(db, employee, course)
    if run is None:
        run = CourseRun(
            employee_id=employee.id, course_id=course.id, version=course.current_version
        )
        db.add(run)
        db.flush()
    return run


def _progress(db: Session, run: CourseRun, lesson_id: int) -> LessonProgress:
    progress = db.scalars(
        sa.select(LessonProgress).where(
            LessonProgress.run_id == run.id, LessonProgress.lesson_id == lesson_id
        )
    ).first()
    if progress is None:
        progress = LessonProgress(run_id=run.id, lesson_id=lesson_id)
        db.add(progress)
        db.flush()
    return progress


def _lesson(version: CourseVersion, lesson_id: int) -> dict[str, Any]:
    for lesson in version.snapshot["lessons"]:
        if lesson["id"] == lesson_id:
            return lesson
    raise LookupError(lesson_id)


def _lesson_done(rule: str, lesson: dict[str, Any], progress: LessonProgress) -> bool:
    if rule == CompletionRule.min_time:
        return progress.seconds >= int(lesson.get("min_seconds") or 0)
    return True  # viewed


def view_lesson(
    db: Session, run: CourseRun, lesson_id: int, *, now: datetime | None = None
) -> LessonProgress:
    """Record that a lesson page was opened (the first heartbeat starts from here)."""
    now = now or utcnow()
    version = version_of(db, run.course_id, run.version)
    lesson = _lesson(version, lesson_id)
    progress = _progress(db, run, lesson_id)
    progress.last_beat_at = now
    if progress.done_at is None and _lesson_done(
        version.snapshot["completion_rule"], lesson, progress
    ):
        progress.done_at = now
    db.flush()
    return progress


def heartbeat(
    db: Session, run: CourseRun, lesson_id: int, *, now: datetime | None = None
) -> LessonProgress:
    """Credit the study time since the lesson's previous heartbeat (at most
    :data:`MAX_BEAT_SECONDS`), and mark the lesson done when its rule is met."""
    now = now or utcnow()
    version = version_of(db, run.course_id, run.version)
    lesson = _lesson(version, lesson_id)
    progress = _progress(db, run, lesson_id)
    if progress.last_beat_at is not None:
        elapsed = (now - progress.last_beat_at).total_seconds()
        # Rounded, not truncated: beats a little under a second apart would otherwise earn 0.
        credit = round(max(0.0, min(elapsed, MAX_BEAT_SECONDS)))
        progress.seconds += credit
        run.seconds += credit
    progress.last_beat_at = now
    if progress.done_at is None and _lesson_done(
        version.snapshot["completion_rule"], lesson, progress
    ):
        progress.done_at = now
    db.flush()
    return progress


def lessons_done(db: Session, run: CourseRun) -> set[int]:
    return set(
        db.scalars(
            sa.select(LessonProgress.lesson_id).where(
                LessonProgress.run_id == run.id, LessonProgress.done_at.is_not(None)
            )
        )
    )


def all_lessons_done(db: Session, run: CourseRun) -> bool:
    version = version_of(db, run.course_id, run.version)
    wanted = {lesson["id"] for lesson in version.snapshot["lessons"]}
    return wanted <= lessons_done(db, run)


def complete_run(
    db: Session, run: CourseRun, *, score: Any = None, now: datetime | None = None
) -> bool:
    """Complete the run and write its ledger row, exactly once even when requests race.

    The run is switched to completed by a conditional update (only the request that finds it
    in progress wins); the ledger row is keyed by the run (``source_ref = run:<id>``), so a
    second writer inserts nothing. The exam, when the course has one, calls this on a pass.
    Returns True when this call completed the run.
    """
    now = now or utcnow()
    won = db.execute(
        sa.update(CourseRun)
        .where(CourseRun.id == run.id, CourseRun.status == RunStatus.in_progress)
        .values(status=RunStatus.completed, completed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.refresh(run)
    if not won:
        return False
    version = version_of(db, run.course_id, run.version)
    entry = add_ledger_entry(
        db,
        employee_id=run.employee_id,
        programme=version.snapshot["programme"],
        course_id=run.course_id,
        title=version.snapshot["title"],
        form=TrainingForm.online,
        start_on=_local_date(run.started_at),
        end_on=_local_date(now),
        hours=_decimal(version.snapshot["hours"]),
        score=None if score is None else _decimal(score),
        passed=True,
        source=LedgerSource.online,
        source_ref=f"run:{run.id}",
    )
    db.flush()
    if version.snapshot.get("certificate_design"):
        # a course with a certificate design issues (or renews) its certificate on completion,
        # in this transaction: the completion and its certificate stand or fall together
        from lms.certificates.issuing import issue_for_run

        issue_for_run(
            db,
            run,
            version.snapshot,
            score=None if score is None else _decimal(score),
            ledger_entry_id=entry.id if entry is not None else None,
            now=now,
        )
    return True


def _decimal(value: Any) -> Any:
    from decimal import Decimal

    return Decimal(str(value))


def _local_date(moment: datetime) -> Any:
    """The bureau's calendar date of a moment (the ledger's dates are local dates)."""
    from zoneinfo import ZoneInfo

    from flask import current_app, has_app_context

    zone = current_app.config["LMS_TIMEZONE"] if has_app_context() else "Asia/Shanghai"
    return moment.astimezone(ZoneInfo(zone)).date()
