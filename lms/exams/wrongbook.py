"""The wrong-answer book (错题本): the questions each employee got wrong in exams, with their
explanations, and practice built from them.

How attempts feed the book (:func:`record_attempt`, called by
:func:`lms.exams.services.finalize` once an attempt is fully graded):

- An attempt at a normal paper (``practice`` False) adds every item not fully right (a wrong or
  partly right answer, an unanswered item, a short answer graded below full points): a new row,
  or ``times_wrong + 1`` with the version shown, the time and the attempt, and ``mastered_at``
  cleared. Description items (nothing to answer) never count.
- An attempt at any practice paper (a personal one built from the book, or a shared practice
  paper HR set up) never adds to the book: practice is not an exam. Items answered fully right
  there master the employee's entries for those questions (``mastered_at``), which leave the
  default view. Items answered wrongly in practice change nothing (``times_wrong`` counts exam
  mistakes only; the entry simply stays to learn).

Finalize runs again after a regrade or a person's grade, so recording is idempotent per attempt:
a row whose ``last_attempt_id`` is already this attempt is not counted again. When a regrade
turns such an item right (the key was corrected), the entry is marked mastered rather than
uncounted: the earlier count cannot be told apart from the ones before it.

The book must not get round a paper's review policy: an entry shows its right answer and
explanation only when the review of the attempt it was last wrong in would
(:func:`answers_shown`, the rule of :func:`lms.exams.services.review`), and practice, which
shows answers at once, draws only from those entries.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.db import Page
from lms.exams import services
from lms.exams.models import (
    AttemptAnswer,
    AttemptItem,
    AttemptState,
    ExamAttempt,
    ExamPaper,
    ExamPaperQuestion,
    PaperKind,
    ReviewPolicy,
    WrongAnswer,
)
from lms.org.models import Employee
from lms.questions import data as d
from lms.questions.data import QuestionData
from lms.questions.models import Question, QuestionBank, QuestionLabel, QuestionVersion
from lms.questions.types import registry

#: questions in a practice paper: the default and the bounds the form accepts
PRACTICE_DEFAULT = 20
PRACTICE_MIN = 5
PRACTICE_MAX = 50


# -- recording ---------------------------------------------------------------------------------


def _fully_right(item: AttemptItem, answer: AttemptAnswer | None) -> bool:
    """Whether the item earned all its points (an item worth nothing: a full fraction)."""
    if answer is None or answer.points_awarded is None:
        return False
    if item.points > 0:
        return answer.points_awarded >= item.points
    return answer.fraction is not None and answer.fraction >= 1


def _outcomes(db: Session, attempt: ExamAttempt) -> tuple[dict[int, int], set[int]]:
    """The attempt's questions not fully right (question id -> version shown) and those fully
    right; items with nothing to answer (descriptions) are in neither."""
    items = list(
        db.scalars(
            sa.select(AttemptItem)
            .where(AttemptItem.attempt_id == attempt.id)
            .order_by(AttemptItem.position)
        )
    )
    answers = {
        a.item_id: a
        for a in db.scalars(sa.select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id))
    }
    types = dict(
        db.execute(
            sa.select(Question.id, Question.type).where(
                Question.id.in_([i.question_id for i in items])
            )
        ).all()
    )
    wrong: dict[int, int] = {}
    right: set[int] = set()
    for item in items:
        if types.get(item.question_id) == d.DESCRIPTION:
            continue
        if _fully_right(item, answers.get(item.id)):
            right.add(item.question_id)
        else:
            wrong[item.question_id] = item.version_number
    # A question shown twice (a fixed paper may list it twice) counts once, as wrong.
    return wrong, right - set(wrong)


def _insert(db: Session) -> Any:
    """The dialect's INSERT with ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def record_attempt(db: Session, attempt: ExamAttempt, *, now: datetime) -> None:
    """Bring the employee's book up to date with a fully graded, finished attempt.

    A normal paper adds its items not fully right (one upsert, so concurrent finalizes of the
    same employee's attempts do not collide on the unique row); a practice paper masters the
    entries of the questions answered fully right and adds nothing. Idempotent per attempt; see
    the module's docstring for the rules. ``last_wrong_at`` is when the attempt finished (a
    regrade later does not move it).
    """
    paper = attempt.paper
    wrong, right = _outcomes(db, attempt)
    mine = WrongAnswer.employee_id == attempt.employee_id
    if paper.practice:
        if right:
            db.execute(
                sa.update(WrongAnswer)
                .where(mine, WrongAnswer.question_id.in_(right), WrongAnswer.mastered_at.is_(None))
                .values(mastered_at=now)
                .execution_options(synchronize_session=False)
            )
        db.flush()
        return
    when = attempt.finished_at or now
    if wrong:
        insert = _insert(db)
        # Rows in question order: two finalizes for one employee lock them in the same order.
        statement = insert(WrongAnswer).values(
            [
                {
                    "employee_id": attempt.employee_id,
                    "question_id": question_id,
                    "version_number": wrong[question_id],
                    "times_wrong": 1,
                    "last_wrong_at": when,
                    "last_attempt_id": attempt.id,
                    "mastered_at": None,
                }
                for question_id in sorted(wrong)
            ]
        )
        db.execute(
            statement.on_conflict_do_update(
                index_elements=["employee_id", "question_id"],
                set_={
                    "times_wrong": WrongAnswer.times_wrong + 1,
                    "version_number": statement.excluded.version_number,
                    "last_wrong_at": statement.excluded.last_wrong_at,
                    "last_attempt_id": statement.excluded.last_attempt_id,
                    "mastered_at": None,
                },
                # finalize again (a regrade, a person's grade): this attempt counted already
                where=WrongAnswer.last_attempt_id.is_distinct_from(attempt.id),
            )
        )
    if right:
        # A regrade turned an item this attempt had got wrong into a right one.
        db.execute(
            sa.update(WrongAnswer)
            .where(
                mine,
                WrongAnswer.question_id.in_(right),
                WrongAnswer.last_attempt_id == attempt.id,
                WrongAnswer.mastered_at.is_(None),
            )
            .values(mastered_at=now)
            .execution_options(synchronize_session=False)
        )
    db.flush()


# -- the review policy -------------------------------------------------------------------------


def answers_shown(paper: ExamPaper, now: datetime) -> bool:
    """Whether the paper's review policy shows the answers of a finished attempt at ``now``:
    the rule of :func:`lms.exams.services.review` (answers at once, or after a closing time that
    has passed; a paper that never closes never shows them under ``answers_after_close``)."""
    return paper.review_policy is ReviewPolicy.answers_at_once or (
        paper.review_policy is ReviewPolicy.answers_after_close
        and paper.closes_at is not None
        and now >= paper.closes_at
    )


def _answers_shown_sql(now: datetime) -> sa.ColumnElement[bool]:
    """:func:`answers_shown` as a condition on a query joining the entry's attempt and paper."""
    return sa.and_(
        ExamAttempt.state == AttemptState.finished,
        sa.or_(
            ExamPaper.review_policy == ReviewPolicy.answers_at_once,
            sa.and_(
                ExamPaper.review_policy == ReviewPolicy.answers_after_close,
                ExamPaper.closes_at.is_not(None),
                ExamPaper.closes_at <= now,
            ),
        ),
    )


# -- the book ----------------------------------------------------------------------------------


@dataclass
class BookEntry:
    """An entry as the book page shows it. ``question`` is the type's public view of the
    version last answered wrongly, options in the order that attempt showed them; ``key``,
    ``explanation`` and ``response`` only when ``answers_shown``; ``hidden_until``: the closing
    time that will show them (None: the policy never will)."""

    entry: WrongAnswer
    bank: QuestionBank
    knowledge_points: list[str]
    question: dict[str, Any]
    answers_shown: bool
    hidden_until: datetime | None = None
    key: Any = None
    explanation: str = ""
    response: Any = None
    enabled: bool = True


def _conditions(
    employee: Employee, *, mastered: bool, bank_id: int | None, knowledge_point: str | None
) -> list[Any]:
    conditions: list[Any] = [WrongAnswer.employee_id == employee.id]
    if not mastered:
        conditions.append(WrongAnswer.mastered_at.is_(None))
    if bank_id is not None:
        conditions.append(Question.bank_id == bank_id)
    if knowledge_point:
        conditions.append(
            Question.id.in_(
                sa.select(QuestionLabel.question_id).where(
                    QuestionLabel.kind == "knowledge_point", QuestionLabel.value == knowledge_point
                )
            )
        )
    return conditions


def book(
    db: Session,
    employee: Employee,
    *,
    now: datetime,
    mastered: bool = False,
    bank_id: int | None = None,
    knowledge_point: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page[BookEntry]:
    """One page of the employee's book, most recently wrong first: the entries still to learn,
    or with ``mastered`` all of them (mastered ones last); filtered by bank and knowledge point.
    Answers and explanations only where :func:`answers_shown` allows them at ``now``."""
    conditions = _conditions(
        employee, mastered=mastered, bank_id=bank_id, knowledge_point=knowledge_point
    )
    total = (
        db.scalar(
            sa.select(sa.func.count())
            .select_from(WrongAnswer)
            .join(Question, Question.id == WrongAnswer.question_id)
            .where(*conditions)
        )
        or 0
    )
    page = max(1, page)
    rows = db.execute(
        sa.select(WrongAnswer, Question, QuestionBank)
        .join(Question, Question.id == WrongAnswer.question_id)
        .join(QuestionBank, QuestionBank.id == Question.bank_id)
        .where(*conditions)
        .order_by(
            WrongAnswer.mastered_at.is_not(None),
            WrongAnswer.last_wrong_at.desc(),
            WrongAnswer.id.desc(),
        )
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    entries = [row[0] for row in rows]
    versions = _versions(db, [(e.question_id, e.version_number) for e in entries])
    attempts = {
        a.id: a
        for a in db.scalars(
            sa.select(ExamAttempt).where(
                ExamAttempt.id.in_([e.last_attempt_id for e in entries if e.last_attempt_id])
            )
        )
    }
    items = _attempt_items(db, entries)
    responses = {
        a.item_id: a.response
        for a in db.scalars(
            sa.select(AttemptAnswer).where(
                AttemptAnswer.item_id.in_([i.id for i in items.values()])
            )
        )
    }
    result = []
    for entry, question, bank in rows:
        data = versions[(entry.question_id, entry.version_number)]
        view = registry().for_question(data).public(data)
        item = items.get((entry.last_attempt_id, entry.question_id))
        if item is not None and item.option_order and "options" in view:
            view["options"] = [view["options"][i] for i in item.option_order]
        attempt = attempts.get(entry.last_attempt_id) if entry.last_attempt_id else None
        shown = (
            attempt is not None
            and attempt.state is AttemptState.finished
            and answers_shown(attempt.paper, now)
        )
        book_entry = BookEntry(
            entry=entry,
            bank=bank,
            knowledge_points=list(data.knowledge_points),
            question=view,
            answers_shown=shown,
            enabled=question.enabled,
        )
        if shown and item is not None:
            book_entry.key = services._key(data, item)
            book_entry.explanation = data.explanation
            if item.id in responses:
                book_entry.response = services._to_shown(item, responses[item.id])
        elif (
            attempt is not None
            and attempt.paper.review_policy is ReviewPolicy.answers_after_close
            and attempt.paper.closes_at is not None
        ):
            book_entry.hidden_until = attempt.paper.closes_at
        result.append(book_entry)
    return Page(result, total, page, page_size)


def _versions(db: Session, keys: list[tuple[int, int]]) -> dict[tuple[int, int], QuestionData]:
    if not keys:
        return {}
    rows = db.execute(
        sa.select(QuestionVersion.question_id, QuestionVersion.number, QuestionVersion.data).where(
            sa.tuple_(QuestionVersion.question_id, QuestionVersion.number).in_(keys)
        )
    )
    return {(qid, number): QuestionData.from_dict(data) for qid, number, data in rows}


def _attempt_items(db: Session, entries: list[WrongAnswer]) -> dict[tuple[int, int], AttemptItem]:
    """The item each entry was last wrong in, by (attempt id, question id)."""
    keys = [(e.last_attempt_id, e.question_id) for e in entries if e.last_attempt_id]
    if not keys:
        return {}
    found: dict[tuple[int, int], AttemptItem] = {}
    for item in db.scalars(
        sa.select(AttemptItem)
        .where(sa.tuple_(AttemptItem.attempt_id, AttemptItem.question_id).in_(keys))
        .order_by(AttemptItem.position.desc())
    ):
        found[(item.attempt_id, item.question_id)] = item  # the first position wins
    return found


def filters(db: Session, employee: Employee) -> tuple[list[QuestionBank], list[str]]:
    """The banks and knowledge points of the employee's entries (mastered ones included), for
    the book's filter menus."""
    question_ids = sa.select(WrongAnswer.question_id).where(WrongAnswer.employee_id == employee.id)
    banks = list(
        db.scalars(
            sa.select(QuestionBank)
            .where(
                QuestionBank.id.in_(
                    sa.select(Question.bank_id).where(Question.id.in_(question_ids))
                )
            )
            .order_by(QuestionBank.title, QuestionBank.id)
        )
    )
    points = list(
        db.scalars(
            sa.select(QuestionLabel.value)
            .where(
                QuestionLabel.kind == "knowledge_point",
                QuestionLabel.question_id.in_(question_ids),
            )
            .distinct()
            .order_by(QuestionLabel.value)
        )
    )
    return banks, points


# -- practice ----------------------------------------------------------------------------------


def practice_questions(
    db: Session,
    employee: Employee,
    *,
    now: datetime,
    limit: int,
    bank_id: int | None = None,
    knowledge_point: str | None = None,
) -> list[int]:
    """Up to ``limit`` questions to practise: the employee's entries still to learn whose
    answers the review policy shows at ``now`` (practice shows answers at once), whose question
    is still enabled; most often wrong first."""
    conditions = _conditions(
        employee, mastered=False, bank_id=bank_id, knowledge_point=knowledge_point
    )
    return list(
        db.scalars(
            sa.select(WrongAnswer.question_id)
            .join(Question, Question.id == WrongAnswer.question_id)
            .join(ExamAttempt, ExamAttempt.id == WrongAnswer.last_attempt_id)
            .join(ExamPaper, ExamPaper.id == ExamAttempt.paper_id)
            .where(*conditions, Question.enabled, _answers_shown_sql(now))
            .order_by(
                WrongAnswer.times_wrong.desc(),
                WrongAnswer.last_wrong_at.desc(),
                WrongAnswer.id.desc(),
            )
            .limit(limit)
        )
    )


def practice_available(db: Session, employee: Employee, *, now: datetime) -> int:
    """How many entries practice can draw from now (see :func:`practice_questions`)."""
    return len(practice_questions(db, employee, now=now, limit=10_000))


def open_practice(db: Session, employee: Employee) -> ExamAttempt | None:
    """The employee's open attempt at one of their personal practice papers, if any."""
    return db.scalar(
        sa.select(ExamAttempt)
        .join(ExamPaper, ExamPaper.id == ExamAttempt.paper_id)
        .where(
            ExamAttempt.employee_id == employee.id,
            ExamAttempt.state.in_(services.OPEN_STATES),
            ExamPaper.owner_id == employee.id,
        )
        .order_by(ExamAttempt.id.desc())
        .limit(1)
    )


def start_practice(
    db: Session,
    employee: Employee,
    *,
    count: int,
    title: str,
    now: datetime,
    bank_id: int | None = None,
    knowledge_point: str | None = None,
) -> ExamAttempt:
    """The employee's open practice attempt, or a new personal practice paper of up to
    ``count`` questions from the book (:func:`practice_questions`) started at once.

    The paper is the employee's own (``owner_id``: nobody else sees it, exam lists leave it
    out), practice (never an exam, completes no course), with no time limit, options shuffled
    and answers shown at once. Raises :class:`lms.exams.services.ExamError` when there is
    nothing to practise.
    """
    existing = open_practice(db, employee)
    if existing is not None:
        return existing
    question_ids = practice_questions(
        db,
        employee,
        now=now,
        limit=max(PRACTICE_MIN, min(PRACTICE_MAX, count)),
        bank_id=bank_id,
        knowledge_point=knowledge_point,
    )
    if not question_ids:
        raise services.ExamError("nothing to practise")
    paper = ExamPaper(
        code=f"practice-{employee.id}-{secrets.token_hex(4)}",
        title=title,
        kind=PaperKind.fixed,
        practice=True,
        owner_id=employee.id,
        published=True,
        time_limit_minutes=0,
        review_policy=ReviewPolicy.answers_at_once,
        shuffle_options=True,
        shuffle_questions=False,
        max_attempts=0,
        retake_wait_hours=0,
    )
    paper.questions = [
        ExamPaperQuestion(question_id=qid, points=Decimal(1), position=position)
        for position, qid in enumerate(question_ids, start=1)
    ]
    db.add(paper)
    db.flush()
    return services.start_attempt(db, paper, employee, now=now)
