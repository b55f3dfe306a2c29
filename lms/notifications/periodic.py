"""The reminders' periodic tasks (run by ``lms jobs run-due``; see :mod:`lms.jobs.schedule`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from lms.i18n import local_date
from lms.jobs.schedule import periodic
from lms.notifications.mail import SmtpSettings, send_pending
from lms.notifications.reminders import ReminderSettings, run_reminders


# Hourly, though most rules change only with the date: each reminder is created once anyway,
# and a new day's (or week's) reminders then come within the hour after midnight, whenever
# the server was started.
@periodic("notifications.reminders", every=timedelta(hours=1))
def remind(db: Session, now: datetime) -> dict[str, Any]:
    """Create the reminders due today (due dates, overdue assignments, certificates ending,
    managers' weekly digests), each once, with their e-mails queued."""
    settings = ReminderSettings.from_config(current_app.config)
    return run_reminders(db, today=local_date(now), now=now, settings=settings).as_dict()


@periodic("notifications.send", every=timedelta(minutes=1))
def send(db: Session, now: datetime) -> dict[str, Any]:
    """Send the outbox's e-mails by SMTP (nothing when LMS_SMTP_HOST is empty)."""
    return send_pending(
        db, now=now, settings=SmtpSettings.from_config(current_app.config)
    ).as_dict()
