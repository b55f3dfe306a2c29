"""HR's view of a paper's attempts: who sat it, how it went, and voiding an attempt that a
technical failure (a power cut in the exam room, a broken computer) made unfair.

A voided attempt is *abandoned*: it ends ungraded, is left out of results and statistics, and
does not use up one of the candidate's attempts (they may start again at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.db import Page
from lms.exams.models import AttemptState, ExamAttempt, ExamPaper
from lms.exams.services import OPEN_STATES, ExamError
from lms.org.models import Employee, Unit

REASON_MAX = 500


@dataclass(frozen=True)
class AttemptRow:
    attempt: ExamAttempt
    employee: Employee
    unit: Unit | None


def paper_attempts(
    db: Session, paper: ExamPaper, *, state: str = "", page: int = 1, page_size: int = 50
) -> Page[AttemptRow]:
    """The paper's attempts, the most recently started first, optionally in one state."""
    conditions = [ExamAttempt.paper_id == paper.id]
    if state in AttemptState.__members__:
        conditions.append(ExamAttempt.state == AttemptState(state))
    total = db.scalar(sa.select(sa.func.count(ExamAttempt.id)).where(*conditions)) or 0
    page = max(1, page)
    rows = db.execute(
        sa.select(ExamAttempt, Employee, Unit)
        .join(Employee, Employee.id == ExamAttempt.employee_id)
        .outerjoin(Unit, Unit.id == Employee.unit_id)
        .where(*conditions)
        .order_by(ExamAttempt.started_at.desc(), ExamAttempt.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return Page([AttemptRow(*row) for row in rows], total, page, page_size)


def void_attempt(
    db: Session, attempt: ExamAttempt, *, actor: Employee, reason: str, now: datetime
) -> None:
    """End an open attempt as abandoned, ungraded, with the reason in the audit log.

    Refused (:class:`ExamError`) without a reason, and for an attempt no longer open: a
    submit that got there first wins, exactly as two submits do (a conditional UPDATE).
    """
    reason = " ".join(reason.split())
    if not reason:
        raise ExamError("a reason is needed")
    if len(reason) > REASON_MAX:
        raise ExamError("the reason is too long")
    voided = db.execute(
        sa.update(ExamAttempt)
        .where(ExamAttempt.id == attempt.id, ExamAttempt.state.in_(OPEN_STATES))
        .values(state=AttemptState.abandoned, finished_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    before = attempt.state.value
    db.refresh(attempt)
    if not voided:
        raise ExamError("the attempt is not open")
    audit(
        db,
        actor=actor,
        action="exam_attempt.void",
        object_type="exam_attempt",
        object_id=attempt.id,
        summary=f"{attempt.paper.code} #{attempt.number}: {reason}",
        before={"state": before},
        after={"state": attempt.state.value, "reason": reason},
    )
    db.flush()
