"""The manager dashboard: exact counts per unit and rural office, the overdue list, the
certificates to renew, scope (404 outside it) and the XLSX exports."""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from lms.certificates.models import Certificate
from lms.certificates.numbers import verification_code
from lms.courses.models import CourseRun, RunStatus
from lms.db import utcnow
from lms.i18n import local_date
from lms.org.models import Employee, EmploymentStatus, Role, UnitKind
from lms.security import employee_scope
from lms.training import dashboard as service
from lms.training.assignments import AssignmentState, started_courses, state_of
from lms.training.models import Assignment

FAR = date(2099, 6, 30)  # a due date that is never past
DONE = datetime(2001, 5, 1, tzinfo=UTC)


@pytest.fixture
def client(app: Any) -> Any:
    """A test client that asks for English (the page's words are the English msgids)."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


@pytest.fixture
def bureau(app: Any, db: Any, create_unit: Any, create_employee: Any, create_course: Any) -> dict:
    """A bureau: 农电工作部 with two rural offices (湖塘 with a team below it, 礼河) and a manager;
    城区中心 beside it. Each assignment's state is written next to it."""
    root = create_unit("龙城供电局", kind=UnitKind.bureau, code="ROOT")
    rural_dept = create_unit("农电工作部", parent=root, kind=UnitKind.department, code="RD")
    hutang = create_unit(
        "湖塘供电所", parent=rural_dept, kind=UnitKind.rural_office, rural=True, code="HT"
    )
    team = create_unit("湖塘抢修班", parent=hutang, kind=UnitKind.team, code="HT-T")
    lihe = create_unit(
        "礼河供电所", parent=rural_dept, kind=UnitKind.rural_office, rural=True, code="LH"
    )
    city = create_unit("城区中心", parent=root, kind=UnitKind.centre, code="CITY")
    c1, c2, c3 = (create_course(title=t) for t in ("纪律与局规", "业务知识", "规范化服务"))
    people = {
        "manager": create_employee("农电主任", unit=rural_dept, role=Role.manager, emp_no="M01"),
        "hr": create_employee("人资", unit=root, role=Role.hr, emp_no="HR01"),
        "p1": create_employee("张三", unit=hutang, emp_no="P01"),
        "p2": create_employee("李四", unit=team, emp_no="P02"),
        "p3": create_employee("王五", unit=lihe, emp_no="P03"),
        "p4": create_employee("赵六", unit=rural_dept, emp_no="P04"),
        "left": create_employee(
            "钱七", unit=hutang, emp_no="P05", status=EmploymentStatus.left, password=None
        ),
        "p6": create_employee("孙八", unit=city, emp_no="P06"),
        "formula": create_employee("=1+1", unit=hutang, emp_no="P07"),
    }

    def assign(person: str, course: Any, due_on: date | None, **values: Any) -> None:
        db.add(
            Assignment(employee_id=people[person].id, course_id=course.id, due_on=due_on, **values)
        )

    assign("p1", c1, date(2001, 3, 1), completed_at=DONE)  # completed
    assign("p1", c2, date(2001, 6, 1))  # overdue, though started
    assign("p2", c1, FAR)  # in progress
    assign("p2", c2, FAR)  # not started
    assign("p2", c3, FAR, closed_at=DONE)  # closed: not counted
    assign("p3", c1, None)  # not started (no due date)
    assign("p4", c1, None, completed_at=DONE)  # completed
    assign("left", c1, date(2001, 6, 1))  # a leaver's: not counted
    assign("p6", c1, date(2002, 1, 5))  # overdue
    assign("formula", c1, date(2001, 7, 1))  # overdue
    for person, course in (("p1", c2), ("p2", c1)):
        db.add(
            CourseRun(
                employee_id=people[person].id,
                course_id=course.id,
                version=1,
                status=RunStatus.in_progress,
            )
        )
    db.commit()
    return {
        "root": root,
        "rural_dept": rural_dept,
        "hutang": hutang,
        "team": team,
        "lihe": lihe,
        "city": city,
        "courses": (c1, c2, c3),
        **people,
    }


def local_today(app: Any) -> date:
    """The bureau's date, as the app counts days overdue."""
    with app.app_context():
        return local_date()


def counts(**values: int) -> service.Counts:
    return service.Counts(**values)


def row_counts(page: str, code: str) -> dict[str, int]:
    """The count cells of the table row ``data-unit="code"`` (or ``data-emp-no``)."""
    match = re.search(rf'<tr data-(?:unit|emp-no)="{re.escape(code)}"[^>]*>(.*?)</tr>', page, re.S)
    assert match, f"no row {code}"
    cells = re.findall(r'data-count="(\w+)">(?:<span[^>]*>)?([\d.]+|—)', match.group(1))
    return {name: value for name, value in cells}


# --- the counts -------------------------------------------------------------------------------


def test_counts_per_unit_are_exact(app, db, bureau):
    """Each row counts its whole subtree: a person in a grandchild unit counts in the child's
    row; closed assignments and leavers' are left out; a started but overdue one is overdue."""
    hr = bureau["hr"]
    today = date.today()
    summary = service.summary(
        db,
        actor_scope=employee_scope(hr),
        unit=bureau["root"],
        period=service.Period(None),
        today=today,
    )
    rows = {row.unit.code: row.counts for row in summary.rows}
    assert list(rows) == ["CITY", "RD"]  # tree order: sort order, then code
    assert rows["RD"] == counts(
        people=5, assignments=7, completed=2, in_progress=1, not_started=2, overdue=2
    )
    assert rows["CITY"] == counts(
        people=1, assignments=1, completed=0, in_progress=0, not_started=0, overdue=1
    )
    assert summary.total == counts(
        people=6, assignments=8, completed=2, in_progress=1, not_started=2, overdue=3
    )
    assert summary.total.percent == 25.0
    # the rural offices, lowest completion first: 礼河 0/1, then 湖塘 1/5 (its team included)
    assert [(r.unit.code, r.parent_name) for r in summary.rural] == [
        ("LH", "农电工作部"),
        ("HT", "农电工作部"),
    ]
    assert summary.rural[1].counts == counts(
        people=3, assignments=5, completed=1, in_progress=1, not_started=1, overdue=2
    )


def test_states_are_those_of_state_of(app, db, bureau):
    """The SQL states agree with lms.training.assignments.state_of, assignment by assignment."""
    today = local_today(app)
    rows = db.execute(
        sa.select(Assignment)
        .join(Employee, Employee.id == Assignment.employee_id)
        .where(Employee.status != EmploymentStatus.left)
    ).scalars()
    assignments = list(rows)
    started = started_courses(db, {(a.employee_id, a.course_id) for a in assignments})
    states = Counter(
        state_of(a, started=(a.employee_id, a.course_id) in started, today=today)
        for a in assignments
    )
    summary = service.summary(
        db,
        actor_scope=employee_scope(bureau["hr"]),
        unit=bureau["root"],
        period=service.Period(None),
        today=today,
    )
    assert summary.total.assignments == len(assignments) - states[AssignmentState.closed]
    assert summary.total.completed == states[AssignmentState.completed]
    assert summary.total.overdue == states[AssignmentState.overdue]
    assert summary.total.in_progress == states[AssignmentState.in_progress]
    assert summary.total.not_started == states[AssignmentState.not_started]


def test_people_directly_in_the_unit_get_their_own_row(app, db, bureau):
    """Below 农电工作部: a row for its own people, one per office; the total adds up."""
    summary = service.summary(
        db,
        actor_scope=employee_scope(bureau["manager"]),
        unit=bureau["rural_dept"],
        period=service.Period(None),
        today=date.today(),
    )
    assert [(r.unit.code, r.direct) for r in summary.rows] == [
        ("RD", True),
        ("HT", False),
        ("LH", False),
    ]
    assert summary.rows[0].counts == counts(people=1, assignments=1, completed=1)
    assert summary.total.assignments == sum(r.counts.assignments for r in summary.rows) == 7


def test_period_counts_what_is_due_in_the_year(app, db, bureau):
    """A year counts the assignments due in it; the overdue from earlier years are counted
    apart so the page can say so."""
    scope = employee_scope(bureau["hr"])
    today = date.today()
    summary = service.summary(
        db, actor_scope=scope, unit=bureau["root"], period=service.Period(2001), today=today
    )
    assert summary.total == counts(people=2, assignments=3, completed=1, overdue=2)
    assert service.overdue_before(db, scope, period=service.Period(2002), today=today) == 2
    assert service.overdue_before(db, scope, period=service.Period(None), today=today) == 0


def test_completion_is_compared_exactly():
    """Rates are fractions: 333/1000 is behind 1/3 although both show as 33.3%."""
    unit = service.UnitInfo(1, "A", "A", UnitKind.team, True, None, "/1/", 0)
    other = service.UnitInfo(2, "B", "B", UnitKind.team, True, None, "/2/", 0)
    third = service.UnitRow(unit, counts(assignments=3, completed=1))
    close = service.UnitRow(other, counts(assignments=1000, completed=333))
    assert third.counts.percent == close.counts.percent == 33.3
    assert sorted([third, close], key=service.behind_first) == [close, third]


def test_parse_period():
    """Empty is this year, ``all`` is every open assignment; anything else is refused."""
    today = date(2026, 3, 15)
    assert service.parse_period("", today=today) == service.Period(2026)
    assert service.parse_period("all", today=today) == service.Period(None)
    assert service.parse_period("2001", today=today) == service.Period(2001)
    for bad in ("1999", "2101", "abc", "２０２６", "-1", "2026.0"):
        with pytest.raises(ValueError):
            service.parse_period(bad, today=today)


# --- the page ---------------------------------------------------------------------------------


def test_page_shows_units_rural_offices_and_overdue(app, bureau, client, login):
    """HR's dashboard: per-unit and rural rows with their counts, the overdue list longest
    overdue first with the days, names linking to the person's record."""
    login(bureau["hr"])
    response = client.get("/dashboard?year=all")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert row_counts(page, "RD") == {
        "people": "5",
        "assignments": "7",
        "completed": "2",
        "in_progress": "1",
        "not_started": "2",
        "overdue": "2",
        "percent": "28.6",
    }
    assert row_counts(page, "total")["assignments"] == "8"
    rural = page[page.index('data-testid="rural"') :]
    assert rural.index('data-unit="LH"') < rural.index('data-unit="HT"')
    overdue = page[page.index('data-testid="overdue"') :]
    names = [bureau[p].name for p in ("p1", "formula", "p6")]
    assert [overdue.index(n) for n in names] == sorted(overdue.index(n) for n in names)
    days = (local_today(app) - date(2001, 6, 1)).days
    assert f'data-days="{days}"' in overdue
    assert f'href="/employees/{bureau["p1"].id}/record"' in overdue
    assert "钱七" not in page  # left
    assert 'href="/assignments?state=overdue' in page
    assert f'href="/dashboard?unit={bureau["rural_dept"].id}&amp;year=all"' in page


def test_drill_down_to_a_unit_and_its_people(bureau, client, login):
    """Opening 湖塘 shows its team's row and its own people, each linking to their record."""
    login(bureau["manager"])
    page = client.get(f"/dashboard?unit={bureau['hutang'].id}&year=all").get_data(as_text=True)
    assert row_counts(page, "HT-T") == {
        "people": "1",
        "assignments": "2",
        "completed": "0",
        "in_progress": "1",
        "not_started": "1",
        "overdue": "0",
        "percent": "0.0",
    }
    people = page[page.index('data-testid="people"') :]
    assert row_counts(people, "P01")["overdue"] == "1"
    assert "P02" not in people  # in the team, not directly in the office
    assert f'href="/employees/{bureau["formula"].id}/record"' in people
    assert 'data-testid="crumbs"' in page and "农电工作部" in page


def test_year_is_the_default_period_and_a_bad_year_is_named(bureau, client, login):
    """No year: this year's assignments; a bad year says which field is wrong, no error page."""
    login(bureau["hr"])
    page = client.get("/dashboard").get_data(as_text=True)
    assert f'<option value="{date.today().year}" selected>' in page
    assert 'data-testid="overdue-before"' in page  # 2001's and 2002's are still overdue
    response = client.get("/dashboard?year=20x6")
    assert response.status_code == 200
    assert 'data-testid="year-error"' in response.get_data(as_text=True)
    assert "Year:" in response.get_data(as_text=True)


def test_certificates_to_renew_are_counted_and_linked(app, db, bureau, client, login):
    """Certificates ending within 90 days in the unit's subtree: counted, the first shown, the
    full page linked; a manager's count leaves other units' out."""
    for serial, person, days in (("S1", "p1", 30), ("S2", "p6", 10), ("S3", "p1", 400)):
        db.add(
            Certificate(
                serial=serial,
                verification_code=verification_code(),
                employee_id=bureau[person].id,
                design="qualification",
                kind="qualification",
                title="合格证",
                issued_on=date(2024, 1, 1),
                valid_until=utcnow().date() + timedelta(days=days),
            )
        )
    db.commit()
    login(bureau["manager"])
    page = client.get("/dashboard").get_data(as_text=True)
    assert "1 certificate ends within 90 days" in page
    assert 'data-serial="S1"' in page and "S2" not in page and "S3" not in page
    assert 'href="/certificates/expiring"' in page
    login(bureau["hr"])
    assert "2 certificates end within 90 days" in client.get("/dashboard").get_data(as_text=True)


# --- scope ------------------------------------------------------------------------------------


def test_manager_sees_own_subtree_only(bureau, client, login):
    """A manager's dashboard is their unit's subtree; another unit's (page or XLSX) is 404."""
    login(bureau["manager"])
    page = client.get("/dashboard?year=all").get_data(as_text=True)
    assert "农电工作部" in page and 'data-unit="CITY"' not in page and "孙八" not in page
    assert client.get(f"/dashboard?unit={bureau['lihe'].id}").status_code == 200
    for unit in ("city", "root"):
        unit_id = bureau[unit].id
        assert client.get(f"/dashboard?unit={unit_id}").status_code == 404
        assert client.get(f"/dashboard.xlsx?unit={unit_id}").status_code == 404
        assert client.get(f"/dashboard.xlsx?unit={unit_id}&table=overdue").status_code == 404
    for bad in ("abc", "0", "-1", "99999999999", "1e3"):
        assert client.get(f"/dashboard?unit={bad}").status_code == 404


def test_employee_gets_404(bureau, client, login):
    """Plain employees have no dashboard."""
    login(bureau["p1"])
    assert client.get("/dashboard").status_code == 404
    assert client.get("/dashboard.xlsx").status_code == 404


def test_hr_sees_any_unit(bureau, client, login):
    """HR opens any unit's dashboard."""
    login(bureau["hr"])
    page = client.get(f"/dashboard?unit={bureau['city'].id}&year=all").get_data(as_text=True)
    assert "孙八" in page
    assert row_counts(page, "total")["overdue"] == "1"


def test_several_roots_make_the_whole_bureau(db, client, login, create_unit, create_employee):
    """With two trees (two roots), HR's dashboard opens on both, one row each."""
    first, second = create_unit("一局", code="A"), create_unit("二局", code="B")
    hr = create_employee("人资", unit=first, role=Role.hr)
    login(hr)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Training dashboard · Whole bureau" in page
    assert 'data-unit="A"' in page and 'data-unit="B"' in page
    assert client.get(f"/dashboard?unit={second.id}").status_code == 200


# --- exports ----------------------------------------------------------------------------------


def sheet_rows(data: bytes) -> list[list[Any]]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.active
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_exports_have_chinese_headers_and_the_rows(bureau, client, login):
    """Units, rural offices and the overdue list export with Chinese headers and the page's
    numbers; a name like =1+1 stays text, never a formula."""
    login(bureau["hr"])
    response = client.get("/dashboard.xlsx?table=units&year=all")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    rows = sheet_rows(response.data)
    assert rows[0] == [
        "单位",
        "单位编码",
        "人数",
        "任务数",
        "已完成",
        "进行中",
        "未开始",
        "已逾期",
        "完成率(%)",
    ]
    assert rows[1] == ["城区中心", "CITY", 1, 1, 0, 0, 0, 1, 0]
    assert rows[2] == ["农电工作部", "RD", 5, 7, 2, 1, 2, 2, 28.6]
    assert rows[-1] == ["合计", None, 6, 8, 2, 1, 2, 3, 25]

    rows = sheet_rows(client.get("/dashboard.xlsx?table=rural&year=all").data)
    assert rows[0][:3] == ["供电所", "单位编码", "上级单位"]
    assert [r[1] for r in rows[1:]] == ["LH", "HT"]
    assert rows[2][3:] == [3, 5, 1, 1, 1, 2, 20]

    response = client.get("/dashboard.xlsx?table=overdue&year=all")
    rows = sheet_rows(response.data)
    assert rows[0] == ["姓名", "工号", "单位", "岗位", "课程编号", "课程", "截止日期", "逾期天数"]
    assert [r[1] for r in rows[1:]] == ["P01", "P07", "P06"]
    assert rows[2][0] == "=1+1"
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.active["A3"].data_type == "s"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        sheet = next(n for n in archive.namelist() if n.startswith("xl/worksheets/"))
        assert b"<f>" not in archive.read(sheet)


def test_manager_export_is_scoped(bureau, client, login):
    """A manager's overdue export lists their subtree's people only."""
    login(bureau["manager"])
    rows = sheet_rows(client.get("/dashboard.xlsx?table=overdue&year=all").data)
    assert [r[1] for r in rows[1:]] == ["P01", "P07"]


def test_export_refuses_bad_parameters(bureau, client, login):
    """An unknown table is 404, a bad year 400 (never a 500)."""
    login(bureau["hr"])
    assert client.get("/dashboard.xlsx?table=secrets").status_code == 404
    assert client.get("/dashboard.xlsx?year=nope").status_code == 400
