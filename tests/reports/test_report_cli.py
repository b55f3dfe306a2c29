"""``lms report coverage`` and ``lms report gaps``: every format, files with -o, and one line on
stderr with a non-zero exit for every mistake (unknown unit, bad year or date, a binary format
without -o)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from lms.certificates.models import Certificate
from lms.cli import lms_commands
from lms.i18n import local_date
from lms.org.models import UnitKind
from lms.reports import gaps
from lms.reports.coverage import default_as_of
from lms.training.models import LedgerEntry
from tests.conftest import pdf_text
from tests.reports.conftest import certificate, people, record

FORMULA = '=HYPERLINK("x")'


@pytest.fixture
def bureau(app: Any, db: Any, create_unit: Any) -> dict[str, Any]:
    """A bureau with a rural office (4 people, 3 trained, one manager certified) and a centre
    (2 people, none trained, one of them named like a formula)."""
    root = create_unit("龙城供电局", kind=UnitKind.bureau, code="ROOT")
    office = create_unit(
        "湖塘供电所", parent=root, kind=UnitKind.rural_office, rural=True, code="HT"
    )
    centre = create_unit("城区中心", parent=root, kind=UnitKind.centre, code="CITY")
    staff = people(db, office, 3)
    (manager,) = people(db, office, 1, is_manager=True)
    people(db, centre, 1)
    people(db, centre, 1, name=FORMULA)
    db.execute(
        sa.insert(LedgerEntry),
        [
            record(staff[0], date(2026, 3, 1)),
            record(staff[1], date(2026, 3, 1), programme="professional_ethics"),
            record(manager, date(2026, 6, 1)),
        ],
    )
    db.execute(sa.insert(Certificate), [certificate(manager)])
    db.commit()
    return {"root": root, "office": office, "centre": centre}


def run(runner: Any, *args: str) -> Any:
    return runner.invoke(lms_commands, ["report", *args])


def one_line_error(result: Any) -> str:
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_the_default_is_a_text_table(runner: Any, bureau: dict) -> None:
    """The three targets with figures and met/not met, then the units indented by depth."""
    result = run(runner, "coverage", "--year", "2026", "--as-of", "2026-12-31")
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "龙城供电局 · 2026年 · 截至 2026-12-31" in text
    lines = text.splitlines()
    all_staff = next(line for line in lines if line.startswith("全员培训率"))
    assert all_staff.split() == ["全员培训率", "3", "6", "50.00%", ">", "80%", "未达标"]
    certified = next(line for line in lines if line.startswith("管理人员上岗培训持证率"))
    assert certified.split()[1:4] == ["1", "1", "100.00%"] and certified.endswith("达标")
    assert any(line.startswith("  湖塘供电所 (农村)") for line in lines)
    assert any(line.startswith("龙城供电局") and "ROOT" in line for line in lines)


def test_json_and_a_unit(app: Any, runner: Any, bureau: dict) -> None:
    """JSON in DESIGN.md's shape, for a unit's subtree."""
    result = run(runner, "coverage", "--year", "2026", "--unit", "HT", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"year", "as_of", "unit", "targets", "units"}
    with app.app_context():
        today = local_date()
    assert data["unit"] == "HT" and data["as_of"] == default_as_of(2026, today).isoformat()
    assert [t["key"] for t in data["targets"]] == [
        "all_staff_training",
        "management_certification",
        "professional_ethics",
    ]
    assert (data["targets"][0]["numerator"], data["targets"][0]["denominator"]) == (3, 4)
    assert [u["code"] for u in data["units"]] == ["HT"]


def test_csv_xlsx_and_pdf_files(runner: Any, bureau: dict, tmp_path: Path) -> None:
    """CSV to stdout or a file; XLSX and PDF to a file (the extension of -o is the format when
    --format is not given); the XLSX keeps a formula-like name as text."""
    result = run(runner, "coverage", "--year", "2026", "--as-of", "2026-12-31", "--format", "csv")
    assert result.exit_code == 0
    lines = result.stdout_bytes.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("单位编码,单位名称,上级单位编码")
    assert [line.split(",")[0] for line in lines[1:]] == ["ROOT", "CITY", "HT"]

    xlsx = tmp_path / "report.xlsx"
    result = run(runner, "coverage", "--year", "2026", "--as-of", "2026-12-31", "-o", str(xlsx))
    assert result.exit_code == 0, result.stderr
    assert "Wrote" in result.stderr and result.stdout == ""
    sheet = openpyxl.load_workbook(xlsx).active
    assert sheet.freeze_panes == "A2" and sheet["A2"].value == "ROOT"

    pdf = tmp_path / "report.pdf"
    result = run(
        runner,
        "coverage",
        "--year",
        "2026",
        "--as-of",
        "2026-12-31",
        "--format",
        "pdf",
        "-o",
        str(pdf),
    )
    assert result.exit_code == 0, result.stderr
    text = pdf_text(pdf.read_bytes(), tmp_path)
    for expected in ("全员培训率", "管理人员上岗培训持证率", "四职业培训率", "50.00%", "100.00%"):
        assert expected in text, expected

    table = tmp_path / "report.txt"
    assert run(runner, "coverage", "--year", "2026", "-o", str(table)).exit_code == 0
    assert "全员培训率" in table.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--year", "2026", "--unit", "NOPE"], "no unit has the code 'NOPE'"),
        (["--year", "2026", "--as-of", "2026-02-30"], "is not a date like 2026-03-15"),
        (["--year", "2026", "--as-of", "2025-12-31"], "is not in 2026"),
        (["--year", "twenty"], "is not a year"),
        ([], "--year is required"),
        (["--year", "2026", "--format", "xlsx"], "give one with -o FILE"),
        (["--year", "2026", "--format", "pdf"], "give one with -o FILE"),
        (["--year", "2026", "--format", "docx"], "is not one of table, json, csv, xlsx, pdf"),
    ],
)
def test_mistakes_are_one_line_on_stderr(runner: Any, bureau: dict, args, expected) -> None:
    result = run(runner, "coverage", *args)
    assert expected in one_line_error(result)
    assert result.stdout == ""


def test_an_unwritable_file_is_one_line(runner: Any, bureau: dict, tmp_path: Path) -> None:
    result = run(runner, "coverage", "--year", "2026", "-o", str(tmp_path / "no" / "r.json"))
    assert "cannot write the file" in one_line_error(result)


def test_gap_lists(runner: Any, bureau: dict, tmp_path: Path) -> None:
    """``lms report gaps``: CSV to stdout, XLSX to a file, names kept as text, a unit's
    subtree only; an unknown list is one line."""
    result = run(runner, "gaps", "--year", "2026", "--as-of", "2026-12-31")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout_bytes.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(gaps.HEADERS)
    assert len(lines) == 4  # one in the office, two in the centre
    assert any(line.startswith('"\'=HYPERLINK(""x"")"') for line in lines)

    path = tmp_path / "untrained.xlsx"
    result = run(
        runner, "gaps", "--year", "2026", "--as-of", "2026-12-31", "--unit", "CITY", "-o", str(path)
    )
    assert result.exit_code == 0, result.stderr
    rows = list(openpyxl.load_workbook(path).active.values)
    assert list(rows[0]) == gaps.HEADERS and len(rows) == 3
    assert {row[3] for row in rows[1:]} == {"CITY"} and FORMULA in {row[0] for row in rows}

    result = run(runner, "gaps", "--year", "2026", "--list", "uncertified")
    assert result.exit_code == 0 and len(result.stdout_bytes.decode("utf-8-sig").splitlines()) == 1
    assert "is not one of" in one_line_error(run(runner, "gaps", "--year", "2026", "--list", "x"))
    assert "give one with -o FILE" in one_line_error(
        run(runner, "gaps", "--year", "2026", "--format", "xlsx")
    )
