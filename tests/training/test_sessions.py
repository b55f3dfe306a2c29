"""Classroom sessions: QR check-in (a valid code from a rostered person records attendance and
the ledger row; an expired code, another session's code, someone not on the roster, or outside
the session's time is refused with a clear message), ticking and un-ticking the roster (ledger
row written and removed, audited), importing attendance all-or-nothing, and scope."""

from __future__ import annotations

import html
import io
from datetime import timedelta
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import utcnow
from lms.org.models import Role
from lms.training import sessions
from lms.training.models import (
    Assignment,
    LedgerEntry,
    LedgerSource,
    SessionAttendee,
    TrainingForm,
    TrainingSession,
)
from tests.conftest import csrf_token


@pytest.fixture
def office(create_unit):
    return create_unit("湖塘供电所", rural=True)


@pytest.fixture
def create_session(db, office):
    """``create_session(start_in=timedelta(minutes=-10), roster=[...], course=None)``."""

    def make(*, start_in=timedelta(minutes=-10), roster=(), course=None, unit=None):
        now = utcnow()
        session = TrainingSession(
            title="供电所规范化服务培训",
            programme="rural_discipline",
            form=TrainingForm.classroom,
            starts_at=now + start_in,
            ends_at=now + start_in + timedelta(hours=2),
            hours=Decimal("2.0"),
            unit_id=(unit or office).id,
            place="湖塘供电所会议室",
            trainer="王老师",
            checkin_secret="ab" * 32,
            course_id=course.id if course else None,
        )
        db.add(session)
        db.flush()
        db.add_all(SessionAttendee(session_id=session.id, employee_id=p.id) for p in roster)
        db.commit()
        return session

    return make


def ledger_rows(db, session) -> list[LedgerEntry]:
    db.rollback()
    return list(
        db.scalars(
            sa.select(LedgerEntry).where(
                LedgerEntry.source == LedgerSource.session,
                LedgerEntry.source_ref.startswith(f"session:{session.id}:"),
            )
        )
    )


def scan(client, session, code):
    """Open the scanned URL, then press "check in"."""
    page = client.get(f"/checkin/{session.id}?c={code}")
    token = csrf_token(client, f"/checkin/{session.id}?c={code}")
    return page, client.post(
        f"/checkin/{session.id}",
        data={"code": code, "csrf_token": token},
        headers={"Accept-Language": "en"},
    )


def test_qr_check_in_records_attendance_and_the_ledger_row(
    app, db, client, login, create_employee, office, create_session, create_course
):
    """A valid code from a rostered person: present, one ledger row (the session's hours and
    programme), the course's assignment completed; a second scan changes nothing."""
    person = create_employee(unit=office)
    course = create_course()
    db.add(Assignment(employee_id=person.id, course_id=course.id))
    db.commit()
    session = create_session(roster=[person], course=course)
    login(person)
    page, done = scan(client, session, sessions.checkin_code(session, utcnow()))
    assert page.status_code == 200 and "供电所规范化服务培训" in page.get_data(as_text=True)
    assert done.status_code == 200 and 'data-testid="checkin-done"' in done.get_data(as_text=True)
    (row,) = ledger_rows(db, session)
    assert (row.employee_id, row.hours, row.programme) == (
        person.id,
        Decimal("2.0"),
        "rural_discipline",
    )
    assert row.form is TrainingForm.classroom and row.course_id == course.id
    attendee = db.get(SessionAttendee, (session.id, person.id))
    assert attendee.present and attendee.method == "qr"
    assert db.scalars(sa.select(Assignment)).one().completed_at is not None
    scan(client, session, sessions.checkin_code(session, utcnow()))
    assert len(ledger_rows(db, session)) == 1


@pytest.mark.parametrize(
    "case, message",
    [
        ("expired", "This code has expired"),
        ("other_session", "This code is for another session"),
        ("not_on_roster", "You are not on this session's roster"),
        ("not_open", "Check-in is open from half an hour before"),
        ("forged", "This is not a valid check-in code"),
    ],
)
def test_check_in_refusals_are_clear_and_change_nothing(
    app, db, client, login, create_employee, office, create_session, case, message
):
    person = create_employee(unit=office)
    roster = [] if case == "not_on_roster" else [person]
    session = create_session(
        roster=roster, start_in=timedelta(days=1) if case == "not_open" else timedelta(minutes=-5)
    )
    other = create_session(roster=[person])
    now = utcnow()
    code = {
        "expired": sessions.checkin_code(session, now - timedelta(minutes=3)),
        "other_session": sessions.checkin_code(other, now),
        "forged": f"{session.id}-{int(now.timestamp()) // 60}-aaaaaaaaaaaaaaaa",
    }.get(case, sessions.checkin_code(session, now))
    login(person)
    _page, refused = scan(client, session, code)
    assert refused.status_code == 400
    text = html.unescape(refused.get_data(as_text=True))
    assert message in text and 'data-testid="checkin-done"' not in text
    assert ledger_rows(db, session) == []


def test_the_code_of_the_minute_before_still_works(
    app, db, office, create_employee, create_session
):
    session = create_session(roster=[create_employee(unit=office)])
    now = utcnow()
    sessions.verify_code(session, sessions.checkin_code(session, now - timedelta(minutes=1)), now)
    with pytest.raises(sessions.CheckInRefused) as refused:
        sessions.verify_code(
            session, sessions.checkin_code(session, now - timedelta(minutes=2)), now
        )
    assert refused.value.reason == "expired"


def test_ticking_writes_and_unticking_removes_the_ledger_row(
    app, db, client, login, create_employee, office, create_session
):
    """The manager ticks two of three; un-ticks one: its ledger row goes, with audit entries."""
    manager = create_employee(unit=office, role=Role.manager)
    people = [create_employee(unit=office) for _ in range(3)]
    session = create_session(roster=people)
    login(manager)
    page = client.get(f"/sessions/{session.id}")
    assert page.status_code == 200 and people[0].name in page.get_data(as_text=True)
    token = csrf_token(client, f"/sessions/{session.id}")
    client.post(
        f"/sessions/{session.id}/attendance",
        data={"present": [str(people[0].id), str(people[1].id)], "csrf_token": token},
    )
    assert sorted(r.employee_id for r in ledger_rows(db, session)) == [people[0].id, people[1].id]
    client.post(
        f"/sessions/{session.id}/attendance",
        data={"present": [str(people[0].id)], "csrf_token": token},
    )
    assert [r.employee_id for r in ledger_rows(db, session)] == [people[0].id]
    changes = db.scalars(
        sa.select(AuditEntry.after).where(AuditEntry.action == "session.attendance")
    ).all()
    assert [(c["employee_id"], c["present"]) for c in changes][-1] == (people[1].id, False)
    assert len(changes) == 3
    assert client.post(f"/sessions/{session.id}/attendance", data={}).status_code == 400


def test_import_attendance_all_or_nothing(
    app, db, client, login, create_employee, office, create_session
):
    manager = create_employee(unit=office, role=Role.manager)
    on_roster, stranger = create_employee(unit=office), create_employee(unit=office)
    session = create_session(roster=[on_roster])
    login(manager)
    token = csrf_token(client, f"/sessions/{session.id}")

    def upload(text: str):
        return client.post(
            f"/sessions/{session.id}/attendance/import",
            data={"file": (io.BytesIO(text.encode()), "签到.csv"), "csrf_token": token},
            content_type="multipart/form-data",
            headers={"Accept-Language": "en"},
            follow_redirects=True,
        )

    bad = upload(f"工号,出勤\n{on_roster.emp_no},是\n{stranger.emp_no},是\n")
    assert "签到.csv:3" in bad.get_data(as_text=True) and "not on the session" in bad.get_data(
        as_text=True
    )
    assert ledger_rows(db, session) == []
    upload(f"工号,出勤\n{on_roster.emp_no},是\n")
    assert [r.employee_id for r in ledger_rows(db, session)] == [on_roster.id]


def test_scope_roster_and_sheet(
    app, db, client, login, create_employee, create_unit, office, create_session
):
    """A manager of another unit and an employee get 404 for the session's pages; the roster
    takes a unit's people; a sign-in sheet must be a PDF or image and downloads again."""
    elsewhere = create_unit("城东供电所")
    session = create_session()
    for person in (
        create_employee(unit=elsewhere, role=Role.manager),
        create_employee(unit=office),
    ):
        login(person)
        assert client.get(f"/sessions/{session.id}").status_code == 404
        assert client.get(f"/sessions/{session.id}/qr").status_code == 404
    staff = [create_employee(unit=office) for _ in range(2)]
    manager = create_employee(unit=office, role=Role.manager)
    login(manager)
    token = csrf_token(client, f"/sessions/{session.id}")
    client.post(
        f"/sessions/{session.id}/roster",
        data={"unit": str(office.id), "post": "0", "emp_nos": "", "csrf_token": token},
    )
    db.rollback()
    on_roster = set(
        db.scalars(
            sa.select(SessionAttendee.employee_id).where(SessionAttendee.session_id == session.id)
        )
    )
    assert {p.id for p in staff} | {manager.id} <= on_roster
    outside = client.post(
        f"/sessions/{session.id}/roster",
        data={"unit": str(elsewhere.id), "post": "0", "emp_nos": "", "csrf_token": token},
    )
    assert outside.status_code == 404

    def attach(data: bytes):
        return client.post(
            f"/sessions/{session.id}/sheet",
            data={"file": (io.BytesIO(data), "sheet.pdf"), "csrf_token": token},
            content_type="multipart/form-data",
        )

    attach(b"<html>not a scan</html>")
    db.rollback()
    assert db.get(TrainingSession, session.id).sheet_sha256 is None
    attach(b"%PDF-1.4 scanned")
    assert client.get(f"/sessions/{session.id}/sheet").data == b"%PDF-1.4 scanned"
    qr = client.get(f"/sessions/{session.id}/qr.json").get_json()
    assert qr["svg"].startswith("<svg") and qr["present"] == 0


def test_new_session_form(app, db, client, login, create_employee, create_unit, office):
    manager = create_employee(unit=office, role=Role.manager)
    login(manager)
    token = csrf_token(client, "/sessions/new")
    form = {
        "title": "学习日：安全规程",
        "form": "学习日",
        "programme": "study_day",
        "course": "0",
        "starts_at": "2026-12-03T09:00",
        "ends_at": "2026-12-03T11:30",
        "hours": "2.5",
        "unit": str(office.id),
        "place": "会议室",
        "trainer": "李老师",
        "plan_item": "0",
        "note": "",
        "csrf_token": token,
    }
    backwards = client.post(
        "/sessions/new",
        data={**form, "ends_at": "2026-12-03T08:00"},
        headers={"Accept-Language": "en"},
    )
    assert backwards.status_code == 200 and "must end after it starts" in backwards.get_data(
        as_text=True
    )
    made = client.post("/sessions/new", data=form)
    assert made.status_code == 302
    db.rollback()
    session = db.scalars(sa.select(TrainingSession)).one()
    assert session.form is TrainingForm.study_day and session.hours == Decimal("2.5")
    assert session.starts_at.astimezone(sessions_zone(app)).hour == 9
    assert "学习日：安全规程" in client.get("/sessions").get_data(as_text=True)


def sessions_zone(app):
    from zoneinfo import ZoneInfo

    return ZoneInfo(app.config["LMS_TIMEZONE"])


def test_roster_sheet_xlsx_import(app, db, client, login, create_employee, office, create_session):
    """An XLSX attendance sheet with 出勤 否 marks nobody present."""
    manager = create_employee(unit=office, role=Role.manager)
    person = create_employee(unit=office)
    session = create_session(roster=[person])
    book = openpyxl.Workbook()
    book.active.append(["工号", "出勤"])
    book.active.append([person.emp_no, "否"])
    data = io.BytesIO()
    book.save(data)
    login(manager)
    token = csrf_token(client, f"/sessions/{session.id}")
    client.post(
        f"/sessions/{session.id}/attendance/import",
        data={"file": (io.BytesIO(data.getvalue()), "a.xlsx"), "csrf_token": token},
        content_type="multipart/form-data",
    )
    assert ledger_rows(db, session) == []
