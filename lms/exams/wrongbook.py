"""The wrong-answer book (错题本): the questions each employee got wrong in exams, with their
explanations, and practice built from them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from lms.exams.models import ExamAttempt


def record_attempt(db: Session, attempt: ExamAttempt, *, now: datetime) -> None:
    """Add the graded attempt's wrong answers to its employee's book (to be written)."""
