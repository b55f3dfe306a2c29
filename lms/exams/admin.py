"""Editing exam papers (HR): settings, a fixed paper's questions, a drawn paper's rules, the
draw preview, publishing and deleting.

HR's pages (:mod:`lms.exams.admin_views`) call these services; so may a script. They take the
acting employee and plain values, check them, audit every change and only flush; the caller
commits. A refused change raises :class:`PaperError`, whose ``problems`` name the field each
message belongs to.

Whether a drawn paper's rules can be met is decided exactly: rules may overlap (an "any type"
rule and a "single choice" rule of the same bank share questions), so each rule's own count of
available questions is not enough. :func:`check_rules` finds a maximum matching of rule slots to
distinct questions (augmenting paths, as in Kuhn's algorithm, with each rule holding ``count``
slots); all rules can be met together exactly when every slot is matched.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.courses.models import Course, CourseStatus, CourseVersion
from lms.db import Page
from lms.exams.drawing import match_rules
from lms.exams.models import (
    ExamAttempt,
    ExamDrawRule,
    ExamPaper,
    ExamPaperQuestion,
    ItemStatistic,
    PaperKind,
    PaperStatistic,
    ReviewPolicy,
)
from lms.exams.services import rule_query
from lms.i18n import gettext as _
from lms.org.models import Employee
from lms.questions.data import QuestionData
from lms.questions.models import Question, QuestionBank, QuestionLabel, QuestionVersion

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_POINTS = Decimal("999.99")
#: what HR may type for a time: the browser's datetime-local value, or with a space
TIME_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S")
ANY = ""  # a rule's filter left open, in the distribution's keys


class PaperError(ValueError):
    """A refused change; ``problems`` maps a field name (``""``: the whole) to its message."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems.values()))


# -- settings ----------------------------------------------------------------------------------


@dataclass
class PaperFields:
    """What HR types for a paper's settings. Times are in the bureau's local time (``zone``)."""

    code: str
    title: str
    kind: PaperKind | str = PaperKind.fixed
    course_id: int | str | None = None
    opens_at: datetime | str | None = None
    closes_at: datetime | str | None = None
    time_limit_minutes: int | str = 60
    pass_mark: Decimal | int | str = 60
    pass_mark_percent: bool = True
    max_attempts: int | str = 0
    retake_wait_hours: int | str = 0
    shuffle_questions: bool = False
    shuffle_options: bool = False
    review_policy: ReviewPolicy | str = ReviewPolicy.score
    multiple_choice_partial: bool = False
    grace_seconds: int | str = 60
    practice: bool = False


def _int(value: Any, low: int, high: int) -> int | None:
    """A whole number in [low, high] from what was typed, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        if not re.fullmatch(r"[0-9]{1,9}", text):
            return None
        number = int(text)
    return number if low <= number <= high else None


def _points(value: Any, *, zero: bool = False) -> Decimal | None:
    """Points above 0 (or from 0 with ``zero``), at most 999.99, two decimals at most."""
    try:
        number = Decimal(str(value if value is not None else "").strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number != number.quantize(Decimal("0.01")):
        return None
    if number > MAX_POINTS or number < 0 or (number == 0 and not zero):
        return None
    return number.quantize(Decimal("0.01"))


def _moment(value: datetime | str | None, zone: ZoneInfo) -> tuple[datetime | None, bool]:
    """A local time typed by HR as a moment in UTC; (None, False) when empty,
    (None, True) when it cannot be read."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, False
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC), False
    for pattern in TIME_FORMATS:
        try:
            moment = datetime.strptime(value.strip(), pattern).replace(tzinfo=zone)
            return moment.astimezone(UTC), False
        except ValueError:
            continue
    return None, True


def _check_paper(
    db: Session, fields: PaperFields, paper: ExamPaper | None, zone: ZoneInfo
) -> dict[str, Any]:
    """The checked values of a paper's settings; :class:`PaperError` naming every bad field."""
    values: dict[str, Any] = {}
    problems: dict[str, str] = {}
    code = (fields.code or "").strip()
    if not CODE.match(code):
        problems["code"] = _(
            "Code: 1 to 64 letters, digits, dots, hyphens or underscores (such as EX-2026-01)."
        )
    elif db.scalar(
        sa.select(ExamPaper.id).where(
            ExamPaper.code == code, ExamPaper.id != (paper.id if paper else -1)
        )
    ):
        problems["code"] = _("Code: another paper already has the code %(code)s.", code=code)
    values["code"] = code
    title = (fields.title or "").strip()
    if not title or len(title) > 200:
        problems["title"] = _("Title: give the paper a title of at most 200 characters.")
    values["title"] = title
    try:
        kind = PaperKind(fields.kind)
    except ValueError:
        problems["kind"] = _("Kind: choose fixed or drawn.")
    else:
        values["kind"] = kind
        if paper is not None and kind is not paper.kind and (paper.questions or paper.rules):
            problems["kind"] = _(
                "Kind: remove the paper's questions or draw rules before changing its kind."
            )
    course_id = fields.course_id
    if course_id in (None, ""):
        values["course_id"] = None
    else:
        number = _int(course_id, 1, 2**31 - 1)
        if number is None or db.get(Course, number) is None:
            problems["course_id"] = _("Course: no such course.")
        values["course_id"] = number
    opens_at, bad_open = _moment(fields.opens_at, zone)
    closes_at, bad_close = _moment(fields.closes_at, zone)
    if bad_open:
        problems["opens_at"] = _("Opens at: a date and time such as 2026-11-02 09:00.")
    if bad_close:
        problems["closes_at"] = _("Closes at: a date and time such as 2026-11-02 17:00.")
    elif opens_at and closes_at and closes_at <= opens_at:
        problems["closes_at"] = _("Closes at: must be later than the opening time.")
    values["opens_at"], values["closes_at"] = opens_at, closes_at
    numbers = {
        "time_limit_minutes": (
            fields.time_limit_minutes,
            1440,
            _("Time limit: a whole number of minutes from 0 (no limit) to 1440."),
        ),
        "max_attempts": (
            fields.max_attempts,
            100,
            _("Attempts: a whole number from 0 (unlimited) to 100."),
        ),
        "retake_wait_hours": (
            fields.retake_wait_hours,
            8760,
            _("Retake wait: a whole number of hours from 0 to 8760."),
        ),
        "grace_seconds": (
            fields.grace_seconds,
            3600,
            _("Grace period: a whole number of seconds from 0 to 3600."),
        ),
    }
    for name, (value, high, message) in numbers.items():
        values[name] = _int(value, 0, high)
        if values[name] is None:
            problems[name] = message
    values["pass_mark_percent"] = bool(fields.pass_mark_percent)
    mark = _points(fields.pass_mark, zero=True)
    if mark is None or (values["pass_mark_percent"] and mark > 100):
        problems["pass_mark"] = (
            _("Pass mark: a percentage from 0 to 100.")
            if values["pass_mark_percent"]
            else _("Pass mark: points from 0 to 999.99.")
        )
    values["pass_mark"] = mark
    try:
        values["review_policy"] = ReviewPolicy(fields.review_policy)
    except ValueError:
        problems["review_policy"] = _("Review: choose what candidates see after the exam.")
    for name in ("shuffle_questions", "shuffle_options", "multiple_choice_partial", "practice"):
        values[name] = bool(getattr(fields, name))
    if problems:
        raise PaperError(problems)
    return values


def paper_state(paper: ExamPaper) -> dict[str, Any]:
    """A paper's settings as plain data, for the audit log."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.astimezone(UTC).isoformat()
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, PaperKind | ReviewPolicy):
            return value.value
        return value

    names = [
        "code",
        "title",
        "kind",
        "course_id",
        "published",
        "opens_at",
        "closes_at",
        "time_limit_minutes",
        "pass_mark",
        "pass_mark_percent",
        "max_attempts",
        "retake_wait_hours",
        "shuffle_questions",
        "shuffle_options",
        "review_policy",
        "multiple_choice_partial",
        "grace_seconds",
        "practice",
    ]
    return {name: plain(getattr(paper, name)) for name in names}


def create_paper(
    db: Session, actor: Employee | None, fields: PaperFields, *, zone: ZoneInfo
) -> ExamPaper:
    """A new shared paper, unpublished (HR publishes once its questions or rules are right)."""
    values = _check_paper(db, fields, None, zone)
    paper = ExamPaper(published=False, owner_id=None, **values)
    db.add(paper)
    db.flush()
    audit(
        db,
        actor=actor,
        action="exam_paper.create",
        object_type="exam_paper",
        object_id=paper.id,
        summary=f"{paper.code} {paper.title}",
        after=paper_state(paper),
    )
    return paper


def update_paper(
    db: Session, actor: Employee | None, paper: ExamPaper, fields: PaperFields, *, zone: ZoneInfo
) -> tuple[bool, set[int]]:
    """Change a paper's settings. Returns whether anything changed and the ids of the courses
    whose exam may have changed (see :func:`courses_to_republish`)."""
    values = _check_paper(db, fields, paper, zone)
    before = paper_state(paper)
    old_course = paper.course_id
    for name, value in values.items():
        setattr(paper, name, value)
    after = paper_state(paper)
    if before == after:
        return False, set()
    db.flush()
    audit(
        db,
        actor=actor,
        action="exam_paper.update",
        object_type="exam_paper",
        object_id=paper.id,
        summary=f"{paper.code} {paper.title}",
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
    )
    # Candidates only: courses_to_republish compares with what each course's version froze
    # (the exam's code and title are frozen too, so a new title may need a new version).
    courses: set[int] = set()
    if paper.published:
        courses = {c for c in (old_course, paper.course_id) if c is not None}
    return True, courses


# -- the list ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaperRow:
    """A paper on HR's list with its course, size and how often it was attempted."""

    paper: ExamPaper
    course: Course | None
    questions: int
    points: Decimal
    attempts: int


def paper_size(paper: ExamPaper) -> tuple[int, Decimal]:
    """The number of questions a candidate gets and their total points."""
    if paper.kind is PaperKind.drawn:
        return (
            sum(r.count for r in paper.rules),
            sum((r.count * r.points_each for r in paper.rules), Decimal(0)),
        )
    return len(paper.questions), sum((q.points for q in paper.questions), Decimal(0))


def search_papers(
    db: Session, *, query: str = "", page: int = 1, page_size: int = 50
) -> Page[PaperRow]:
    """Shared papers (personal practice papers left out), newest first, filtered by a text in
    the code or title."""
    conditions: list[Any] = [ExamPaper.owner_id.is_(None)]
    if query:
        conditions.append(
            sa.or_(
                ExamPaper.code.contains(query, autoescape=True),
                ExamPaper.title.contains(query, autoescape=True),
            )
        )
    total = db.scalar(sa.select(sa.func.count(ExamPaper.id)).where(*conditions)) or 0
    page = max(1, page)
    papers = db.scalars(
        sa.select(ExamPaper)
        .where(*conditions)
        .order_by(ExamPaper.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    ids = [p.id for p in papers]
    attempts = dict(
        db.execute(
            sa.select(ExamAttempt.paper_id, sa.func.count(ExamAttempt.id))
            .where(ExamAttempt.paper_id.in_(ids))
            .group_by(ExamAttempt.paper_id)
        ).all()
    )
    course_ids = {p.course_id for p in papers if p.course_id}
    courses = {c.id: c for c in db.scalars(sa.select(Course).where(Course.id.in_(course_ids)))}
    rows = []
    for paper in papers:
        count, points = paper_size(paper)
        rows.append(
            PaperRow(
                paper, courses.get(paper.course_id or 0), count, points, attempts.get(paper.id, 0)
            )
        )
    return Page(rows, total, page, page_size)


def paper_contents(
    db: Session, paper: ExamPaper
) -> tuple[dict[int, Question], dict[int, QuestionBank]]:
    """What the paper's page names: a fixed paper's questions by id, a drawn paper's banks by id
    (each empty for the other kind)."""
    questions: dict[int, Question] = {}
    if paper.questions:
        ids = [q.question_id for q in paper.questions]
        questions = {q.id: q for q in db.scalars(sa.select(Question).where(Question.id.in_(ids)))}
    banks = {b.id: b for b in db.scalars(sa.select(QuestionBank))} if paper.rules else {}
    return questions, banks


def attempt_count(db: Session, paper: ExamPaper) -> int:
    return (
        db.scalar(sa.select(sa.func.count(ExamAttempt.id)).where(ExamAttempt.paper_id == paper.id))
        or 0
    )


def course_choices(db: Session) -> list[tuple[int, str]]:
    """Every course that is not retired, by code, for the paper form's menu."""
    rows = db.execute(
        sa.select(Course.id, Course.code, Course.title)
        .where(Course.status != CourseStatus.retired)
        .order_by(Course.code)
    )
    return [(cid, f"{code} {title}") for cid, code, title in rows]


# -- a fixed paper's questions -----------------------------------------------------------------


def _require_kind(paper: ExamPaper, kind: PaperKind) -> None:
    if paper.kind is not kind:
        raise PaperError(
            {
                "": _("Only a fixed paper has its own questions.")
                if kind is PaperKind.fixed
                else _("Only a drawn paper has draw rules.")
            }
        )


def add_questions(
    db: Session,
    actor: Employee | None,
    paper: ExamPaper,
    question_ids: Iterable[int],
    points: Decimal | str,
) -> int:
    """Append enabled questions to a fixed paper with ``points`` each; questions already on the
    paper are skipped. Returns how many were added."""
    _require_kind(paper, PaperKind.fixed)
    problems: dict[str, str] = {}
    each = _points(points)
    if each is None:
        problems["points"] = _("Points: a number above 0 and at most 999.99.")
    wanted = list(dict.fromkeys(int(q) for q in question_ids))
    if not wanted:
        problems["question"] = _("Questions: tick at least one question to add.")
    found = (
        {q.id: q for q in db.scalars(sa.select(Question).where(Question.id.in_(wanted)))}
        if wanted
        else {}
    )
    if any(qid not in found for qid in wanted):
        problems["question"] = _("Questions: some of the ticked questions do not exist.")
    elif any(not found[qid].enabled for qid in wanted):
        problems["question"] = _("Questions: only enabled questions can be added.")
    if problems:
        raise PaperError(problems)
    present = {q.question_id for q in paper.questions}
    position = max((q.position for q in paper.questions), default=0)
    added = []
    for qid in wanted:
        if qid in present:
            continue
        position += 1
        paper.questions.append(ExamPaperQuestion(question_id=qid, points=each, position=position))
        added.append(qid)
    db.flush()
    if added:
        audit(
            db,
            actor=actor,
            action="exam_paper.add_questions",
            object_type="exam_paper",
            object_id=paper.id,
            summary=f"{paper.code}: +{len(added)}",
            after={"questions": added, "points": str(each)},
        )
    return len(added)


def _renumber(paper: ExamPaper) -> None:
    for position, entry in enumerate(sorted(paper.questions, key=lambda q: q.position), 1):
        entry.position = position


def set_question_points(
    db: Session, actor: Employee | None, paper: ExamPaper, entry: ExamPaperQuestion, points: Any
) -> bool:
    """Change the points of one question of a fixed paper; whether it changed."""
    each = _points(points)
    if each is None:
        raise PaperError({"points": _("Points: a number above 0 and at most 999.99.")})
    if entry.points == each:
        return False
    before = str(entry.points)
    entry.points = each
    db.flush()
    audit(
        db,
        actor=actor,
        action="exam_paper.question_points",
        object_type="exam_paper",
        object_id=paper.id,
        summary=f"{paper.code}: question {entry.question_id}",
        before={"question_id": entry.question_id, "points": before},
        after={"question_id": entry.question_id, "points": str(each)},
    )
    return True


def move_question(
    db: Session, actor: Employee | None, paper: ExamPaper, entry: ExamPaperQuestion, offset: int
) -> bool:
    """Move a question one place up (-1) or down (+1); whether it moved."""
    _renumber(paper)
    ordered = sorted(paper.questions, key=lambda q: q.position)
    index = ordered.index(entry)
    target = index + offset
    if not 0 <= target < len(ordered):
        return False
    other = ordered[target]
    entry.position, other.position = other.position, entry.position
    db.flush()
    audit(
        db,
        actor=actor,
        action="exam_paper.move_question",
        object_type="exam_paper",
        object_id=paper.id,
        summary=f"{paper.code}: question {entry.question_id} to {entry.position}",
        after={"question_id": entry.question_id, "position": entry.position},
    )
    return True


def remove_question(
    db: Session, actor: Employee | None, paper: ExamPaper, entry: ExamPaperQuestion
) -> None:
    """Take a question off a fixed paper (attempts already started keep it)."""
    paper.questions.remove(entry)
    db.flush()
    _renumber(paper)
    db.flush()
    audit(
        db,
        actor=actor,
        action="exam_paper.remove_question",
        object_type="exam_paper",
        object_id=paper.id,
        summary=f"{paper.code}: question {entry.question_id}",
        before={"question_id": entry.question_id, "points": str(entry.points)},
    )


# -- a drawn paper's rules ---------------------------------------------------------------------


@dataclass
class RuleFields:
    """A draw rule as typed: the bank's code; empty type, knowledge point or difficulty: any."""

    bank_code: str
    type: str = ""
    knowledge_point: str = ""
    difficulty: int | str | None = None
    count: int | str = 1
    points_each: Decimal | int | str = 1


def _check_rule(db: Session, fields: RuleFields, types: Iterable[str]) -> dict[str, Any]:
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    bank = db.scalar(sa.select(QuestionBank).where(QuestionBank.code == (fields.bank_code or "")))
    if bank is None:
        problems["bank_code"] = _("Bank: choose a question bank.")
    else:
        values["bank_id"] = bank.id
    kind = (fields.type or "").strip()
    if kind and kind not in set(types):
        problems["type"] = _("Type: unknown question type.")
    values["type"] = kind or None
    point = (fields.knowledge_point or "").strip()
    if len(point) > 200:
        problems["knowledge_point"] = _("Knowledge point: at most 200 characters.")
    values["knowledge_point"] = point or None
    if fields.difficulty in (None, ""):
        values["difficulty"] = None
    else:
        values["difficulty"] = _int(fields.difficulty, 1, 5)
        if values["difficulty"] is None:
            problems["difficulty"] = _("Difficulty: 1 to 5, or any.")
    values["count"] = _int(fields.count, 1, 500)
    if values["count"] is None:
        problems["count"] = _("Count: a whole number of questions from 1 to 500.")
    values["points_each"] = _points(fields.points_each)
    if values["points_each"] is None:
        problems["points_each"] = _("Points each: a number above 0 and at most 999.99.")
    if problems:
        raise PaperError(problems)
    return values


def rule_state(rule: ExamDrawRule) -> dict[str, Any]:
    return {
        "bank_id": rule.bank_id,
        "type": rule.type,
        "knowledge_point": rule.knowledge_point,
        "difficulty": rule.difficulty,
        "count": rule.count,
        "points_each": str(rule.points_each),
    }


def add_rule(
    db: Session,
    actor: Employee | None,
    paper: ExamPaper,
    fields: RuleFields,
    *,
    types: Iterable[str],
) -> ExamDrawRule:
    """Add a draw rule to a drawn paper."""
    _require_kind(paper, PaperKind.drawn)
    rule = ExamDrawRule(**_check_rule(db, fields, types))
    paper.rules.append(rule)
    db.flush()
    audit(
        db,
        actor=actor,
        action="exam_paper.add_rule",
        object_type="exam_paper",
        object_id=paper.id,
        summary=f"{paper.code}: rule {rule.id}",
        after=rule_state(rule),
    )
    return rule


def update_rule(
    db: Session,
    actor: Employee | None,
    paper: ExamPaper,
    rule: ExamDrawRule,
    fields: RuleFields,
    *,
    types: Iterable[str],
) -> bool:
    """Change a draw rule; whether anything changed."""
    values = _check_rule(db, fields, types)
    before = rule_state(rule)
    for name, value in values.items():
        setattr(rule, name, value)
    after = rule_state(rule)
    if before == after:
        return False
    db.flush()
    audit(
        db,
        actor=actor,
        action="exam_paper.update_rule",
        object_type="exam_paper",
        object_id=paper.id,
        summary=f"{paper.code}: rule {rule.id}",
        before=before,
        after=after,
    )
    return True


def delete_rule(db: Session, actor: Employee | None, paper: ExamPaper, rule: ExamDrawRule) -> None:
    """Remove a draw rule (attempts already started keep what they drew)."""
    before = rule_state(rule)
    paper.rules.remove(rule)
    db.flush()
    audit(
        db,
        actor=actor,
        action="exam_paper.delete_rule",
        object_type="exam_paper",
        object_id=paper.id,
        summary=f"{paper.code}: rule {rule.id}",
        before=before,
    )


# -- preview: can the rules be met, and the distribution ---------------------------------------


@dataclass
class RuleCheck:
    """One rule in the preview: questions available to it alone, needed, and drawable together
    with the other rules."""

    rule: ExamDrawRule
    bank: QuestionBank | None
    available: int
    needed: int
    together: int

    @property
    def alone_ok(self) -> bool:
        return self.available >= self.needed


@dataclass
class Preview:
    """What the preview page shows of a paper."""

    paper: ExamPaper
    rules: list[RuleCheck] = field(default_factory=list)
    feasible: bool = True
    questions: int = 0
    points: Decimal = Decimal(0)
    #: (type, knowledge point, difficulty) -> [count, points]; ``ANY`` where a rule leaves it open
    distribution: dict[tuple[str, str, str], list[Any]] = field(default_factory=dict)
    #: a fixed paper's disabled questions (left out of new attempts)
    disabled: int = 0


def _pools(db: Session, paper: ExamPaper) -> list[list[int]]:
    # The draw's own query, so that the preview and the draw agree on what a rule may take.
    return [list(db.scalars(rule_query(rule))) for rule in paper.rules]


def check_rules(db: Session, paper: ExamPaper) -> Preview:
    """The preview of a paper: for a drawn paper each rule with its questions available alone
    and together with the others (an exact matching), and for both kinds the size and the
    distribution per question type x knowledge point x difficulty."""
    preview = Preview(paper)
    if paper.kind is PaperKind.drawn:
        pools = _pools(db, paper)
        counts = [rule.count for rule in paper.rules]
        held = match_rules(pools, counts)
        banks = {
            b.id: b
            for b in db.scalars(
                sa.select(QuestionBank).where(QuestionBank.id.in_({r.bank_id for r in paper.rules}))
            )
        }
        for rule, pool, got in zip(paper.rules, pools, held, strict=True):
            preview.rules.append(
                RuleCheck(rule, banks.get(rule.bank_id), len(pool), rule.count, len(got))
            )
            key = (
                rule.type or ANY,
                rule.knowledge_point or ANY,
                str(rule.difficulty) if rule.difficulty is not None else ANY,
            )
            cell = preview.distribution.setdefault(key, [0, Decimal(0)])
            cell[0] += rule.count
            cell[1] += rule.count * rule.points_each
        preview.feasible = bool(paper.rules) and all(
            len(got) == count for got, count in zip(held, counts, strict=True)
        )
    else:
        ids = [q.question_id for q in paper.questions]
        questions = (
            {q.id: q for q in db.scalars(sa.select(Question).where(Question.id.in_(ids)))}
            if ids
            else {}
        )
        points_of = _knowledge_points(db, ids)
        for entry in paper.questions:
            question = questions.get(entry.question_id)
            if question is None or not question.enabled:
                preview.disabled += 1
                continue
            key = (
                question.type,
                "、".join(points_of.get(question.id, [])),
                str(question.difficulty),
            )
            cell = preview.distribution.setdefault(key, [0, Decimal(0)])
            cell[0] += 1
            cell[1] += entry.points
        preview.feasible = bool(preview.distribution)
    preview.distribution = dict(sorted(preview.distribution.items()))
    preview.questions = sum(c for c, _p in preview.distribution.values())
    preview.points = sum((p for _c, p in preview.distribution.values()), Decimal(0))
    return preview


def _knowledge_points(db: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = defaultdict(list)
    if ids:
        for qid, value in db.execute(
            sa.select(QuestionLabel.question_id, QuestionLabel.value)
            .where(QuestionLabel.question_id.in_(ids), QuestionLabel.kind == "knowledge_point")
            .order_by(QuestionLabel.value)
        ):
            result[qid].append(value)
    return result


@dataclass(frozen=True)
class SampleItem:
    """One question of a sample draw, with its answer (HR's page only)."""

    question: Question
    data: QuestionData
    points: Decimal


def sample_draw(
    db: Session, paper: ExamPaper, *, rng: random.Random | None = None
) -> list[SampleItem]:
    """One random draw of the paper as a candidate could get it (before any shuffle), with each
    question's current version. Nothing is stored. Empty when the rules cannot all be met."""
    chosen: list[tuple[int, Decimal]] = []
    if paper.kind is PaperKind.drawn:
        held = match_rules(
            _pools(db, paper), [r.count for r in paper.rules], rng=rng or random.SystemRandom()
        )
        if any(len(got) < rule.count for got, rule in zip(held, paper.rules, strict=True)):
            return []
        for got, rule in zip(held, paper.rules, strict=True):
            chosen.extend((qid, rule.points_each) for qid in got)
    else:
        chosen = [(q.question_id, q.points) for q in paper.questions]
    if not chosen:
        return []
    questions = {
        q.id: q
        for q in db.scalars(sa.select(Question).where(Question.id.in_([c for c, _p in chosen])))
    }
    versions = {
        qid: QuestionData.from_dict(data)
        for qid, data in db.execute(
            sa.select(QuestionVersion.question_id, QuestionVersion.data)
            .join(Question, Question.id == QuestionVersion.question_id)
            .where(
                Question.id.in_(list(questions)),
                QuestionVersion.number == Question.current_number,
            )
        )
    }
    return [
        SampleItem(questions[qid], versions[qid], points)
        for qid, points in chosen
        if qid in questions and questions[qid].enabled and qid in versions
    ]


# -- publishing, deleting, and the course's exam -----------------------------------------------


def publish_problem(db: Session, paper: ExamPaper) -> str | None:
    """Why the paper cannot be published now, or None."""
    if paper.kind is PaperKind.drawn and not paper.rules:
        return _("The paper has no draw rules yet.")
    preview = check_rules(db, paper)
    if not preview.questions:
        return _("The paper has no enabled questions yet.")
    if not preview.feasible:
        return _(
            "The draw rules cannot all be met together: the banks do not have enough distinct "
            "questions. See the preview."
        )
    return None


def set_published(
    db: Session, actor: Employee | None, paper: ExamPaper, published: bool
) -> set[int]:
    """Publish (after :func:`publish_problem` finds nothing) or unpublish a paper. Returns the
    ids of the courses whose exam may have changed."""
    if published:
        problem = publish_problem(db, paper)
        if problem:
            raise PaperError({"": problem})
    if paper.published == published:
        return set()
    paper.published = published
    db.flush()
    audit(
        db,
        actor=actor,
        action="exam_paper.publish" if published else "exam_paper.unpublish",
        object_type="exam_paper",
        object_id=paper.id,
        summary=f"{paper.code} {paper.title}",
        before={"published": not published},
        after={"published": published},
    )
    return {paper.course_id} if paper.course_id is not None else set()


def delete_problem(db: Session, paper: ExamPaper) -> str | None:
    """Why the paper cannot be deleted (it has attempts), or None."""
    if attempt_count(db, paper):
        return _("The paper has attempts, so it cannot be deleted: unpublish it instead.")
    return None


def delete_paper(db: Session, actor: Employee | None, paper: ExamPaper) -> set[int]:
    """Delete a paper nobody attempted, with its questions and rules. Returns the ids of the
    courses whose exam may have changed."""
    problem = delete_problem(db, paper)
    if problem:
        raise PaperError({"": problem})
    before = paper_state(paper)
    courses = {paper.course_id} if paper.published and paper.course_id is not None else set()
    for model in (ItemStatistic, PaperStatistic):
        db.execute(sa.delete(model).where(model.paper_id == paper.id))
    audit(
        db,
        actor=actor,
        action="exam_paper.delete",
        object_type="exam_paper",
        object_id=paper.id,
        summary=f"{paper.code} {paper.title}",
        before=before,
    )
    db.delete(paper)
    db.flush()
    return courses


def courses_to_republish(db: Session, course_ids: Iterable[int]) -> list[Course]:
    """Of the given courses, the published ones whose last version names another exam than
    the course has now: they need a new version so that new runs take the right exam. A draft
    is left alone (its first publication will include the exam), and so is a retired course
    (publishing would bring it back into the catalogue)."""
    from lms.courses.services import course_exam

    result = []
    for course in db.scalars(
        sa.select(Course).where(Course.id.in_(list(course_ids))).order_by(Course.id)
    ):
        if course.status is not CourseStatus.published or course.current_version <= 0:
            continue
        version = db.scalar(
            sa.select(CourseVersion).where(
                CourseVersion.course_id == course.id,
                CourseVersion.number == course.current_version,
            )
        )
        frozen = (version.snapshot or {}).get("exam") if version is not None else None
        if frozen != course_exam(db, course):
            result.append(course)
    return result


def republish_courses(
    db: Session, actor: Employee | None, course_ids: Iterable[int]
) -> list[tuple[Course, CourseVersion]]:
    """Publish again each course of :func:`courses_to_republish` (audited), so that new runs
    take the course's current exam. Call it after the paper's change is committed."""
    from lms.courses.services import publish

    done = []
    for course in courses_to_republish(db, course_ids):
        version = publish(db, course, actor=actor)
        audit(
            db,
            actor=actor,
            action="course.publish",
            object_type="course",
            object_id=course.id,
            summary=f"{course.code} v{version.number}: its exam changed",
            after={"version": version.number, "exam": version.snapshot.get("exam")},
        )
        done.append((course, version))
    db.flush()
    return done
