"""Importing employees: upsert by 工号, units by code or path, posts, errors, moves, audit."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.org import services
from lms.org.jobs import run_import
from lms.org.models import Employee, EmployeeMove, EmploymentStatus, Post, Role
from lms.sheets import read_table, write_csv, write_xlsx

HEADER = ["工号", "姓名", "单位", "岗位", "管理人员", "状态", "入职日期", "离职日期", "角色"]


def employees(db) -> dict[str, Employee]:
    db.expire_all()
    return {e.emp_no: e for e in db.scalars(sa.select(Employee))}


def test_sample_file_creates_employees(sample_units, import_employees, files, db):
    """The sample file creates three employees with units by code and by path of names."""
    result = import_employees((files / "employees.csv").read_bytes())
    assert result.errors == []
    assert (result.imported, result.unchanged) == (3, 0)
    people = employees(db)
    assert people["10001"].unit.code == "LC-HT"
    assert people["10002"].unit.code == "LC-HT"  # 龙城供电局/农电工作部/湖塘供电所
    assert people["10002"].is_manager is True and people["10002"].role is Role.manager
    assert people["10002"].hired_on == date(2019, 7, 1)
    assert people["10003"].is_manager is False
    assert people["10003"].status is EmploymentStatus.active  # empty: 在岗
    assert people["10003"].role is Role.employee  # empty: employee
    assert people["10001"].post.name == "抄表"


def test_new_accounts_must_set_a_password(sample_units, import_employees, files, db):
    """Imported accounts have no password and must choose one."""
    import_employees((files / "employees.csv").read_bytes())
    person = employees(db)["10001"]
    assert person.password_hash is None and person.must_change_password is True


def test_new_posts_listed(sample_units, import_employees, files, db):
    """New posts are created and listed in the result; existing ones are not listed again."""
    db.add(Post(name="抄表"))
    db.commit()
    result = import_employees((files / "employees.csv").read_bytes())
    assert result.details["new_posts"] == sorted(["收费", "营业窗口"])
    assert set(db.scalars(sa.select(Post.name))) == {"抄表", "收费", "营业窗口"}


def test_second_import_changes_nothing(sample_units, import_employees, files, counts, snapshot):
    """Importing the same file again imports 0, reports all unchanged and writes nothing."""
    import_employees((files / "employees.csv").read_bytes())
    before, rows = counts(), snapshot()
    result = import_employees((files / "employees.csv").read_bytes())
    assert (result.imported, result.unchanged, result.errors) == (0, 3, [])
    assert result.details["new_posts"] == []
    assert counts() == before
    assert snapshot() == rows


def test_bad_file_one_message_per_problem(sample_units, import_employees, files, counts):
    """Duplicate 工号, unknown unit and bad date: one message each, naming line and column."""
    before = counts()
    result = import_employees((files / "employees_bad.csv").read_bytes(), file="bad.csv")
    problems = sorted((e.file, e.line, e.column) for e in result.errors)
    assert problems == [
        ("bad.csv", 3, "工号"),
        ("bad.csv", 4, "单位"),
        ("bad.csv", 5, "入职日期"),
    ]
    messages = {e.line: e.message for e in result.errors}
    assert "10001" in messages[3] and "2" in messages[3]
    assert "LC-NOPE" in messages[4]
    assert "2020-02-30" in messages[5]
    assert result.imported == 0
    assert counts() == before


def test_bad_file_leaves_existing_people_alone(sample_units, import_employees, files, snapshot):
    """A file with one bad row changes none of the good rows' people either."""
    import_employees((files / "employees.csv").read_bytes())
    before = snapshot()
    result = import_employees(
        [
            ["工号", "姓名", "单位"],
            ["10001", "张三改", "LC-YX"],
            ["10002", "李四", "LC-NOPE"],
        ]
    )
    assert [(e.line, e.column) for e in result.errors] == [(3, "单位")]
    assert snapshot() == before


def test_missing_column_is_one_message(app, db, sample_units, counts):
    """A file without the 单位 column gets one message on line 1 naming the column."""
    before = counts()
    data = "工号,姓名,岗位\r\n10001,张三,抄表\r\n".encode()
    with app.app_context():
        result = run_import(db, "employees", data, "nounit.csv", actor=None, max_rows=100)
    db.rollback()
    assert [(e.file, e.line, e.column) for e in result.errors] == [("nounit.csv", 1, "单位")]
    assert "单位" in result.errors[0].message
    assert counts() == before


def test_unit_by_unique_tail_of_path(sample_units, import_employees, db):
    """A unit given by the end of its path (or only its name, when unique) is found."""
    result = import_employees(
        [["工号", "姓名", "单位"], ["1", "甲", "农电工作部/湖塘供电所"], ["2", "乙", "营业班"]]
    )
    assert result.ok
    people = employees(db)
    assert people["1"].unit.code == "LC-HT" and people["2"].unit.code == "LC-KF-1"


def test_ambiguous_unit_name_is_an_error(sample_units, import_units, import_employees):
    """A bare name shared by two units is refused as unknown rather than guessed."""
    import_units(
        [
            ["单位编码", "单位名称", "上级单位", "类型"],
            ["X1", "综合班", "LC-YX", "班组"],
            ["X2", "综合班", "LC-KF", "班组"],
        ]
    )
    result = import_employees([["工号", "姓名", "单位"], ["1", "甲", "综合班"]])
    assert [(e.line, e.column) for e in result.errors] == [(2, "单位")]


def test_unit_change_records_a_move(sample_units, import_employees, db):
    """A changed unit or post is recorded as a move, dated the import's effective day."""
    rows = [HEADER, ["1", "甲", "LC-HT", "抄表", "", "", "", "", ""]]
    import_employees(rows)
    rows[1][2], rows[1][3] = "LC-YX", "收费"
    result = import_employees(rows, effective_on=date(2026, 3, 1))
    assert (result.imported, result.details["moved"]) == (1, 1)
    move = db.scalars(sa.select(EmployeeMove)).one()
    person = employees(db)["1"]
    assert move.employee_id == person.id and move.effective_on == date(2026, 3, 1)
    assert move.from_unit.code == "LC-HT" and move.to_unit.code == "LC-YX"
    assert move.from_post.name == "抄表" and move.to_post.name == "收费"
    assert person.unit.code == "LC-YX"


def test_role_change_is_audited(sample_units, import_employees, create_employee, db):
    """A role changed by an import writes an audit entry with before and after."""
    hr = create_employee(role=Role.hr, unit=sample_units["LC"])
    import_employees([["工号", "姓名", "单位", "角色"], ["1", "甲", "LC-HT", "employee"]])
    result = import_employees(
        [["工号", "姓名", "单位", "角色"], ["1", "甲", "LC-HT", "管理者"]], actor=hr
    )
    assert result.imported == 1
    entry = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "employee.role")).one()
    assert (entry.object_id, entry.actor_id) == ("1", hr.id)
    assert entry.before == {"role": "employee"} and entry.after == {"role": "manager"}
    assert employees(db)["1"].role is Role.manager


def test_absent_columns_are_left_alone(sample_units, import_employees, files, db):
    """Columns left out of the file do not overwrite what is stored."""
    import_employees((files / "employees.csv").read_bytes())
    result = import_employees([["工号", "姓名", "单位"], ["10002", "李四四", "LC-HT"]])
    assert (result.imported, result.details["moved"]) == (1, 0)
    person = employees(db)["10002"]
    assert person.name == "李四四"
    assert person.post.name == "收费" and person.is_manager is True
    assert person.role is Role.manager and person.hired_on == date(2019, 7, 1)


def test_empty_role_and_status_keep_existing_values(sample_units, import_employees, db):
    """An empty 角色 or 状态 cell keeps an existing employee's value (defaults are for new ones)."""
    import_employees([["工号", "姓名", "单位", "角色", "状态"], ["1", "甲", "LC-HT", "hr", "离岗"]])
    result = import_employees(
        [["工号", "姓名", "单位", "角色", "状态"], ["1", "甲", "LC-HT", "", ""]]
    )
    assert (result.imported, result.unchanged) == (0, 1)
    person = employees(db)["1"]
    assert person.role is Role.hr and person.status is EmploymentStatus.away


def test_english_headers_and_values(sample_units, import_employees, db):
    """English headers, Y/N and English role names are accepted."""
    result = import_employees(
        [
            ["emp_no", "name", "unit", "post", "is_manager", "status", "hired_on", "role"],
            ["7", "Wang", "LC-CQ", "抢修", "Y", "在岗", "2026/3/15", "hr"],
        ]
    )
    assert result.ok
    person = employees(db)["7"]
    assert person.is_manager and person.role is Role.hr and person.hired_on == date(2026, 3, 15)


def test_english_headers_named_in_errors(sample_units, import_employees):
    """Errors name the column as the file wrote it."""
    result = import_employees([["emp_no", "name", "unit"], ["7", "Wang", "NOPE"]])
    assert [(e.line, e.column) for e in result.errors] == [(2, "unit")]


@pytest.mark.parametrize(
    ("column", "value"),
    [("状态", "度假"), ("角色", "boss"), ("管理人员", "maybe"), ("离职日期", "2026-13-01")],
)
def test_bad_values(sample_units, import_employees, counts, column, value):
    """An unknown status or role, a bad yes/no or date: an error on that line and column."""
    before = counts()
    row = {"工号": "1", "姓名": "甲", "单位": "LC-HT", column: value}
    header = list(row)
    result = import_employees([header, [row[h] for h in header]])
    assert [(e.line, e.column) for e in result.errors] == [(2, column)]
    assert value in result.errors[0].message
    assert counts() == before


def test_leaving_before_hiring(sample_units, import_employees):
    """A leaving date before the hiring date is an error on 离职日期."""
    result = import_employees(
        [
            ["工号", "姓名", "单位", "入职日期", "离职日期"],
            ["1", "甲", "LC-HT", "2020-01-02", "2019-01-01"],
        ]
    )
    assert [(e.line, e.column) for e in result.errors] == [(2, "离职日期")]


def test_empty_required_cells(sample_units, import_employees):
    """Empty 工号, 姓名 or 单位 cells are errors naming their columns."""
    result = import_employees([["工号", "姓名", "单位"], ["", "甲", "LC-HT"], ["2", "", ""]])
    assert sorted((e.line, e.column) for e in result.errors) == [
        (2, "工号"),
        (3, "单位"),
        (3, "姓名"),
    ]


def test_progress_reported(sample_units, import_employees):
    """The import reports its progress, ending at the total."""
    calls = []
    rows = [["工号", "姓名", "单位"]] + [[str(i), f"人{i}", "LC-HT"] for i in range(1, 6)]
    import_employees(rows, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_round_trip(sample_units, import_employees, files, db, fmt):
    """The employees export, imported again, changes nothing."""
    import_employees((files / "employees.csv").read_bytes())
    headers, rows = services.export_employees(db)
    rows = list(rows)
    assert [r[0] for r in rows] == ["10001", "10002", "10003"]
    data = write_xlsx(headers, rows) if fmt == "xlsx" else write_csv(headers, rows)
    table = read_table(data, f"export.{fmt}", services.EMPLOYEE_COLUMNS)
    result = services.import_employees(db, table, actor=None)
    assert (result.imported, result.unchanged, result.errors) == (0, 3, [])


def test_formula_name_round_trip(sample_units, import_employees, db):
    """A name that looks like a formula survives export and import as text."""
    import_employees([["工号", "姓名", "单位"], ["1", '=HYPERLINK("x")', "LC-HT"]])
    headers, rows = services.export_employees(db)
    data = write_csv(headers, rows)
    result = import_employees(data)
    assert (result.imported, result.unchanged) == (0, 1)
    assert employees(db)["1"].name == '=HYPERLINK("x")'


def test_hr_import_cannot_grant_privileged_roles(
    sample_units, import_employees, create_employee, counts
):
    """An import by HR that makes someone HR or admin is refused on that row's 角色 cell."""
    hr = create_employee(role=Role.hr, unit=sample_units["LC"])
    before = counts()
    result = import_employees(
        [
            ["工号", "姓名", "单位", "角色"],
            ["1", "甲", "LC-HT", "admin"],
            ["2", "乙", "LC-HT", "人资"],
        ],
        actor=hr,
    )
    assert [(e.line, e.column) for e in result.errors] == [(2, "角色"), (3, "角色")]
    assert counts() == before


def test_admin_and_command_line_may_grant_roles(sample_units, import_employees, create_employee):
    """Admins (and the command line, with no actor) may give the HR and admin roles."""
    admin = create_employee(role=Role.admin, unit=sample_units["LC"])
    rows = [["工号", "姓名", "单位", "角色"], ["1", "甲", "LC-HT", "hr"]]
    assert import_employees(rows, actor=admin).ok
    assert import_employees([*rows[:1], ["2", "乙", "LC-HT", "admin"]]).ok


def test_updates_with_different_columns_per_row(sample_units, import_employees, db):
    """One import may change different fields for different people."""
    header = ["工号", "姓名", "单位", "角色", "入职日期"]
    import_employees([header, ["1", "甲", "LC-HT", "", ""], ["2", "乙", "LC-HT", "", ""]])
    result = import_employees(
        [header, ["1", "甲甲", "LC-HT", "", ""], ["2", "乙", "LC-YX", "manager", "2020-01-01"]]
    )
    assert (result.imported, result.details["moved"]) == (2, 1)
    people = employees(db)
    assert people["1"].name == "甲甲" and people["1"].role is Role.employee
    assert people["2"].role is Role.manager and people["2"].unit.code == "LC-YX"
    assert people["2"].hired_on == date(2020, 1, 1)
