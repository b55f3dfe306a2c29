"""Grading beyond the automatic part: the queue of short answers waiting for a person, grading
(and changing) them, and regrading objective answers after a question is corrected.

Who grades: HR and admins everything, a manager the candidates of their own unit's subtree;
nobody their own attempt. Scope is decided here (:func:`queue_entries`, :func:`can_grade`) so
that the views only answer 404.

Both kinds of grading end in :func:`lms.exams.services.finalize`, which totals the answers'
points, decides the pass and completes the course on a new pass. Each grade locks the attempt
row first (as a save or a submit does), so two graders at once grade one after the other: the
last one wins and the total is computed from what is committed, never from a stale copy.
Services only ``flush()``; the caller commits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record
from lms.exams import services
from lms.exams.models import AttemptAnswer, AttemptItem, AttemptState, ExamAttempt, ExamPaper
from lms.i18n import gettext as _
from lms.org.models import Employee, Role, Unit
from lms.questions.data import QuestionData
from lms.questions.models import Question, QuestionVersion
from lms.questions.types import registry
from lms.security import can_see_employee, employee_scope, is_staff

GRADER_ROLES = frozenset({Role.hr, Role.admin, Role.manager})
#: points as a grader types them: digits with at most two decimals
POINTS_PATTERN = re.compile(r"^\d{1,6}(\.\d{1,2})?$")
MAX_COMMENT = 2000


class GradingError(ValueError):
    """Refused grades; ``problems`` maps an item id (0: the whole form) to its message."""

    def __init__(self, problems: dict[int, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems.values()))


def manual_types() -> list[str]:
    """The question types a person grades (short answers, and any plug-in of that kind)."""
    return [name for name, kind in registry().items() if not kind.auto_graded]


# -- the queue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueEntry:
    """A finished attempt with answers waiting for a person."""

    attempt: ExamAttempt
    employee: Employee
    unit: Unit
    paper: ExamPaper
    waiting: int


def queue_entries(db: Session, actor: Employee) -> list[QueueEntry]:
    """Finished attempts still waiting for a person, in ``actor``'s scope (a manager: their
    unit's subtree), oldest submission first. ``actor``'s own attempts are left out: nobody
    grades themselves."""
    if actor.role not in GRADER_ROLES:
        return []
    waiting = (
        sa.select(AttemptAnswer.attempt_id, sa.func.count().label("waiting"))
        .join(AttemptItem, AttemptItem.id == AttemptAnswer.item_id)
        .join(Question, Question.id == AttemptItem.question_id)
        .where(AttemptAnswer.points_awarded.is_(None), Question.type.in_(manual_types()))
        .group_by(AttemptAnswer.attempt_id)
        .subquery()
    )
    rows = db.execute(
        sa.select(ExamAttempt, Employee, Unit, ExamPaper, waiting.c.waiting)
        .join(Employee, Employee.id == ExamAttempt.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .join(ExamPaper, ExamPaper.id == ExamAttempt.paper_id)
        .outerjoin(waiting, waiting.c.attempt_id == ExamAttempt.id)
        .where(
            ExamAttempt.state == AttemptState.finished,
            ExamAttempt.graded.is_(False),
            ExamAttempt.employee_id != actor.id,
            employee_scope(actor),
        )
        .order_by(ExamAttempt.finished_at, ExamAttempt.id)
    ).all()
    return [
        QueueEntry(attempt, employee, unit, paper, count or 0)
        for attempt, employee, unit, paper, count in rows
    ]


def can_grade(actor: Employee, attempt: ExamAttempt, candidate: Employee) -> bool:
    """Whether ``actor`` may grade ``attempt`` (of ``candidate``): a finished attempt of someone
    else in their scope, and ``actor`` is HR, an admin or a manager."""
    return (
        actor.role in GRADER_ROLES
        and attempt.state is AttemptState.finished
        and candidate.id != actor.id
        and (is_staff(actor) or can_see_employee(actor, candidate))
    )


# -- grading one attempt -----------------------------------------------------------------------


@dataclass
class ManualItem:
    """A short-answer item of an attempt as the grader sees it (answer None: not answered,
    worth nothing, nothing to grade)."""

    item: AttemptItem
    data: QuestionData
    answer: AttemptAnswer | None
    grader: Employee | None = None

    @property
    def response_text(self) -> str:
        response = self.answer.response if self.answer is not None else None
        if response is None:
            return ""
        return response if isinstance(response, str) else str(response)


def manual_items(db: Session, attempt: ExamAttempt) -> list[ManualItem]:
    """The attempt's items of the types a person grades, in paper order, with their answers."""
    answers = services.attempt_answers(db, attempt)
    result = []
    for item, data in services.attempt_items(db, attempt):
        if registry().for_question(data).auto_graded:
            continue
        answer = answers.get(item.id)
        grader = None
        if answer is not None and answer.graded_by_id is not None:
            grader = db.get(Employee, answer.graded_by_id)
        result.append(ManualItem(item, data, answer, grader))
    return result


def parse_points(text: str, maximum: Decimal) -> Decimal | None:
    """``text`` as points from 0 to ``maximum`` with at most two decimals; None if it is not."""
    text = text.strip()
    if not POINTS_PATTERN.match(text):
        return None
    points = Decimal(text)
    return points if points <= maximum else None


def grade_attempt(
    db: Session,
    attempt: ExamAttempt,
    entries: dict[int, tuple[str, str]],
    *,
    actor: Employee,
    now: datetime,
) -> int:
    """Grade the attempt's short answers from ``entries`` (item id -> (points as typed,
    comment)) and finalize the attempt; returns how many answers changed.

    Empty points leave an item as it is. Points must be 0 to the item's points with at most two
    decimals; any bad entry raises :class:`GradingError` naming the item, before anything
    changes. Changing an earlier grade (a person's regrade) works the same way. Each changed
    answer gets an ``exam.grade`` audit entry with the points and comment before and after.
    """
    attempt = services.lock_attempt(db, attempt)  # a second grader waits here, then sees our grades
    items = manual_items(db, attempt)
    problems: dict[int, str] = {}
    planned: list[tuple[ManualItem, Decimal, str]] = []
    for manual in items:
        if manual.answer is None:
            continue
        # A concurrent grader may have changed the answer: read it as committed.
        db.refresh(manual.answer)
        typed, comment = entries.get(manual.item.id, ("", ""))
        comment = comment.strip()
        if not typed.strip():
            continue
        points = parse_points(typed, manual.item.points)
        if points is None:
            problems[manual.item.id] = _(
                "Question %(n)d: points must be a number from 0 to %(max)s with at most two "
                "decimals.",
                n=manual.item.position,
                max=_plain(manual.item.points),
            )
            continue
        if len(comment) > MAX_COMMENT:
            problems[manual.item.id] = _(
                "Question %(n)d: the comment is longer than %(max)d characters.",
                n=manual.item.position,
                max=MAX_COMMENT,
            )
            continue
        planned.append((manual, points, comment))
    if problems:
        raise GradingError(problems)
    changed = 0
    for manual, points, comment in planned:
        answer = manual.answer
        assert answer is not None
        if answer.points_awarded == points and answer.grader_comment == comment:
            continue
        before = {"points": _plain(answer.points_awarded), "comment": answer.grader_comment}
        answer.points_awarded = points
        answer.fraction = float(points / manual.item.points) if manual.item.points else 0.0
        answer.graded_by_id = actor.id
        answer.graded_at = now
        answer.grader_comment = comment
        entry = record(
            db,
            actor=actor,
            action="exam.grade",
            object_type="exam_attempt",
            object_id=attempt.id,
            summary=f"attempt {attempt.id} question {manual.item.position}: "
            f"{before['points'] or '-'} -> {_plain(points)}",
            before=before | {"item": manual.item.position},
            after={"points": _plain(points), "comment": comment, "item": manual.item.position},
        )
        entry.at = now
        changed += 1
    if changed:
        db.flush()
        services.finalize(db, attempt, now=now)
    return changed


def _plain(value: Decimal | None) -> str | None:
    """Points as text for the audit log and messages: ``10``, ``2.5``."""
    if value is None:
        return None
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- regrading after a correction --------------------------------------------------------------

OPTIONS_CHANGED = "options_changed"
TYPE_CHANGED = "type_changed"


@dataclass
class RegradeItem:
    """One answer to an earlier version: its points now and against the current version.
    ``flag`` set: the response cannot be mapped safely, so apply leaves it alone."""

    item: AttemptItem
    answer: AttemptAnswer
    old_points: Decimal | None
    new_points: Decimal | None
    new_fraction: float | None
    flag: str | None = None

    @property
    def changes(self) -> bool:
        return self.flag is None and self.old_points != self.new_points


@dataclass
class RegradeRow:
    """A finished attempt with answers to an earlier version, before and after."""

    attempt: ExamAttempt
    employee: Employee
    paper: ExamPaper
    items: list[RegradeItem]
    old_score: Decimal | None
    new_score: Decimal | None
    old_passed: bool | None
    new_passed: bool | None

    @property
    def changed(self) -> bool:
        return self.old_score != self.new_score or self.old_passed != self.new_passed

    @property
    def loses_pass(self) -> bool:
        """Passed before, fails now: the course completion it gave stays (say so)."""
        return self.old_passed is True and self.new_passed is False

    @property
    def gains_pass(self) -> bool:
        return self.old_passed is not True and self.new_passed is True

    @property
    def flagged(self) -> list[RegradeItem]:
        return [i for i in self.items if i.flag]


@dataclass
class RegradePreview:
    question: Question
    version_number: int
    #: False: the current version is graded by people, nothing is regraded
    objective: bool
    rows: list[RegradeRow] = field(default_factory=list)

    @property
    def changed_rows(self) -> list[RegradeRow]:
        return [r for r in self.rows if r.changed]

    @property
    def flagged_items(self) -> list[tuple[RegradeRow, RegradeItem]]:
        return [(r, i) for r in self.rows for i in r.items if i.flag]

    @property
    def regradable(self) -> int:
        """Answers that apply would grade against the current version."""
        return sum(1 for r in self.rows for i in r.items if not i.flag)


def _flag(old: QuestionData, new: QuestionData) -> str | None:
    """Why an answer to ``old`` cannot be graded against ``new`` without a person."""
    if old.type != new.type:
        return TYPE_CHANGED
    if len(old.choices) != len(new.choices):
        return OPTIONS_CHANGED  # the stored option indexes may point at other options now
    return None


def _new_grade(
    answer: AttemptAnswer, item: AttemptItem, data: QuestionData, *, proportional: bool
) -> tuple[Decimal | None, float | None]:
    """What ``answer`` earns against ``data``, computed on a copy (nothing changes)."""
    probe = AttemptAnswer(response=answer.response)
    services.grade_answer(probe, item, data, proportional=proportional)
    return probe.points_awarded, probe.fraction


def regrade_preview(db: Session, question_id: int, *, now: datetime) -> RegradePreview | None:
    """The dry run of :func:`regrade_apply`: per finished attempt whose answer to the question
    was graded against an earlier version, the points and the score and pass before and after.
    Changes nothing. None for an unknown question.

    Answers whose options changed in number (or whose type changed) are listed with a flag and
    the points they would get, but apply leaves them alone. A question now graded by people is
    not regraded at all. ``now`` is when the dry run is made (services take the clock; the
    dry run records nothing).
    """
    question = db.get(Question, question_id) if 0 < question_id <= 2**31 - 1 else None
    if question is None:
        return None
    current_number = question.current_number
    preview = RegradePreview(question, current_number, objective=True)
    current_row = db.scalar(
        sa.select(QuestionVersion.data).where(
            QuestionVersion.question_id == question.id, QuestionVersion.number == current_number
        )
    )
    if current_row is None:
        return preview
    current = QuestionData.from_dict(current_row)
    if not registry().for_question(current).auto_graded:
        preview.objective = False
        return preview
    rows = db.execute(
        sa.select(AttemptItem, AttemptAnswer, ExamAttempt)
        .join(AttemptAnswer, AttemptAnswer.item_id == AttemptItem.id)
        .join(ExamAttempt, ExamAttempt.id == AttemptItem.attempt_id)
        .where(
            AttemptItem.question_id == question.id,
            ExamAttempt.state == AttemptState.finished,
            sa.func.coalesce(AttemptItem.graded_version_number, AttemptItem.version_number)
            != current_number,
        )
        .order_by(ExamAttempt.finished_at, ExamAttempt.id, AttemptItem.position)
    ).all()
    versions = services.question_versions(
        db, sorted({(item.question_id, item.version_number) for item, _a, _t in rows})
    )
    by_attempt: dict[int, RegradeRow] = {}
    for item, answer, attempt in rows:
        old = versions[(item.question_id, item.version_number)]
        if not registry().for_question(old).auto_graded:
            continue  # an earlier version graded by people: their grade stands
        new_points, new_fraction = _new_grade(
            answer, item, current, proportional=attempt.paper.multiple_choice_partial
        )
        regrade = RegradeItem(
            item, answer, answer.points_awarded, new_points, new_fraction, _flag(old, current)
        )
        row = by_attempt.get(attempt.id)
        if row is None:
            employee = db.get(Employee, attempt.employee_id)
            assert employee is not None
            row = by_attempt[attempt.id] = RegradeRow(
                attempt,
                employee,
                attempt.paper,
                [],
                attempt.score,
                attempt.score,
                attempt.passed,
                attempt.passed,
            )
        row.items.append(regrade)
    for row in by_attempt.values():
        delta = sum(
            (
                (i.new_points or Decimal(0)) - (i.old_points or Decimal(0))
                for i in row.items
                if i.changes
            ),
            Decimal(0),
        )
        row.new_score = (row.old_score or Decimal(0)) + delta
        if row.attempt.graded:
            row.new_passed = services.passes(row.paper, row.new_score, row.attempt.max_score)
        preview.rows.append(row)
    return preview


@dataclass
class RegradeResult:
    """What :func:`regrade_apply` did."""

    version_number: int
    answers: int = 0
    changed: list[RegradeRow] = field(default_factory=list)
    flagged: list[tuple[RegradeRow, RegradeItem]] = field(default_factory=list)

    @property
    def lost_pass(self) -> list[RegradeRow]:
        return [r for r in self.changed if r.loses_pass]

    @property
    def gained_pass(self) -> list[RegradeRow]:
        return [r for r in self.changed if r.gains_pass]


def regrade_apply(
    db: Session, question_id: int, *, actor: Employee | None, now: datetime
) -> RegradeResult | None:
    """Grade the answers of :func:`regrade_preview` (not the flagged ones) against the
    question's current version, mark their items as graded against it and finalize each
    attempt: a new pass completes the course; a pass turned into a fail leaves the completion
    as it was. One ``exam.regrade`` audit entry per attempt whose score or pass changed and a
    ``question.regrade`` summary. Applying again finds nothing to do and records nothing.
    None for an unknown question."""
    preview = regrade_preview(db, question_id, now=now)
    if preview is None:
        return None
    result = RegradeResult(preview.version_number, flagged=preview.flagged_items)
    current = None
    for row in preview.rows:
        todo = [i for i in row.items if not i.flag]
        if not todo:
            continue
        attempt = services.lock_attempt(db, row.attempt)
        before = {"score": _plain(attempt.score), "passed": attempt.passed}
        if current is None:
            current = services.question_versions(db, [(question_id, preview.version_number)])[
                (question_id, preview.version_number)
            ]
        for regrade in todo:
            db.refresh(regrade.answer)  # as committed, after the lock
            services.grade_answer(
                regrade.answer,
                regrade.item,
                current,
                proportional=attempt.paper.multiple_choice_partial,
            )
            regrade.item.graded_version_number = preview.version_number
            result.answers += 1
        db.flush()
        services.finalize(db, attempt, now=now)
        after = {"score": _plain(attempt.score), "passed": attempt.passed}
        row.new_score, row.new_passed = attempt.score, attempt.passed
        if before != after:
            result.changed.append(row)
            entry = record(
                db,
                actor=actor,
                action="exam.regrade",
                object_type="exam_attempt",
                object_id=attempt.id,
                summary=f"question {question_id} v{preview.version_number}: "
                f"{before['score']} -> {after['score']}",
                before=before | {"question_id": question_id},
                after=after | {"question_id": question_id, "version": preview.version_number},
            )
            entry.at = now
    if result.answers:
        entry = record(
            db,
            actor=actor,
            action="question.regrade",
            object_type="question",
            object_id=question_id,
            summary=f"regraded {result.answers} answers against version "
            f"{preview.version_number}; {len(result.changed)} attempts changed",
            after={
                "version": preview.version_number,
                "answers": result.answers,
                "attempts_changed": [r.attempt.id for r in result.changed],
                "lost_pass": [r.attempt.id for r in result.lost_pass],
                "flagged": [i.item.id for _r, i in result.flagged],
            },
        )
        entry.at = now
    db.flush()
    return result


def regrade_summary(result: RegradeResult) -> dict[str, Any]:
    """Counts for a page or a log line."""
    return {
        "answers": result.answers,
        "changed": len(result.changed),
        "lost_pass": len(result.lost_pass),
        "gained_pass": len(result.gained_pass),
        "flagged": len(result.flagged),
    }
