"""Writing the training ledger. Every row goes through here, never through view code."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.training.models import LedgerEntry, LedgerSource, TrainingForm


def add_ledger_entry(
    db: Session,
    *,
    employee_id: int,
    programme: str,
    title: str,
    form: TrainingForm,
    start_on: date,
    end_on: date,
    hours: Decimal,
    source: LedgerSource,
    source_ref: str,
    course_id: int | None = None,
    score: Decimal | None = None,
    passed: bool = True,
    recorded_by_id: int | None = None,
) -> LedgerEntry | None:
    """Add one ledger row, unless the row for ``(source, source_ref)`` exists already (then
    None): a completion or an import that runs twice, or two requests that race, write one row.

    The insert skips a conflicting row in the database itself (``ON CONFLICT DO NOTHING``), so
    that a race never surfaces as an error and never aborts the caller's transaction.
    """
    values = {
        "employee_id": employee_id,
        "programme": programme,
        "course_id": course_id,
        "title": title[:300],
        "form": form,
        "start_on": start_on,
        "end_on": end_on,
        "hours": hours,
        "score": score,
        "passed": passed,
        "source": source,
        "source_ref": source_ref[:200],
        "recorded_by_id": recorded_by_id,
    }
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (
        insert(LedgerEntry)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["source", "source_ref"])
        .returning(LedgerEntry.id)
    )
    entry_id = db.execute(statement).scalar()
    return None if entry_id is None else db.get(LedgerEntry, entry_id)


def entries_of(db: Session, employee_id: int) -> list[LedgerEntry]:
    """One person's ledger rows, newest first (their 一人一档)."""
    return list(
        db.scalars(
            sa.select(LedgerEntry)
            .where(LedgerEntry.employee_id == employee_id)
            .order_by(LedgerEntry.end_on.desc(), LedgerEntry.id.desc())
        )
    )
