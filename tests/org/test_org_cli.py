"""`lms units import|export` and `lms users import|export`: JSON output, exit codes, dry runs."""

from __future__ import annotations

import json
import shutil

import openpyxl
import pytest
import sqlalchemy as sa

from lms.cli import lms_commands
from lms.org.models import Employee, Unit


@pytest.fixture
def invoke(runner):
    """``invoke(*args)``: run an ``lms`` command against the test app, stderr kept apart."""

    def run(*args: str):
        return runner.invoke(lms_commands, list(args), catch_exceptions=False)

    return run


@pytest.fixture
def units_loaded(invoke, files):
    result = invoke("units", "import", str(files / "units.csv"), "--json")
    assert result.exit_code == 0, result.output
    return result


def test_units_import_json(units_loaded, db):
    """`lms units import FILE --json` prints one JSON object and exits 0."""
    data = json.loads(units_loaded.stdout)
    assert (data["imported"], data["unchanged"], data["errors"], data["warnings"]) == (7, 0, [], [])
    assert units_loaded.stdout.strip().count("\n") == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(Unit)) == 7


def test_users_import_json_and_again(units_loaded, invoke, files, db):
    """`lms users import --json` imports; the second run imports 0 and leaves all unchanged."""
    first = invoke("users", "import", str(files / "employees.csv"), "--json")
    assert first.exit_code == 0, first.stderr
    assert json.loads(first.stdout)["imported"] == 3
    second = invoke("users", "import", str(files / "employees.csv"), "--json")
    data = json.loads(second.stdout)
    assert (second.exit_code, data["imported"], data["unchanged"]) == (0, 0, 3)


def test_users_import_errors_json(units_loaded, invoke, files, db):
    """A bad file: exit non-zero, every error with file, line, column, message; nothing saved."""
    result = invoke("users", "import", str(files / "employees_bad.csv"), "--json")
    assert result.exit_code != 0
    data = json.loads(result.stdout)
    assert {tuple(e) for e in data["errors"]} == {("file", "line", "column", "message")}
    assert sorted((e["file"], e["line"], e["column"]) for e in data["errors"]) == [
        ("employees_bad.csv", 3, "工号"),
        ("employees_bad.csv", 4, "单位"),
        ("employees_bad.csv", 5, "入职日期"),
    ]
    assert data["imported"] == 0
    assert result.stderr.strip()  # a one-line reason, also in JSON mode
    assert len(result.stderr.strip().splitlines()) == 1
    assert db.scalar(sa.select(sa.func.count()).select_from(Employee)) == 0


def test_users_import_errors_on_stderr(units_loaded, invoke, files):
    """Without --json, each problem goes to stderr as file:line [column]: message."""
    result = invoke("users", "import", str(files / "employees_bad.csv"))
    assert result.exit_code != 0
    assert "employees_bad.csv:4 [单位]" in result.stderr
    assert "employees_bad.csv:5 [入职日期]" in result.stderr
    assert result.stdout == ""


def test_missing_column_cli(units_loaded, invoke, tmp_path):
    """A file without a required column is one error on line 1 naming that column."""
    path = tmp_path / "nounit.csv"
    path.write_text("工号,姓名\n1,甲\n", encoding="utf-8")
    result = invoke("users", "import", str(path), "--json")
    assert result.exit_code != 0
    errors = json.loads(result.stdout)["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [(1, "单位")]


def test_dry_run_changes_nothing(units_loaded, invoke, files, db):
    """`--dry-run` reports what would be imported and changes nothing."""
    result = invoke("users", "import", str(files / "employees.csv"), "--dry-run", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["imported"] == 3
    assert db.scalar(sa.select(sa.func.count()).select_from(Employee)) == 0
    text = invoke("units", "import", str(files / "units.csv"), "--dry-run")
    assert text.exit_code == 0 and "unchanged 7" in text.stdout


def test_missing_file(invoke, tmp_path):
    """A file that does not exist: non-zero exit and a reason on stderr (and JSON with --json)."""
    result = invoke("users", "import", str(tmp_path / "nope.csv"))
    assert result.exit_code != 0 and "nope.csv" in result.stderr
    result = invoke("users", "import", str(tmp_path / "nope.csv"), "--json")
    assert result.exit_code != 0 and "nope.csv" in result.stderr
    data = json.loads(result.stdout)
    assert data["imported"] == 0 and data["errors"][0]["file"] == "nope.csv"


def test_units_export_xlsx_round_trip(units_loaded, invoke, tmp_path):
    """`lms units export -o x.xlsx` writes the tree, which imports again unchanged."""
    out = tmp_path / "units.xlsx"
    result = invoke("units", "export", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    sheet = openpyxl.load_workbook(out).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("单位编码", "单位名称", "上级单位", "类型", "农村")
    assert rows[1][0] == "LC" and len(rows) == 8
    again = invoke("units", "import", str(out), "--json")
    data = json.loads(again.stdout)
    assert (data["imported"], data["unchanged"]) == (0, 7)


def test_users_export_csv_round_trip(units_loaded, invoke, files, tmp_path):
    """`lms users export -o x.csv` writes every employee; importing it changes nothing."""
    invoke("users", "import", str(files / "employees.csv"))
    out = tmp_path / "employees.csv"
    result = invoke("users", "export", "-o", str(out))
    assert result.exit_code == 0
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("工号,姓名,单位,岗位")
    assert "10002,李四,LC-HT,收费,是,在岗,2019-07-01" in text
    again = invoke("users", "import", str(out), "--json")
    data = json.loads(again.stdout)
    assert (data["imported"], data["unchanged"]) == (0, 3)


def test_gb18030_file(units_loaded, invoke, files, tmp_path, db):
    """A GB18030 employees file (as Excel saves it on Chinese Windows) imports."""
    path = tmp_path / "gbk.csv"
    path.write_bytes((files / "employees.csv").read_text(encoding="utf-8").encode("gb18030"))
    result = invoke("users", "import", str(path), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["imported"] == 3
    assert db.scalar(sa.select(Employee.name).where(Employee.emp_no == "10002")) == "李四"


def test_xlsx_employees_file(units_loaded, invoke, tmp_path, db):
    """An XLSX employees file with numeric 工号 and date cells imports."""
    from datetime import datetime

    workbook = openpyxl.Workbook()
    workbook.active.append(["工号", "姓名", "单位", "入职日期"])
    workbook.active.append([20001, "孙八", "LC-CQ", datetime(2026, 3, 15)])
    path = tmp_path / "people.xlsx"
    workbook.save(path)
    result = invoke("users", "import", str(path), "--json")
    assert result.exit_code == 0, result.stdout
    person = db.scalar(sa.select(Employee).where(Employee.emp_no == "20001"))
    assert person.hired_on.isoformat() == "2026-03-15"


def test_file_name_with_spaces(units_loaded, invoke, files, tmp_path):
    """Messages name the file as given, whatever folder it is in."""
    path = tmp_path / "坏 文件.csv"
    shutil.copy(files / "employees_bad.csv", path)
    result = invoke("users", "import", str(path), "--json")
    assert {e["file"] for e in json.loads(result.stdout)["errors"]} == {"坏 文件.csv"}


def test_console_script_group_has_the_commands(runner, units_loaded, tmp_path):
    """The `lms` console script (a Flask CLI group) carries the import and export commands."""
    from lms.cli import cli

    assert {"init", "demo", "units", "users", "run", "routes"} <= set(
        cli.list_commands(cli.make_context("lms", [], resilient_parsing=True))
    )
    out = tmp_path / "u.csv"
    result = runner.invoke(cli, ["units", "export", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0 and out.read_text(encoding="utf-8-sig").count("\n") == 8
