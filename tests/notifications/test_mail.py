"""The outbox's sender against a local SMTP server: each row sent once (also by senders running
at once), failures recorded and retried later, a permanent refusal or the last attempt given
up, an unreachable server stopping the run, a send that was interrupted never repeated."""

from __future__ import annotations

import socket
from datetime import date, timedelta
from typing import Any

from lms.notifications.mail import SmtpSettings, send_pending
from lms.notifications.models import OutboxMessage
from tests.conftest import run_threads
from tests.notifications.conftest import at, outbox

NOW = at(date(2026, 3, 16))


def queue(db: Any, count: int = 1) -> list[OutboxMessage]:
    """``count`` unsent messages, committed."""
    rows = [
        OutboxMessage(
            to_address=f"person{n}@example.cn",
            to_name=f"员工{n}",
            subject=f"[龙城供电局] 提醒 {n}",
            body=f"第{n}条提醒\n请按时完成。",
            created_at=NOW - timedelta(minutes=5),
        )
        for n in range(count)
    ]
    db.add_all(rows)
    db.commit()
    return rows


def settings(server: Any, **values: Any) -> SmtpSettings:
    return SmtpSettings(
        host=server.host, port=server.port, sender="培训系统 <lms@lcgd.cn>", timeout=5, **values
    )


def send(app: Any, server_settings: SmtpSettings, now: Any = NOW) -> Any:
    with app.app_context():
        session = app.extensions["lms"].db.session(write=True)
        try:
            return send_pending(session, now=now, settings=server_settings)
        finally:
            session.close()


def test_each_message_is_sent_once(app, db, smtp_server) -> None:
    """Every unsent row goes out once, as UTF-8 text to its address, signed in when a user is
    set; a second run sends nothing."""
    queue(db, 3)
    result = send(app, settings(smtp_server, user="lms@lcgd.cn", password="secret"))
    assert (result.sent, result.retrying, result.failed) == (3, 0, 0)
    assert send(app, settings(smtp_server)).sent == 0
    assert send(app, settings(smtp_server), now=NOW + timedelta(days=1)).sent == 0

    assert len(smtp_server.messages) == 3
    first = smtp_server.messages[0]
    assert first["Subject"] == "[龙城供电局] 提醒 0"
    assert first["To"].addresses[0].addr_spec == "person0@example.cn"
    assert first["To"].addresses[0].display_name == "员工0"
    assert first["From"].addresses[0].addr_spec == "lms@lcgd.cn"
    assert first["Auto-Submitted"] == "auto-generated"
    assert first.get_content().replace("\r\n", "\n") == "第0条提醒\n请按时完成。\n"
    assert smtp_server.envelopes[0] == ("lms@lcgd.cn", ["person0@example.cn"])
    assert len(smtp_server.logins) == 1 and smtp_server.logins[0].startswith("AUTH PLAIN")
    for row in outbox(db):
        assert (row.sent_at, row.attempts, row.claimed_at, row.failed_at) == (NOW, 1, None, None)


def test_a_failure_is_recorded_and_retried_later(app, db, smtp_server) -> None:
    """A temporary refusal (451) is kept on the row with the attempt; the row waits 5 minutes,
    then goes out once."""
    (row,) = queue(db)
    smtp_server.rcpt_replies.append("451 4.3.0 mailbox busy, try later")
    result = send(app, settings(smtp_server))
    assert (result.sent, result.retrying) == (0, 1)
    (row,) = outbox(db)
    assert row.attempts == 1 and row.sent_at is None and row.failed_at is None
    assert "451" in row.last_error and "mailbox busy" in row.last_error
    assert row.next_attempt_at == NOW + timedelta(minutes=5)

    assert send(app, settings(smtp_server), now=NOW + timedelta(minutes=1)).sent == 0
    assert send(app, settings(smtp_server), now=NOW + timedelta(minutes=5)).sent == 1
    assert send(app, settings(smtp_server), now=NOW + timedelta(minutes=30)).sent == 0
    (row,) = outbox(db)
    assert row.attempts == 2 and row.sent_at == NOW + timedelta(minutes=5)
    assert len(smtp_server.messages) == 1


def test_a_permanent_refusal_is_not_retried(app, db, smtp_server) -> None:
    """A 550 (no such mailbox) gives the row up at once; the next row is sent."""
    queue(db, 2)
    smtp_server.rcpt_replies.append("550 5.1.1 no such user")
    result = send(app, settings(smtp_server))
    assert (result.sent, result.failed) == (1, 1)
    first, second = outbox(db)
    assert first.failed_at == NOW and "550" in first.last_error and first.sent_at is None
    assert second.sent_at == NOW
    assert send(app, settings(smtp_server), now=NOW + timedelta(days=1)).failed == 0
    assert len(smtp_server.messages) == 1


def test_the_last_attempt_gives_up(app, db, smtp_server) -> None:
    """With two attempts allowed, a row refused twice is given up with the last error."""
    queue(db)
    smtp_server.rcpt_replies.extend(["451 busy", "452 still busy", "250 ok"])
    two = settings(smtp_server, max_attempts=2)
    assert send(app, two).retrying == 1
    assert send(app, two, now=NOW + timedelta(minutes=5)).failed == 1
    assert send(app, two, now=NOW + timedelta(days=1)).sent == 0
    (row,) = outbox(db)
    assert row.attempts == 2 and row.failed_at is not None and "452 still busy" in row.last_error
    assert smtp_server.messages == []


def test_an_unreachable_server_stops_the_run(app, db) -> None:
    """Nothing listening: the first row records the error and waits; the others are left
    untouched for the next run (their attempts are not used up)."""
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    queue(db, 3)
    result = send(app, SmtpSettings(host="127.0.0.1", port=port, timeout=2))
    assert (result.sent, result.retrying) == (0, 1)
    rows = outbox(db)
    assert [row.attempts for row in rows] == [1, 0, 0]
    assert "Connection" in rows[0].last_error or "refused" in rows[0].last_error
    assert rows[0].claimed_at is None


def test_senders_running_at_once_send_each_row_once(app, db, smtp_server) -> None:
    """Three senders at once: each row is claimed by one of them and sent once."""
    queue(db, 12)

    def work(session: Any, n: int) -> Any:
        return send_pending(session, now=NOW, settings=settings(smtp_server))

    results = run_threads(app, 3, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.sent for r in results) == 12
    assert len(smtp_server.messages) == 12
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp_server.messages) == sorted(
        f"person{n}@example.cn" for n in range(12)
    )
    assert all(row.sent_at is not None and row.attempts == 1 for row in outbox(db))


def test_an_interrupted_send_is_given_up_not_repeated(app, db, smtp_server) -> None:
    """A row left claimed by a sender that stopped (it may have gone out) is given up after
    the lease, never sent again; a claim still fresh is left to its sender."""
    stale, fresh, waiting = queue(db, 3)
    stale.claimed_at, stale.attempts = NOW - timedelta(minutes=20), 1
    fresh.claimed_at, fresh.attempts = NOW - timedelta(minutes=1), 1
    db.commit()
    result = send(app, settings(smtp_server))
    assert (result.interrupted, result.sent) == (1, 1)
    stale, fresh, waiting = outbox(db)
    assert stale.failed_at == NOW and "Interrupted" in stale.last_error
    assert fresh.failed_at is None and fresh.sent_at is None
    assert waiting.sent_at == NOW
    assert [m["To"].addresses[0].addr_spec for m in smtp_server.messages] == ["person2@example.cn"]


def test_nothing_is_sent_without_a_host(app, db, smtp_server) -> None:
    """LMS_SMTP_HOST empty: the sender does nothing (development: the outbox page shows the
    rows)."""
    queue(db)
    assert send(app, SmtpSettings(host="")).disabled is True
    (row,) = outbox(db)
    assert (row.sent_at, row.attempts) == (None, 0)
    assert smtp_server.messages == []


def test_settings_come_from_the_configuration(app) -> None:
    """The sender's settings are the LMS_SMTP_* and LMS_MAIL_* keys; the sender falls back to
    the SMTP user when it is an address."""
    config = dict(app.config)
    config.update(LMS_SMTP_HOST=" smtp.lcgd.cn ", LMS_SMTP_PORT=587, LMS_SMTP_STARTTLS=True)
    config.update(LMS_SMTP_USER="lms@lcgd.cn", LMS_SMTP_PASSWORD="pw")
    smtp = SmtpSettings.from_config(config)
    assert (smtp.host, smtp.port, smtp.starttls, smtp.ssl, smtp.enabled) == (
        "smtp.lcgd.cn",
        587,
        True,
        False,
        True,
    )
    assert smtp.from_address == "lms@lcgd.cn" and smtp.max_attempts == 5
    assert SmtpSettings.from_config(app.config).enabled is False
