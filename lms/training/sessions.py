"""Classroom sessions, practical training, study days (学习日) and meetings that train: a time, a
place, a trainer, hours and a roster. Attendance is recorded by ticking the roster, by QR
self check-in, or by importing a sheet; marking someone present writes their ledger row (which
completes their assignments of the session's course), un-marking removes it, each audited.

QR check-in: the trainer's screen shows a code that changes every minute, derived from the
session's secret (``<session id>-<minute>-<MAC>``); a rostered person who scans it within the
session's time is marked present. The code of the minute before still works (a scan at the turn
of a minute); older codes are refused as expired, and a code made for another session says so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.certificates.models import Certificate
from lms.courses.models import Course
from lms.i18n import gettext as _
from lms.org.models import Employee, Unit
from lms.security import unit_scope
from lms.sheets import Column, ImportResult, Problem, Table, parse_bool, read_table
from lms.training.assignments import Target, target_people
from lms.training.models import (
    LedgerEntry,
    LedgerSource,
    PlanItem,
    SessionAttendee,
    TrainingForm,
    TrainingSession,
)
from lms.training.services import add_ledger_entry

#: check-in opens this long before the start
CHECKIN_EARLY = timedelta(minutes=30)

ATTENDANCE_COLUMNS = (
    Column("emp_no", "工号", required=True),
    Column("present", "出勤"),
)


class SessionError(ValueError):
    """A session that cannot be saved as asked; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class CheckInRefused(ValueError):
    """A check-in refused; ``reason`` is one of ``invalid``, ``expired``, ``other_session``,
    ``not_on_roster``, ``not_open`` (outside the session's time)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SessionFields:
    """What a session is, as a form gives it."""

    title: str
    programme: str
    form: TrainingForm
    starts_at: datetime
    ends_at: datetime
    hours: Decimal
    unit_id: int
    place: str = ""
    trainer: str = ""
    note: str = ""
    course_id: int | None = None
    plan_item_id: int | None = None


def visible_sessions(actor: Employee) -> sa.Select[tuple[TrainingSession]]:
    """The sessions ``actor`` manages: those held by a unit in their scope (managers: their
    subtree; HR: all), newest first."""
    return (
        sa.select(TrainingSession)
        .join(Unit, Unit.id == TrainingSession.unit_id)
        .where(unit_scope(actor))
        .order_by(TrainingSession.starts_at.desc(), TrainingSession.id.desc())
    )


def get_session(db: Session, actor: Employee, session_id: int) -> TrainingSession | None:
    """The session if ``actor`` manages it; None otherwise (the view answers 404 for both)."""
    return db.scalars(visible_sessions(actor).where(TrainingSession.id == session_id)).first()


def _check(db: Session, actor: Employee, fields: SessionFields) -> None:
    if not fields.title.strip():
        raise SessionError("title", "required")
    if fields.ends_at <= fields.starts_at:
        raise SessionError("ends_at", "ends before it starts")
    if fields.ends_at - fields.starts_at > timedelta(days=7):
        raise SessionError("ends_at", "longer than a week")
    if not Decimal(0) < fields.hours <= Decimal(200):
        raise SessionError("hours", "out of range")
    unit = db.scalars(sa.select(Unit).where(Unit.id == fields.unit_id, unit_scope(actor))).first()
    if unit is None:
        raise SessionError("unit_id", "out of scope")
    if fields.course_id is not None and db.get(Course, fields.course_id) is None:
        raise SessionError("course_id", "unknown")
    if fields.plan_item_id is not None and db.get(PlanItem, fields.plan_item_id) is None:
        raise SessionError("plan_item_id", "unknown")


def create_session(db: Session, *, actor: Employee, fields: SessionFields) -> TrainingSession:
    """A new session held by a unit in ``actor``'s scope (:class:`SessionError` names the
    field at fault); audited."""
    _check(db, actor, fields)
    session = TrainingSession(
        title=fields.title.strip()[:300],
        programme=fields.programme,
        form=fields.form,
        starts_at=fields.starts_at,
        ends_at=fields.ends_at,
        hours=fields.hours,
        unit_id=fields.unit_id,
        place=fields.place.strip()[:200],
        trainer=fields.trainer.strip()[:100],
        note=fields.note.strip(),
        course_id=fields.course_id,
        plan_item_id=fields.plan_item_id,
        checkin_secret=secrets.token_hex(32),
        created_by_id=actor.id,
    )
    db.add(session)
    db.flush()
    audit(
        db,
        actor=actor,
        action="session.create",
        object_type="session",
        object_id=session.id,
        summary=f"{session.title} {session.starts_at.isoformat()}",
        after={"title": session.title, "hours": str(session.hours), "unit_id": session.unit_id},
    )
    return session


def add_to_roster(db: Session, session: TrainingSession, *, actor: Employee, target: Target) -> int:
    """Put the people ``target`` names (within ``actor``'s scope, else
    :class:`lms.training.assignments.OutOfScope`) on the roster; how many were new."""
    people = target_people(db, actor, target)
    on_roster = set(
        db.scalars(
            sa.select(SessionAttendee.employee_id).where(SessionAttendee.session_id == session.id)
        )
    )
    new = [p for p in people if p not in on_roster]
    db.add_all(SessionAttendee(session_id=session.id, employee_id=p) for p in new)
    if new:
        audit(
            db,
            actor=actor,
            action="session.roster",
            object_type="session",
            object_id=session.id,
            summary=f"{len(new)} added",
            after={"added": new[:200]},
        )
    db.flush()
    return len(new)


def roster(db: Session, session: TrainingSession) -> list[SessionAttendee]:
    """The roster by 工号, with each person loaded."""
    return list(
        db.scalars(
            sa.select(SessionAttendee)
            .join(Employee, Employee.id == SessionAttendee.employee_id)
            .where(SessionAttendee.session_id == session.id)
            .order_by(Employee.emp_no)
        )
    )


def _source_ref(session: TrainingSession, employee_id: int) -> str:
    return f"session:{session.id}:{employee_id}"


def mark(
    db: Session,
    session: TrainingSession,
    attendee: SessionAttendee,
    *,
    present: bool,
    method: str,
    actor: Employee | None,
    now: datetime,
    local_day: date,
    end_day: date,
) -> bool:
    """Mark a rostered person present (their ledger row written, dated ``local_day`` to
    ``end_day``: the session's days in the bureau) or absent (the row removed); audited. False
    when nothing changed."""
    if attendee.present == present:
        return False
    attendee.present, attendee.method = present, method if present else ""
    attendee.marked_at, attendee.marked_by_id = now, actor.id if actor else None
    ref = _source_ref(session, attendee.employee_id)
    if present:
        add_ledger_entry(
            db,
            employee_id=attendee.employee_id,
            programme=session.programme,
            course_id=session.course_id,
            title=session.title,
            form=session.form,
            start_on=local_day,
            end_on=end_day,
            hours=session.hours,
            source=LedgerSource.session,
            source_ref=ref,
            recorded_by_id=actor.id if actor else None,
        )
    else:
        entry = db.scalars(
            sa.select(LedgerEntry).where(
                LedgerEntry.source == LedgerSource.session, LedgerEntry.source_ref == ref
            )
        ).first()
        if entry is not None:
            # a certificate naming the row keeps standing; it just no longer names it
            db.execute(
                sa.update(Certificate)
                .where(Certificate.ledger_entry_id == entry.id)
                .values(ledger_entry_id=None)
                .execution_options(synchronize_session=False)
            )
            db.delete(entry)
    audit(
        db,
        actor=actor,
        action="session.attendance",
        object_type="session",
        object_id=session.id,
        summary=f"{attendee.employee_id}: {'present' if present else 'absent'} ({method})",
        before={"employee_id": attendee.employee_id, "present": not present},
        after={"employee_id": attendee.employee_id, "present": present, "method": method},
    )
    db.flush()
    return True


# -- QR check-in --------------------------------------------------------------------------------


def _minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def _mac(session: TrainingSession, minute: int) -> str:
    digest = hmac.new(
        bytes.fromhex(session.checkin_secret), f"{session.id}:{minute}".encode(), hashlib.sha256
    ).digest()
    return base64.b32encode(digest[:10]).decode().lower()


def checkin_code(session: TrainingSession, now: datetime) -> str:
    """The code the trainer's screen shows during the minute of ``now``."""
    minute = _minute(now)
    return f"{session.id}-{minute}-{_mac(session, minute)}"


def checkin_open(session: TrainingSession, now: datetime) -> bool:
    """Check-in is open from half an hour before the start to the end."""
    return session.starts_at - CHECKIN_EARLY <= now <= session.ends_at


def verify_code(session: TrainingSession, code: str, now: datetime) -> None:
    """Accept the code of this minute or the one before; :class:`CheckInRefused` otherwise."""
    parts = code.strip().split("-")
    if len(parts) != 3 or not parts[0].isdecimal() or not parts[1].isdecimal():
        raise CheckInRefused("invalid")
    if int(parts[0]) != session.id:
        raise CheckInRefused("other_session")
    minute = int(parts[1])
    if not hmac.compare_digest(parts[2], _mac(session, minute)):
        raise CheckInRefused("invalid")
    current = _minute(now)
    if minute < current - 1:
        raise CheckInRefused("expired")
    if minute > current + 1:
        raise CheckInRefused("invalid")


def check_in(
    db: Session,
    session: TrainingSession,
    employee: Employee,
    code: str,
    *,
    now: datetime,
    local_day: date,
    end_day: date,
) -> bool:
    """A rostered person checks themselves in with the code on the trainer's screen, within
    the session's time; :class:`CheckInRefused` says why not. True when newly marked present
    (a second scan changes nothing)."""
    verify_code(session, code, now)
    if not checkin_open(session, now):
        raise CheckInRefused("not_open")
    attendee = db.get(SessionAttendee, (session.id, employee.id))
    if attendee is None:
        raise CheckInRefused("not_on_roster")
    return mark(
        db,
        session,
        attendee,
        present=True,
        method="qr",
        actor=employee,
        now=now,
        local_day=local_day,
        end_day=end_day,
    )


# -- importing attendance -----------------------------------------------------------------------


def import_attendance(
    db: Session,
    session: TrainingSession,
    table: Table,
    *,
    actor: Employee,
    now: datetime,
    local_day: date,
    end_day: date,
) -> ImportResult:
    """Mark attendance from a sheet (工号, and 出勤 是/否, 是 by default), all-or-nothing: a
    工号 not on the roster, or twice, is an error naming its line, and nothing changes."""
    result = ImportResult()
    header = {c.key: table.headers.get(c.key, c.header) for c in ATTENDANCE_COLUMNS}
    attendees = {a.employee.emp_no: a for a in roster(db, session)}
    wanted: list[tuple[SessionAttendee, bool]] = []
    seen: dict[str, int] = {}
    for line, row in table.rows:
        emp_no = (row.get("emp_no") or "").strip()
        if not emp_no:
            result.errors.append(Problem(table.file, line, header["emp_no"], _("工号 is empty.")))
            continue
        if emp_no in seen:
            result.errors.append(
                Problem(
                    table.file,
                    line,
                    header["emp_no"],
                    _("%(emp_no)s is on line %(line)d too.", emp_no=emp_no, line=seen[emp_no]),
                )
            )
            continue
        seen[emp_no] = line
        attendee = attendees.get(emp_no)
        if attendee is None:
            result.errors.append(
                Problem(
                    table.file,
                    line,
                    header["emp_no"],
                    _("%(emp_no)s is not on the session's roster.", emp_no=emp_no),
                )
            )
            continue
        text = (row.get("present") or "").strip()
        try:
            present = parse_bool(text, default=True)
        except ValueError as error:
            result.errors.append(Problem(table.file, line, header["present"], str(error)))
            continue
        wanted.append((attendee, present))
    if result.errors:
        return result
    for attendee, present in wanted:
        changed = mark(
            db,
            session,
            attendee,
            present=present,
            method="import",
            actor=actor,
            now=now,
            local_day=local_day,
            end_day=end_day,
        )
        if changed:
            result.imported += 1
        else:
            result.unchanged += 1
    return result


def read_attendance(data: bytes, file: str) -> Table:
    """The attendance sheet's table (CSV or XLSX); :class:`lms.sheets.FileProblem` when it
    cannot be read."""
    return read_table(data, file, ATTENDANCE_COLUMNS)


def attach_sheet(
    db: Session,
    session: TrainingSession,
    *,
    name: str,
    sha256: str,
    actor: Employee,
) -> None:
    """Record the scanned sign-in sheet (already stored by its hash); audited."""
    before = session.sheet_sha256
    session.sheet_sha256, session.sheet_name = sha256, name[:200]
    audit(
        db,
        actor=actor,
        action="session.sheet",
        object_type="session",
        object_id=session.id,
        summary=name[:200],
        before={"sha256": before} if before else None,
        after={"sha256": sha256, "name": name[:200]},
    )
    db.flush()
