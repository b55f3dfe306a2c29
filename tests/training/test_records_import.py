"""Training records from elsewhere: the DESIGN.md file imported all-or-nothing into the ledger,
in every encoding and format, errors naming the line and column, a re-import changing nothing,
`lms records import` and HR's upload page."""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.cli import lms_commands
from lms.org.models import EmploymentStatus, Role
from lms.sheets import FileProblem, read_table
from lms.training.imports import RECORD_COLUMNS, import_records
from lms.training.models import LedgerEntry, LedgerSource, TrainingForm
from tests.conftest import count_rows, csrf_token, hidden_value, wait_for_job

HEADER = "工号,项目,课程,形式,开始日期,结束日期,学时,成绩,合格"
#: three people's records: a course by code, a programme by Chinese name, a failed practical
GOOD = f"""{HEADER}
LC900001,safety,{{course}},面授,2026-03-15,2026-03-16,8,92.5,是
LC900002,职业道德,,网络,2026/3/1,2026/3/1,1.5,,
LC900003,安规,,实操,2025-12-01,2025-12-01,4,55,否
"""


@pytest.fixture
def people(create_employee: Any) -> dict[str, Any]:
    """Two people at work and one who has left (records of the past are theirs too)."""
    return {
        "LC900001": create_employee("张三", emp_no="LC900001"),
        "LC900002": create_employee("李四", emp_no="LC900002"),
        "LC900003": create_employee(
            "王五", emp_no="LC900003", status=EmploymentStatus.left, password=None
        ),
    }


@pytest.fixture
def course(create_course: Any) -> Any:
    return create_course(title="配网抢修安全规程", programme="safety", hours="8.0")


@pytest.fixture
def good(people: dict[str, Any], course: Any) -> str:
    return GOOD.format(course=course.code)


def run(app: Any, db: Any, data: str | bytes, file: str = "records.csv", actor: Any = None) -> Any:
    """Import ``data`` as the job would (committed when clean, rolled back otherwise)."""
    body = data.encode("utf-8") if isinstance(data, str) else data
    table = read_table(body, file, RECORD_COLUMNS)
    with app.app_context():
        result = import_records(db, table, actor=actor)
        if result.ok:
            db.commit()
        else:
            db.rollback()
    return result


def ledger(db: Any) -> dict[str, LedgerEntry]:
    """The ledger's rows by 工号 (one each in these tests)."""
    db.rollback()
    return {e.employee.emp_no: e for e in db.scalars(sa.select(LedgerEntry))}


def test_a_good_file_imports(app: Any, db: Any, good: str, course: Any, people: dict) -> None:
    """Each row is one ledger row with the import source, the values of the file and a title
    from the course or else the programme; 合格 否 is kept, as not passed."""
    result = run(app, db, good, actor=people["LC900001"])
    assert (result.imported, result.unchanged, result.errors, result.warnings) == (3, 0, [], [])
    rows = ledger(db)
    first, second, third = rows["LC900001"], rows["LC900002"], rows["LC900003"]
    assert (first.programme, first.course_id, first.title) == ("safety", course.id, course.title)
    assert (first.form, first.start_on, first.end_on) == (
        TrainingForm.classroom,
        date(2026, 3, 15),
        date(2026, 3, 16),
    )
    assert (first.hours, first.score, first.passed) == (Decimal("8.0"), Decimal("92.50"), True)
    assert (second.programme, second.course_id, second.title) == (
        "professional_ethics",
        None,
        "职业道德",
    )
    assert (second.form, second.start_on, second.end_on) == (
        TrainingForm.online,
        date(2026, 3, 1),
        date(2026, 3, 1),
    )
    assert (second.hours, second.score, second.passed) == (Decimal("1.5"), None, True)
    assert (third.programme, third.title, third.form) == ("safety", "安规", TrainingForm.practical)
    assert (third.score, third.passed) == (Decimal("55.00"), False)
    assert all(e.source is LedgerSource.imported for e in rows.values())
    assert all(e.source_ref.startswith("records:") for e in rows.values())
    assert all(e.recorded_by_id == people["LC900001"].id for e in rows.values())
    audits = list(db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "records.import")))
    assert len(audits) == 1
    assert audits[0].after == {"file": "records.csv", "imported": 3, "unchanged": 0}


def test_importing_again_changes_nothing(app: Any, db: Any, good: str, course: Any) -> None:
    """The same records again, even re-sorted and spelt otherwise (项目 by name, 8.0 hours, Y),
    are unchanged: no new rows, no new audit entry."""
    run(app, db, good)
    again = run(app, db, good)
    assert (again.imported, again.unchanged, again.errors) == (0, 3, [])
    respelt = f"""{HEADER}
LC900003,safety,,实操,2025/12/1,2025-12-01,4.0,55.00,N
LC900001,安规,{course.code},面授,2026-03-15,2026-03-16,8.0,92.50,Y
"""
    third = run(app, db, respelt)
    assert (third.imported, third.unchanged, third.errors) == (0, 2, [])
    assert count_rows(db, LedgerEntry) == 3
    audits = sa.select(sa.func.count()).where(AuditEntry.action == "records.import")
    assert db.scalar(audits) == 1
    # another record of the same person (a retake that passed) is a record of its own
    retake = run(app, db, f"{HEADER}\nLC900003,安规,,实操,2025-12-01,2025-12-01,4,80,是\n")
    assert (retake.imported, retake.unchanged) == (1, 0)


def test_a_record_twice_in_the_file_is_imported_once(app: Any, db: Any, people: dict) -> None:
    """Two rows with the same values are the same record: imported once, with a warning on
    the repeated line that names the first."""
    text = f"""{HEADER}
LC900002,学习日,,学习日,2026-04-08,2026-04-08,2,,
LC900002,study_day,,学习日,2026/4/8,2026/4/8,2.0,,是
LC900002,学习日,,学习日,2026-04-15,2026-04-15,2,,
"""
    result = run(app, db, text)
    assert (result.imported, result.unchanged, result.errors) == (2, 0, [])
    assert [(w.line, w.column) for w in result.warnings] == [(3, None)]
    assert "2" in result.warnings[0].message
    assert count_rows(db, LedgerEntry) == 2


def test_encodings_formats_and_english_headers(
    app: Any, db: Any, people: dict, course: Any, tmp_path: Path
) -> None:
    """GB18030, UTF-8 with a BOM, XLSX (with real dates, numbers and booleans in its cells) and
    the English header names all read the same records."""
    english = "emp_no,programme,course,form,start,end,hours,score,passed\n"
    rows = "LC900002,职业道德,,以会代训,2026-05-06,2026-05-06,0.5,,1\n"
    result = run(app, db, (HEADER + "\n" + rows).encode("gb18030"), "gbk.csv")
    assert (result.imported, result.errors) == (1, [])
    assert ledger(db)["LC900002"].form is TrainingForm.meeting
    bom = ("\ufeff" + english + rows).encode("utf-8")
    with_bom = run(app, db, bom, "bom.csv")
    assert (with_bom.imported, with_bom.unchanged, with_bom.errors) == (0, 1, [])

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADER.split(","))
    sheet.append(
        [
            "LC900001",
            "岗位培训",
            course.code,
            "面授",
            datetime(2026, 6, 1),
            datetime(2026, 6, 3),
            24,
            88.5,
            True,
        ]
    )
    sheet.append(["LC900003", "廉洁", None, "网络", "2024/1/9", "2024-01-09", 1.5, None, False])
    path = tmp_path / "records.xlsx"
    workbook.save(path)
    result = run(app, db, path.read_bytes(), "records.xlsx")
    assert (result.imported, result.errors) == (2, [])
    rows_now = ledger(db)
    assert (rows_now["LC900001"].programme, rows_now["LC900001"].end_on) == (
        "post_training",
        date(2026, 6, 3),
    )
    assert (rows_now["LC900001"].hours, rows_now["LC900001"].score) == (
        Decimal("24.0"),
        Decimal("88.50"),
    )
    assert (rows_now["LC900003"].passed, rows_now["LC900003"].hours) == (False, Decimal("1.5"))
    assert run(app, db, path.read_bytes(), "records.xlsx").unchanged == 2


BAD = f"""{HEADER}
LC999999,safety,,面授,2026-03-15,2026-03-15,8,,
LC900001,no_such_programme,,面授,2026-03-15,2026-03-15,8,,
LC900001,safety,NO-SUCH-COURSE,面授,2026-03-15,2026-03-15,8,,
LC900001,safety,,讲座,2026-03-15,2026-03-15,8,,
LC900001,safety,,面授,2026-02-30,2026-03-15,8,,
LC900001,safety,,面授,2026-03-15,15.3.2026,8,,
LC900001,safety,,面授,2026-03-15,2026-03-14,8,,
LC900001,safety,,面授,2026-03-15,2026-03-15,-1,,
LC900001,safety,,面授,2026-03-15,2026-03-15,八,,
LC900001,safety,,面授,2026-03-15,2026-03-15,1.25,,
LC900001,safety,,面授,2026-03-15,2026-03-15,8,优秀,
LC900001,safety,,面授,2026-03-15,2026-03-15,8,,也许
LC900001,safety,,面授,,2026-03-15,8,,
,safety,,面授,2026-03-15,2026-03-15,,,
LC900002,职业道德,,网络,2026-03-01,2026-03-01,1,,
"""


def test_every_error_names_its_line_and_column_and_nothing_is_imported(
    app: Any, db: Any, people: dict
) -> None:
    """Unknown 工号, programme and course, a bad form, bad dates, an end before the start, bad
    hours, score and 合格, empty cells: each one its line and column; the good last line is not
    imported either."""
    result = run(app, db, BAD)
    found = sorted((p.line, p.column) for p in result.errors)
    assert found == sorted(
        [
            (2, "工号"),
            (3, "项目"),
            (4, "课程"),
            (5, "形式"),
            (6, "开始日期"),
            (7, "结束日期"),
            (8, "结束日期"),
            (9, "学时"),
            (10, "学时"),
            (11, "学时"),
            (12, "成绩"),
            (13, "合格"),
            (14, "开始日期"),
            (15, "工号"),
            (15, "学时"),
        ]
    ), result.errors
    assert all(p.file == "records.csv" and p.message for p in result.errors)
    assert "LC999999" in result.errors[0].message
    assert (result.imported, result.unchanged) == (0, 0)
    assert count_rows(db, LedgerEntry) == 0
    assert count_rows(db, AuditEntry) == 0


def test_errors_use_the_headers_as_written(app: Any, db: Any, people: dict) -> None:
    """With English headers, the errors name the columns as the file writes them; a missing
    column is an error on line 1."""
    text = "emp_no,programme,form,start,end,hours\nLC900001,safety,面授,2026-03-15,2026-03-15,x\n"
    assert [(p.line, p.column) for p in run(app, db, text).errors] == [(2, "hours")]
    with pytest.raises(FileProblem) as missing:
        read_table("工号,项目,形式,开始日期,学时\n".encode(), "short.csv", RECORD_COLUMNS)
    assert [(p.line, p.column) for p in missing.value.problems] == [(1, "结束日期")]


def test_the_command(app: Any, db: Any, runner: Any, tmp_path: Path, good: str) -> None:
    """`lms records import FILE --json` prints the DESIGN.md object; `--dry-run` changes
    nothing; a file with errors or no file at all exits 1 with a one-line reason on stderr."""
    path = tmp_path / "records.csv"
    path.write_text(good, encoding="utf-8")
    dry = runner.invoke(lms_commands, ["records", "import", str(path), "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["imported"] == 3
    assert count_rows(db, LedgerEntry) == 0

    result = runner.invoke(lms_commands, ["records", "import", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data)[:4] == ["imported", "unchanged", "errors", "warnings"]
    assert (data["imported"], data["unchanged"], data["errors"], data["warnings"]) == (3, 0, [], [])
    assert count_rows(db, LedgerEntry) == 3

    again = runner.invoke(lms_commands, ["records", "import", str(path)])
    assert again.exit_code == 0 and "imported 0, unchanged 3" in again.stdout

    broken = tmp_path / "broken.csv"
    broken.write_text(f"{HEADER}\nLC900001,safety,,面授,2026-03-15,2026-03-14,8,,\n", "utf-8")
    failed = runner.invoke(lms_commands, ["records", "import", str(broken), "--json"])
    assert failed.exit_code == 1
    problem = json.loads(failed.stdout)["errors"][0]
    assert problem | {"message": ""} == {
        "file": "broken.csv",
        "line": 2,
        "column": "结束日期",
        "message": "",
    }
    assert failed.stderr.strip().splitlines()[-1] == (
        "broken.csv: 1 error(s); nothing was imported."
    )
    missing = runner.invoke(lms_commands, ["records", "import", str(tmp_path / "none.csv")])
    assert missing.exit_code == 1 and missing.stderr.strip() == "none.csv: no such file"
    assert count_rows(db, LedgerEntry) == 3


# The page ----------------------------------------------------------------------------------

PAGE = "/admin/records/import"


def upload(client: Any, data: bytes, name: str) -> Any:
    token = csrf_token(client, PAGE)
    return client.post(
        PAGE,
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_hr_previews_then_confirms(
    app: Any, db: Any, client: Any, login: Any, create_employee: Any, good: str
) -> None:
    """HR uploads: the preview counts what is new and changes nothing; confirming runs the job,
    which imports; a second confirm of the same preview is 404."""
    login(create_employee(role=Role.hr))
    page = client.get(PAGE).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and "以会代训" in page
    preview = upload(client, good.encode("utf-8"), "records.csv")
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert 'data-testid="import-summary"' in html
    assert 'data-testid="import-new">3<' in html
    assert count_rows(db, LedgerEntry) == 0
    result = wait_for_job(client, confirm(client, html))
    assert result["state"] == "succeeded", result
    assert count_rows(db, LedgerEntry) == 3
    assert confirm(client, html).status_code == 404
    assert list((Path(app.config["LMS_DATA_DIR"]) / "uploads").iterdir()) == []

    again = upload(client, good.encode("utf-8"), "records.csv").get_data(as_text=True)
    assert 'data-testid="import-unchanged">3<' in again and " disabled" in again


def confirm(client: Any, html: str) -> Any:
    token, csrf = hidden_value(html, "token"), hidden_value(html, "csrf_token")
    assert token and csrf, "no confirm form on the preview"
    return client.post(f"{PAGE}/confirm", data={"csrf_token": csrf, "token": token})


def test_a_bad_file_lists_its_problems(
    db: Any, client: Any, login: Any, create_employee: Any, people: dict
) -> None:
    """A bad file's preview lists each problem by line and column, offers no import and keeps
    nothing; an unreadable file gets a message, not an error page."""
    login(create_employee(role=Role.hr))
    html = upload(client, BAD.encode("utf-8"), "bad.csv").get_data(as_text=True)
    assert 'data-testid="import-errors"' in html
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>[^<]*</td></tr>", html)
    assert (2, "工号") in {(int(line), column) for line, column in rows} and len(rows) == 15
    assert 'name="token"' not in html
    binary = upload(client, b"\x00\x01\x02" * 50, "x.bin")
    assert binary.status_code == 200
    assert 'data-testid="import-errors"' in binary.get_data(as_text=True)
    assert count_rows(db, LedgerEntry) == 0


def test_the_page_is_hr_only(client: Any, login: Any, create_employee: Any) -> None:
    """Employees and managers get 404 on every records import page; HR gets the template."""
    for role in (Role.employee, Role.manager):
        client.delete_cookie("lms_session")
        login(create_employee(role=role))
        assert client.get(PAGE).status_code == 404
        assert client.get(f"{PAGE}/template.csv").status_code == 404
        token = csrf_token(client, "/")
        assert client.post(PAGE, data={"csrf_token": token}).status_code == 404
        assert client.post(f"{PAGE}/confirm", data={"csrf_token": token}).status_code == 404
    client.delete_cookie("lms_session")
    login(create_employee(role=Role.hr))
    template = client.get(f"{PAGE}/template.csv")
    assert template.status_code == 200
    assert template.get_data().decode("utf-8-sig").strip() == HEADER
    token = csrf_token(client, PAGE)
    for value in ("abc", "../../etc/passwd"):
        response = client.post(f"{PAGE}/confirm", data={"csrf_token": token, "token": value})
        assert response.status_code == 404, value
    assert client.post(f"{PAGE}/confirm", data={"csrf_token": token}).status_code == 400
