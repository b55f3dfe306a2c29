"""Exam services: drawing and freezing a paper for a candidate, saving answers, submitting and
grading exactly once, finishing overdue attempts, and the review a candidate may see.

The server's clock decides: every call takes ``now`` and compares it with the attempt's
``deadline_at`` plus the paper's grace. Services only ``flush()``; the caller commits.

Concurrency: a save locks the attempt row (``FOR UPDATE`` on PostgreSQL; on SQLite write
sessions already hold the database's write lock) before checking its state, and a submit flips
the state with a conditional UPDATE, which waits for that lock. So a save either commits before
the submit reads the answers (and is graded) or sees the attempt finished (and is refused).
"""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.exams.drawing import match_rules
from lms.exams.models import (
    AttemptAnswer,
    AttemptItem,
    AttemptState,
    ExamAttempt,
    ExamDrawRule,
    ExamPaper,
    PaperKind,
    ReviewPolicy,
)
from lms.org.models import Employee
from lms.questions import data as d
from lms.questions.data import QuestionData
from lms.questions.display import sanitised_html
from lms.questions.models import Question, QuestionLabel, QuestionVersion
from lms.questions.types import (
    MultipleChoice,
    QuestionType,
    SingleChoice,
    TypeRegistry,
    registry,
)

OPEN_STATES = (AttemptState.in_progress, AttemptState.overdue)
CENT = Decimal("0.01")
_random = secrets.SystemRandom()


class ExamError(ValueError):
    """An exam action that is not allowed now (the message says why)."""


class AttemptClosed(ExamError):
    """The attempt no longer takes answers: finished, or past its deadline and grace."""


class AlreadyFinished(ExamError):
    """The attempt was finished already (by another submit, or by the periodic job)."""


# -- papers and drawing ------------------------------------------------------------------------


def rule_query(rule: ExamDrawRule) -> sa.Select[tuple[int]]:
    """Ids of the enabled questions a rule may draw from."""
    query = sa.select(Question.id).where(Question.bank_id == rule.bank_id, Question.enabled)
    if rule.type:
        query = query.where(Question.type == rule.type)
    if rule.difficulty is not None:
        query = query.where(Question.difficulty == rule.difficulty)
    if rule.knowledge_point:
        query = query.where(
            sa.exists().where(
                QuestionLabel.question_id == Question.id,
                QuestionLabel.kind == "knowledge_point",
                QuestionLabel.value == rule.knowledge_point,
            )
        )
    return query.order_by(Question.id)


def preview_draw(db: Session, paper: ExamPaper) -> list[tuple[ExamDrawRule, int, int]]:
    """Each rule of a drawn paper with the questions available to it and the count it needs.

    ``available`` counts each rule alone; rules that overlap share questions, so the draw also
    checks for duplicates (see :func:`start_attempt`).
    """
    return [(rule, len(db.scalars(rule_query(rule)).all()), rule.count) for rule in paper.rules]


def _draw(db: Session, paper: ExamPaper) -> list[tuple[int, Decimal]]:
    """The (question id, points) of a new attempt, in paper order (before any shuffle)."""
    if paper.kind is PaperKind.fixed:
        enabled = set(
            db.scalars(
                sa.select(Question.id).where(
                    Question.id.in_([q.question_id for q in paper.questions]), Question.enabled
                )
            )
        )
        return [(q.question_id, q.points) for q in paper.questions if q.question_id in enabled]
    # An exact matching over the rules' pools (shuffled): overlapping rules are met together
    # whenever any draw can meet them, where taking rule by rule could starve a narrower one.
    pools = [list(db.scalars(rule_query(rule))) for rule in paper.rules]
    held = match_rules(pools, [rule.count for rule in paper.rules], rng=_random)
    chosen: list[tuple[int, Decimal]] = []
    for rule, got in zip(paper.rules, held, strict=True):
        if len(got) < rule.count:
            raise ExamError(
                f"rule {rule.id} needs {rule.count} questions but only {len(got)} are available"
            )
        chosen.extend((qid, rule.points_each) for qid in got)
    return chosen


def visible_to(paper: ExamPaper, employee: Employee) -> bool:
    """Whether the employee may see the paper: published, and not another's practice paper."""
    return paper.published and paper.owner_id in (None, employee.id)


@dataclass(frozen=True)
class OpenPaper:
    """A paper on the employee's exam list, with their latest attempt at it (if any)."""

    paper: ExamPaper
    latest: ExamAttempt | None


def open_papers(db: Session, employee: Employee, *, now: datetime) -> list[OpenPaper]:
    """The published shared papers not closed at ``now`` (opening soon included), and those the
    employee has attempted, by title; personal practice papers are left out."""
    attempted = sa.select(ExamAttempt.paper_id).where(ExamAttempt.employee_id == employee.id)
    papers = db.scalars(
        sa.select(ExamPaper)
        .where(
            ExamPaper.published,
            ExamPaper.owner_id.is_(None),
            sa.or_(
                ExamPaper.closes_at.is_(None),
                ExamPaper.closes_at > now,
                ExamPaper.id.in_(attempted),
            ),
        )
        .order_by(ExamPaper.title, ExamPaper.id)
    ).all()
    latest: dict[int, ExamAttempt] = {}
    for attempt in db.scalars(
        sa.select(ExamAttempt)
        .where(ExamAttempt.employee_id == employee.id)
        .order_by(ExamAttempt.number)
    ):
        latest[attempt.paper_id] = attempt
    return [OpenPaper(paper, latest.get(paper.id)) for paper in papers]


def attempts_of(db: Session, paper: ExamPaper, employee: Employee) -> list[ExamAttempt]:
    """The employee's attempts at the paper, first to last."""
    return list(
        db.scalars(
            sa.select(ExamAttempt)
            .where(ExamAttempt.paper_id == paper.id, ExamAttempt.employee_id == employee.id)
            .order_by(ExamAttempt.number)
        )
    )


def start_attempt(
    db: Session, paper: ExamPaper, employee: Employee, *, now: datetime
) -> ExamAttempt:
    """The employee's open attempt at the paper, or a new one with its questions drawn and frozen.

    Refused (:class:`ExamError`) before the paper opens or after it closes, when the attempts
    are used up, or before the retake wait has passed since the last attempt finished (voided
    attempts do not count).
    """
    if not paper.published or (paper.opens_at is not None and now < paper.opens_at):
        raise ExamError("the exam is not open yet")
    if paper.closes_at is not None and now >= paper.closes_at:
        raise ExamError("the exam is closed")
    previous = attempts_of(db, paper, employee)
    for attempt in previous:
        if attempt.state in OPEN_STATES:
            return attempt  # resume: one open attempt per person and paper
    # A voided (abandoned) attempt uses up nothing: neither an attempt nor the retake wait.
    counted = [a for a in previous if a.state is not AttemptState.abandoned]
    if paper.max_attempts and len(counted) >= paper.max_attempts:
        raise ExamError("no attempts left")
    if counted and paper.retake_wait_hours:
        last_end = max(a.finished_at or a.started_at for a in counted)
        if now < last_end + timedelta(hours=paper.retake_wait_hours):
            raise ExamError("the retake wait has not passed yet")

    drawn = _draw(db, paper)
    if not drawn:
        raise ExamError("the paper has no questions")
    if paper.shuffle_questions:
        _random.shuffle(drawn)
    questions = {
        q.id: q
        for q in db.scalars(sa.select(Question).where(Question.id.in_([d for d, _ in drawn])))
    }
    versions = question_versions(db, [(qid, questions[qid].current_number) for qid, _ in drawn])
    deadline = None
    if paper.time_limit_minutes:
        deadline = now + timedelta(minutes=paper.time_limit_minutes)
    if paper.closes_at is not None:
        deadline = paper.closes_at if deadline is None else min(deadline, paper.closes_at)
    attempt = ExamAttempt(
        paper_id=paper.id,
        employee_id=employee.id,
        number=len(previous) + 1,
        state=AttemptState.in_progress,
        started_at=now,
        deadline_at=deadline,
        max_score=sum((points for _, points in drawn), Decimal(0)),
        graded=False,
    )
    db.add(attempt)
    db.flush()
    for position, (qid, points) in enumerate(drawn, start=1):
        number = questions[qid].current_number
        data = versions[(qid, number)]
        order = list(range(len(data.choices))) if _has_options(data) else []
        if paper.shuffle_options:
            _random.shuffle(order)
        db.add(
            AttemptItem(
                attempt_id=attempt.id,
                position=position,
                question_id=qid,
                version_number=number,
                points=points,
                option_order=order,
                public_key=secrets.token_urlsafe(16),
            )
        )
    db.flush()
    return attempt


def _has_options(data: QuestionData) -> bool:
    return isinstance(registry().for_question(data), SingleChoice)


#: Parsed question versions by content hash. A version never changes once stored, and equal
#: hashes mean equal content, so the parse (and the type's public view) can be kept per process
#: for every request: the attempt page shows 50 of them. Cleared whole when full (simple, and
#: safe with the job runner's threads). Callers share these objects and must not change them.
_PARSED: dict[str, QuestionData] = {}
_PUBLIC: dict[tuple[int, str], dict[str, Any]] = {}
_CACHE_SIZE = 4096


def _parsed(content_hash: str, data: dict[str, Any]) -> QuestionData:
    parsed = _PARSED.get(content_hash)
    if parsed is None:
        if len(_PARSED) >= _CACHE_SIZE:
            _PARSED.clear()
        parsed = _PARSED[content_hash] = QuestionData.from_dict(data)
    return parsed


def _by_hash(db: Session, wanted: dict[str, tuple[int, int]]) -> dict[str, QuestionData]:
    """The parsed data of versions by content hash; only the ones not parsed yet are read
    (``wanted``: hash -> (question id, version number))."""
    found = {h: _PARSED[h] for h in wanted if h in _PARSED}
    missing = [key for h, key in wanted.items() if h not in found]
    if missing:
        rows = db.execute(
            sa.select(QuestionVersion.content_hash, QuestionVersion.data).where(
                sa.tuple_(QuestionVersion.question_id, QuestionVersion.number).in_(missing)
            )
        )
        for content_hash, data in rows:
            found[content_hash] = _parsed(content_hash, data)
    return found


def question_versions(
    db: Session, keys: list[tuple[int, int]]
) -> dict[tuple[int, int], QuestionData]:
    """The question data of (question id, version number) pairs, in one query (the data
    itself only for versions this process has not parsed yet)."""
    if not keys:
        return {}
    rows = db.execute(
        sa.select(
            QuestionVersion.question_id, QuestionVersion.number, QuestionVersion.content_hash
        ).where(sa.tuple_(QuestionVersion.question_id, QuestionVersion.number).in_(keys))
    ).all()
    data = _by_hash(db, {h: (qid, number) for qid, number, h in rows})
    return {(qid, number): data[h] for qid, number, h in rows}


def _public_view(types: TypeRegistry, data: QuestionData, content_hash: str) -> dict[str, Any]:
    """The type's public view of a version (shared: copy before changing it)."""
    key = (id(types), content_hash)
    view = _PUBLIC.get(key)
    if view is None:
        if len(_PUBLIC) >= _CACHE_SIZE:
            _PUBLIC.clear()
        view = _PUBLIC[key] = _sanitised_view(types.for_question(data).public(data))
    return view


#: the built-in types' lists of question HTML in their public views (their widgets show each
#: through ``lms_question_html``); a plug-in type's own keys are left as they are
_HTML_LISTS = {
    d.SINGLE_CHOICE: "options",
    d.MULTIPLE_CHOICE: "options",
    d.MATCHING: "prompts",
}


def _sanitised_view(view: dict[str, Any]) -> dict[str, Any]:
    """The public view with its question HTML (the stem; the options or matching prompts of
    the built-in types) sanitised once for the process: the pages' ``lms_question_html``
    filter passes it on instead of looking it up again on every page."""
    view = dict(view)
    if isinstance(view.get("stem"), str):
        view["stem"] = sanitised_html(view["stem"])
    key = _HTML_LISTS.get(view.get("type", ""))
    if key is not None and isinstance(view.get(key), list):
        view[key] = [sanitised_html(t) if isinstance(t, str) else t for t in view[key]]
    return view


# -- during the attempt ------------------------------------------------------------------------


def attempt_items(db: Session, attempt: ExamAttempt) -> list[tuple[AttemptItem, QuestionData]]:
    """The attempt's items in position order, each with the data of the version it shows."""
    rows = db.execute(
        sa.select(AttemptItem, QuestionVersion.content_hash)
        .join(
            QuestionVersion,
            sa.and_(
                QuestionVersion.question_id == AttemptItem.question_id,
                QuestionVersion.number == AttemptItem.version_number,
            ),
        )
        .where(AttemptItem.attempt_id == attempt.id)
        .order_by(AttemptItem.position)
    ).all()
    data = _by_hash(db, {h: (i.question_id, i.version_number) for i, h in rows})
    return [(item, data[h]) for item, h in rows]


def attempt_answers(db: Session, attempt: ExamAttempt) -> dict[int, AttemptAnswer]:
    return {
        a.item_id: a
        for a in db.scalars(sa.select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id))
    }


def to_shown(item: AttemptItem, response: Any) -> Any:
    """A stored response (original option indexes) in the attempt's shown positions."""
    if not item.option_order:
        return response
    position = {original: shown for shown, original in enumerate(item.option_order)}
    if isinstance(response, list):
        return sorted(position[r] for r in response if r in position)
    return position.get(response) if isinstance(response, int) else None


def _to_original(item: AttemptItem, response: Any) -> Any:
    """A response in shown positions mapped back to the question's own option indexes."""
    if not item.option_order:
        return response
    count = len(item.option_order)

    def index(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < count:
            raise ExamError("not an option of this question")
        return item.option_order[value]

    if isinstance(response, list):
        return sorted({index(v) for v in response})
    return index(response)


@functools.cache
def _public_items_query() -> sa.Select[Any]:
    return (
        sa.select(
            AttemptItem.public_key,
            AttemptItem.position,
            AttemptItem.points,
            AttemptItem.option_order,
            AttemptItem.question_id,
            AttemptItem.version_number,
            QuestionVersion.content_hash,
            AttemptAnswer.id.label("answer_id"),
            AttemptAnswer.response,
        )
        .join(
            QuestionVersion,
            sa.and_(
                QuestionVersion.question_id == AttemptItem.question_id,
                QuestionVersion.number == AttemptItem.version_number,
            ),
        )
        .outerjoin(
            AttemptAnswer,
            sa.and_(
                AttemptAnswer.attempt_id == AttemptItem.attempt_id,
                AttemptAnswer.item_id == AttemptItem.id,
            ),
        )
        .where(AttemptItem.attempt_id == sa.bindparam("attempt_id"))
        .order_by(AttemptItem.position)
    )


def public_items(db: Session, attempt: ExamAttempt) -> list[dict[str, Any]]:
    """What a page may send during the attempt: per item its public key, position, points, the
    type's public view (options in the attempt's order; their identifiers are those positions)
    and the saved response in the same positions. No answers, fractions, feedback or ids."""
    # One query for the items, their versions' hashes and the saved responses, built once and
    # run on the session's connection: the exam page is the most requested page of an exam, so
    # it reads plain rows, not ORM objects.
    db.flush()  # as the ORM's autoflush would do
    rows = db.connection().execute(_public_items_query(), {"attempt_id": attempt.id}).all()
    data = _by_hash(db, {r.content_hash: (r.question_id, r.version_number) for r in rows})
    types = registry()
    result = []
    for row in rows:
        view = _public_view(types, data[row.content_hash], row.content_hash)
        if row.option_order and "options" in view:
            view = dict(view, options=[view["options"][i] for i in row.option_order])
        else:
            view = dict(view)
        result.append(
            {
                "key": row.public_key,
                "position": row.position,
                "points": str(row.points),
                "question": view,
                "response": None if row.answer_id is None else to_shown(row, row.response),
            }
        )
    return result


def accepts_answers(attempt: ExamAttempt, now: datetime) -> bool:
    """Whether the attempt still takes answers at ``now`` (the deadline plus the grace)."""
    if attempt.state not in OPEN_STATES:
        return False
    if attempt.deadline_at is None:
        return True
    return _before_grace_end(attempt.deadline_at, attempt.paper.grace_seconds, now)


def _before_grace_end(deadline: datetime, grace_seconds: int, now: datetime) -> bool:
    return now <= deadline + timedelta(seconds=grace_seconds)


def lock_attempt(db: Session, attempt: ExamAttempt) -> ExamAttempt:
    """Re-read the attempt under a row lock, so that a save and a submit do not interleave."""
    return db.scalars(
        sa.select(ExamAttempt)
        .where(ExamAttempt.id == attempt.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


@functools.cache
def _upsert_answer(dialect: str) -> sa.Insert:
    """INSERT ... ON CONFLICT (attempt, item) DO UPDATE of the response and its time, built once
    per dialect (building it costs more than running it)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(AttemptAnswer)
    return statement.on_conflict_do_update(
        index_elements=["attempt_id", "item_id"],
        set_={"response": statement.excluded.response, "saved_at": statement.excluded.saved_at},
    )


def save_answer(
    db: Session, attempt: ExamAttempt, public_key: str, response: Any, *, now: datetime
) -> None:
    """Save the response (in shown option positions) to the item; the last save wins.

    Raises :class:`AttemptClosed` on a finished attempt or after the deadline plus grace, and
    :class:`ExamError` for an unknown item or option.
    """
    save_answer_of(db, attempt.id, attempt.employee_id, public_key, response, now=now)


class NoSuchAttempt(ExamError):
    """The attempt does not exist or is someone else's (pages answer 404 for both)."""


@functools.cache
def _lock_for_save() -> sa.Select[Any]:
    """The save's one read, built once: the attempt's owner, state and deadline, the paper's
    grace and the item by its public key, with the attempt's row locked (``FOR UPDATE OF`` it
    alone: PostgreSQL; SQLite has the database's write lock already)."""
    return (
        sa.select(
            ExamAttempt.employee_id,
            ExamAttempt.state,
            ExamAttempt.deadline_at,
            ExamPaper.grace_seconds,
            AttemptItem.id,
            AttemptItem.option_order,
        )
        .join(ExamPaper, ExamPaper.id == ExamAttempt.paper_id)
        .outerjoin(
            AttemptItem,
            sa.and_(
                AttemptItem.attempt_id == ExamAttempt.id,
                AttemptItem.public_key == sa.bindparam("public_key"),
            ),
        )
        .where(ExamAttempt.id == sa.bindparam("attempt_id"))
        .with_for_update(of=ExamAttempt)
    )


def save_answer_of(
    db: Session,
    attempt_id: int,
    employee_id: int,
    public_key: str,
    response: Any,
    *,
    now: datetime,
) -> None:
    """:func:`save_answer` by the attempt's id, for the autosave request: the owner check is
    part of the locking query, so no attempt object is loaded first. Raises
    :class:`NoSuchAttempt` when the attempt is unknown or not ``employee_id``'s, then as
    :func:`save_answer`."""
    # The attempt row is read again under its lock, so a save and a submit do not interleave.
    # Plain rows through the session's connection, statements built once: a save is the most
    # frequent request of an exam, and nothing here needs the ORM (no object is loaded or
    # changed, so the session has nothing to track).
    db.flush()  # what the session holds goes first, as the ORM's autoflush would do
    connection = db.connection()
    row = connection.execute(
        _lock_for_save(), {"attempt_id": attempt_id, "public_key": public_key}
    ).one_or_none()
    if row is None or row.employee_id != employee_id:
        raise NoSuchAttempt("no such attempt")
    if row.state not in OPEN_STATES or (
        row.deadline_at is not None
        and not _before_grace_end(row.deadline_at, row.grace_seconds, now)
    ):
        raise AttemptClosed("the attempt no longer takes answers")
    if row.id is None:
        raise ExamError("no such question in this attempt")
    stored = _to_original(row, response)
    connection.execute(
        _upsert_answer(connection.dialect.name),
        {"attempt_id": attempt_id, "item_id": row.id, "response": stored, "saved_at": now},
    )


# -- finishing and grading ---------------------------------------------------------------------


def submit(db: Session, attempt: ExamAttempt, *, now: datetime) -> bool:
    """Finish and grade the attempt, exactly once.

    A conditional UPDATE moves it from in progress or overdue to finished: only the caller that
    finds it open wins and grades; the others get False with ``attempt`` refreshed to the
    finished result. Raises :class:`ExamError` for an abandoned attempt.
    """
    won = db.execute(
        sa.update(ExamAttempt)
        .where(ExamAttempt.id == attempt.id, ExamAttempt.state.in_(OPEN_STATES))
        .values(state=AttemptState.finished, finished_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.refresh(attempt)
    if not won:
        if attempt.state is AttemptState.finished:
            return False
        raise ExamError(f"the attempt is {attempt.state.value}")
    _grade(db, attempt, now=now)
    return True


@dataclass(frozen=True)
class TabSwitch:
    """What :func:`record_tab_switch` did: the count so far, the limit (0: none) and whether
    this switch submitted the attempt."""

    switches: int
    limit: int
    submitted: bool


def record_tab_switch(
    db: Session, attempt: ExamAttempt, *, max_switches: int, now: datetime
) -> TabSwitch:
    """Count a switch away from the open attempt's page; the switch that brings the count to
    ``max_switches`` (when > 0) submits the attempt (:func:`submit`, so exactly once).

    A finished (or abandoned) attempt counts no more switches, and neither does one past its
    deadline and grace: that one is submitted as it would be on the next request.
    """
    limit = max(0, max_switches)
    attempt = lock_attempt(db, attempt)
    if attempt.state not in OPEN_STATES:
        return TabSwitch(attempt.tab_switches, limit, False)
    if not accepts_answers(attempt, now):
        return TabSwitch(attempt.tab_switches, limit, submit(db, attempt, now=now))
    db.execute(
        sa.update(ExamAttempt)
        .where(ExamAttempt.id == attempt.id)
        .values(tab_switches=ExamAttempt.tab_switches + 1, last_tab_switch_at=now)
        .execution_options(synchronize_session=False)
    )
    db.refresh(attempt)
    submitted = False
    if limit and attempt.tab_switches >= limit:
        submitted = submit(db, attempt, now=now)
    db.flush()
    return TabSwitch(attempt.tab_switches, limit, submitted)


def _grade(db: Session, attempt: ExamAttempt, *, now: datetime) -> None:
    """Grade the objective items through their types' own grading, then :func:`finalize`."""
    paper = attempt.paper
    answers = attempt_answers(db, attempt)
    for item, data in attempt_items(db, attempt):
        question_type: QuestionType = registry().for_question(data)
        answer = answers.get(item.id)
        if answer is None or not question_type.auto_graded:
            continue  # unanswered: no points; short answers: the grading queue
        grade_answer(answer, item, data, proportional=paper.multiple_choice_partial)
    finalize(db, attempt, now=now)


def grade_answer(
    answer: AttemptAnswer, item: AttemptItem, data: QuestionData, *, proportional: bool
) -> None:
    """Set an objective answer's fraction and points from ``data`` (the version graded)."""
    question_type = registry().for_question(data)
    if isinstance(question_type, MultipleChoice):
        fraction = question_type.grade(data, answer.response, proportional=proportional)
    else:
        fraction = question_type.grade(data, answer.response)
    answer.fraction = fraction
    answer.points_awarded = (item.points * Decimal(repr(fraction))).quantize(CENT, ROUND_HALF_UP)


def finalize(db: Session, attempt: ExamAttempt, *, now: datetime) -> None:
    """Total a finished attempt from its answers' points and decide pass or fail.

    The attempt is graded once no item waits for a person (an answered short answer without
    points); only then is it passed or failed, its wrong answers go to the wrong-answer book and
    a pass (not in practice) completes the course. Called after the objective grading, after a
    person grades a short answer, and after a regrade.
    """
    paper = attempt.paper
    answers = attempt_answers(db, attempt)
    score = Decimal(0)
    graded = True
    for item, data in attempt_items(db, attempt):
        answer = answers.get(item.id)
        if answer is None:
            continue
        if answer.points_awarded is None:
            if not registry().for_question(data).auto_graded:
                graded = False  # waits for a person (the grading queue)
            continue
        score += answer.points_awarded
    was_passed = attempt.passed
    attempt.score = score
    attempt.graded = graded
    attempt.passed = passes(paper, score, attempt.max_score) if graded else None
    db.flush()
    if not graded:
        return
    from lms.exams import wrongbook

    wrongbook.record_attempt(db, attempt, now=now)
    if attempt.passed and not was_passed and not paper.practice and paper.course_id is not None:
        _complete_course(db, attempt, now=now)


def passes(paper: ExamPaper, score: Decimal, max_score: Decimal) -> bool:
    """Whether ``score`` reaches the paper's pass mark (points, or percent of the maximum)."""
    mark = paper.pass_mark
    if paper.pass_mark_percent:
        mark = max_score * paper.pass_mark / 100
    return score >= mark


def _complete_course(db: Session, attempt: ExamAttempt, *, now: datetime) -> None:
    """A pass completes the employee's open run of the paper's course, if there is one."""
    from lms.courses.models import Course
    from lms.courses.services import complete_run, open_run

    course = db.get(Course, attempt.paper.course_id)
    employee = db.get(Employee, attempt.employee_id)
    run = open_run(db, employee, course) if course and employee else None
    if run is not None:
        complete_run(db, run, score=attempt.score, now=now)


def finish_overdue(db: Session, *, now: datetime) -> int:
    """The periodic job: finish (and grade) attempts past their deadline plus grace, and mark
    those within the grace as overdue. Returns how many were finished."""
    candidates = db.scalars(
        sa.select(ExamAttempt).where(
            ExamAttempt.state.in_(OPEN_STATES), ExamAttempt.deadline_at < now
        )
    ).all()
    finished = 0
    for attempt in candidates:
        if accepts_answers(attempt, now):
            attempt.state = AttemptState.overdue
            db.flush()
        elif submit(db, attempt, now=now):
            finished += 1
    return finished


# -- review ------------------------------------------------------------------------------------


@dataclass
class Review:
    """What a candidate may see of a finished attempt; ``items`` only when answers are shown."""

    state: str
    score: Decimal | None = None
    max_score: Decimal | None = None
    passed: bool | None = None
    graded: bool | None = None
    items: list[dict[str, Any]] | None = None
    #: the policy shows the answers, but not while the candidate sits another exam
    answers_held_back: bool = False


def answer_key(data: QuestionData, item: AttemptItem) -> Any:
    """The right answer, in the attempt's shown option positions for choice questions."""
    if item.option_order:
        return [
            s for s, original in enumerate(item.option_order) if data.choices[original].fraction > 0
        ]
    if data.answer_true is not None:
        return data.answer_true
    if data.blanks:
        return [[c.text for c in blank if c.fraction > 0] for blank in data.blanks]
    if data.numbers:
        return [n.value if n.value is not None else [n.low, n.high] for n in data.numbers]
    if data.pairs:
        return [[p.prompt, p.answer] for p in data.pairs if p.prompt]
    return data.reference_answer or None


def answers_shown(paper: ExamPaper, now: datetime) -> bool:
    """Whether the paper's review policy shows the answers of a finished attempt at ``now``:
    answers at once, or after a closing time that has passed (a paper that never closes never
    shows them under ``answers_after_close``)."""
    return paper.review_policy is ReviewPolicy.answers_at_once or (
        paper.review_policy is ReviewPolicy.answers_after_close
        and paper.closes_at is not None
        and now >= paper.closes_at
    )


def exam_under_way(db: Session, employee_id: int, *, now: datetime) -> ExamAttempt | None:
    """The employee's open attempt at a real exam (not practice) that still takes answers.

    While there is one, pages that show right answers (earlier results, the wrong-answer book)
    keep them back: the exam under way may have drawn the same questions.
    """
    attempts = db.scalars(
        sa.select(ExamAttempt)
        .join(ExamPaper, ExamPaper.id == ExamAttempt.paper_id)
        .where(
            ExamAttempt.employee_id == employee_id,
            ExamAttempt.state.in_(OPEN_STATES),
            ~ExamPaper.practice,
        )
        .order_by(ExamAttempt.id)
    )
    return next((a for a in attempts if accepts_answers(a, now)), None)


def review(
    db: Session, attempt: ExamAttempt, viewer_now: datetime, *, exam_under_way: bool = False
) -> Review:
    """The review of a finished attempt under the paper's policy.

    ``answers_after_close`` shows the answers once the paper's closing time has passed; a paper
    with no closing time never closes, so it shows the score only. ``exam_under_way``: the
    candidate sits another exam now, so the answers wait (``answers_held_back``). After a
    regrade, the key and explanation are those of the corrected version graded against.
    """
    paper = attempt.paper
    if attempt.state is not AttemptState.finished or paper.review_policy is ReviewPolicy.none:
        return Review(state=attempt.state.value)
    result = Review(
        state=attempt.state.value,
        score=attempt.score,
        max_score=attempt.max_score,
        passed=attempt.passed,
        graded=attempt.graded,
    )
    if not answers_shown(paper, viewer_now):
        return result
    if exam_under_way:
        result.answers_held_back = True
        return result
    answers = attempt_answers(db, attempt)
    shown = attempt_items(db, attempt)
    corrected = question_versions(
        db,
        [
            (item.question_id, item.graded_version_number)
            for item, _ in shown
            if item.graded_version_number not in (None, item.version_number)
        ],
    )
    items = []
    for item, data in shown:
        view = registry().for_question(data).public(data)
        if item.option_order and "options" in view:
            view["options"] = [view["options"][i] for i in item.option_order]
        graded = corrected.get((item.question_id, item.graded_version_number), data)
        answer = answers.get(item.id)
        items.append(
            {
                "position": item.position,
                "points": item.points,
                "question": view,
                "response": None if answer is None else to_shown(item, answer.response),
                "points_awarded": None if answer is None else answer.points_awarded,
                "key": answer_key(graded, item),
                "explanation": graded.explanation,
                "comment": "" if answer is None else answer.grader_comment,
            }
        )
    result.items = items
    return result
