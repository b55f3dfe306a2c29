"""The reminder rules: what to remind whom of, on a given day.

Each rule finds its candidates with one query, gives each a key that says what the reminder is
about (and, where it matters, which date), and hands them to
:func:`lms.notifications.services.deliver`, which creates each key once per person. So the
rules may run as often as wished (the periodic task runs them hourly), catch up after days
without a run, and run twice at once:

- **due soon** (``assignment.due:<assignment>:<due date>``): an open assignment due within
  ``LMS_REMIND_DUE_DAYS`` days (today included); a new due date is a new reminder;
- **overdue** (``assignment.overdue:<assignment>``): an open assignment whose due date has
  passed, once;
- **certificate ending** (``certificate.expiring:<certificate>:<valid until>:<threshold>``): a
  valid certificate within one of the ``LMS_REMIND_CERTIFICATE_DAYS`` thresholds (90 and 30 by
  default) of its end; only the nearest threshold crossed counts, so a certificate first seen 20
  days before its end gets the 30-day reminder, not both;
- **weekly digest** (``digest:<manager>:<ISO week>``): each manager's subtree: overdue
  assignments, assignments due in the next 7 days, certificates to renew; once per ISO week,
  and only when one of the three is not zero.

Only open assignments (not completed, not closed) and people who have not left are reminded.
Texts are written in each recipient's language (their choice, else ``LMS_DEFAULT_LOCALE``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from lms.certificates.models import Certificate, CertificateStatus
from lms.certificates.services import to_renew
from lms.config import ConfigurationError
from lms.courses.models import Course
from lms.i18n import gettext as _
from lms.i18n import ngettext
from lms.notifications.mail import compose
from lms.notifications.models import Notification, NotificationKind
from lms.notifications.services import (
    Draft,
    Mail,
    deliver,
    existing_keys,
    in_locale,
    mailable,
    recipient_locale,
)
from lms.org.models import Employee, EmploymentStatus, Role, Unit
from lms.security import subtree_condition
from lms.training.models import Assignment

#: what "due this week" means in the digest: today and the six days after
DIGEST_WINDOW_DAYS = 7
#: where a digest links to (the manager dashboard)
DASHBOARD_ENDPOINT = "lms.dashboard.show"


def parse_days(key: str, value: Any) -> tuple[int, ...]:
    """A list of day counts (``90,30``, or a list) as whole numbers, largest first."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    try:
        days = {int(str(item).strip()) for item in items if str(item).strip()}
    except ValueError:
        raise ConfigurationError(
            f"{key}={value!r}: expected whole numbers of days, comma-separated, such as 90,30."
        ) from None
    return tuple(sorted((d for d in days if d >= 0), reverse=True))


@dataclass(frozen=True)
class ReminderSettings:
    """The rules' settings (from the app's configuration, or given by a test)."""

    #: remind of a due date this many days before (0: off)
    due_days: int = 7
    #: remind of a certificate's end at these many days before it, largest first
    certificate_days: tuple[int, ...] = (90, 30)
    #: the digest counts certificates to renew within this many days, as the pages do
    expiring_days: int = 90
    locales: tuple[str, ...] = ("zh_Hans_CN", "en")
    default_locale: str = "zh_Hans_CN"
    bureau: str = ""
    #: where the LMS is reached (e-mails link there only when it is set)
    public_url: str = ""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ReminderSettings:
        return cls(
            due_days=int(config["LMS_REMIND_DUE_DAYS"]),
            certificate_days=parse_days(
                "LMS_REMIND_CERTIFICATE_DAYS", config["LMS_REMIND_CERTIFICATE_DAYS"]
            ),
            expiring_days=int(config["LMS_CERTIFICATE_EXPIRING_DAYS"]),
            locales=tuple(config["LMS_LOCALES"]),
            default_locale=config["LMS_DEFAULT_LOCALE"],
            bureau=config["LMS_BUREAU_NAME"],
            public_url=config["LMS_PUBLIC_URL"] or "",
        )


@dataclass
class ReminderResult:
    """Notifications created by one run, by rule."""

    due: int = 0
    overdue: int = 0
    certificates: int = 0
    digests: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Recipient:
    id: int
    name: str
    email: str | None
    locale: str | None


@dataclass
class _Run:
    """What every rule of one run shares: the settings, the clock, the app's paths."""

    db: Session
    today: date
    now: datetime
    settings: ReminderSettings
    paths: dict[tuple[str, tuple[tuple[str, Any], ...]], str] = field(default_factory=dict)

    def path(self, endpoint: str, **values: Any) -> str:
        """The path of an LMS page (with the LMS's prefix), built outside any request; empty
        when the app has no such page."""
        key = (endpoint, tuple(sorted(values.items())))
        if key not in self.paths:
            with current_app.test_request_context():
                try:
                    self.paths[key] = url_for(endpoint, **values)
                except BuildError:
                    self.paths[key] = ""
        return self.paths[key]

    def draft(
        self,
        person: Recipient,
        kind: NotificationKind,
        key: str,
        compose_text: Any,
        link: str,
    ) -> Draft:
        """A notification (and its e-mail, for a person with an address), written by
        ``compose_text()`` in the person's language."""
        settings = self.settings
        locale = recipient_locale(
            person.locale, offered=settings.locales, default=settings.default_locale
        )
        with in_locale(locale):
            title, body = compose_text()
            mail = None
            if mailable(person.email):
                subject, text = compose(
                    name=person.name,
                    title=title,
                    body=body,
                    link=link,
                    bureau=settings.bureau,
                    public_url=settings.public_url,
                )
                mail = Mail(person.email or "", person.name, subject, text)
        return Draft(person.id, kind.value, key, title, body, link, mail)

    def deliver_new(self, candidates: Iterable[tuple[Recipient, str, Any]], build: Any) -> int:
        """Compose and deliver the candidates whose key the person has not had: ``build(item)``
        gives the draft of each ``(recipient, key, item)``."""
        candidates = list(candidates)
        had = existing_keys(self.db, {(person.id, key) for person, key, _item in candidates})
        drafts = [build(item) for person, key, item in candidates if (person.id, key) not in had]
        return len(deliver(self.db, drafts, now=self.now))


def _recipient(employee: Employee) -> Recipient:
    return Recipient(employee.id, employee.name, employee.email, employee.locale)


@dataclass(frozen=True)
class _Open:
    """An open assignment, as the rules need it."""

    id: int
    due_on: date
    course_id: int
    course: str
    person: Recipient


def _open_assignments(db: Session, condition: sa.ColumnElement[bool]) -> list[_Open]:
    """Open assignments with a due date matching ``condition``, of people who have not left."""
    rows = db.execute(
        sa.select(
            Assignment.id,
            Assignment.due_on,
            Course.id,
            Course.title,
            Employee.id,
            Employee.name,
            Employee.email,
            Employee.locale,
        )
        .join(Course, Course.id == Assignment.course_id)
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(
            Assignment.completed_at.is_(None),
            Assignment.closed_at.is_(None),
            Assignment.due_on.is_not(None),
            Employee.status != EmploymentStatus.left,
            condition,
        )
        .order_by(Assignment.id)
    )
    return [
        _Open(id_, due_on, course_id, title, Recipient(person, name, email, locale))
        for id_, due_on, course_id, title, person, name, email, locale in rows
    ]


def remind_due(run: _Run) -> int:
    """Remind of open assignments due within ``due_days`` (today included)."""
    days = run.settings.due_days
    if days <= 0:
        return 0
    found = _open_assignments(
        run.db, Assignment.due_on.between(run.today, run.today + timedelta(days))
    )

    def build(item: _Open) -> Draft:
        left = (item.due_on - run.today).days

        def text() -> tuple[str, str]:
            if left == 0:
                title = _("Due today: %(course)s", course=item.course)
            else:
                title = ngettext(
                    "Due in %(num)d day: %(course)s",
                    "Due in %(num)d days: %(course)s",
                    left,
                    course=item.course,
                )
            body = _(
                "The course %(course)s assigned to you is due on %(date)s. "
                "Please complete it by then.",
                course=item.course,
                date=item.due_on.isoformat(),
            )
            return title, body

        return run.draft(
            item.person,
            NotificationKind.assignment_due,
            _due_key(item),
            text,
            run.path("lms.courses.course", course_id=item.course_id),
        )

    return run.deliver_new(((item.person, _due_key(item), item) for item in found), build)


def _due_key(item: _Open) -> str:
    return f"{NotificationKind.assignment_due}:{item.id}:{item.due_on.isoformat()}"


def overdue_unreminded(db: Session, today: date) -> list[_Open]:
    """Open assignments past their due date whose person has not had the overdue reminder."""
    # Overdue assignments pile up (while the reminders stay): those reminded already are left
    # out by the database, so an hourly run reads only the new ones. The key depends on the id
    # alone, so SQL can spell it on both databases.
    key = sa.literal(f"{NotificationKind.assignment_overdue}:") + sa.cast(Assignment.id, sa.String)
    reminded = (
        sa.select(Notification.id)
        .where(Notification.employee_id == Assignment.employee_id, Notification.dedupe_key == key)
        .exists()
    )
    return _open_assignments(db, sa.and_(Assignment.due_on < today, ~reminded))


def remind_overdue(run: _Run) -> int:
    """Remind once of each open assignment whose due date has passed."""
    found = overdue_unreminded(run.db, run.today)

    def build(item: _Open) -> Draft:
        def text() -> tuple[str, str]:
            title = _("Overdue: %(course)s", course=item.course)
            body = _(
                "The course %(course)s assigned to you was due on %(date)s and is not completed "
                "yet. Please complete it as soon as you can.",
                course=item.course,
                date=item.due_on.isoformat(),
            )
            return title, body

        return run.draft(
            item.person,
            NotificationKind.assignment_overdue,
            _overdue_key(item),
            text,
            run.path("lms.courses.course", course_id=item.course_id),
        )

    return run.deliver_new(((item.person, _overdue_key(item), item) for item in found), build)


def _overdue_key(item: _Open) -> str:
    return f"{NotificationKind.assignment_overdue}:{item.id}"


def threshold_for(days_left: int, thresholds: Collection[int]) -> int | None:
    """The nearest threshold crossed ``days_left`` days before the end (the smallest one not
    below it); None when the end is further than every threshold, or has passed."""
    crossed = [d for d in thresholds if d >= days_left >= 0]
    return min(crossed) if crossed else None


def remind_certificates(run: _Run) -> int:
    """Remind of valid certificates ending within a threshold, once per threshold."""
    thresholds = run.settings.certificate_days
    if not thresholds:
        return 0
    rows = run.db.execute(
        sa.select(Certificate, Employee)
        .join(Employee, Employee.id == Certificate.employee_id)
        .where(
            Certificate.status == CertificateStatus.valid,
            Certificate.valid_until.between(run.today, run.today + timedelta(max(thresholds))),
            Employee.status != EmploymentStatus.left,
        )
        .order_by(Certificate.id)
    ).all()
    candidates = []
    for certificate, employee in rows:
        left = (certificate.valid_until - run.today).days  # type: ignore[operator]
        threshold = threshold_for(left, thresholds)
        if threshold is not None:
            key = (
                f"{NotificationKind.certificate_expiring}:{certificate.id}:"
                f"{certificate.valid_until.isoformat()}:{threshold}"  # type: ignore[union-attr]
            )
            candidates.append((_recipient(employee), key, (certificate, employee, key, left)))

    def build(item: tuple[Certificate, Employee, str, int]) -> Draft:
        certificate, employee, key, left = item

        def text() -> tuple[str, str]:
            if left == 0:
                title = _("Certificate ends today: %(title)s", title=certificate.title)
            else:
                title = ngettext(
                    "Certificate ends in %(num)d day: %(title)s",
                    "Certificate ends in %(num)d days: %(title)s",
                    left,
                    title=certificate.title,
                )
            body = _(
                "Your certificate %(serial)s (%(title)s) is valid until %(date)s. "
                "Please arrange its renewal in time.",
                serial=certificate.serial,
                title=certificate.title,
                date=certificate.valid_until.isoformat(),  # type: ignore[union-attr]
            )
            return title, body

        return run.draft(
            _recipient(employee),
            NotificationKind.certificate_expiring,
            key,
            text,
            run.path("lms.certificates.mine"),
        )

    return run.deliver_new(candidates, build)


def iso_week(day: date) -> str:
    """``2026-W11``: the ISO week ``day`` falls in."""
    year, week, _weekday = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class Digest:
    """A manager's week, in their subtree."""

    overdue: int
    due_soon: int
    to_renew: int

    def __bool__(self) -> bool:
        return bool(self.overdue or self.due_soon or self.to_renew)


def digest_of(db: Session, unit_path: str, *, today: date, expiring_days: int) -> Digest:
    """The figures of the subtree at ``unit_path`` (people who have not left): open
    assignments overdue, open ones due in the next seven days, certificates to renew (as the
    certificates-to-renew page counts them)."""
    people = sa.and_(subtree_condition(unit_path), Employee.status != EmploymentStatus.left)
    assignments = (
        sa.select(sa.func.count(Assignment.id))
        .join(Employee, Employee.id == Assignment.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(people, Assignment.completed_at.is_(None), Assignment.closed_at.is_(None))
    )
    overdue = db.scalar(assignments.where(Assignment.due_on < today)) or 0
    window_end = today + timedelta(DIGEST_WINDOW_DAYS - 1)
    due_soon = db.scalar(assignments.where(Assignment.due_on.between(today, window_end))) or 0
    certificates = to_renew(people, today=today, days=expiring_days)
    renew = (
        db.scalar(
            sa.select(sa.func.count()).select_from(
                certificates.with_only_columns(Certificate.id).order_by(None).subquery()
            )
        )
        or 0
    )
    return Digest(overdue, due_soon, renew)


def remind_managers(run: _Run) -> int:
    """Each manager's weekly digest of their subtree, once per ISO week, when there is
    something to say."""
    week = iso_week(run.today)
    managers = run.db.execute(
        sa.select(Employee, Unit)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(Employee.role == Role.manager, Employee.status != EmploymentStatus.left)
        .order_by(Employee.id)
    ).all()
    waiting = [
        (manager, unit, f"{NotificationKind.digest}:{manager.id}:{week}")
        for manager, unit in managers
    ]
    had = existing_keys(run.db, {(manager.id, key) for manager, _unit, key in waiting})
    candidates = []
    for manager, unit, key in waiting:
        if (manager.id, key) in had:
            continue
        figures = digest_of(
            run.db, unit.path, today=run.today, expiring_days=run.settings.expiring_days
        )
        if figures:
            candidates.append((_recipient(manager), key, (manager, unit, key, figures)))

    def build(item: tuple[Employee, Unit, str, Digest]) -> Draft:
        manager, unit, key, figures = item

        def text() -> tuple[str, str]:
            title = _("Weekly summary for %(unit)s", unit=unit.name)
            lines = [
                _(
                    "Training in %(unit)s and the units under it, week %(week)s:",
                    unit=unit.name,
                    week=week,
                ),
                _("Overdue assignments: %(count)d", count=figures.overdue),
                _(
                    "Assignments due in the next %(days)d days: %(count)d",
                    days=DIGEST_WINDOW_DAYS,
                    count=figures.due_soon,
                ),
                _(
                    "Certificates to renew (ending within %(days)d days, or ended): %(count)d",
                    days=run.settings.expiring_days,
                    count=figures.to_renew,
                ),
            ]
            return title, "\n".join(lines)

        # the manager dashboard where the app has it, else the home page (it lists the same)
        link = run.path(DASHBOARD_ENDPOINT) or run.path("lms.core.home")
        return run.draft(_recipient(manager), NotificationKind.digest, key, text, link)

    return run.deliver_new(candidates, build)


def run_reminders(
    db: Session, *, today: date, now: datetime, settings: ReminderSettings
) -> ReminderResult:
    """Every rule on ``today`` (the bureau's date; ``now`` stamps what is created): the
    notifications created, by rule. Only flushes; the caller commits. Needs an app context
    (translations, the app's paths)."""
    run = _Run(db, today, now, settings)
    return ReminderResult(
        due=remind_due(run),
        overdue=remind_overdue(run),
        certificates=remind_certificates(run),
        digests=remind_managers(run),
    )
