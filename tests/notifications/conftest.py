"""Helpers for the reminder tests: the notifications pages mounted, a frozen clock, assignments
and certificates built directly, and a small SMTP server that records what it is sent."""

from __future__ import annotations

import email
import email.policy
import re
import socketserver
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import lms.extension
from lms.certificates.models import Certificate, CertificateSource, CertificateStatus
from lms.certificates.numbers import verification_code
from lms.notifications.models import Notification, OutboxMessage
from lms.notifications.reminders import ReminderResult, ReminderSettings, run_reminders
from lms.training.models import Assignment


@pytest.fixture
def app_config(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """English texts (readable assertions), and the notifications pages mounted in the app
    until lms.extension registers them itself."""
    from lms.notifications.views import bp as notifications_bp

    original = lms.extension.make_blueprint

    def make_blueprint(standalone: bool) -> Any:
        parent = original(standalone)
        if not any(child is notifications_bp for child, _options in parent._blueprints):
            parent.register_blueprint(notifications_bp)
        return parent

    monkeypatch.setattr(lms.extension, "make_blueprint", make_blueprint)
    return {"LMS_DEFAULT_LOCALE": "en"}


def at(day: date, hour: int = 9) -> datetime:
    """A moment of ``day`` (UTC; the tests give ``today`` explicitly)."""
    return datetime.combine(day, time(hour), tzinfo=UTC)


SETTINGS = ReminderSettings(
    due_days=7,
    certificate_days=(90, 30),
    expiring_days=90,
    locales=("zh_Hans_CN", "en"),
    default_locale="en",
    bureau="龙城供电局",
    public_url="https://lms.example.cn",
)


def remind(app: Any, day: date, settings: ReminderSettings = SETTINGS) -> ReminderResult:
    """One run of the reminder rules on ``day`` (the clock frozen there), committed."""
    with app.app_context(), app.extensions["lms"].db.transaction() as session:
        return run_reminders(session, today=day, now=at(day), settings=settings)


def notifications(db: Any, **where: Any) -> list[Notification]:
    """The notifications as committed now, oldest first."""
    db.rollback()
    query = sa.select(Notification).filter_by(**where).order_by(Notification.id)
    return list(db.scalars(query.execution_options(populate_existing=True)))


def outbox(db: Any) -> list[OutboxMessage]:
    db.rollback()
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id)
    return list(db.scalars(query.execution_options(populate_existing=True)))


@pytest.fixture
def assign(db: Any) -> Callable[..., Assignment]:
    """``assign(employee, course, due_on, completed=False, closed=False)``, committed."""

    def factory(
        employee: Any, course: Any, due_on: date, *, completed: bool = False, closed: bool = False
    ) -> Assignment:
        moment = at(due_on - timedelta(days=30))
        assignment = Assignment(
            employee_id=employee.id,
            course_id=course.id,
            due_on=due_on,
            completed_at=moment if completed else None,
            closed_at=moment if closed else None,
            created_at=moment,
        )
        db.add(assignment)
        db.commit()
        return assignment

    return factory


_serials = iter(range(1, 100_000))


@pytest.fixture
def certify(db: Any) -> Callable[..., Certificate]:
    """``certify(employee, valid_until, status=valid)``: a certificate (as imported), committed."""

    def factory(
        employee: Any, valid_until: date, *, status: CertificateStatus = CertificateStatus.valid
    ) -> Certificate:
        certificate = Certificate(
            serial=f"LCGD-2024-T-{next(_serials):06d}",
            verification_code=verification_code(),
            employee_id=employee.id,
            design="qualification",
            kind="qualification",
            title="低压电工作业",
            issued_on=valid_until - timedelta(days=3 * 365),
            valid_until=valid_until,
            status=status,
            source=CertificateSource.imported,
        )
        db.add(certificate)
        db.commit()
        return certificate

    return factory


# -- a small SMTP server -----------------------------------------------------------------------


@dataclass
class FakeSMTP:
    """What the server was sent, and how it answers: ``rcpt_replies`` are the answers to the
    next RCPT commands (then 250)."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _address(command: str) -> str:
    """The address in ``MAIL FROM:<a@b> SIZE=12`` or ``RCPT TO:<a@b>``."""
    match = re.search(r"<([^>]*)>", command)
    return match.group(1) if match else ""


def _handler(state: FakeSMTP) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def reply(self, text: str) -> None:
            self.wfile.write(text.encode() + b"\r\n")

        def handle(self) -> None:
            self.reply("220 fake ESMTP")
            sender, recipients = "", []
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                command = line.decode("ascii", "replace").strip()
                verb = command.split(" ", 1)[0].upper()
                if verb == "EHLO":
                    self.reply("250-fake\r\n250-AUTH PLAIN\r\n250-8BITMIME\r\n250 SIZE 1000000")
                elif verb == "HELO":
                    self.reply("250 fake")
                elif verb == "AUTH":
                    with state.lock:
                        state.logins.append(command)
                    self.reply("235 2.7.0 accepted")
                elif verb == "MAIL":
                    sender, recipients = _address(command), []
                    self.reply("250 ok")
                elif verb == "RCPT":
                    with state.lock:
                        answer = state.rcpt_replies.pop(0) if state.rcpt_replies else "250 ok"
                    if answer.startswith("250"):
                        recipients.append(_address(command))
                    self.reply(answer)
                elif verb == "DATA":
                    self.reply("354 go ahead")
                    data = b""
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        data += chunk[1:] if chunk.startswith(b"..") else chunk
                    message = email.message_from_bytes(data, policy=email.policy.default)
                    with state.lock:
                        state.messages.append(message)  # type: ignore[arg-type]
                        state.envelopes.append((sender, recipients))
                    self.reply("250 queued")
                elif verb in ("RSET", "NOOP"):
                    self.reply("250 ok")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("502 not implemented")

    return Handler


@pytest.fixture
def smtp_server() -> Iterator[FakeSMTP]:
    """An SMTP server on a free local port, for the test's length."""
    state = FakeSMTP()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
