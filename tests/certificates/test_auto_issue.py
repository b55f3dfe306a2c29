"""A course with a certificate design issues its certificate when it is completed (in the same
transaction), renews it when passed again, and the person's training file lists it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from lms.certificates.models import Certificate, CertificateStatus
from lms.courses import services as courses
from lms.training.models import LedgerEntry
from lms.training.services import record_certificates


@pytest.fixture
def app_config(tmp_path: Any) -> dict[str, Any]:
    return {"LMS_DATA_DIR": str(tmp_path / "data"), "LMS_PUBLIC_URL": "https://lms.example.cn"}


def complete(app: Any, db: Any, employee: Any, course: Any, when: datetime) -> None:
    with app.test_request_context():
        run = courses.start_run(db, employee, course)
        assert courses.complete_run(db, run, score="88", now=when)
        db.commit()


def test_completion_issues_and_a_second_pass_renews(app, db, create_employee, create_course):
    person = create_employee(name="张三")
    course = create_course(title="营业窗口服务规范")
    course.certificate_design = "qualification"
    with app.app_context():
        courses.publish(db, course, actor=None)
    db.commit()

    complete(app, db, person, course, datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    first = db.scalars(sa.select(Certificate)).one()
    entry = db.scalars(sa.select(LedgerEntry)).one()
    assert first.status is CertificateStatus.valid and first.ledger_entry_id == entry.id
    assert first.issued_on.isoformat() == "2026-03-02" and str(first.score) == "88.00"
    assert (app.config["LMS_DATA_DIR"] + "/" + first.pdf_path).endswith(first.pdf_sha256)

    # studied and passed again (a restart): the certificate is renewed, the old one replaced
    complete(app, db, person, course, datetime(2027, 3, 2, 2, 0, tzinfo=UTC))
    db.expire_all()
    rows = db.scalars(sa.select(Certificate).order_by(Certificate.id)).all()
    assert [r.status for r in rows] == [CertificateStatus.replaced, CertificateStatus.valid]
    assert rows[1].replaces_id == rows[0].id and rows[1].serial.endswith("-000001")
    assert rows[1].serial.startswith("LCGD-2027-HG-")
    listed = record_certificates(db, person.id)
    assert [c.serial for c in listed] == [rows[1].serial, rows[0].serial]
    assert listed[0].name == "合格证"


def test_no_design_no_certificate(app, db, create_employee, create_course):
    person = create_employee()
    course = create_course()
    complete(app, db, person, course, datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    assert db.scalars(sa.select(Certificate)).all() == []
