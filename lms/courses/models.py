"""The catalogue (courses with their lessons and published versions) and each person's runs
through a course with their study time per lesson.

Lessons are edited in place while a course is a draft or between publications; publishing
freezes the course and its lessons into a :class:`CourseVersion` snapshot, and a run studies the
version it started on, so that what someone completed stays what they studied.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow
from lms.org.models import Employee, Post


class CourseStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    retired = "retired"


class CompletionRule(enum.StrEnum):
    """When a lesson counts as done: opened (viewed), or studied for its minimum time."""

    viewed = "viewed"
    min_time = "min_time"


class RunStatus(enum.StrEnum):
    in_progress = "in_progress"
    completed = "completed"


course_audience = sa.Table(
    "lms_course_audience",
    Base.metadata,
    sa.Column("course_id", sa.ForeignKey("lms_course.id"), primary_key=True),
    sa.Column("post_id", sa.ForeignKey("lms_post.id"), primary_key=True),
)

course_prerequisite = sa.Table(
    "lms_course_prerequisite",
    Base.metadata,
    sa.Column("course_id", sa.ForeignKey("lms_course.id"), primary_key=True),
    sa.Column("requires_id", sa.ForeignKey("lms_course.id"), primary_key=True),
)


class Course(Base):
    __tablename__ = "lms_course"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    #: a programme code (:mod:`lms.training.programmes`)
    programme: Mapped[str] = mapped_column(sa.String(64), index=True)
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    #: 学时 credited on completion
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(5, 1), default=Decimal(1))
    status: Mapped[CourseStatus] = mapped_column(
        sa.Enum(CourseStatus, native_enum=False, length=20), default=CourseStatus.draft, index=True
    )
    completion_rule: Mapped[CompletionRule] = mapped_column(
        sa.Enum(CompletionRule, native_enum=False, length=20), default=CompletionRule.viewed
    )
    #: the published version runs start on (0: never published)
    current_version: Mapped[int] = mapped_column(default=0)
    #: question bank codes the course's exam draws on (the exams issue builds the exam)
    bank_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: certificate design name (the certificates issue issues them)
    certificate_design: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lessons: Mapped[list[Lesson]] = relationship(
        back_populates="course", order_by="Lesson.position", cascade="all, delete-orphan"
    )
    audience: Mapped[list[Post]] = relationship(secondary=course_audience, order_by=Post.name)
    prerequisites: Mapped[list[Course]] = relationship(
        secondary=course_prerequisite,
        primaryjoin=lambda: Course.id == course_prerequisite.c.course_id,
        secondaryjoin=lambda: Course.id == course_prerequisite.c.requires_id,
    )

    def __repr__(self) -> str:
        return f"<Course {self.code}>"


class Lesson(Base):
    __tablename__ = "lms_lesson"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_course.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(200))
    #: Markdown; rendered without raw HTML and sanitised
    body: Mapped[str] = mapped_column(sa.Text, default="")
    video_url: Mapped[str] = mapped_column(sa.String(500), default="")
    #: with the min_time rule: seconds of study before the lesson counts as done
    min_seconds: Mapped[int] = mapped_column(default=0)

    course: Mapped[Course] = relationship(back_populates="lessons")
    attachments: Mapped[list[LessonAttachment]] = relationship(
        back_populates="lesson", cascade="all, delete-orphan", order_by="LessonAttachment.id"
    )


class LessonAttachment(Base):
    """A file or image of a lesson, stored under the data folder by its content hash."""

    __tablename__ = "lms_lesson_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_lesson.id"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lesson: Mapped[Lesson] = relationship(back_populates="attachments")


class CourseVersion(Base):
    """A published state of a course: its fields and lessons, frozen."""

    __tablename__ = "lms_course_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_course.id"), index=True)
    number: Mapped[int]
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_employee.id"))

    __table_args__ = (
        sa.UniqueConstraint("course_id", "number", name="uq_lms_course_version_number"),
    )


class CourseRun(Base):
    """One person's way through one version of a course."""

    __tablename__ = "lms_course_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_employee.id"), index=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_course.id"), index=True)
    version: Mapped[int]
    status: Mapped[RunStatus] = mapped_column(
        sa.Enum(RunStatus, native_enum=False, length=20), default=RunStatus.in_progress
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    #: total study seconds credited (the sum over lessons)
    seconds: Mapped[int] = mapped_column(default=0)

    employee: Mapped[Employee] = relationship()
    course: Mapped[Course] = relationship()


class LessonProgress(Base):
    """Study time and completion of one lesson within a run (the lesson as in the run's version:
    ``lesson_id`` names a lesson of the snapshot, which may since have been edited or removed)."""

    __tablename__ = "lms_lesson_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_course_run.id"), index=True)
    lesson_id: Mapped[int]
    seconds: Mapped[int] = mapped_column(default=0)
    last_beat_at: Mapped[datetime | None]
    first_viewed_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]

    __table_args__ = (
        sa.UniqueConstraint("run_id", "lesson_id", name="uq_lms_lesson_progress_run_lesson"),
    )
