"""The wrong-answer book (错题本): the questions each employee got wrong in exams, with their
explanations, and practice built from them.

How attempts feed the book (:func:`record_attempt`, called by
:func:`lms.exams.services.finalize` once an attempt is fully graded):

- An attempt at a normal paper (``practice`` False) puts in the book every question not fully
  right (a wrong or partly right answer, an unanswered item, a short answer graded below full
  points); description items (nothing to answer) never count. ``times_wrong`` counts the
  employee's graded exam attempts with the question wrong, recounted each time, so finalize can
  run again (after a regrade or a person's grade) without counting an attempt twice, and a
  regrade that corrects a key takes the mistake back.
- An attempt at any practice paper (a personal one built from the book, or a shared practice
  paper HR set up) never adds to the book: practice is not an exam. Items answered fully right
  there master the employee's entries for those questions (``mastered_at``), which leave the
  default view. Items answered wrongly in practice change nothing (``times_wrong`` counts exam
  mistakes only; the entry simply stays to learn). A later exam mistake clears the mastery.

The book must not get round a paper's review policy: an entry shows its right answer and
explanation only when the review of the attempt it was last wrong in would
(:func:`lms.exams.services.answers_shown`, the rule of the result page), and practice, which
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
    """Whether the item earned all its points (an item worth nothing: a full fraction); the
    same rule as :func:`_wrong_in_exams` in SQL."""
    if answer is None or answer.points_awarded is None:
        return False
    if item.points > 0:
        return answer.points_awarded >= item.points
    return answer.fraction is not None and answer.fraction >= 1


def _answerable(
    db: Session, attempt: ExamAttempt
) -> list[tuple[AttemptItem, AttemptAnswer | None]]:
    """The attempt's items with something to answer (not descriptions), with their answers."""
    rows = db.execute(
        sa.select(AttemptItem, AttemptAnswer)
        .join(Question, Question.id == AttemptItem.question_id)
        .outerjoin(AttemptAnswer, AttemptAnswer.item_id == AttemptItem.id)
        .where(AttemptItem.attempt_id == attempt.id, Question.type != d.DESCRIPTION)
        .order_by(AttemptItem.position)
    ).all()
    return [(item, answer) for item, answer in rows]


def _wrong_in_exams(
    db: Session, employee_id: int, question_ids: list[int]
) -> dict[int, list[tuple[datetime, int, int]]]:
    """Per question, the employee's graded exam attempts (practice left out) whose item was not
    fully right: (finished at, attempt id, version shown)."""
    answer_wrong = sa.or_(
        AttemptAnswer.id.is_(None),
        AttemptAnswer.points_awarded.is_(None),
        sa.and_(AttemptItem.points > 0, AttemptAnswer.points_awarded < AttemptItem.points),
        sa.and_(AttemptItem.points <= 0, sa.func.coalesce(AttemptAnswer.fraction, 0.0) < 1),
    )
    rows = db.execute(
        sa.select(
            AttemptItem.question_id,
            sa.func.coalesce(ExamAttempt.finished_at, ExamAttempt.started_at),
            ExamAttempt.id,
            AttemptItem.version_number,
        )
        .join(ExamAttempt, ExamAttempt.id == AttemptItem.attempt_id)
        .join(ExamPaper, ExamPaper.id == ExamAttempt.paper_id)
        .join(Question, Question.id == AttemptItem.question_id)
        .outerjoin(AttemptAnswer, AttemptAnswer.item_id == AttemptItem.id)
        .where(
            ExamAttempt.employee_id == employee_id,
            ExamAttempt.state == AttemptState.finished,
            ExamAttempt.graded,
            ~ExamPaper.practice,
            AttemptItem.question_id.in_(question_ids),
            Question.type != d.DESCRIPTION,
            answer_wrong,
        )
    ).all()
    found: dict[int, list[tuple[datetime, int, int]]] = {}
    for question_id, when, attempt_id, version in rows:
        found.setdefault(question_id, []).append((when, attempt_id, version))
    return found


def _insert(db: Session) -> Any:
    """The dialect's INSERT with ON CONFLICT (SQLite and PostgreSQL spell it alike)."""
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def _lock_rows(db: Session, employee_id: int, question_ids: list[int], when: datetime) -> None:
    """Make sure the employee has a row for each question and hold their locks until commit.

    One upsert, in question order (two transactions lock the same rows in the same order, so
    they wait rather than deadlock); an existing row is only touched. Whoever counts after this
    statement counts with every attempt committed before (see :func:`record_attempt`).
    """
    insert = _insert(db)
    statement = insert(WrongAnswer).values(
        [
            {
                "employee_id": employee_id,
                "question_id": question_id,
                "version_number": 1,
                "times_wrong": 0,
                "last_wrong_at": when,
                "last_attempt_id": None,
                "mastered_at": None,
            }
            for question_id in sorted(question_ids)
        ]
    )
    db.execute(
        statement.on_conflict_do_update(
            index_elements=["employee_id", "question_id"],
            set_={"times_wrong": WrongAnswer.times_wrong},
        )
    )


def record_attempt(db: Session, attempt: ExamAttempt, *, now: datetime) -> None:
    """Bring the employee's book up to date with a fully graded, finished attempt.

    An exam (a paper not ``practice``): for each question of the attempt, the entry is recounted
    from the employee's graded exam attempts, not incremented, so finalizing again (a regrade, a
    person's grade, in any order and in parallel) never counts an attempt twice: ``times_wrong``
    is the number of those attempts in which it was not fully right, ``version_number``,
    ``last_wrong_at`` (when that attempt finished) and ``last_attempt_id`` are the latest of
    them, and ``mastered_at`` is cleared when it is older than that latest mistake. A question
    no longer wrong in any exam (a regrade corrected its key) leaves the book. The rows are
    upserted (INSERT .. ON CONFLICT) and locked first, so parallel finalizes of one employee's
    attempts wait for each other instead of colliding on the unique row or losing a count.

    Practice (any ``practice`` paper, personal or shared): adds nothing; the entries of the
    questions answered fully right are mastered at ``now`` (unless already, or unless the
    latest exam mistake came after this practice finished).
    """
    items = _answerable(db, attempt)
    if not items:
        return
    mine = WrongAnswer.employee_id == attempt.employee_id
    if attempt.paper.practice:
        right = sorted({item.question_id for item, answer in items if _fully_right(item, answer)})
        if right:
            finished = attempt.finished_at or now
            # lock in question order first, as exams do, so the two never deadlock
            db.execute(
                sa.select(WrongAnswer.id)
                .where(mine, WrongAnswer.question_id.in_(right))
                .order_by(WrongAnswer.question_id)
                .with_for_update()
            ).all()
            db.execute(
                sa.update(WrongAnswer)
                .where(
                    mine,
                    WrongAnswer.question_id.in_(right),
                    WrongAnswer.mastered_at.is_(None),
                    WrongAnswer.last_wrong_at <= finished,
                )
                .values(mastered_at=now)
                .execution_options(synchronize_session=False)
            )
        db.flush()
        return
    question_ids = sorted({item.question_id for item, _answer in items})
    db.flush()
    _lock_rows(db, attempt.employee_id, question_ids, attempt.finished_at or now)
    wrong = _wrong_in_exams(db, attempt.employee_id, question_ids)
    for row in db.scalars(
        sa.select(WrongAnswer)
        .where(mine, WrongAnswer.question_id.in_(question_ids))
        .execution_options(populate_existing=True)
    ):
        mistakes = wrong.get(row.question_id)
        if not mistakes:
            db.delete(row)
            continue
        when, attempt_id, version = max(mistakes)
        row.times_wrong = len({a for _when, a, _version in mistakes})
        row.version_number = version
        row.last_wrong_at = when
        row.last_attempt_id = attempt_id
        if row.mastered_at is not None and row.mastered_at < when:
            row.mastered_at = None
    db.flush()


# -- the review policy -------------------------------------------------------------------------


def _answers_shown_sql(now: datetime) -> sa.ColumnElement[bool]:
    """:func:`lms.exams.services.answers_shown` as a condition on a query joining the entry's
    attempt and paper."""
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
    Answers and explanations only where :func:`lms.exams.services.answers_shown` allows them
    at ``now``."""
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
            and services.answers_shown(attempt.paper, now)
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
            book_entry.key = services.answer_key(data, item)
            book_entry.explanation = data.explanation
            if item.id in responses:
                book_entry.response = services.to_shown(item, responses[item.id])
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


def _practice_query(
    employee: Employee, *, now: datetime, bank_id: int | None, knowledge_point: str | None
) -> sa.Select[tuple[int]]:
    conditions = _conditions(
        employee, mastered=False, bank_id=bank_id, knowledge_point=knowledge_point
    )
    return (
        sa.select(WrongAnswer.question_id)
        .join(Question, Question.id == WrongAnswer.question_id)
        .join(ExamAttempt, ExamAttempt.id == WrongAnswer.last_attempt_id)
        .join(ExamPaper, ExamPaper.id == ExamAttempt.paper_id)
        .where(*conditions, Question.enabled, _answers_shown_sql(now))
    )


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
    query = _practice_query(employee, now=now, bank_id=bank_id, knowledge_point=knowledge_point)
    return list(
        db.scalars(
            query.order_by(
                WrongAnswer.times_wrong.desc(),
                WrongAnswer.last_wrong_at.desc(),
                WrongAnswer.id.desc(),
            ).limit(limit)
        )
    )


def practice_available(
    db: Session,
    employee: Employee,
    *,
    now: datetime,
    bank_id: int | None = None,
    knowledge_point: str | None = None,
) -> int:
    """How many entries practice can draw from now (see :func:`practice_questions`)."""
    query = _practice_query(employee, now=now, bank_id=bank_id, knowledge_point=knowledge_point)
    return db.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


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
