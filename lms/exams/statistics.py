"""Item statistics: per paper and question the facility and discrimination indexes and how often
each option was chosen, per paper the score distribution; refreshed by the ``exams.statistics``
job and read by HR's statistics page.

Only attempts that say something about the questions count: finished and fully graded attempts
at papers that are not practice papers. The numbers are SQL aggregates (GROUP BY in the
database, a window function to rank the attempts), never Python loops over ORM objects, so a
paper with thousands of attempts costs a few queries. The one exception is the option counts
(see :func:`_option_counts`). Results are stored in :class:`ItemStatistic` and
:class:`PaperStatistic`, replaced whole on every refresh.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.db import utcnow
from lms.exams.models import (
    AttemptAnswer,
    AttemptItem,
    AttemptState,
    ExamAttempt,
    ExamPaper,
    ItemStatistic,
    PaperStatistic,
)
from lms.jobs.services import JobContext, JobFailed, job
from lms.questions.data import QuestionData
from lms.questions.models import Question, QuestionVersion
from lms.questions.types import SingleChoice, TrueFalse, registry

JOB_KIND = "exams.statistics"

#: A question most candidates get right tells little: flagged ``too_easy`` above this facility.
TOO_EASY = 0.9
#: A question few candidates get right may be wrong or unclear: ``too_hard`` below this.
TOO_HARD = 0.2
#: Strong candidates doing worse than weak ones usually means a wrong key or a trick question:
#: ``negative_discrimination`` below this discrimination index.
NEGATIVE_DISCRIMINATION = 0.0
#: The upper and lower groups of the discrimination index: 27% of the attempts each (Kelley's
#: classic share, which balances the groups' size against how far apart they are).
GROUP_SHARE = 0.27
#: Below this many attempts the 27% groups are two or three people: no discrimination index.
MIN_ATTEMPTS_FOR_DISCRIMINATION = 10
#: Score bands of the histogram: [0, 10), [10, 20), ... [90, 100] (the last one inclusive).
BANDS = 10

FLAG_TOO_EASY = "too_easy"
FLAG_TOO_HARD = "too_hard"
FLAG_NEGATIVE = "negative_discrimination"
FLAGS = (FLAG_NEGATIVE, FLAG_TOO_HARD, FLAG_TOO_EASY)

ProgressCallback = Callable[[int, int | None, str], None]


def _counted(paper_id: int | None = None) -> list[sa.ColumnElement[bool]]:
    """The conditions on an attempt (joined to its paper) that make it count."""
    conditions: list[sa.ColumnElement[bool]] = [
        ExamAttempt.state == AttemptState.finished,
        ExamAttempt.graded.is_(True),
        ExamPaper.practice.is_(False),
    ]
    if paper_id is not None:
        conditions.append(ExamAttempt.paper_id == paper_id)
    return conditions


def _ratio(numerator: Any, denominator: Any) -> sa.ColumnElement[float]:
    """numerator / denominator as a float (SQLite divides integers as integers), NULL when the
    denominator is 0."""
    return sa.cast(numerator, sa.Float) / sa.func.nullif(sa.cast(denominator, sa.Float), 0)


def flags_for(facility: float | None, discrimination: float | None) -> list[str]:
    """The flags of a question with these indexes (thresholds: the module constants)."""
    flags = []
    if discrimination is not None and discrimination < NEGATIVE_DISCRIMINATION:
        flags.append(FLAG_NEGATIVE)
    if facility is not None and facility < TOO_HARD:
        flags.append(FLAG_TOO_HARD)
    if facility is not None and facility > TOO_EASY:
        flags.append(FLAG_TOO_EASY)
    return flags


def _group_size(attempts: int) -> int:
    """The size of the upper and lower groups: 27% of the attempts, rounded, at least one."""
    if attempts < MIN_ATTEMPTS_FOR_DISCRIMINATION:
        return 0
    return max(1, math.floor(attempts * GROUP_SHARE + 0.5))


def _paper_summary(db: Session, paper_id: int) -> tuple[int, int, float | None, list[int]]:
    """(attempts, passed, mean percent, histogram) in one GROUP BY over the score bands."""
    percent = sa.func.coalesce(_ratio(ExamAttempt.score * 100, ExamAttempt.max_score), 0.0)
    # Each band by comparison, not by integer division: 90% exactly belongs to the last band
    # and 100% too (the last band is closed), whatever the database's rounding.
    band = sa.case(*[(percent >= 10 * b, b) for b in range(BANDS - 1, 0, -1)], else_=0)
    per_attempt = (
        sa.select(
            band.label("band"),
            sa.case((ExamAttempt.passed.is_(True), 1), else_=0).label("passed"),
            percent.label("percent"),
        )
        .join(ExamPaper, ExamPaper.id == ExamAttempt.paper_id)
        .where(*_counted(paper_id))
        .subquery()
    )
    # Grouped by the subquery's column: PostgreSQL cannot match a GROUP BY expression that
    # carries bound parameters with the same expression in the select list.
    rows = db.execute(
        sa.select(
            per_attempt.c.band,
            sa.func.count(),
            sa.func.sum(per_attempt.c.passed),
            sa.func.sum(per_attempt.c.percent),
        ).group_by(per_attempt.c.band)
    ).all()
    histogram = [0] * BANDS
    attempts = passed_count = 0
    percent_sum = 0.0
    for band_index, count, passed_sum, band_percent in rows:
        histogram[int(band_index)] = int(count)
        attempts += int(count)
        passed_count += int(passed_sum or 0)
        percent_sum += float(band_percent or 0)
    mean = percent_sum / attempts if attempts else None
    return attempts, passed_count, mean, histogram


def _item_indexes(
    db: Session, paper_id: int, attempts: int
) -> list[tuple[int, int, float | None, float | None]]:
    """Per question: (question id, shown, facility, discrimination), in one query.

    The attempts are ranked by their score in percent (a window function; ties by id, so the
    ranking is stable), and each item's earned share (unanswered: 0) is averaged over all
    attempts, over the upper group (rank <= k) and over the lower group (rank > n - k).
    """
    ratio = sa.func.coalesce(_ratio(ExamAttempt.score, ExamAttempt.max_score), 0.0)
    ranked = (
        sa.select(
            ExamAttempt.id.label("attempt_id"),
            sa.func.row_number().over(order_by=(ratio.desc(), ExamAttempt.id)).label("rank"),
        )
        .join(ExamPaper, ExamPaper.id == ExamAttempt.paper_id)
        .where(*_counted(paper_id))
        .subquery()
    )
    # Unanswered items (no answer row) earn 0; items worth 0 points are left out (NULL).
    earned = _ratio(sa.func.coalesce(AttemptAnswer.points_awarded, 0), AttemptItem.points)
    group = _group_size(attempts)
    upper = sa.func.avg(sa.case((ranked.c.rank <= group, earned)))
    lower = sa.func.avg(sa.case((ranked.c.rank > attempts - group, earned)))
    rows = db.execute(
        sa.select(
            AttemptItem.question_id,
            sa.func.count(AttemptItem.id),
            sa.func.avg(earned),
            upper,
            lower,
        )
        .select_from(AttemptItem)
        .join(ranked, ranked.c.attempt_id == AttemptItem.attempt_id)
        .outerjoin(
            AttemptAnswer,
            sa.and_(
                AttemptAnswer.attempt_id == AttemptItem.attempt_id,
                AttemptAnswer.item_id == AttemptItem.id,
            ),
        )
        .group_by(AttemptItem.question_id)
        .order_by(AttemptItem.question_id)
    ).all()
    result = []
    for question_id, shown, facility, top, bottom in rows:
        discrimination = None
        if group and top is not None and bottom is not None:
            discrimination = float(top) - float(bottom)
        result.append(
            (
                question_id,
                int(shown),
                None if facility is None else float(facility),
                discrimination,
            )
        )
    return result


def _option_kind(question_type: str) -> str | None:
    """``"index"`` for types answered by option indexes, ``"bool"`` for true/false."""
    try:
        kind = registry()[question_type]
    except KeyError:
        return None
    if isinstance(kind, SingleChoice):
        return "index"
    if isinstance(kind, TrueFalse):
        return "bool"
    return None


def _option_counts(
    db: Session, paper_id: int, question_ids: list[int]
) -> dict[int, dict[str, int]]:
    """Per choice or true/false question: how often each original option index (or
    ``"true"`` / ``"false"``) was chosen.

    The one count done in Python: responses are JSON (an int, a list of ints, a bool), and
    taking JSON apart in SQL differs between SQLite (json_each) and PostgreSQL
    (jsonb_array_elements) and between scalars and arrays. So the (question, response) rows are
    streamed (``yield_per``: a batch in memory at a time) and counted here; everything else is
    aggregated in the database.
    """
    kinds = {
        qid: kind
        for qid, qtype in db.execute(
            sa.select(Question.id, Question.type).where(Question.id.in_(question_ids))
        )
        if (kind := _option_kind(qtype)) is not None
    }
    counts: dict[int, Counter[str]] = {qid: Counter() for qid in kinds}
    if not kinds:
        return {}
    rows = db.execute(
        sa.select(AttemptItem.question_id, AttemptAnswer.response)
        .join(AttemptAnswer, AttemptAnswer.item_id == AttemptItem.id)
        .join(ExamAttempt, ExamAttempt.id == AttemptItem.attempt_id)
        .join(ExamPaper, ExamPaper.id == ExamAttempt.paper_id)
        .where(*_counted(paper_id), AttemptItem.question_id.in_(list(kinds)))
        .execution_options(yield_per=1000)
    )
    for question_id, response in rows:
        counter = counts[question_id]
        if kinds[question_id] == "bool":
            if isinstance(response, bool):
                counter["true" if response else "false"] += 1
            continue
        values = response if isinstance(response, list) else [response]
        for value in values:
            if isinstance(value, int) and not isinstance(value, bool):
                counter[str(value)] += 1
    return {qid: dict(counter) for qid, counter in counts.items()}


def refresh_paper(db: Session, paper: ExamPaper, *, now: datetime) -> PaperStatistic:
    """Recompute and store the paper's statistics from its counted attempts (finished, graded,
    not practice), replacing the previous ones; returns the paper's row. Only flushes.

    The paper's row is locked first (PostgreSQL; SQLite writers hold the database lock), so two
    refreshes of one paper take turns instead of inserting the same rows twice.
    """
    db.execute(sa.select(ExamPaper.id).where(ExamPaper.id == paper.id).with_for_update())
    attempts, passed, mean, histogram = _paper_summary(db, paper.id)
    indexes = _item_indexes(db, paper.id, attempts) if attempts else []
    options = _option_counts(db, paper.id, [qid for qid, *_rest in indexes]) if indexes else {}
    db.execute(sa.delete(ItemStatistic).where(ItemStatistic.paper_id == paper.id))
    db.execute(sa.delete(PaperStatistic).where(PaperStatistic.paper_id == paper.id))
    for question_id, shown, facility, discrimination in indexes:
        db.add(
            ItemStatistic(
                paper_id=paper.id,
                question_id=question_id,
                shown=shown,
                facility=facility,
                discrimination=discrimination,
                option_counts=options.get(question_id, {}),
                flags=flags_for(facility, discrimination),
                computed_at=now,
            )
        )
    row = PaperStatistic(
        paper_id=paper.id,
        attempts=attempts,
        passed=passed,
        mean_percent=mean,
        histogram=histogram,
        computed_at=now,
    )
    db.add(row)
    db.flush()
    return row


def papers_with_attempts(db: Session) -> list[int]:
    """Ids of the papers (not practice) with at least one counted attempt."""
    return list(
        db.scalars(
            sa.select(ExamAttempt.paper_id)
            .join(ExamPaper, ExamPaper.id == ExamAttempt.paper_id)
            .where(*_counted())
            .distinct()
            .order_by(ExamAttempt.paper_id)
        )
    )


def refresh_all(
    db: Session, *, now: datetime, progress: ProgressCallback | None = None
) -> dict[str, int]:
    """Refresh every paper with counted attempts (the periodic schedule, and the job without a
    paper). Returns ``{"papers": refreshed, "attempts": attempts counted}``. Only flushes."""
    paper_ids = papers_with_attempts(db)
    total_attempts = 0
    for done, paper_id in enumerate(paper_ids):
        paper = db.get(ExamPaper, paper_id)
        if progress is not None:
            progress(done, len(paper_ids), paper.title)
        total_attempts += refresh_paper(db, paper, now=now).attempts
    if progress is not None:
        progress(len(paper_ids), len(paper_ids), "")
    return {"papers": len(paper_ids), "attempts": total_attempts}


@job(JOB_KIND)
def statistics_job(ctx: JobContext, *, paper_id: int | None = None) -> dict[str, Any]:
    """Refresh one paper's statistics (``{"paper_id": id}``) or every paper's (``{}``)."""
    from lms.i18n import gettext as _

    now = utcnow()
    if paper_id is None:
        return refresh_all(ctx.db, now=now, progress=ctx.progress)
    paper = ctx.db.get(ExamPaper, paper_id) if isinstance(paper_id, int) else None
    if paper is None:
        raise JobFailed(_("The exam paper no longer exists."))
    ctx.progress(0, 1, paper.title)
    row = refresh_paper(ctx.db, paper, now=now)
    ctx.progress(1, 1, paper.title)
    return {"papers": 1, "attempts": row.attempts, "paper_id": paper.id}


# -- reading, for the page -----------------------------------------------------------------------


@dataclass(frozen=True)
class OptionCount:
    """One option of a question on the page: its label, text, times chosen and whether right."""

    label: str
    text: str
    count: int
    right: bool


@dataclass(frozen=True)
class ItemRow:
    """One question's statistics with what the page shows of the question (its current
    version: option indexes are stable across versions unless options were added or removed)."""

    statistic: ItemStatistic
    question_type: str
    data: QuestionData | None
    options: list[OptionCount] = field(default_factory=list)


@dataclass(frozen=True)
class PaperReport:
    """A paper's stored statistics (``paper`` None: never refreshed) and its questions'."""

    paper: PaperStatistic | None
    items: list[ItemRow]

    @property
    def pass_rate(self) -> float | None:
        if self.paper is None or not self.paper.attempts:
            return None
        return self.paper.passed / self.paper.attempts


def _options(data: QuestionData, kind: str | None, counts: dict[str, int]) -> list[OptionCount]:
    from lms.i18n import gettext as _
    from lms.questions.display import letter
    from lms.questions.html import html_to_text

    if kind == "index":
        return [
            OptionCount(letter(i), html_to_text(c.text), counts.get(str(i), 0), c.fraction > 0)
            for i, c in enumerate(data.choices)
        ]
    if kind == "bool":
        return [
            OptionCount(_("True"), "", counts.get("true", 0), data.answer_true is True),
            OptionCount(_("False"), "", counts.get("false", 0), data.answer_true is False),
        ]
    return []


def paper_report(db: Session, paper: ExamPaper) -> PaperReport:
    """The stored statistics of ``paper`` for its page: flagged questions first (most flags
    first), then in the paper's order (drawn papers: by question id)."""
    summary = db.scalar(sa.select(PaperStatistic).where(PaperStatistic.paper_id == paper.id))
    statistics = list(
        db.scalars(sa.select(ItemStatistic).where(ItemStatistic.paper_id == paper.id))
    )
    if not statistics:
        return PaperReport(summary, [])
    ids = [s.question_id for s in statistics]
    current = db.execute(
        sa.select(Question.id, Question.type, QuestionVersion.data)
        .join(
            QuestionVersion,
            sa.and_(
                QuestionVersion.question_id == Question.id,
                QuestionVersion.number == Question.current_number,
            ),
        )
        .where(Question.id.in_(ids))
    ).all()
    questions = {qid: (qtype, QuestionData.from_dict(data)) for qid, qtype, data in current}
    position = {q.question_id: q.position for q in paper.questions}
    rows = []
    for statistic in statistics:
        question_type, data = questions.get(statistic.question_id, ("", None))
        options = (
            _options(data, _option_kind(question_type), statistic.option_counts or {})
            if data is not None
            else []
        )
        rows.append(ItemRow(statistic, question_type, data, options))
    rows.sort(
        key=lambda r: (
            -len(r.statistic.flags or []),
            position.get(r.statistic.question_id, 0),
            r.statistic.question_id,
        )
    )
    return PaperReport(summary, rows)


def histogram_bars(histogram: list[int]) -> list[tuple[str, float]]:
    """The histogram as chart bars labelled by band: ``0–10``, ... ``90–100``."""
    return [(f"{10 * b}–{10 * (b + 1)}", float(count)) for b, count in enumerate(histogram)]
