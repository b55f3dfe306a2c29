"""Training's periodic tasks (run by ``lms jobs run-due``; see :mod:`lms.jobs.schedule`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from lms.i18n import local_date
from lms.jobs.schedule import periodic
from lms.training import matrix


@periodic("training.matrix", every=timedelta(days=1))
def follow_the_matrix(db: Session, now: datetime) -> dict[str, Any]:
    """Assign what the training matrix requires of everyone (newcomers, renewals falling due,
    certificates nearing their end) and close what it no longer requires."""
    result = matrix.sync(
        db,
        today=local_date(now),
        lead_days=int(current_app.config["LMS_CERTIFICATE_EXPIRING_DAYS"]),
        now=now,
    )
    return {"created": result.created, "closed": result.closed}
