"""The exams' periodic tasks (run by ``lms jobs run-due``; see :mod:`lms.jobs.schedule`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from lms.exams import services
from lms.jobs.schedule import periodic


@periodic("exams.finish_overdue", every=timedelta(minutes=1))
def finish_overdue_attempts(db: Session, now: datetime) -> dict[str, Any]:
    """Finish and grade exam attempts past their deadline and grace."""
    return {"finished": services.finish_overdue(db, now=now)}


@periodic("exams.statistics", every=timedelta(hours=6))
def refresh_item_statistics(db: Session, now: datetime) -> dict[str, Any]:
    """Refresh the item statistics and score distributions of the papers with attempts."""
    from lms.exams.statistics import refresh_all

    return refresh_all(db, now=now)
