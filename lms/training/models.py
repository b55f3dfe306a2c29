"""The training ledger (培训台账), HR's own programmes, and assignments.

Everything the reports count goes through :class:`LedgerEntry`: one row per person per
completed activity, whether it was an online course, a classroom session, a study day or an
imported record.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow
from lms.org.models import Employee, Unit


class TrainingForm(enum.StrEnum):
    """形式: how the training was given (the values are the words the bureau's files use)."""

    online = "网络"
    classroom = "面授"
    practical = "实操"
    study_day = "学习日"
    meeting = "以会代训"


class LedgerSource(enum.StrEnum):
    online = "online"
    session = "session"
    imported = "import"


def _values(members: type[enum.Enum]) -> list[str]:
    return [m.value for m in members]


class Programme(Base):
    """A programme HR added (the built-in ones are in :mod:`lms.training.programmes`)."""

    __tablename__ = "lms_programme"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerEntry(Base):
    """One person's one completed (or attended, or failed) training activity."""

    __tablename__ = "lms_ledger_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_employee.id"), index=True)
    programme: Mapped[str] = mapped_column(sa.String(64), index=True)
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_course.id"), index=True)
    #: the activity's name (the course title, the session's subject, the imported 项目)
    title: Mapped[str] = mapped_column(sa.String(300))
    form: Mapped[TrainingForm] = mapped_column(
        sa.Enum(TrainingForm, native_enum=False, length=20, values_callable=_values)
    )
    start_on: Mapped[date]
    #: the row's date for the targets
    end_on: Mapped[date] = mapped_column(index=True)
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(6, 1), default=Decimal(0))
    score: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 2))
    #: a row with passed False is kept but does not count as completed training
    passed: Mapped[bool] = mapped_column(default=True)
    source: Mapped[LedgerSource] = mapped_column(
        sa.Enum(LedgerSource, native_enum=False, length=20, values_callable=_values)
    )
    #: what in the source made the row (``run:12``, ``session:4``, ``file.xlsx:17``): with
    #: ``source`` it is unique, so that a completion or an import never writes a row twice
    source_ref: Mapped[str] = mapped_column(sa.String(200))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_employee.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])

    __table_args__ = (
        sa.UniqueConstraint("source", "source_ref", name="uq_lms_ledger_entry_source_ref"),
        sa.Index("ix_lms_ledger_entry_employee_end", "employee_id", "end_on"),
        # the report's year scan reads only this index (a covering index: no table lookups
        # for 3,000,000 rows)
        sa.Index(
            "ix_lms_ledger_entry_year_scan", "end_on", "employee_id", "passed", "programme", "hours"
        ),
    )


class Assignment(Base):
    """A course assigned to one person, with a due date (assigning to a unit subtree or a post
    creates one row per person)."""

    __tablename__ = "lms_assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_employee.id"), index=True)
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_course.id"), index=True)
    due_on: Mapped[date | None]
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    #: manual, matrix (the training matrix), pack
    origin: Mapped[str] = mapped_column(sa.String(20), default="manual")
    #: the pack it was assigned as part of, if any
    pack_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lms_course_pack.id", ondelete="SET NULL")
    )
    assigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_employee.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])

    __table_args__ = (
        # one open assignment per person and course: assigning again (a manager, the matrix, a
        # pack, two at once) finds the open one instead of making a second
        sa.Index(
            "uq_lms_assignment_open",
            "employee_id",
            "course_id",
            unique=True,
            sqlite_where=sa.text("completed_at IS NULL AND closed_at IS NULL"),
            postgresql_where=sa.text("completed_at IS NULL AND closed_at IS NULL"),
        ),
    )


class MatrixRequirement(Base):
    """One cell of the training matrix: people in ``post`` must complete ``course``, again every
    ``renewal_months`` (0: once)."""

    __tablename__ = "lms_matrix_requirement"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_post.id", ondelete="CASCADE"))
    course_id: Mapped[int] = mapped_column(
        sa.ForeignKey("lms_course.id", ondelete="CASCADE"), index=True
    )
    renewal_months: Mapped[int] = mapped_column(default=0)
    #: days a newcomer to the post has to complete it
    due_days: Mapped[int] = mapped_column(default=30)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_employee.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("post_id", "course_id"),)


class CoursePack(Base):
    """A named set of courses assigned together (the rural-office pack)."""

    __tablename__ = "lms_course_pack"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[CoursePackItem]] = relationship(
        order_by="CoursePackItem.position", cascade="all, delete-orphan"
    )


class CoursePackItem(Base):
    __tablename__ = "lms_course_pack_item"

    pack_id: Mapped[int] = mapped_column(
        sa.ForeignKey("lms_course_pack.id", ondelete="CASCADE"), primary_key=True
    )
    course_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_course.id"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)


class TrainingSession(Base):
    """A classroom session, practical training, study day (学习日) or meeting that trains
    (以会代训): a time, a place, a trainer, hours, and a roster whose attendance writes the
    ledger."""

    __tablename__ = "lms_training_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    #: the course it teaches, if any (attendance then completes the course's assignments)
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_course.id"), index=True)
    programme: Mapped[str] = mapped_column(sa.String(64))
    form: Mapped[TrainingForm] = mapped_column(
        sa.Enum(TrainingForm, native_enum=False, length=20, values_callable=_values)
    )
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    trainer: Mapped[str] = mapped_column(sa.String(100), default="")
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(6, 1))
    #: the unit that holds it: managers of its subtree manage it
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_unit.id"), index=True)
    #: the annual plan's item it carries out, if any
    plan_item_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lms_plan_item.id", ondelete="SET NULL"), index=True
    )
    note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    #: the key the changing QR check-in codes are derived from (never shown)
    checkin_secret: Mapped[str] = mapped_column(sa.String(64))
    #: the scanned sign-in sheet, stored by its hash
    sheet_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    sheet_name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_employee.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[Unit] = relationship()


class SessionAttendee(Base):
    """One person on a session's roster, and whether they attended (and how that was recorded:
    ``tick``, ``qr`` or ``import``)."""

    __tablename__ = "lms_session_attendee"

    session_id: Mapped[int] = mapped_column(
        sa.ForeignKey("lms_training_session.id", ondelete="CASCADE"), primary_key=True
    )
    employee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("lms_employee.id"), primary_key=True, index=True
    )
    present: Mapped[bool] = mapped_column(default=False)
    method: Mapped[str] = mapped_column(sa.String(10), default="", server_default="")
    marked_at: Mapped[datetime | None]
    marked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_employee.id"))

    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])


class PlanItem(Base):
    """One line of the annual training plan (年度培训计划)."""

    __tablename__ = "lms_plan_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    #: 序号
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(sa.String(300))  # 项目名称
    programme: Mapped[str] = mapped_column(sa.String(64))  # 类别
    #: the course it is carried out by, if any (the actual figures then count its ledger rows)
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_course.id"))
    audience: Mapped[str] = mapped_column(sa.String(300), default="")  # 培训对象(岗位)
    planned_sessions: Mapped[int] = mapped_column(default=0)  # 计划期数
    planned_people: Mapped[int] = mapped_column(default=0)  # 计划人数
    hours: Mapped[Decimal] = mapped_column(sa.Numeric(6, 1), default=Decimal(0))  # 学时
    form: Mapped[TrainingForm] = mapped_column(
        sa.Enum(TrainingForm, native_enum=False, length=20, values_callable=_values)
    )
    #: 计划时间: the months it is planned in (1-12)
    start_month: Mapped[int] = mapped_column(default=1)
    end_month: Mapped[int] = mapped_column(default=12)
    organiser: Mapped[str] = mapped_column(sa.String(100), default="")  # 主办部门
    trainer: Mapped[str] = mapped_column(sa.String(100), default="")  # 师资
    budget: Mapped[Decimal | None] = mapped_column(sa.Numeric(12, 2))  # 预算
    assessment: Mapped[str] = mapped_column(sa.String(100), default="")  # 考核方式
    note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")  # 备注
    #: 未完成原因, filled in at the year's end
    shortfall_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
