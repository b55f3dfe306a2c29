"""The notifications page (a person's own only, newest first, unread marked; opening one marks
it read and goes to its target; mark all read needs the CSRF token) and HR's outbox page (404
for everyone else)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lms.notifications.models import Notification, OutboxMessage
from lms.org.models import Role
from tests.conftest import csrf_token
from tests.notifications.conftest import notifications

START = datetime(2026, 3, 16, 1, 0, tzinfo=UTC)


def notify(db: Any, person: Any, key: str, *, minutes: int = 0, **values: Any) -> Notification:
    notification = Notification(
        employee_id=person.id,
        kind="assignment.due",
        dedupe_key=key,
        title=values.pop("title", f"提醒 {key}"),
        body=values.pop("body", "请按时完成。"),
        link=values.pop("link", "/me/certificates"),
        created_at=START + timedelta(minutes=minutes),
        **values,
    )
    db.add(notification)
    db.commit()
    return notification


def test_sign_in_is_needed(client) -> None:
    """Anonymous visitors are sent to sign in."""
    response = client.get("/notifications")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_person_sees_their_own_newest_first(app, db, login, client, create_employee) -> None:
    """Own notifications only, newest first, the unread ones marked and counted."""
    me, other = create_employee(), create_employee()
    notify(db, me, "older", minutes=0, title="较早的提醒")
    notify(db, me, "newer", minutes=5, title="较新的提醒", read_at=START + timedelta(hours=1))
    notify(db, other, "theirs", title="别人的提醒")
    login(me)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.index("较新的提醒") < page.index("较早的提醒")
    assert "别人的提醒" not in page
    assert page.count('data-unread="1"') == 1
    assert "1 unread" in page
    assert 'data-testid="read-all"' in page


def test_opening_marks_read_and_goes_to_the_target(app, db, login, client, create_employee) -> None:
    """Opening one's notification marks it read and redirects to its link; another person's
    (or one that does not exist) is 404 and stays unread."""
    me, other = create_employee(), create_employee()
    mine = notify(db, me, "mine", link="/me/certificates")
    theirs = notify(db, other, "theirs")
    unlinked = notify(db, me, "nowhere", link="")
    login(me)

    response = client.get(f"/notifications/{mine.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/me/certificates")
    assert (
        client.get(f"/notifications/{unlinked.id}").headers["Location"].endswith("/notifications")
    )
    for missing in (theirs.id, 999_999, 2**40):
        assert client.get(f"/notifications/{missing}").status_code == 404
    read = {n.dedupe_key: n.read_at for n in notifications(db)}
    assert read["mine"] is not None and read["nowhere"] is not None
    assert read["theirs"] is None


def test_mark_all_read_needs_the_csrf_token(app, db, login, client, create_employee) -> None:
    """Without the token: 400 and nothing changes; with it, all one's own are read and
    another's are left alone."""
    me, other = create_employee(), create_employee()
    notify(db, me, "a")
    notify(db, me, "b")
    notify(db, other, "c")
    login(me)
    assert client.post("/notifications/read-all").status_code == 400
    assert all(n.read_at is None for n in notifications(db))

    token = csrf_token(client, "/notifications")
    response = client.post("/notifications/read-all", data={"csrf_token": token})
    assert response.status_code == 302
    read = {n.dedupe_key: n.read_at is not None for n in notifications(db)}
    assert read == {"a": True, "b": True, "c": False}
    page = client.get("/notifications").get_data(as_text=True)
    assert "0 unread" in page and 'data-testid="read-all"' not in page


def test_a_page_number_out_of_range_is_no_error(app, db, login, client, create_employee) -> None:
    """Nonsense page numbers give a page, not an error."""
    login(create_employee())
    for page in ("0", "-3", "abc", "99999999999999"):
        assert client.get(f"/notifications?page={page}").status_code == 200


def test_outbox_is_for_hr_only(app, db, login, create_employee) -> None:
    """HR and admins see every queued e-mail with its status and the not-sending notice;
    employees and managers get 404."""
    db.add_all(
        [
            OutboxMessage(
                to_address="zhangsan@example.cn",
                to_name="张三",
                subject="[龙城供电局] 逾期：安规",
                body="张三，您好",
                created_at=START,
            ),
            OutboxMessage(
                to_address="lisi@example.cn",
                to_name="李四",
                subject="[龙城供电局] 证书到期",
                body="李四，您好",
                created_at=START,
                attempts=5,
                failed_at=START,
                last_error="SMTPRecipientsRefused: lisi@example.cn: 550 no such user",
            ),
        ]
    )
    db.commit()
    for role in (Role.employee, Role.manager):
        client = app.test_client()
        login(create_employee(role=role), client=client)
        assert client.get("/admin/outbox").status_code == 404

    for role in (Role.hr, Role.admin):
        client = app.test_client()
        login(create_employee(role=role), client=client)
        page = client.get("/admin/outbox").get_data(as_text=True)
        assert "zhangsan@example.cn" in page and "逾期：安规" in page
        assert 'data-status="waiting"' in page and 'data-status="failed"' in page
        assert "550 no such user" in page
        assert 'data-testid="outbox-not-sending"' in page
    failed = client.get("/admin/outbox?status=failed").get_data(as_text=True)
    assert "lisi@example.cn" in failed and "zhangsan@example.cn" not in failed
    assert client.get("/admin/outbox?status=nonsense&page=x").status_code == 200


def test_outbox_says_when_it_sends(app, db, login, create_employee) -> None:
    """With an SMTP host set, the page does not say that nothing is sent."""
    app.config["LMS_SMTP_HOST"] = "smtp.example.cn"
    client = app.test_client()
    login(create_employee(role=Role.hr), client=client)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert 'data-testid="outbox-not-sending"' not in page and "The outbox is empty." in page


def test_the_unread_badge_counts_ones_own(app, db, create_employee) -> None:
    """The header's count (for the templates): one's own unread notifications; 0 signed out."""
    from flask import g

    from lms.notifications.views import unread_badge

    me, other = create_employee(), create_employee()
    notify(db, me, "a")
    notify(db, me, "b", read_at=START)
    notify(db, other, "c")
    with app.test_request_context("/"):
        g._lms_employee = None
        assert unread_badge() == 0
    with app.test_request_context("/"):
        g._lms_employee = me
        assert unread_badge() == 1
