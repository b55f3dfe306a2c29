"""In-app notifications and the e-mail outbox.

A notification is one reminder for one person. Its ``dedupe_key`` (``assignment.due:12:2026-03-15``,
``digest:7:2026-W11``...) is unique per person, so that a reminder is created once however often
and however concurrently the reminder rules run: they insert with ``ON CONFLICT DO NOTHING``.

An outbox row is one e-mail to send (queued with a notification, for people with an address).
The sender claims a row with a conditional UPDATE before sending it, so two senders never send
the same row; ``LMS_SMTP_HOST`` empty (development) sends nothing and the rows stay to be read
on the outbox page.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow
from lms.org.models import Employee


class NotificationKind(enum.StrEnum):
    #: an open assignment's due date is near
    assignment_due = "assignment.due"
    #: an open assignment's due date has passed
    assignment_overdue = "assignment.overdue"
    #: a valid certificate ends soon
    certificate_expiring = "certificate.expiring"
    #: a manager's weekly summary of their subtree
    digest = "digest"


class Notification(Base):
    __tablename__ = "lms_notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_employee.id"))
    kind: Mapped[str] = mapped_column(sa.String(40))
    #: what the reminder is about and when: the same key is never notified twice to a person
    dedupe_key: Mapped[str] = mapped_column(sa.String(200))
    #: title and body in the recipient's language, as they were when it was created
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    #: a path inside the app (with the LMS's prefix, without the script root); may be empty
    link: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    employee: Mapped[Employee] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("employee_id", "dedupe_key"),
        # a person's list, newest first, and their unread count
        sa.Index("ix_lms_notification_employee_created", "employee_id", "created_at"),
    )


class OutboxMessage(Base):
    __tablename__ = "lms_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(sa.String(254))
    #: the recipient's name, for the To header
    to_name: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    #: sending attempts so far (a claim counts as one)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    #: set by the sender that is sending it now; cleared when the outcome is recorded
    claimed_at: Mapped[datetime | None]
    #: not retried before this moment (after a failed attempt)
    next_attempt_at: Mapped[datetime | None]
    #: given up: a permanent refusal, the attempts used up, or a send that was interrupted
    failed_at: Mapped[datetime | None]
    #: one e-mail per notification at most
    notification_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lms_notification.id", ondelete="SET NULL"), unique=True
    )

    notification: Mapped[Notification | None] = relationship()
