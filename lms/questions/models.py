"""Banks, questions and their versions.

A question keeps its identity (``key``: the file's id, or a digest of its type and text) while
its content changes: every change adds a :class:`QuestionVersion`, and attempts keep the version
they showed. The current version's type, difficulty, text and labels are copied onto the
question row and into :class:`QuestionLabel`, so that lists filter with plain indexed queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow
from lms.org.models import Employee


class QuestionBank(Base):
    __tablename__ = "lms_question_bank"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: the programme it serves (``professional_ethics``, ``safety``...; see DESIGN.md)
    programme: Mapped[str] = mapped_column(sa.String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<QuestionBank {self.code}>"


class Question(Base):
    __tablename__ = "lms_question"

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_question_bank.id"), index=True)
    #: stable identity within the bank: ``id:<external id>`` or ``hash:<digest of type and text>``
    key: Mapped[str] = mapped_column(sa.String(200))
    enabled: Mapped[bool] = mapped_column(default=True)
    current_number: Mapped[int] = mapped_column(default=1)
    # Copies of the current version, for filtering and search.
    type: Mapped[str] = mapped_column(sa.String(40), index=True)
    difficulty: Mapped[int] = mapped_column(default=3, index=True)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    bank: Mapped[QuestionBank] = relationship()

    __table_args__ = (sa.UniqueConstraint("bank_id", "key", name="uq_lms_question_bank_key"),)


class QuestionVersion(Base):
    __tablename__ = "lms_question_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_question.id"), index=True)
    number: Mapped[int]
    #: :meth:`lms.questions.data.QuestionData.as_dict`
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_employee.id"))
    #: where it came from: a file name, "edit", "shipped bank"
    origin: Mapped[str] = mapped_column(sa.String(300), default="")

    question: Mapped[Question] = relationship()
    created_by: Mapped[Employee | None] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("question_id", "number", name="uq_lms_question_version_number"),
    )


class QuestionLabel(Base):
    """A knowledge point (知识点), post or tag of a question's current version."""

    __tablename__ = "lms_question_label"

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_question.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # knowledge_point, post, tag
    value: Mapped[str] = mapped_column(sa.String(200))

    __table_args__ = (sa.Index("ix_lms_question_label_kind_value", "kind", "value"),)
