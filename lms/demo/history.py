"""Three years of training history for the demo bureau, so that the annual report tells a story:
some units above and some below each target.

Each department or county bureau gets its own habits, drawn from the seed: how many of its
people train in a year, how many take professional-ethics training, how many of its managers
hold the 上岗培训合格证. Its units inherit them with a little noise. On that basis, for each of
the last three years (the current one up to today): training records from elsewhere and online
completions (ledger rows), monthly study days (学习日) in the rural offices held as sessions with
a roster and attendance, certificates (issued, expiring, expired, revoked), people moving unit,
and the rural-office pack assigned to the rural offices with due dates, some overdue. People
joining and leaving come from the bureau itself (hire and leave dates).

The certificates are recorded as imported ones (held before the system, no PDF): rendering a
PDF takes a tenth of a second, and the demo stays quick; ``lms demo`` issues real ones, with
their PDFs, to the demo sign-ins.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.certificates.models import Certificate, CertificateSource, CertificateStatus
from lms.certificates.services import add_months
from lms.courses.models import Course
from lms.org.models import Employee, EmployeeMove, EmploymentStatus, Unit
from lms.training.models import (
    Assignment,
    CoursePack,
    LedgerEntry,
    LedgerSource,
    SessionAttendee,
    TrainingForm,
    TrainingSession,
)

Progress = Callable[[int, int, str], None]
ETHICS_COURSES = ("PE-101", "PE-102", "PE-103", "PE-104")
BATCH = 5000


@dataclass(frozen=True)
class Habits:
    trains: float  # share of people with at least one completed record in a year
    ethics: float  # share with professional-ethics training in a year
    certified: float  # share of managers holding the 上岗培训合格证


@dataclass
class HistorySummary:
    records: int = 0
    sessions: int = 0
    certificates: int = 0
    moves: int = 0
    assignments: int = 0


def _habits(rng: random.Random, units: list[Unit]) -> dict[int, Habits]:
    """Each unit's habits: its top department's (drawn), with a little noise."""
    top: dict[int, Habits] = {}
    found: dict[int, Habits] = {}
    for unit in sorted(units, key=lambda u: u.path):
        parts = [int(p) for p in unit.path.strip("/").split("/") if p]
        if len(parts) <= 1:
            found[unit.id] = Habits(0.85, 0.22, 0.45)
            continue
        head = parts[1]
        if head not in top:
            top[head] = Habits(
                trains=rng.uniform(0.68, 0.97),
                ethics=rng.uniform(0.10, 0.36),
                certified=rng.uniform(0.25, 0.70),
            )
        base = top[head]
        found[unit.id] = Habits(
            trains=min(0.99, max(0.4, base.trains + rng.uniform(-0.05, 0.05))),
            ethics=min(0.9, max(0.02, base.ethics + rng.uniform(-0.04, 0.04))),
            certified=min(0.95, max(0.05, base.certified + rng.uniform(-0.08, 0.08))),
        )
    return found


def _in_post(person: Any, first: date, last: date) -> bool:
    hired = person.hired_on or date(1900, 1, 1)
    return hired <= last and (person.left_on is None or person.left_on > first)


def build_history(
    session: Session,
    *,
    seed: int,
    today: date,
    zone: Any,
    progress: Progress | None = None,
) -> HistorySummary:
    """Add three years of history (to ``today``) to the demo bureau; the caller commits."""
    report: Progress = progress or (lambda done, total, message: None)
    rng = random.Random(seed * 7919 + 11)
    summary = HistorySummary()
    units = list(session.scalars(sa.select(Unit)))
    by_id = {u.id: u for u in units}
    habits = _habits(rng, units)
    people = session.execute(
        sa.select(
            Employee.id,
            Employee.unit_id,
            Employee.post_id,
            Employee.is_manager,
            Employee.hired_on,
            Employee.left_on,
            Employee.status,
        ).order_by(Employee.id)
    ).all()
    courses = {c.code: c for c in session.scalars(sa.select(Course))}
    online = [c for code, c in sorted(courses.items()) if code not in ETHICS_COURSES]
    ethics = [courses[code] for code in ETHICS_COURSES if code in courses]
    years = [today.year - 2, today.year - 1, today.year]
    rows: list[dict[str, Any]] = []

    def flush(force: bool = False) -> None:
        if rows and (force or len(rows) >= BATCH):
            session.execute(sa.insert(LedgerEntry), rows)
            summary.records += len(rows)
            rows.clear()

    for step, year in enumerate(years):
        report(step, len(years) + 2, f"{year}")
        first, last = date(year, 1, 1), min(date(year, 12, 31), today)
        for person in people:
            if person.status is not EmploymentStatus.active and person.left_on is None:
                continue  # 借调, 内退...: they train elsewhere or not at all
            if not _in_post(person, first, last):
                continue
            habit = habits.get(person.unit_id, Habits(0.8, 0.2, 0.4))
            start = max(first, person.hired_on or first)
            end = min(last, person.left_on - timedelta(days=1) if person.left_on else last)
            if end < start:
                continue
            if online and rng.random() < habit.trains:
                for _ in range(rng.choice((1, 1, 2, 3))):
                    course = rng.choice(online)
                    day = date.fromordinal(rng.randint(start.toordinal(), end.toordinal()))
                    rows.append(_row(person.id, course, day, rng, source="import"))
            if ethics and rng.random() < habit.ethics:
                course = rng.choice(ethics)
                day = date.fromordinal(rng.randint(start.toordinal(), end.toordinal()))
                rows.append(_row(person.id, course, day, rng, source="import"))
            flush()
        flush(force=True)
        summary.sessions += _study_days(session, rng, by_id, people, year, last, zone)
    report(len(years), len(years) + 2, "certificates")
    summary.certificates += _certificates(session, rng, people, habits, courses, today)
    summary.moves += _moves(session, rng, people, by_id, today)
    summary.assignments += _pack_assignments(session, rng, people, by_id, today)
    session.flush()
    report(len(years) + 2, len(years) + 2, "done")
    return summary


def _row(employee_id: int, course: Course, day: date, rng: random.Random, *, source: str) -> dict:
    passed = rng.random() > 0.03
    return {
        "employee_id": employee_id,
        "programme": course.programme,
        "course_id": course.id,
        "title": course.title,
        "form": TrainingForm.online if rng.random() < 0.7 else TrainingForm.classroom,
        "start_on": day,
        "end_on": day,
        "hours": course.hours,
        "score": Decimal(rng.randint(55 if not passed else 60, 100)),
        "passed": passed,
        "source": LedgerSource.imported,
        "source_ref": f"demo:{source}:{secrets.token_hex(8)}",
    }


def _study_days(
    session: Session,
    rng: random.Random,
    units: dict[int, Unit],
    people: list[Any],
    year: int,
    last: date,
    zone: Any,
) -> int:
    """A study day (学习日) every other month in each rural office, with its roster (the office's
    people in post) and most of them attending."""
    made = 0
    rural = [u for u in units.values() if u.is_rural]
    staff: dict[int, list[Any]] = {}
    for person in people:
        staff.setdefault(person.unit_id, []).append(person)
    for office in sorted(rural, key=lambda u: u.code):
        for month in range(2, 13, 2):
            day = date(year, month, 10)
            if day > last:
                break
            starts = datetime.combine(day, time(9, 0), tzinfo=zone)
            study = TrainingSession(
                title=f"{office.name}{month}月学习日",
                programme="study_day",
                form=TrainingForm.study_day,
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                hours=Decimal("3.0"),
                unit_id=office.id,
                place=f"{office.name}会议室",
                trainer="所长",
                checkin_secret=secrets.token_hex(32),
            )
            session.add(study)
            session.flush()
            made += 1
            roster = [p for p in staff.get(office.id, []) if _in_post(p, day, day)]
            attendees, ledger = [], []
            for person in roster:
                present = rng.random() < 0.82
                attendees.append(
                    {
                        "session_id": study.id,
                        "employee_id": person.id,
                        "present": present,
                        "method": "tick" if present else "",
                        "marked_at": starts.astimezone(UTC) if present else None,
                    }
                )
                if present:
                    ledger.append(
                        {
                            "employee_id": person.id,
                            "programme": "study_day",
                            "course_id": None,
                            "title": study.title,
                            "form": TrainingForm.study_day,
                            "start_on": day,
                            "end_on": day,
                            "hours": study.hours,
                            "score": None,
                            "passed": True,
                            "source": LedgerSource.session,
                            "source_ref": f"session:{study.id}:{person.id}",
                        }
                    )
            if attendees:
                session.execute(sa.insert(SessionAttendee), attendees)
            if ledger:
                session.execute(sa.insert(LedgerEntry), ledger)
    return made


def _certificates(
    session: Session,
    rng: random.Random,
    people: list[Any],
    habits: dict[int, Habits],
    courses: dict[str, Course],
    today: date,
) -> int:
    """上岗培训合格证 for a unit's share of its managers, issued over the last three years (some
    now expiring or expired, a few revoked); 合格证 of the service course for some others."""
    onboarding = courses.get("MO-101")
    service = courses.get("SS-101")
    rows: list[dict[str, Any]] = []
    numbers: dict[tuple[int, str], int] = {}

    def add(person: Any, course: Course | None, kind: str, code: str, issued: date) -> None:
        key = (issued.year, code)
        numbers[key] = numbers.get(key, 0) + 1
        valid_until = add_months(issued, 36)
        status, revoked_at, reason = CertificateStatus.valid, None, ""
        if len(rows) % 25 == 12:  # a few, whatever the size of the bureau
            status, reason = CertificateStatus.revoked, "复查发现考试违纪，撤销证书"
            revoked_at = datetime.combine(issued + timedelta(days=120), time(2, 0), tzinfo=UTC)
        rows.append(
            {
                "serial": f"LCGD-{issued.year}-{code}-H{numbers[key]:05d}",
                "verification_code": secrets.token_urlsafe(16),
                "employee_id": person.id,
                "course_id": course.id if course else None,
                "design": kind,
                "kind": kind,
                "title": course.title if course else kind,
                "hours": course.hours if course else None,
                "issued_on": issued,
                "valid_until": valid_until,
                "status": status,
                "source": CertificateSource.imported,
                "revoked_at": revoked_at,
                "revoked_reason": reason,
            }
        )

    for person in people:
        if person.left_on is not None and person.left_on <= today:
            continue
        habit = habits.get(person.unit_id, Habits(0.8, 0.2, 0.4))
        if person.is_manager and rng.random() < habit.certified:
            # mostly recent; some from three years ago, now expiring or expired
            back = rng.choice((30, 200, 400, 700, 1000, 1060, 1120))
            add(person, onboarding, "onboarding", "SG", today - timedelta(days=back))
        elif not person.is_manager and service is not None and rng.random() < 0.08:
            add(
                person,
                service,
                "qualification",
                "HG",
                today - timedelta(days=rng.randint(20, 1000)),
            )
    for start in range(0, len(rows), BATCH):
        session.execute(sa.insert(Certificate), rows[start : start + BATCH])
    return len(rows)


def _moves(
    session: Session, rng: random.Random, people: list[Any], units: dict[int, Unit], today: date
) -> int:
    """About one in a hundred people moved to another office of the same kind this year."""
    by_kind: dict[Any, list[int]] = {}
    for unit in units.values():
        by_kind.setdefault(unit.kind, []).append(unit.id)
    moves = []
    for person in people:
        if person.left_on is not None or rng.random() > 0.01:
            continue
        choices = [u for u in by_kind.get(units[person.unit_id].kind, []) if u != person.unit_id]
        if not choices:
            continue
        target = rng.choice(choices)
        day = date.fromordinal(
            rng.randint(
                date(today.year, 1, 15).toordinal(), max(date(today.year, 1, 15), today).toordinal()
            )
        )
        moves.append(
            {
                "employee_id": person.id,
                "effective_on": day,
                "from_unit_id": person.unit_id,
                "to_unit_id": target,
                "from_post_id": person.post_id,
                "to_post_id": person.post_id,
                "note": "演示数据：调动",
            }
        )
    if moves:
        session.execute(sa.insert(EmployeeMove), moves)
        session.execute(
            sa.update(Employee),
            [{"id": m["employee_id"], "unit_id": m["to_unit_id"]} for m in moves],
        )
    return len(moves)


def _pack_assignments(
    session: Session, rng: random.Random, people: list[Any], units: dict[int, Unit], today: date
) -> int:
    """The rural-office pack assigned to every rural office's people, due over the year: some
    done (their ledger says so), some in progress, some overdue."""
    pack = session.scalars(sa.select(CoursePack).where(CoursePack.code == "rural-office")).first()
    if pack is None:
        return 0
    rural = {u.id for u in units.values() if u.is_rural}
    now = datetime.combine(today, time(1, 0), tzinfo=UTC)
    courses = {c.id: c for c in session.scalars(sa.select(Course))}
    rows, ledger = [], []
    for person in people:
        if person.unit_id not in rural or person.left_on is not None:
            continue
        due = today + timedelta(days=rng.choice((-40, -10, 20, 45, 90)))
        for item in pack.items:
            done = rng.random() < 0.55
            finished = now - timedelta(days=rng.randint(1, 50))
            if done:  # the ledger shows it done, as it would have from the course
                record = _row(
                    person.id, courses[item.course_id], finished.date(), rng, source="pack"
                )
                ledger.append({**record, "passed": True, "form": TrainingForm.online})
            rows.append(
                {
                    "employee_id": person.id,
                    "course_id": item.course_id,
                    "due_on": due,
                    "note": "演示数据：农村供电所培训包",
                    "origin": "pack",
                    "pack_id": pack.id,
                    "created_at": now - timedelta(days=60),
                    "completed_at": finished if done else None,
                }
            )
    for start in range(0, len(rows), BATCH):
        session.execute(sa.insert(Assignment), rows[start : start + BATCH])
    for start in range(0, len(ledger), BATCH):
        session.execute(sa.insert(LedgerEntry), ledger[start : start + BATCH])
    return len(rows)
