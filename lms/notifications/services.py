"""Notifications: creating them once, queueing their e-mails, and a person's list.

:func:`deliver` is the one writer of notifications. It inserts with ``ON CONFLICT DO NOTHING``
on the person's ``dedupe_key``, so a reminder is created once however often the rules run, and
two runs at once still give one (the unique index decides; the loser inserts nothing and queues
no e-mail). Services take explicit arguments and only flush; the caller commits.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale
from sqlalchemy.orm import Session

from lms.db import Page
from lms.notifications.models import Notification, OutboxMessage

#: rows per multi-row INSERT
CHUNK = 500

#: what an address must look like to be mailed: one @, no spaces or control characters (an
#: address with a line break could add headers to the message)
_ADDRESS = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")


def mailable(address: str | None) -> bool:
    """Whether ``address`` looks like an e-mail address we may send to."""
    return bool(address) and len(address) <= 254 and bool(_ADDRESS.fullmatch(address))  # type: ignore[arg-type]


@contextlib.contextmanager
def in_locale(locale: str) -> Iterator[None]:
    """Translate in ``locale`` within the block: a notification is written in its recipient's
    language, whoever (or whatever periodic task) creates it. Needs an app context (outside
    one, Flask-Babel's ``force_locale`` switches nothing)."""
    with force_locale(locale):
        yield


def recipient_locale(chosen: str | None, *, offered: Collection[str], default: str) -> str:
    """The person's own interface language if it is offered, else the default (Chinese)."""
    return chosen if chosen and chosen in offered else default


@dataclass(frozen=True)
class Mail:
    """An e-mail to queue with a notification."""

    to_address: str
    to_name: str
    subject: str
    body: str


@dataclass(frozen=True)
class Draft:
    """A notification to create unless the person has had its ``key`` already."""

    employee_id: int
    kind: str
    key: str
    title: str
    body: str
    link: str = ""
    mail: Mail | None = None


def _insert(db: Session):  # type: ignore[no-untyped-def]
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def existing_keys(db: Session, pairs: Collection[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which ``(employee id, dedupe key)`` pairs have a notification already (so the rules
    skip composing them; :func:`deliver` decides anyway)."""
    found: set[tuple[int, str]] = set()
    wanted = sorted(set(pairs))
    for start in range(0, len(wanted), CHUNK):
        rows = db.execute(
            sa.select(Notification.employee_id, Notification.dedupe_key).where(
                sa.tuple_(Notification.employee_id, Notification.dedupe_key).in_(
                    wanted[start : start + CHUNK]
                )
            )
        )
        found.update((employee, key) for employee, key in rows)
    return found


def deliver(db: Session, drafts: Sequence[Draft], *, now: datetime) -> list[int]:
    """Create the notifications of ``drafts`` that their people have not had (by key), and
    queue the e-mail of each one created that has a mailable address; the ids created."""
    if not drafts:
        return []
    insert = _insert(db)
    # the same order in every run, so that concurrent runs wait for each other, never deadlock
    ordered = sorted({(d.employee_id, d.key): d for d in drafts}.values(), key=_order)
    created: list[int] = []
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start : start + CHUNK]
        statement = (
            insert(Notification)
            .values(
                [
                    {
                        "employee_id": d.employee_id,
                        "kind": d.kind,
                        "dedupe_key": d.key[:200],
                        "title": d.title[:300],
                        "body": d.body,
                        "link": d.link[:500],
                        "created_at": now,
                    }
                    for d in chunk
                ]
            )
            .on_conflict_do_nothing(index_elements=["employee_id", "dedupe_key"])
            .returning(Notification.id, Notification.employee_id, Notification.dedupe_key)
        )
        won = {(employee, key): id_ for id_, employee, key in db.execute(statement)}
        mails = []
        for draft in chunk:
            notification_id = won.get((draft.employee_id, draft.key[:200]))
            if notification_id is None:
                continue
            created.append(notification_id)
            if draft.mail is not None and mailable(draft.mail.to_address):
                mails.append(
                    {
                        "to_address": draft.mail.to_address,
                        "to_name": draft.mail.to_name[:100],
                        "subject": draft.mail.subject[:300],
                        "body": draft.mail.body,
                        "created_at": now,
                        "attempts": 0,
                        "last_error": "",
                        "notification_id": notification_id,
                    }
                )
        if mails:
            db.execute(sa.insert(OutboxMessage), mails)
    db.flush()
    return created


def _order(draft: Draft) -> tuple[int, str]:
    return draft.employee_id, draft.key


# -- a person's notifications ------------------------------------------------------------------


def unread_count(db: Session, employee_id: int) -> int:
    """How many of the person's notifications are unread (the header's badge)."""
    return (
        db.scalar(
            sa.select(sa.func.count(Notification.id)).where(
                Notification.employee_id == employee_id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def notifications_page(db: Session, employee_id: int, *, page: int, size: int) -> Page:
    """One page of the person's notifications, newest first."""
    total = (
        db.scalar(
            sa.select(sa.func.count(Notification.id)).where(Notification.employee_id == employee_id)
        )
        or 0
    )
    items = db.scalars(
        sa.select(Notification)
        .where(Notification.employee_id == employee_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return Page(items, total, page, size)


def notification_of(db: Session, employee_id: int, notification_id: int) -> Notification | None:
    """The person's own notification with that id; None for another's or none at all."""
    return db.scalar(
        sa.select(Notification).where(
            Notification.id == notification_id, Notification.employee_id == employee_id
        )
    )


def mark_read(db: Session, notification: Notification, *, now: datetime) -> None:
    """Mark one notification read (the first reading stays the time it was read)."""
    if notification.read_at is None:
        notification.read_at = now
        db.flush()


def mark_all_read(db: Session, employee_id: int, *, now: datetime) -> int:
    """Mark all the person's unread notifications read; how many there were."""
    return (
        db.execute(
            sa.update(Notification)
            .where(Notification.employee_id == employee_id, Notification.read_at.is_(None))
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )


# -- the outbox --------------------------------------------------------------------------------


def outbox_status(message: OutboxMessage) -> str:
    """``sent``, ``failed`` (given up), ``sending`` (claimed now), ``retrying`` (failed, will
    be tried again) or ``waiting`` (not tried yet)."""
    if message.sent_at is not None:
        return "sent"
    if message.failed_at is not None:
        return "failed"
    if message.claimed_at is not None:
        return "sending"
    return "retrying" if message.attempts else "waiting"


#: the outbox page's filters, as conditions
OUTBOX_FILTERS: dict[str, sa.ColumnElement[bool]] = {
    "unsent": sa.and_(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)),
    "sent": OutboxMessage.sent_at.is_not(None),
    "failed": OutboxMessage.failed_at.is_not(None),
}


def outbox_page(db: Session, *, status: str | None, page: int, size: int) -> Page:
    """One page of the outbox, newest first; ``status`` one of :data:`OUTBOX_FILTERS` or
    None for every row."""
    condition = OUTBOX_FILTERS.get(status or "", sa.true())
    total = db.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(condition)) or 0
    items = db.scalars(
        sa.select(OutboxMessage)
        .where(condition)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(size)
        .offset((page - 1) * size)
    ).all()
    return Page(items, total, page, size)
