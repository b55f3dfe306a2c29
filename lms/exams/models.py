"""Exam papers, their questions or draw rules, and the attempts with their frozen items and
saved answers.

An attempt freezes what it showed when it started: each :class:`AttemptItem` names a question
and the version number it showed, its points and the permutation of its options, so that
editing a question or a paper later changes nothing in an attempt already under way or done.
Pages address items by ``public_key`` (random), never by question id.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow


class PaperKind(enum.StrEnum):
    fixed = "fixed"
    drawn = "drawn"


class ReviewPolicy(enum.StrEnum):
    """What a candidate sees after finishing."""

    none = "none"
    score = "score"
    answers_after_close = "answers_after_close"
    answers_at_once = "answers_at_once"


class AttemptState(enum.StrEnum):
    in_progress = "in_progress"
    overdue = "overdue"
    finished = "finished"
    abandoned = "abandoned"


def _enum(cls: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(cls, native_enum=False, length=30)


class ExamPaper(Base):
    __tablename__ = "lms_exam_paper"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    #: candidates can start only a published paper (HR publishes once the draw preview is right)
    published: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: the course a pass completes (None: a stand-alone exam)
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_course.id"), index=True)
    kind: Mapped[PaperKind] = mapped_column(_enum(PaperKind), default=PaperKind.fixed)
    #: 0: no time limit (the closing time, if any, still ends the attempt)
    time_limit_minutes: Mapped[int] = mapped_column(default=60)
    #: the pass mark, in points, or in percent of the maximum when ``pass_mark_percent``
    pass_mark: Mapped[Decimal] = mapped_column(sa.Numeric(8, 2), default=Decimal(60))
    pass_mark_percent: Mapped[bool] = mapped_column(default=True)
    #: 0: unlimited
    max_attempts: Mapped[int] = mapped_column(default=0)
    #: hours between the end of one attempt and the start of the next (补考)
    retake_wait_hours: Mapped[int] = mapped_column(default=0)
    shuffle_questions: Mapped[bool] = mapped_column(default=False)
    shuffle_options: Mapped[bool] = mapped_column(default=False)
    review_policy: Mapped[ReviewPolicy] = mapped_column(
        _enum(ReviewPolicy), default=ReviewPolicy.score
    )
    #: multiple choice: proportional credit (wrong picks subtract) instead of all-or-nothing
    multiple_choice_partial: Mapped[bool] = mapped_column(default=False)
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    #: seconds after the deadline during which saves and submits are still accepted
    grace_seconds: Mapped[int] = mapped_column(default=60)
    #: practice: graded and shown, but never recorded as an exam (no course completion)
    practice: Mapped[bool] = mapped_column(default=False)
    #: a personal practice paper (built from this employee's wrong-answer book): only the owner
    #: sees it, and paper lists leave it out
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_employee.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    questions: Mapped[list[ExamPaperQuestion]] = relationship(
        order_by="ExamPaperQuestion.position", cascade="all, delete-orphan"
    )
    rules: Mapped[list[ExamDrawRule]] = relationship(
        order_by="ExamDrawRule.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<ExamPaper {self.code}>"


class ExamPaperQuestion(Base):
    """A question of a fixed paper."""

    __tablename__ = "lms_exam_paper_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_exam_paper.id"), index=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_question.id"))
    points: Mapped[Decimal] = mapped_column(sa.Numeric(8, 2), default=Decimal(1))
    position: Mapped[int] = mapped_column(default=0)


class ExamDrawRule(Base):
    """Draw ``count`` enabled questions of a bank matching the filters (None: any)."""

    __tablename__ = "lms_exam_draw_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_exam_paper.id"), index=True)
    bank_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_question_bank.id"))
    type: Mapped[str | None] = mapped_column(sa.String(40))
    knowledge_point: Mapped[str | None] = mapped_column(sa.String(200))
    difficulty: Mapped[int | None]
    count: Mapped[int] = mapped_column(default=1)
    points_each: Mapped[Decimal] = mapped_column(sa.Numeric(8, 2), default=Decimal(1))


class ExamAttempt(Base):
    __tablename__ = "lms_exam_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_exam_paper.id"), index=True)
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_employee.id"), index=True)
    #: 1 for the first attempt of this employee at this paper
    number: Mapped[int]
    state: Mapped[AttemptState] = mapped_column(
        _enum(AttemptState), default=AttemptState.in_progress, index=True
    )
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: owned by the server: min(start + time limit, paper closes); None: no limit at all
    deadline_at: Mapped[datetime | None] = mapped_column(index=True)
    finished_at: Mapped[datetime | None]
    score: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    max_score: Mapped[Decimal] = mapped_column(sa.Numeric(8, 2), default=Decimal(0))
    passed: Mapped[bool | None]
    #: False while short answers wait for a person to grade them
    graded: Mapped[bool] = mapped_column(default=False)
    #: times the candidate switched away from the attempt page (the page became hidden)
    tab_switches: Mapped[int] = mapped_column(default=0, server_default="0")
    last_tab_switch_at: Mapped[datetime | None]

    paper: Mapped[ExamPaper] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("paper_id", "employee_id", "number", name="uq_lms_exam_attempt_number"),
    )


class AttemptItem(Base):
    """A question as one attempt shows it: frozen version, points and option order."""

    __tablename__ = "lms_attempt_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_exam_attempt.id"), index=True)
    position: Mapped[int]
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_question.id"), index=True)
    version_number: Mapped[int]
    points: Mapped[Decimal] = mapped_column(sa.Numeric(8, 2))
    #: shown position -> original option index (empty: the question has no options)
    option_order: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    #: the item's id on pages and in JSON (random, reveals nothing)
    public_key: Mapped[str] = mapped_column(sa.String(32), unique=True)
    #: after a regrade: the corrected version the response was graded against (None: the
    #: version shown, ``version_number``)
    graded_version_number: Mapped[int | None]

    __table_args__ = (
        sa.UniqueConstraint("attempt_id", "position", name="uq_lms_attempt_item_position"),
    )


class AttemptAnswer(Base):
    """The last saved response to an item (in original option indexes), and its grade."""

    __tablename__ = "lms_attempt_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_exam_attempt.id"))
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_attempt_item.id"))
    response: Mapped[Any] = mapped_column(sa.JSON)
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    fraction: Mapped[float | None]
    points_awarded: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    #: a person's grade (short answers): who and when, and the comment the candidate sees
    graded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_employee.id"))
    graded_at: Mapped[datetime | None]
    grader_comment: Mapped[str] = mapped_column(sa.Text, default="", server_default="")

    __table_args__ = (
        sa.UniqueConstraint("attempt_id", "item_id", name="uq_lms_attempt_answer_attempt_item"),
    )


class WrongAnswer(Base):
    """A question an employee got wrong in an exam (错题本), until answered right in practice."""

    __tablename__ = "lms_wrong_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_employee.id"), index=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_question.id"))
    #: the version last answered wrongly (the book shows it, with its explanation)
    version_number: Mapped[int]
    times_wrong: Mapped[int] = mapped_column(default=1)
    last_wrong_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_exam_attempt.id"))
    #: answered right in practice since the last wrong answer (None: still to learn)
    mastered_at: Mapped[datetime | None]

    __table_args__ = (
        sa.UniqueConstraint(
            "employee_id", "question_id", name="uq_lms_wrong_answer_employee_question"
        ),
    )


class ItemStatistic(Base):
    """Per paper and question, from finished non-practice attempts (refreshed by a job)."""

    __tablename__ = "lms_exam_item_statistic"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_exam_paper.id"), index=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_question.id"))
    #: attempts that showed the question
    shown: Mapped[int] = mapped_column(default=0)
    #: facility index: mean fraction of the points earned (0..1)
    facility: Mapped[float | None]
    #: discrimination index: facility in the top 27% minus in the bottom 27% of total scores
    discrimination: Mapped[float | None]
    #: original option index (as text) -> times chosen
    option_counts: Mapped[dict[str, int]] = mapped_column(sa.JSON, default=dict)
    #: "too_easy", "too_hard", "negative_discrimination"
    flags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("paper_id", "question_id", name="uq_lms_exam_item_statistic"),
    )


class PaperStatistic(Base):
    """Per paper: the score distribution of finished non-practice attempts (refreshed by a job)."""

    __tablename__ = "lms_exam_paper_statistic"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_exam_paper.id"), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    passed: Mapped[int] = mapped_column(default=0)
    mean_percent: Mapped[float | None]
    #: counts of attempts per 10-percent band of the maximum score: [0-10), ..., [90-100]
    histogram: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
