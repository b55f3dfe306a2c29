"""Bulk issue: everyone who passed a course in a period and holds no valid certificate of it gets
one (dated the day they passed, with unique serials of that year), as a job with progress and
as ``lms certificates issue``; a second run issues nothing more."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lms.certificates.bulk import bulk_candidates, issue_bulk
from lms.certificates.designs import shipped_designs
from lms.certificates.models import Certificate, CertificateStatus
from lms.cli import lms_commands
from lms.org.models import EmploymentStatus
from tests.conftest import pdf_text


@pytest.fixture
def app_config(tmp_path: Any) -> dict[str, Any]:
    return {"LMS_DATA_DIR": str(tmp_path / "data"), "LMS_PUBLIC_URL": "https://lms.example.cn"}


@pytest.fixture
def passed(create_ledger_entry):
    """``passed(person, course, day, score="90", ok=True)``: the id of a ledger row of the
    course."""

    def add(person: Any, course: Any, day: date, score: str = "90", ok: bool = True) -> int:
        return create_ledger_entry(person, course, day, score=score, passed=ok).id

    return add


def fake_render(design: Any, context: dict[str, Any]) -> tuple[bytes, list[str]]:
    """A stand-in renderer (a real one costs ~0.2 s a certificate): distinct bytes per serial."""
    return f"%PDF-1.7 {context['serial']} {context['holder_name']}".encode(), []


def test_candidates(app, db, create_employee, create_course, passed) -> None:
    course, other = create_course(), create_course()
    twice, failed, late, leaver, holder, elsewhere = (create_employee() for _ in range(6))
    passed(twice, course, date(2026, 3, 1), "70")
    latest = passed(twice, course, date(2026, 6, 1), "95")
    passed(failed, course, date(2026, 3, 1), "40", ok=False)
    passed(late, course, date(2027, 1, 1))
    passed(leaver, course, date(2026, 3, 1))
    leaver.status = EmploymentStatus.left
    passed(holder, course, date(2026, 3, 1))
    passed(elsewhere, other, date(2026, 3, 1))
    db.add(
        Certificate(
            serial="X-1",
            verification_code="c" * 22,
            employee_id=holder.id,
            course_id=course.id,
            design="qualification",
            kind="qualification",
            title=course.title,
            issued_on=date(2025, 1, 1),
        )
    )
    db.commit()
    found = bulk_candidates(db, course.id, date(2026, 1, 1), date(2026, 12, 31))
    assert [(c.employee_id, c.passed_on, c.ledger_entry_id) for c in found] == [
        (twice.id, date(2026, 6, 1), latest)
    ]
    assert found[0].score == Decimal("95")


def test_issue_bulk_dates_serials_and_skips(app, db, create_employee, create_course, passed):
    course = create_course(title="营业窗口服务规范")
    people = [create_employee(emp_no=f"LC9{n:05d}") for n in range(5)]
    for number, person in enumerate(people):
        passed(person, course, date(2025 + number % 2, 12, 30))
    database = app.extensions["lms"].db
    candidates = bulk_candidates(db, course.id, date(2025, 1, 1), date(2026, 12, 31))
    assert len(candidates) == 5
    reports: list[tuple[int, int]] = []
    with app.app_context():
        # someone got theirs another way while the job was starting: they are skipped
        from lms.certificates.services import issue_certificate

        issue_certificate(
            db,
            employee=people[0],
            course=course,
            design=shipped_designs()["qualification"],
            issued_on=date(2026, 1, 5),
            score=None,
            bureau="龙城供电局",
            serial_bureau="LCGD",
            verify_url=lambda code: code,
            data_dir=app.config["LMS_DATA_DIR"],
            actor=None,
            now=datetime(2026, 1, 5, 2, 0, tzinfo=UTC),
            renderer=fake_render,
        )
        db.commit()
        result = issue_bulk(
            database,
            course_id=course.id,
            design=shipped_designs()["qualification"],
            candidates=candidates,
            bureau="龙城供电局",
            serial_bureau="LCGD",
            verify_url=lambda code: f"https://lms.example.cn/verify/{code}",
            data_dir=app.config["LMS_DATA_DIR"],
            actor_id=None,
            render=fake_render,
            workers=2,
            progress=lambda done, total, message: reports.append((done, total)),
        )
    assert (result.issued, result.skipped, result.failed) == (4, 1, [])
    assert reports[0] == (0, 5) and reports[-1] == (5, 5)
    db.expire_all()
    rows = db.scalars(sa.select(Certificate).where(Certificate.course_id == course.id)).all()
    assert len(rows) == 5 and len({r.serial for r in rows}) == 5
    assert all(r.status is CertificateStatus.valid for r in rows)
    by_person = {r.employee_id: r for r in rows}
    assert by_person[people[1].id].issued_on == date(2026, 12, 30)
    assert by_person[people[1].id].serial.startswith("LCGD-2026-HG-")
    assert by_person[people[2].id].serial.startswith("LCGD-2025-HG-")
    assert by_person[people[2].id].valid_until == date(2028, 12, 30)
    # nobody is left to issue to
    assert bulk_candidates(db, course.id, date(2025, 1, 1), date(2026, 12, 31)) == []


def test_command_issues_real_pdfs_then_nothing(
    app, db, runner, create_employee, create_course, passed
):
    course = create_course(title="电力安全工作规程")
    course.certificate_design = "onboarding"
    db.commit()
    for name in ("欧阳晓燕", "李四"):
        passed(create_employee(name=name), course, date(2026, 5, 6))
    args = ["certificates", "issue", "--course", course.code, "--from", "2026-01-01"]
    dry = runner.invoke(lms_commands, [*args, "--to", "2026-12-31", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.output)["candidates"] == 2
    assert db.scalar(sa.select(sa.func.count(Certificate.id))) == 0

    done = runner.invoke(lms_commands, [*args, "--to", "2026-12-31"])
    assert done.exit_code == 0, done.output
    assert "issued 2, skipped 0, failed 0" in done.output
    db.rollback()  # end this session's read snapshot
    rows = db.scalars(sa.select(Certificate).order_by(Certificate.serial)).all()
    assert [r.serial for r in rows] == ["LCGD-2026-SG-000001", "LCGD-2026-SG-000002"]
    assert {r.design for r in rows} == {"onboarding"}
    first = rows[0]
    data = Path(app.config["LMS_DATA_DIR"])
    text = pdf_text((data / first.pdf_path).read_bytes(), data)
    assert first.serial in text and course.title in text

    again = runner.invoke(lms_commands, [*args, "--to", "2026-12-31", "--json"])
    assert again.exit_code == 0 and json.loads(again.output)["issued"] == 0


def test_command_errors(app, runner, create_course) -> None:
    course = create_course()
    unknown = runner.invoke(lms_commands, ["certificates", "issue", "--course", "NOPE"])
    assert unknown.exit_code == 1 and "NOPE" in unknown.output  # (the message is translated)
    no_design = runner.invoke(lms_commands, ["certificates", "issue", "--course", course.code])
    assert no_design.exit_code == 1 and f"{course.code} " in no_design.output
    backwards = runner.invoke(
        lms_commands,
        [
            "certificates",
            "issue",
            "--course",
            course.code,
            "--from",
            "2026-05-01",
            "--to",
            "2026-01-01",
        ],
    )
    assert backwards.exit_code == 1 and "is after" in backwards.output
