"""E-mail: the text of a reminder's message, and the sender that empties the outbox by SMTP.

The sender never sends a row twice. It claims each row with a conditional UPDATE (committed)
before sending it, so a second sender running at the same time skips it; it records the outcome
as soon as it knows it. A failure is retried later, a few times, with the error kept on the row;
a permanent refusal (an SMTP 5xx) is not retried. A row left claimed (the sender stopped while
sending) is given up, not sent again: the message may have gone out.

``LMS_SMTP_HOST`` empty sends nothing: the rows stay in the outbox, whose page shows what would
have been sent (the development mode).
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.i18n import gettext as _
from lms.notifications.models import OutboxMessage

#: rows one run sends at most (the task runs every minute)
BATCH = 200
#: waits before the 2nd, 3rd... attempt
RETRY_DELAYS = (
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=4),
    timedelta(hours=12),
)
#: a claim older than this belongs to a sender that stopped half-way
CLAIM_LEASE = timedelta(minutes=15)
#: refusals of one message (smtplib's errors are OSErrors, as are network failures): any
#: other OSError means the server or the network is the problem, and the run stops there
MESSAGE_ERRORS: tuple[type[BaseException], ...] = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPDataError,
)


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send (``LMS_SMTP_*``, ``LMS_MAIL_*``)."""

    host: str = ""
    port: int = 25
    user: str = ""
    password: str = ""
    starttls: bool = False
    ssl: bool = False
    sender: str = ""
    max_attempts: int = 5
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings:
        return cls(
            host=(config["LMS_SMTP_HOST"] or "").strip(),
            port=int(config["LMS_SMTP_PORT"]),
            user=config["LMS_SMTP_USER"] or "",
            password=config["LMS_SMTP_PASSWORD"] or "",
            starttls=bool(config["LMS_SMTP_STARTTLS"]),
            ssl=bool(config["LMS_SMTP_SSL"]),
            sender=(config["LMS_MAIL_FROM"] or "").strip(),
            max_attempts=max(1, int(config["LMS_MAIL_MAX_ATTEMPTS"])),
        )

    @property
    def enabled(self) -> bool:
        """False when no SMTP server is set: nothing is sent (development)."""
        return bool(self.host)

    @property
    def from_address(self) -> str:
        """``LMS_MAIL_FROM``, else the SMTP user when it is an address (most servers insist
        that the sender is the account), else ``lms@localhost``."""
        if self.sender:
            return self.sender
        return self.user if "@" in self.user else "lms@localhost"


def compose(
    *, name: str, title: str, body: str, link: str, bureau: str, public_url: str
) -> tuple[str, str]:
    """The subject and text of a notification's e-mail, in the current locale; the link is
    given as an address only when ``LMS_PUBLIC_URL`` says where the LMS is."""
    subject = _("[%(bureau)s] %(title)s", bureau=bureau, title=title)
    parts = [_("Dear %(name)s,", name=name), "", body]
    if link and public_url:
        parts += ["", _("Open: %(url)s", url=public_url.rstrip("/") + link)]
    parts += [
        "",
        "-- ",
        _(
            "Sent by the training and certification system of %(bureau)s. "
            "Please do not reply to this message.",
            bureau=bureau,
        ),
    ]
    return subject, "\n".join(parts)


class Connection(Protocol):
    def send_message(self, message: EmailMessage) -> Any: ...

    def quit(self) -> Any: ...


def open_smtp(settings: SmtpSettings) -> Connection:
    """An SMTP connection as the settings say: implicit TLS (``LMS_SMTP_SSL``, port 465) or
    plain with STARTTLS, signed in when a user is set."""
    context = ssl.create_default_context()
    connection: smtplib.SMTP
    if settings.ssl:
        connection = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    else:
        connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.starttls:
            connection.starttls(context=context)
    try:
        if settings.user:
            connection.login(settings.user, settings.password)
    except BaseException:
        connection.close()
        raise
    return connection


def build_message(
    *,
    message_id: int,
    to_address: str,
    to_name: str,
    subject: str,
    body: str,
    sender: str,
    now: datetime,
) -> EmailMessage:
    """The e-mail of an outbox row: plain text in UTF-8, marked as sent automatically."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = formataddr((to_name, to_address)) if to_name else to_address
    message["Date"] = format_datetime(now)
    domain = sender.rpartition("@")[2].strip(" >") or "localhost"
    message["Message-ID"] = make_msgid(idstring=f"lms-outbox-{message_id}", domain=domain)
    # RFC 3834: no out-of-office replies to a machine
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


@dataclass
class SendResult:
    sent: int = 0
    #: failed this time, to be tried again
    retrying: int = 0
    #: given up this time (a permanent refusal, or the attempts used up)
    failed: int = 0
    #: given up because a sender stopped while sending them
    interrupted: int = 0
    #: no SMTP server set: nothing sent
    disabled: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _permanent(error: BaseException) -> bool:
    """An SMTP 5xx: the server will not take this message, however often it is tried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return bool(codes) and all(500 <= code < 600 for code in codes)
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600
    return False


def _describe(error: BaseException) -> str:
    """The error as the outbox page shows it: ``SMTPRecipientsRefused: a@b.cn: 550 no such
    user``."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        text = "; ".join(
            f"{address}: {code} {_text(reply)}"
            for address, (code, reply) in error.recipients.items()
        )
    elif isinstance(error, smtplib.SMTPResponseException):
        text = f"{error.smtp_code} {_text(error.smtp_error)}"
    else:
        text = str(error)
    return f"{type(error).__name__}: {text}"[:1000]


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _unsent() -> sa.ColumnElement[bool]:
    return sa.and_(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))


def send_pending(
    db: Session,
    *,
    now: datetime,
    settings: SmtpSettings,
    connect: Callable[[SmtpSettings], Connection] = open_smtp,
    limit: int = BATCH,
) -> SendResult:
    """Send the outbox rows that are due, oldest first, at most ``limit``.

    Unlike other services this one commits, on ``db``: each claim must be visible to other
    senders before its message goes out, and each outcome recorded as soon as it is known; no
    transaction stays open while the SMTP server is talked to. ``connect`` opens the
    connection (once, on the first row; tests pass their own).
    """
    result = SendResult()
    if not settings.enabled:
        result.disabled = True
        return result
    result.interrupted = (
        db.execute(
            sa.update(OutboxMessage)
            .where(_unsent(), OutboxMessage.claimed_at < now - CLAIM_LEASE)
            .values(
                failed_at=now,
                claimed_at=None,
                last_error="Interrupted while sending; not sent again, as it may have gone out.",
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )
    due = sa.and_(
        _unsent(),
        OutboxMessage.claimed_at.is_(None),
        OutboxMessage.attempts < settings.max_attempts,
        sa.or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    )
    ids = list(
        db.scalars(sa.select(OutboxMessage.id).where(due).order_by(OutboxMessage.id).limit(limit))
    )
    db.commit()
    connection: Connection | None = None
    try:
        for message_id in ids:
            claimed = _claim(db, message_id, due, now)
            if claimed is None:
                continue  # another sender has it, or had it
            attempts, message = claimed
            try:
                if connection is None:
                    connection = connect(settings)
                connection.send_message(
                    build_message(
                        message_id=message_id, sender=settings.from_address, now=now, **message
                    )
                )
            except Exception as error:  # recorded on the row; the task goes on
                give_up = _permanent(error) or attempts >= settings.max_attempts
                _record_failure(db, message_id, error, now=now, attempts=attempts, give_up=give_up)
                if give_up:
                    result.failed += 1
                else:
                    result.retrying += 1
                if isinstance(error, OSError) and not isinstance(error, MESSAGE_ERRORS):
                    _close(connection)
                    connection = None
                    break  # the server is the problem: the others wait for the next run
                continue
            _record_sent(db, message_id, now=now)
            result.sent += 1
    finally:
        _close(connection)
    return result


def _claim(
    db: Session, message_id: int, due: sa.ColumnElement[bool], now: datetime
) -> tuple[int, dict[str, str]] | None:
    """Claim one row for sending (committed): its attempt count and what to send, or None if
    it is not due any more (another sender claimed or sent it)."""
    won = db.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id, due)
        .values(claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        db.commit()
        return None
    row = db.execute(
        sa.select(
            OutboxMessage.attempts,
            OutboxMessage.to_address,
            OutboxMessage.to_name,
            OutboxMessage.subject,
            OutboxMessage.body,
        ).where(OutboxMessage.id == message_id)
    ).one()
    db.commit()
    attempts, to_address, to_name, subject, body = row
    return attempts, {
        "to_address": to_address,
        "to_name": to_name,
        "subject": subject,
        "body": body,
    }


def _record_sent(db: Session, message_id: int, *, now: datetime) -> None:
    db.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(sent_at=now, claimed_at=None, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    db.commit()


def _record_failure(
    db: Session,
    message_id: int,
    error: BaseException,
    *,
    now: datetime,
    attempts: int,
    give_up: bool,
) -> None:
    delay = RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]
    db.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            claimed_at=None,
            last_error=_describe(error),
            failed_at=now if give_up else None,
            next_attempt_at=None if give_up else now + delay,
        )
        .execution_options(synchronize_session=False)
    )
    db.commit()


def _close(connection: Connection | None) -> None:
    if connection is None:
        return
    # the server may have gone away first: then there is nothing to close politely
    with contextlib.suppress(Exception):
        connection.quit()
