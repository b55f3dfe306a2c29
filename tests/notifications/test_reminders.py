"""Reminders with a frozen clock: before a due date, on overdue, before a certificate ends, and
a manager's weekly digest; each reminder once, across repeated runs, days and concurrent runs;
nothing for completed or closed assignments or leavers; e-mail queued only with an address."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from lms.certificates.models import CertificateStatus
from lms.i18n import gettext, ngettext
from lms.jobs.schedule import run_due
from lms.notifications.models import Notification, NotificationKind, OutboxMessage
from lms.notifications.reminders import (
    ReminderSettings,
    iso_week,
    overdue_unreminded,
    run_reminders,
    threshold_for,
)
from lms.notifications.services import in_locale
from lms.org.models import EmploymentStatus, Role
from tests.conftest import run_threads
from tests.notifications.conftest import SETTINGS, at, notifications, outbox, remind

DUE = date(2026, 3, 20)
MONDAY = date(2026, 3, 16)


def days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end``, both included."""
    return [start + timedelta(n) for n in range((end - start).days + 1)]


def test_due_soon_is_reminded_once(app, db, create_employee, create_course, assign) -> None:
    """Nothing 8 days before the due date; the reminder on day -7, and never again on the
    days after (nor on a second run the same day), with the course, date and link."""
    person = create_employee("张三")
    course = create_course(title="供电服务规范")
    assignment = assign(person, course, DUE)

    assert remind(app, DUE - timedelta(8)).due == 0
    assert notifications(db) == []
    assert remind(app, DUE - timedelta(7)).due == 1
    for day in [DUE - timedelta(7), *days(DUE - timedelta(6), DUE)]:
        assert remind(app, day).due == 0

    (reminder,) = notifications(db)
    assert reminder.employee_id == person.id
    assert reminder.kind == NotificationKind.assignment_due
    assert reminder.dedupe_key == f"assignment.due:{assignment.id}:2026-03-20"
    assert reminder.title == "Due in 7 days: 供电服务规范"
    assert "2026-03-20" in reminder.body
    assert reminder.link == f"/courses/{course.id}"
    assert reminder.created_at == at(DUE - timedelta(7))
    assert reminder.read_at is None


def test_an_assignment_due_sooner_is_reminded_at_once(
    app, db, create_employee, create_course, assign
) -> None:
    """An assignment made 2 days before its due date is reminded on the first run; a new due
    date is a new reminder."""
    person = create_employee()
    assignment = assign(person, create_course(title="安全规程"), DUE)
    remind(app, DUE - timedelta(2))
    assert [n.title for n in notifications(db)] == ["Due in 2 days: 安全规程"]

    db.get(type(assignment), assignment.id).due_on = DUE + timedelta(14)
    db.commit()
    remind(app, DUE - timedelta(1))
    assert len(notifications(db)) == 1  # the new date is 15 days away
    remind(app, DUE + timedelta(7))
    assert [n.dedupe_key for n in notifications(db)] == [
        f"assignment.due:{assignment.id}:2026-03-20",
        f"assignment.due:{assignment.id}:2026-04-03",
    ]


def test_overdue_is_reminded_once(app, db, create_employee, create_course, assign) -> None:
    """Not on the due date itself; once the day after, and never again on the days after."""
    person = create_employee()
    assignment = assign(person, create_course(title="营业窗口服务"), DUE)
    assert remind(app, DUE).overdue == 0
    assert remind(app, DUE + timedelta(1)).overdue == 1
    for day in days(DUE + timedelta(1), DUE + timedelta(40)):
        assert remind(app, day).overdue == 0

    overdue = notifications(db, kind="assignment.overdue")
    assert [n.dedupe_key for n in overdue] == [f"assignment.overdue:{assignment.id}"]
    with app.app_context():  # the database leaves out what was reminded: runs stay cheap
        assert overdue_unreminded(db, DUE + timedelta(41)) == []
    assert overdue[0].title == "Overdue: 营业窗口服务"
    assert "2026-03-20" in overdue[0].body
    assert len(notifications(db)) == 2  # the due-soon reminder, then the overdue one


def test_catching_up_after_days_without_runs(
    app, db, create_employee, create_course, assign
) -> None:
    """A first run long after the due date gives the overdue reminder only (the due date's
    window has passed), once."""
    person = create_employee()
    assign(person, create_course(), DUE)
    result = remind(app, DUE + timedelta(30))
    assert (result.due, result.overdue) == (0, 1)
    assert remind(app, DUE + timedelta(31)).overdue == 0


def test_completed_closed_and_leavers_get_nothing(
    app, db, create_employee, create_course, assign
) -> None:
    """Completed and closed assignments, and a leaver's open one, are never reminded; an
    assignment completed after its due-soon reminder gets no overdue one."""
    course = create_course()
    assign(create_employee(), course, DUE, completed=True)
    assign(create_employee(), course, DUE, closed=True)
    leaver = create_employee(status=EmploymentStatus.left, password=None)
    assign(leaver, course, DUE)
    late = assign(create_employee(), course, DUE)

    for day in days(DUE - timedelta(10), DUE):
        remind(app, day)
    assert [n.dedupe_key for n in notifications(db)] == [f"assignment.due:{late.id}:2026-03-20"]

    db.get(type(late), late.id).completed_at = at(DUE)
    db.commit()
    for day in days(DUE + timedelta(1), DUE + timedelta(5)):
        remind(app, day)
    assert len(notifications(db)) == 1


def test_certificate_reminders_once_per_threshold(app, db, create_employee, certify) -> None:
    """At 90 and at 30 days before the end, once each, over every day of the way; nothing
    after the end, for a revoked certificate or a leaver's."""
    person = create_employee()
    ends = date(2026, 9, 30)
    certificate = certify(person, ends)
    certify(person, ends, status=CertificateStatus.revoked)
    certify(create_employee(status=EmploymentStatus.left, password=None), ends)

    created = {day: remind(app, day).certificates for day in days(ends - timedelta(95), ends)}
    created.update({day: remind(app, day).certificates for day in days(ends, ends + timedelta(5))})
    assert {day for day, count in created.items() if count} == {
        ends - timedelta(90),
        ends - timedelta(30),
    }
    reminders = notifications(db)
    assert [n.dedupe_key for n in reminders] == [
        f"certificate.expiring:{certificate.id}:2026-09-30:90",
        f"certificate.expiring:{certificate.id}:2026-09-30:30",
    ]
    assert reminders[0].title == "Certificate ends in 90 days: 低压电工作业"
    assert certificate.serial in reminders[1].body and "2026-09-30" in reminders[1].body
    assert reminders[0].link == "/me/certificates"


def test_a_certificate_first_seen_late_gets_the_nearest_threshold_only(
    app, db, create_employee, certify
) -> None:
    """Seen first 20 days before its end: the 30-day reminder, not the 90-day one as well."""
    certificate = certify(create_employee(), date(2026, 9, 30))
    assert remind(app, date(2026, 9, 10)).certificates == 1
    assert [n.dedupe_key for n in notifications(db)] == [
        f"certificate.expiring:{certificate.id}:2026-09-30:30"
    ]
    assert threshold_for(20, (90, 30)) == 30
    assert threshold_for(30, (90, 30)) == 30
    assert threshold_for(31, (90, 30)) == 90
    assert threshold_for(91, (90, 30)) is None
    assert threshold_for(-1, (90, 30)) is None


def test_renewed_certificate_is_reminded_again(app, db, create_employee, certify) -> None:
    """A new certificate (a renewal) has its own reminders."""
    person = create_employee()
    certify(person, date(2026, 9, 30), status=CertificateStatus.replaced)
    renewal = certify(person, date(2029, 9, 30))
    assert remind(app, date(2026, 9, 1)).certificates == 0
    assert remind(app, date(2029, 9, 1)).certificates == 1
    assert notifications(db)[0].dedupe_key.startswith(f"certificate.expiring:{renewal.id}:")


def test_weekly_digest_once_per_week(
    app, db, create_unit, create_employee, create_course, assign, certify
) -> None:
    """A manager's digest counts their subtree (overdue, due in 7 days, certificates to
    renew), once per ISO week; a manager with nothing to report gets none; employees none."""
    office = create_unit("湖塘供电所")
    team = create_unit("抄表班", parent=office)
    elsewhere = create_unit("城东供电所")
    head = create_employee("所长", unit=office, role=Role.manager)
    quiet_head = create_employee("另一所长", unit=elsewhere, role=Role.manager)
    course = create_course()
    worker = create_employee("抄表员", unit=team)
    assign(worker, course, MONDAY - timedelta(3))  # overdue
    assign(create_employee(unit=team), course, MONDAY + timedelta(6))  # due this week
    assign(create_employee(unit=team), course, MONDAY + timedelta(7))  # next week
    assign(create_employee(unit=office), course, MONDAY - timedelta(1), completed=True)
    certify(worker, MONDAY + timedelta(60))
    assign(create_employee(unit=elsewhere), course, MONDAY + timedelta(60))

    for day in days(MONDAY, MONDAY + timedelta(6)):
        remind(app, day)
    digests = notifications(db, kind="digest")
    assert [(n.employee_id, n.dedupe_key) for n in digests] == [
        (head.id, f"digest:{head.id}:2026-W12")
    ]
    (digest,) = digests
    assert digest.title == "Weekly summary for 湖塘供电所"
    assert "Overdue assignments: 1" in digest.body
    assert "Assignments due in the next 7 days: 1" in digest.body
    assert "Certificates to renew (ending within 90 days, or ended): 1" in digest.body
    dashboard = "lms.dashboard.show" in app.view_functions  # else the home page
    assert digest.link == ("/dashboard" if dashboard else "/")
    assert quiet_head.id not in {n.employee_id for n in notifications(db)}

    remind(app, MONDAY + timedelta(7))
    assert [n.dedupe_key for n in notifications(db, kind="digest")] == [
        f"digest:{head.id}:2026-W12",
        f"digest:{head.id}:2026-W13",
    ]
    assert iso_week(date(2027, 1, 1)) == "2026-W53"


def test_a_digest_comes_later_in_the_week_when_there_is_news(
    app, db, create_unit, create_employee, create_course, assign
) -> None:
    """Nothing to say on Monday: no digest; something overdue on Wednesday: the week's digest
    then, and still one that week."""
    office = create_unit()
    head = create_employee(unit=office, role=Role.manager)
    assign(create_employee(unit=office), create_course(), MONDAY + timedelta(1))
    digest_only = ReminderSettings(due_days=0, certificate_days=(), default_locale="en")
    remind(app, MONDAY - timedelta(7), digest_only)
    assert notifications(db, kind="digest") == []
    remind(app, MONDAY + timedelta(2), digest_only)
    remind(app, MONDAY + timedelta(3), digest_only)
    assert [n.dedupe_key for n in notifications(db, kind="digest")] == [
        f"digest:{head.id}:2026-W12"
    ]


def test_concurrent_runs_give_one_notification_per_key(
    app, db, create_unit, create_employee, create_course, assign, certify
) -> None:
    """Four runs at once on the same day create each reminder once, and queue one e-mail each."""
    office = create_unit()
    manager = create_employee(unit=office, role=Role.manager)
    people = [create_employee(unit=office) for _ in range(5)]
    for person in [manager, *people]:
        person.email = f"{person.emp_no.lower()}@example.cn"
    db.commit()
    course, other = create_course(), create_course()
    for person in people:
        assign(person, course, MONDAY + timedelta(3))
        assign(person, other, MONDAY - timedelta(2))
        certify(person, MONDAY + timedelta(30))

    def work(session: Any, n: int) -> Any:
        return run_reminders(session, today=MONDAY, now=at(MONDAY), settings=SETTINGS).as_dict()

    results = run_threads(app, 4, work)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r["due"] for r in results) == 5
    assert sum(r["overdue"] for r in results) == 5
    assert sum(r["certificates"] for r in results) == 5
    assert sum(r["digests"] for r in results) == 1
    rows = notifications(db)
    assert len(rows) == 16
    assert len({(n.employee_id, n.dedupe_key) for n in rows}) == 16
    messages = outbox(db)
    assert sorted(m.notification_id for m in messages) == sorted(n.id for n in rows)


def test_email_is_queued_only_with_an_address(
    app, db, create_employee, create_course, assign
) -> None:
    """A person with an address gets an outbox row in their own words; one without, or with
    an address that is not one, gets the notification only."""
    course = create_course(title="廉洁从业")
    with_address = create_employee("李四")
    without = create_employee("王五")
    broken = create_employee("赵六")
    with_address.email = "lisi@example.cn"
    broken.email = "zhaoliu@example.cn\nBcc: everyone@example.cn"
    db.commit()
    for person in (with_address, without, broken):
        assign(person, course, DUE)

    remind(app, DUE - timedelta(3))
    assert len(notifications(db)) == 3
    (message,) = outbox(db)
    notification = db.get(Notification, message.notification_id)
    assert notification.employee_id == with_address.id
    assert (message.to_address, message.to_name) == ("lisi@example.cn", "李四")
    assert message.subject == "[龙城供电局] Due in 3 days: 廉洁从业"
    assert message.body.startswith("Dear 李四,")
    assert notification.body in message.body
    assert f"https://lms.example.cn/courses/{course.id}" in message.body
    assert (message.sent_at, message.attempts, message.failed_at) == (None, 0, None)


def test_texts_are_in_the_recipients_language(
    app, db, create_employee, create_course, assign
) -> None:
    """Someone who chose English gets English; someone else the default language; switching
    works in a bare app context, as a periodic task's."""
    course = create_course(title="安规")
    english = create_employee()
    chinese = create_employee()
    english.locale = "en"
    chinese.locale = "zh_Hans_CN"
    db.commit()
    assign(english, course, DUE)
    assign(chinese, course, DUE)
    settings = ReminderSettings(default_locale="zh_Hans_CN", locales=("zh_Hans_CN", "en"))
    remind(app, DUE - timedelta(1), settings)

    titles = {n.employee_id: n.title for n in notifications(db)}
    assert titles[english.id] == "Due in 1 day: 安规"
    with app.app_context():
        with in_locale("zh_Hans_CN"):
            assert gettext("Home") == "首页"
            expected = ngettext(
                "Due in %(num)d day: %(course)s",
                "Due in %(num)d days: %(course)s",
                1,
                course="安规",
            )
        assert gettext("Home") == "Home"  # the app's default here is English
    assert titles[chinese.id] == expected


def test_the_periodic_task_runs_the_rules_on_the_bureaus_date(
    app, db, create_employee, create_course, assign
) -> None:
    """``notifications.reminders`` (hourly) reminds on the bureau's calendar date: 17:00 UTC
    on the 12th is already the 13th in Shanghai, 7 days before the due date."""
    import lms.notifications.periodic  # noqa: F401  (registers the tasks)

    assign(create_employee(), create_course(), DUE)
    (outcome,) = run_due(
        app, now=at(DUE - timedelta(8), hour=17), names=["notifications.reminders"]
    )
    assert outcome.ran and outcome.error is None, outcome.error
    assert outcome.result == {"due": 1, "overdue": 0, "certificates": 0, "digests": 0}
    (outcome,) = run_due(
        app,
        now=at(DUE - timedelta(8), hour=17) + timedelta(minutes=30),
        names=["notifications.reminders"],
    )
    assert not outcome.ran  # within its hour
    (outcome,) = run_due(app, now=at(DUE - timedelta(6)), names=["notifications.reminders"])
    assert outcome.result["due"] == 0
    assert db.scalar(sa.select(sa.func.count(Notification.id))) == 1


def test_sending_is_off_without_an_smtp_host(app, db, create_employee, create_course, assign):
    """``notifications.send`` with LMS_SMTP_HOST empty sends nothing: the rows stay unsent."""
    import lms.notifications.periodic  # noqa: F401  (registers the tasks)

    person = create_employee()
    person.email = "someone@example.cn"
    db.commit()
    assign(person, create_course(), DUE)
    remind(app, DUE - timedelta(1))
    (outcome,) = run_due(app, now=at(DUE), names=["notifications.send"])
    assert outcome.error is None and outcome.result["disabled"] is True
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).where(OutboxMessage.sent_at.is_(None))) == 1
