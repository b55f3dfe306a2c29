"""Fixtures for exams: a bank of choice questions with unique markers, and paper builders."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from lms.exams.models import ExamDrawRule, ExamPaper, ExamPaperQuestion, PaperKind
from lms.questions.data import Choice, QuestionData
from lms.questions.models import Question, QuestionBank
from lms.questions.services import add_version
from tests.conftest import run_threads  # noqa: F401  (the exam tests import it from here)

#: A fixed moment: the tests pass ``now`` explicitly, as the server's clock would.
NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def app_context(app: Any) -> Iterator[None]:
    """Services read the app's question types and time zone."""
    with app.app_context():
        yield


def choice_data(
    number: int, *, kind: str = "single_choice", difficulty: int = 3, point: str = "服务规范"
) -> QuestionData:
    """A choice question whose right option text (``RIGHT-n``) and feedback are unique markers."""
    right = [Choice(f"RIGHT-{number}", 1.0, f"FEEDBACK-RIGHT-{number}")]
    if kind == "multiple_choice":
        right = [
            Choice(f"RIGHT-{number}-a", 0.5, f"FEEDBACK-RIGHT-{number}"),
            Choice(f"RIGHT-{number}-b", 0.5, f"FEEDBACK-RIGHT-{number}"),
        ]
    wrong = [
        Choice(f"wrong-{number}-{i}", -0.5 if kind == "multiple_choice" else 0.0, f"FB-{number}")
        for i in range(3)
    ]
    return QuestionData(
        type=kind,
        stem=f"题目{number}",
        choices=right + wrong,
        difficulty=difficulty,
        knowledge_points=[point],
        explanation=f"EXPLANATION-{number}",
    )


@pytest.fixture
def bank(db: Any) -> QuestionBank:
    bank = QuestionBank(code=f"B{next(_numbers):03d}", title="服务规范题库")
    db.add(bank)
    db.commit()
    return bank


@pytest.fixture
def add_question(db: Any) -> Callable[..., Question]:
    """``add_question(bank, data)`` stores a question with its first version (committed)."""

    def factory(bank: QuestionBank, data: QuestionData, *, enabled: bool = True) -> Question:
        question = Question(
            bank_id=bank.id, key=f"k{next(_numbers)}", type=data.type, enabled=enabled
        )
        db.add(question)
        db.flush()
        add_version(db, question, data, actor=None, origin="test")
        db.commit()
        return question

    return factory


@pytest.fixture
def fixed_paper(db: Any, bank: QuestionBank, add_question: Callable[..., Question]) -> Any:
    """``fixed_paper(n=3, **settings)``: n single-choice questions of 10 points each."""

    def factory(n: int = 3, **settings: Any) -> ExamPaper:
        number = next(_numbers)
        paper = ExamPaper(code=f"P{number:03d}", title=f"试卷{number}", kind=PaperKind.fixed)
        for name, value in settings.items():
            setattr(paper, name, value)
        for position in range(1, n + 1):
            question = add_question(bank, choice_data(next(_numbers)))
            paper.questions.append(
                ExamPaperQuestion(question_id=question.id, points=Decimal(10), position=position)
            )
        db.add(paper)
        db.commit()
        return paper

    return factory


@pytest.fixture
def drawn_paper(db: Any) -> Callable[..., ExamPaper]:
    """``drawn_paper(rules=[ExamDrawRule(...)], **settings)``."""

    def factory(rules: list[ExamDrawRule], **settings: Any) -> ExamPaper:
        number = next(_numbers)
        paper = ExamPaper(code=f"D{number:03d}", title=f"抽题试卷{number}", kind=PaperKind.drawn)
        for name, value in settings.items():
            setattr(paper, name, value)
        paper.rules = rules
        db.add(paper)
        db.commit()
        return paper

    return factory
