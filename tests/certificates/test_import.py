"""Certificates held before the system: the DESIGN.md file imported all-or-nothing, errors
naming the line and column, a re-import changing nothing, and `lms certificates import`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lms.certificates.imports import CERTIFICATE_COLUMNS, import_certificates
from lms.certificates.models import Certificate, CertificateSource
from lms.cli import lms_commands
from lms.sheets import read_table

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
GOOD = """工号,证书类型,证书编号,发证日期,有效期至
LC900001,上岗培训合格证,SG-2024-0001,2024-03-01,2027-02-28
LC900002,onboarding,SG-2024-0002,2024/3/1,
LC900001,电工进网作业许可证,DW-88,2020-05-01,2026-05-01
"""


@pytest.fixture(autouse=True)
def people(create_employee: Any) -> None:
    create_employee("张三", emp_no="LC900001")
    create_employee("李四", emp_no="LC900002")


def run(app: Any, db: Any, text: str) -> Any:
    table = read_table(text.encode("utf-8"), "certs.csv", CERTIFICATE_COLUMNS)
    with app.app_context():
        result = import_certificates(db, table, actor=None, now=NOW)
        if result.ok:
            db.commit()
        else:
            db.rollback()
    return result


def test_import_and_again(app: Any, db: Any) -> None:
    result = run(app, db, GOOD)
    assert (result.imported, result.unchanged, result.errors) == (3, 0, [])
    rows = {c.serial: c for c in db.scalars(sa.select(Certificate))}
    assert rows["SG-2024-0001"].kind == "onboarding" and rows["SG-2024-0001"].design == "onboarding"
    assert rows["SG-2024-0002"].valid_until is None
    assert rows["SG-2024-0002"].issued_on == date(2024, 3, 1)
    assert (
        rows["DW-88"].kind == "电工进网作业许可证" and rows["DW-88"].title == "电工进网作业许可证"
    )
    assert all(
        c.source is CertificateSource.imported and c.pdf_sha256 is None for c in rows.values()
    )
    assert all(len(c.verification_code) == 22 for c in rows.values())
    again = run(app, db, GOOD)
    assert (again.imported, again.unchanged, again.errors) == (0, 3, [])
    assert db.scalar(sa.select(sa.func.count(Certificate.id))) == 3


def test_errors_name_the_place_and_change_nothing(app: Any, db: Any) -> None:
    run(app, db, GOOD)
    bad = """工号,证书类型,证书编号,发证日期,有效期至
LC999999,onboarding,SG-9,2024-03-01,
LC900001,onboarding,SG-10,2024-13-01,
LC900001,onboarding,SG-11,2024-03-01,2023-01-01
LC900002,onboarding,SG-12,2024-03-01,
LC900002,onboarding,SG-12,2024-03-01,
LC900002,onboarding,SG-2024-0001,2024-03-01,
LC900001,onboarding,SG-13,,
"""
    result = run(app, db, bad)
    found = {(p.line, p.column) for p in result.errors}
    assert found == {
        (2, "工号"),
        (3, "发证日期"),
        (4, "有效期至"),
        (6, "证书编号"),
        (7, "证书编号"),
        (8, "发证日期"),
    }, result.errors
    assert result.imported == 0
    assert db.scalar(sa.select(sa.func.count(Certificate.id))) == 3


def test_the_command(app: Any, db: Any, runner: Any, tmp_path: Path) -> None:
    path = tmp_path / "certs.csv"
    path.write_text(GOOD, encoding="utf-8")
    result = runner.invoke(lms_commands, ["certificates", "import", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["imported"] == 3
    dry = runner.invoke(lms_commands, ["certificates", "import", str(path), "--dry-run"])
    assert dry.exit_code == 0 and "would import 0, unchanged 3" in dry.output
    broken = tmp_path / "broken.csv"
    broken.write_text("工号,证书编号\nLC900001,X\n", encoding="utf-8")
    failed = runner.invoke(lms_commands, ["certificates", "import", str(broken)])
    assert failed.exit_code == 1 and "证书类型" in failed.output
