"""The tables HR files: the training statistics table (per unit with its subtree; the year's
numbers are coverage's; quarters and months count their own rows; staff kinds; 达标) and the
training ledger (its columns, certificates on their rows, formula-safe files, scope, and the large
export as a job that streams into the data folder)."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from lms.certificates.designs import shipped_designs
from lms.certificates.models import Certificate, CertificateStatus
from lms.org.models import Employee, EmployeeMove, EmploymentStatus, Post, Role, StaffKind
from lms.reports import table_views, tables
from lms.reports.coverage import CoverageSettings, coverage, targets
from lms.reports.table_cli import ledger_command, statistics_command
from lms.training.models import LedgerEntry
from tests.conftest import csrf_token
from tests.reports.conftest import certificate, people, record

ZONE = ZoneInfo("Asia/Shanghai")
SETTINGS = CoverageSettings()
D = date(2026, 12, 31)


@pytest.fixture
def client(app: Any) -> Any:
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


# -- quick bulk inserts --------------------------------------------------------------------------


def entry_id(db: Any, employee_id: int) -> int:
    return db.scalar(
        sa.select(sa.func.max(LedgerEntry.id)).where(LedgerEntry.employee_id == employee_id)
    )


def stats(db: Any, period: str = "year", unit: Any = None, year: int = 2026, as_of=None):
    db.commit()
    chosen = tables.parse_period(year, period)
    return tables.statistics(
        db,
        period=chosen,
        as_of=as_of or tables.period_as_of(chosen, date(2027, 3, 1)),
        unit=unit,
        settings=SETTINGS,
        zone=ZONE,
    )


def by_name(result: tables.Statistics) -> dict[str, tables.StatisticsLine]:
    return {line.unit.name: line for line in result.lines}


@pytest.fixture
def bureau(db: Any, create_unit: Any) -> dict[str, Any]:
    """龙城供电局 with 农电工作部 (湖塘供电所 below it) and 城区中心 beside it."""
    root = create_unit("龙城供电局", code="ROOT")
    rural = create_unit("农电工作部", parent=root, code="RD")
    hutang = create_unit("湖塘供电所", parent=rural, code="HT", rural=True)
    city = create_unit("城区中心", parent=root, code="CITY")
    return {"root": root, "rural": rural, "hutang": hutang, "city": city}


@pytest.fixture
def history(db: Any, bureau: dict[str, Any]) -> dict[str, Any]:
    """People of every kind in each unit, rows through the year, certificates, a leaver, a new
    hire, an excluded status and a mover."""
    rural, hutang, city = bureau["rural"], bureau["hutang"], bureau["city"]
    managers = people(db, rural, 3, is_manager=True, staff_kind=StaffKind.management)
    technicians = people(db, hutang, 4, staff_kind=StaffKind.professional)
    skilled = people(db, hutang, 5, staff_kind=StaffKind.skilled)
    unknown = people(db, city, 2)  # no staff kind
    (left_april,) = people(db, city, 1, status=EmploymentStatus.left, left_on=date(2026, 4, 15))
    (hired_june,) = people(db, city, 1, hired_on=date(2026, 6, 1), staff_kind=StaffKind.skilled)
    (seconded,) = people(db, city, 1, status=EmploymentStatus.seconded)
    (mover,) = people(db, city, 1, staff_kind=StaffKind.professional)
    db.add(
        EmployeeMove(
            employee_id=mover,
            effective_on=date(2026, 7, 1),
            from_unit_id=hutang.id,
            to_unit_id=city.id,
        )
    )
    rows = [
        record(managers[0], date(2026, 2, 10), programme="professional_ethics", hours=Decimal("3")),
        record(managers[0], date(2026, 5, 20)),
        record(managers[1], date(2026, 12, 31), hours=Decimal("1.5")),
        record(technicians[0], date(2026, 1, 1)),
        record(technicians[0], date(2026, 3, 31), programme="professional_ethics"),
        record(technicians[1], date(2026, 5, 5), passed=False),  # failed: no training
        record(skilled[0], date(2026, 5, 6), start=date(2026, 5, 4), hours=Decimal("16")),
        record(skilled[1], date(2025, 12, 31)),  # last year's
        record(unknown[0], date(2026, 8, 8)),
        record(left_april, date(2026, 2, 2)),
        record(hired_june, date(2026, 6, 2)),
        record(seconded, date(2026, 3, 3)),
        record(mover, date(2026, 3, 1)),
        record(mover, date(2026, 9, 1), programme="professional_ethics"),
    ]
    db.execute(sa.insert(LedgerEntry), rows)
    db.execute(
        sa.insert(Certificate),
        [
            certificate(managers[0]),
            certificate(
                managers[1],
                status=CertificateStatus.revoked,
                revoked_at=datetime(2026, 3, 1, tzinfo=UTC),
            ),
            certificate(technicians[0]),  # not a manager: counts for nobody
        ],
    )
    db.commit()
    return {
        "managers": managers,
        "technicians": technicians,
        "skilled": skilled,
        "unknown": unknown,
        "left_april": left_april,
        "hired_june": hired_june,
        "mover": mover,
    }


# -- the statistics table ------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", [D, date(2026, 6, 30)])
def test_the_year_table_is_coverage(app, db, bureau, history, as_of) -> None:
    """Each unit's line (its subtree) has coverage()'s counts, for the bureau and a subtree."""
    for unit in (None, bureau["rural"]):
        found = coverage(db, year=2026, as_of=as_of, unit=unit, settings=SETTINGS, zone=ZONE)
        table = stats(db, unit=unit, as_of=as_of)
        assert [line.unit.id for line in table.lines] == [row.unit.id for row in found.units]
        for line, row in zip(table.lines, found.units, strict=True):
            mine, theirs = line.counts, row.counts
            assert (
                mine.headcount,
                mine.trained,
                mine.managers,
                mine.certified,
                mine.ethics,
                mine.records,
            ) == (
                theirs.headcount,
                theirs.trained,
                theirs.managers,
                theirs.certified,
                theirs.ethics,
                theirs.records,
            ), line.unit.name
            assert mine.hours == pytest.approx(theirs.hours)
            assert [t.as_dict() for t in line.targets] == [
                t.as_dict() for t in targets(theirs, SETTINGS)
            ]
        assert table.total.counts.headcount == found.total.headcount
        assert [t.as_dict() for t in table.total.targets] == [t.as_dict() for t in found.targets]


def test_the_year_table_by_hand(app, db, bureau, history) -> None:
    """The numbers behind the year's lines, worked out by hand."""
    lines = by_name(stats(db))
    root, rural, hutang, city = (
        lines[n] for n in ("龙城供电局", "农电工作部", "湖塘供电所", "城区中心")
    )
    # in post on 31 December: 3 managers, 4 + 5 in 湖塘, 2 + new hire + mover in 城区
    assert (hutang.counts.headcount, rural.counts.headcount, city.counts.headcount) == (9, 12, 4)
    assert root.counts.headcount == 16
    # 湖塘: technicians[0] (2 rows), skilled[0]; the failed and last year's rows do not count
    assert (hutang.counts.trained, hutang.counts.records, hutang.counts.hours) == (2, 3, 20.0)
    assert (rural.counts.trained, rural.counts.records) == (4, 6)  # + managers 0 and 1
    assert (city.counts.trained, city.counts.records) == (3, 4)  # unknown[0], new hire, mover
    assert (rural.counts.managers, rural.counts.certified) == (3, 1)  # the revoked one is out
    assert (root.counts.ethics, hutang.counts.ethics, city.counts.ethics) == (3, 1, 1)
    assert hutang.hours_per_head == round(20 / 9, 2)


def test_quarters_and_months_count_their_own_rows(app, db, bureau, history) -> None:
    q1 = stats(db, "q1")
    assert (q1.as_of, q1.period.start) == (date(2026, 3, 31), date(2026, 1, 1))
    lines = by_name(q1)
    # as of 31 March: the April leaver is in post, the June hire is not; the mover is in 湖塘
    assert lines["城区中心"].counts.headcount == 3  # unknown x2, left_april
    assert lines["湖塘供电所"].counts.headcount == 10
    # Q1 rows: managers[0] in February (ethics, 3 h); technicians[0] twice; left_april; mover
    assert (lines["湖塘供电所"].counts.trained, lines["湖塘供电所"].counts.records) == (2, 3)
    assert lines["湖塘供电所"].counts.hours == 6.0
    assert (lines["城区中心"].counts.trained, lines["城区中心"].counts.records) == (1, 1)
    root = lines["龙城供电局"].counts
    assert (root.trained, root.records, root.ethics, root.hours) == (4, 5, 2, 11.0)

    may = by_name(stats(db, "m5"))
    assert may["城区中心"].counts.headcount == 2  # the April leaver has gone
    # May: managers[0] (a row), skilled[0] (16 h); technicians[1]'s failed row is no training
    assert (may["龙城供电局"].counts.trained, may["龙城供电局"].counts.records) == (2, 2)
    assert may["龙城供电局"].counts.hours == 18.0
    assert may["龙城供电局"].counts.ethics == 0

    december = by_name(stats(db, "m12"))["龙城供电局"].counts
    assert (december.trained, december.records, december.hours) == (1, 1, 1.5)
    assert december.headcount == 16
    # a quarter or month keeps the certificates held at its end
    assert by_name(stats(db, "q4"))["农电工作部"].counts.certified == 1


def test_a_running_period_counts_up_to_today() -> None:
    march = tables.parse_period(2026, "m3")
    assert (march.start, march.end) == (date(2026, 3, 1), date(2026, 3, 31))
    assert tables.period_as_of(march, date(2026, 3, 10)) == date(2026, 3, 10)
    assert tables.period_as_of(march, date(2026, 4, 10)) == date(2026, 3, 31)
    assert tables.period_as_of(tables.parse_period(2026, "q4"), date(2027, 1, 1)) == D
    assert tables.parse_period(2024, "m2").end == date(2024, 2, 29)
    assert tables.parse_period(2026, "q2").label == "2026年第2季度"
    for year, key in ((1999, "year"), (2026, "q5"), (2026, "m13"), (2026, "")):
        with pytest.raises(ValueError):
            tables.parse_period(year, key)


def test_staff_kind_counts(app, db, bureau, history) -> None:
    lines = by_name(stats(db))
    kinds = {
        name: tuple(lines[name].kinds.get(k, 0) for k in tables.KINDS)
        for name in ("龙城供电局", "农电工作部", "湖塘供电所", "城区中心")
    }
    assert kinds == {
        "湖塘供电所": (0, 4, 5),
        "农电工作部": (3, 4, 5),
        "城区中心": (0, 1, 1),  # the mover and the new hire; two have no kind
        "龙城供电局": (3, 5, 6),
    }
    values = lines["龙城供电局"].values()
    assert values[6:9] == [3, 5, 6]
    assert dict(zip(tables.STATISTICS_HEADERS[2:], values, strict=True))["技能类"] == 6


def test_met_is_all_three_targets(app, db, bureau) -> None:
    """达标: trained above 80%, certified above 40%, ethics at least 20%: all three."""
    good, short = bureau["hutang"], bureau["city"]
    staff = people(db, good, 4)
    managers = people(db, good, 1, is_manager=True)
    db.execute(
        sa.insert(LedgerEntry),
        [record(p, date(2026, 4, 1), programme="professional_ethics") for p in staff + managers],
    )
    db.execute(sa.insert(Certificate), [certificate(managers[0])])
    # 城区: everyone trained, the ethics rate at 20% exactly, but its manager holds nothing
    others = people(db, short, 4) + people(db, short, 1, is_manager=True)
    db.execute(sa.insert(LedgerEntry), [record(p, date(2026, 4, 1)) for p in others[1:]])
    db.execute(
        sa.insert(LedgerEntry),
        [record(others[0], date(2026, 4, 2), programme="professional_ethics")],
    )
    lines = by_name(stats(db))
    assert lines["湖塘供电所"].met and lines["湖塘供电所"].values()[-1] == "是"
    city = lines["城区中心"]
    assert [t.met for t in city.targets] == [True, False, True]
    assert not city.met and city.values()[-1] == "否"
    rates = dict(zip(tables.STATISTICS_HEADERS[2:], city.values(), strict=True))
    assert (rates["培训率(%)"], rates["持证率(%)"], rates["四职业培训率(%)"]) == (100.0, 0.0, 20.0)
    empty = lines["农电工作部"]  # only 湖塘's five below it
    assert empty.counts.headcount == 5 and empty.met


def test_several_top_units_get_a_total_row(app, db, create_unit) -> None:
    a, b = create_unit("甲局"), create_unit("乙局")
    people(db, a, 2)
    people(db, b, 3)
    result = stats(db)
    assert result.show_total
    rows = tables.statistics_rows(result)
    assert rows[-1][:3] == ["合计", "", 5]


# -- the training ledger -------------------------------------------------------------------------


def test_ledger_rows_and_their_certificates(app, db, bureau) -> None:
    """Dates joined with 至 (one date for one day), 合格 是/否, the programme's Chinese name, and
    the certificate issued for the row: a reissue stands for it, a revoked one does not."""
    post = Post(name="抄表员")
    db.add(post)
    db.flush()
    (person,) = people(db, bureau["hutang"], 1, post_id=post.id, name="张三", emp_no="P001")
    db.execute(
        sa.insert(LedgerEntry),
        [
            record(person, date(2026, 3, 2), start=date(2026, 3, 1), score=Decimal("88.50")),
            record(person, date(2026, 4, 1), passed=False, programme="professional_ethics"),
            record(person, date(2026, 5, 1), hours=Decimal("1.5")),
            record(person, date(2026, 6, 1)),
            record(person, date(2027, 1, 1)),  # next year's
        ],
    )
    ids = list(
        db.scalars(
            sa.select(LedgerEntry.id)
            .where(LedgerEntry.employee_id == person)
            .order_by(LedgerEntry.end_on)
        )
    )
    db.execute(
        sa.insert(Certificate),
        [
            certificate(
                person,
                ledger_entry_id=ids[0],
                design="qualification",
                kind="qualification",
                serial="Q-1",
                issued_on=date(2026, 3, 3),
                valid_until=date(2029, 3, 2),
            )
        ],
    )
    old_id = db.scalar(sa.select(Certificate.id).where(Certificate.serial == "Q-1"))
    db.execute(
        sa.insert(Certificate),
        [
            # a reissue: the old one replaced, the new one names the same row
            certificate(
                person, ledger_entry_id=ids[2], serial="OLD", status=CertificateStatus.replaced
            ),
            certificate(
                person,
                ledger_entry_id=ids[3],
                serial="GONE",
                status=CertificateStatus.revoked,
                revoked_at=datetime(2026, 7, 1, tzinfo=UTC),
            ),
            certificate(person, serial="NO-ROW", valid_until=None),
        ],
    )
    replaced = db.scalar(sa.select(Certificate.id).where(Certificate.serial == "OLD"))
    db.execute(
        sa.insert(Certificate),
        [
            certificate(
                person, ledger_entry_id=ids[2], serial="NEW", replaces_id=replaced, valid_until=None
            )
        ],
    )
    db.commit()
    rows = list(tables.ledger_rows(db, tables.LedgerFilter(date(2026, 1, 1), D)))
    assert len(rows) == 4
    first = dict(zip(tables.LEDGER_HEADERS, rows[0], strict=True))
    assert first == {
        "姓名": "张三",
        "工号": "P001",
        "单位": "湖塘供电所",
        "岗位": "抄表员",
        "项目": "安规",
        "起止日期": "2026-03-01至2026-03-02",
        "学时": Decimal("2"),
        "形式": "面授",
        "成绩": Decimal("88.50"),
        "合格": "是",
        "证书名称": shipped_designs()["qualification"].title,
        "证书编号": "Q-1",
        "发证日期": "2026-03-03",
        "有效期至": "2029-03-02",
        "培训内容": "安规培训",
    }
    second = dict(zip(tables.LEDGER_HEADERS, rows[1], strict=True))
    assert (second["起止日期"], second["合格"], second["项目"]) == ("2026-04-01", "否", "职业道德")
    assert (second["证书编号"], second["证书名称"], second["发证日期"]) == ("", "", "")
    assert [row[11] for row in rows[2:]] == ["NEW", ""]  # the reissue; the revoked one is out
    assert rows[2][13] == ""  # no expiry
    assert old_id


def test_ledger_period_and_subtree(app, db, bureau) -> None:
    """The rows whose end date is in the period, of the people now in the subtree (a mover's
    earlier rows go with them)."""
    (here,) = people(db, bureau["hutang"], 1)
    (there,) = people(db, bureau["city"], 1)
    db.execute(
        sa.insert(LedgerEntry),
        [
            record(here, date(2026, 2, 1)),
            record(here, date(2026, 3, 1)),
            record(there, date(2026, 2, 1)),
        ],
    )
    db.commit()

    def count(unit, start=date(2026, 1, 1), end=D):
        criteria = tables.LedgerFilter(start, end, unit)
        assert tables.ledger_count(db, criteria) == len(list(tables.ledger_rows(db, criteria)))
        return tables.ledger_count(db, criteria)

    assert (count(None), count(bureau["rural"]), count(bureau["city"])) == (3, 2, 1)
    assert count(None, date(2026, 2, 1), date(2026, 2, 28)) == 2
    db.execute(sa.update(Employee).where(Employee.id == here).values(unit_id=bureau["city"].id))
    db.commit()
    assert (count(bureau["rural"]), count(bureau["city"])) == (0, 3)


def test_xlsx_files_split_into_sheets(tmp_path) -> None:
    rows = ([f"={n}", n] for n in range(5))
    path = tmp_path / "big.xlsx"
    assert tables.write_xlsx_file(path, ["名", "号"], rows, title="台账", rows_per_sheet=2) == 5
    book = openpyxl.load_workbook(path)
    assert [ws.title for ws in book.worksheets] == ["台账", "台账(2)", "台账(3)"]
    assert [[c.value for c in row] for row in book.worksheets[1].iter_rows()] == [
        ["名", "号"],
        ["=2", 2],
        ["=3", 3],
    ]
    assert book.worksheets[0]["A2"].data_type == "s"
    assert book.worksheets[0].freeze_panes == "A2" and book.worksheets[0]["A1"].font.b


def test_the_streaming_xlsx_holds_any_text(tmp_path) -> None:
    """Markup characters, characters XML cannot hold, empty cells, numbers and booleans; the
    file reads back through lms.sheets as an upload would."""
    from lms.sheets import iter_rows

    rows = [['a<b>&"c"\x01', None, Decimal("1.50"), True, 3, 2.5, "", " 空格 "]]
    path = tmp_path / "odd.xlsx"
    tables.write_xlsx_file(path, list("ABCDEFGH"), rows, title="a/b:c*?[x]", widths=(12, 8))
    book = openpyxl.load_workbook(path)
    sheet = book.worksheets[0]
    assert sheet.title == "a_b_c___x_"
    assert [c.value for c in sheet[2]] == ['a<b>&"c"', None, 1.5, True, 3, 2.5, None, " 空格 "]
    assert sheet.column_dimensions["A"].width == 12
    assert list(iter_rows(path.read_bytes(), "odd.xlsx"))[1][:3] == ['a<b>&"c"', "", "1.5"]


# -- pages, files and scope ----------------------------------------------------------------------


@pytest.fixture
def staff(create_employee: Any, bureau: dict[str, Any]) -> dict[str, Any]:
    return {
        "hr": create_employee("人资", unit=bureau["root"], role=Role.hr, emp_no="HR01"),
        "manager": create_employee(
            "农电主任", unit=bureau["rural"], role=Role.manager, emp_no="M01"
        ),
        "city_manager": create_employee(
            "城区主任", unit=bureau["city"], role=Role.manager, emp_no="M02"
        ),
        "employee": create_employee("职员", unit=bureau["hutang"], emp_no="E01"),
    }


def _sheet(data: bytes) -> list[list[Any]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [[c.value for c in row] for row in book.worksheets[0].iter_rows()]


def test_statistics_page_and_files(app, db, client, login, bureau, history, staff) -> None:
    login(staff["hr"])
    page = client.get("/reports/statistics?year=2026")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for header in ("在岗人数", "参训人次", "人均学时", "管理类", "四职业培训率(%)", "达标"):
        assert header in text
    assert "湖塘供电所" in text and "城区中心" in text
    data = client.get("/reports/statistics.xlsx?year=2026&period=q1")
    assert data.status_code == 200 and data.mimetype.endswith("sheet")
    sheet = _sheet(data.data)
    assert tuple(sheet[0]) == tables.STATISTICS_HEADERS
    assert [row[1] for row in sheet[1:]] == ["ROOT", "CITY", "RD", "HT"]  # by code
    # Q1: 16 in post on 31 March and the four signed-in staff, 4 trained, 5 rows
    assert sheet[1][2:5] == [20, 4, 5]
    csv_text = client.get("/reports/statistics.csv?year=2026").data.decode("utf-8-sig")
    assert csv_text.splitlines()[0] == ",".join(tables.STATISTICS_HEADERS)


def test_statistics_bad_input_is_named(app, client, login, staff) -> None:
    login(staff["hr"])
    page = client.get("/reports/statistics?year=abc&period=q9")
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert 'data-testid="year-error"' in text and 'data-testid="period-error"' in text
    assert client.get("/reports/statistics.xlsx?year=99999").status_code == 400
    assert client.get("/reports/statistics?unit=abc").status_code == 404
    assert client.get("/reports/statistics?unit=99999999999").status_code == 404


def test_scope(app, db, client, login, bureau, history, staff) -> None:
    """Managers: their subtree (their own unit by default); another unit is 404; employees 404."""
    login(staff["manager"])
    page = client.get("/reports/statistics?year=2026").get_data(as_text=True)
    assert "湖塘供电所" in page and "城区中心" not in page
    sheet = _sheet(client.get("/reports/statistics.xlsx?year=2026").data)
    assert [row[1] for row in sheet[1:]] == ["RD", "HT"]
    hutang, city = bureau["hutang"].id, bureau["city"].id
    assert client.get(f"/reports/statistics?unit={hutang}").status_code == 200
    for path in (
        f"/reports/statistics?unit={city}",
        f"/reports/statistics.csv?unit={city}",
        f"/reports/ledger?unit={city}",
        f"/reports/ledger.xlsx?unit={city}",
        f"/reports/statistics?unit={bureau['root'].id}",
    ):
        assert client.get(path).status_code == 404, path
    ledger = _sheet(client.get("/reports/ledger.xlsx?year=2026").data)
    people_there = {row[1] for row in ledger[1:]}
    assert people_there and all(row[2] in ("农电工作部", "湖塘供电所") for row in ledger[1:])

    other = app.test_client()
    login(staff["employee"], client=other)
    for path in (
        "/reports/statistics",
        "/reports/statistics.xlsx",
        "/reports/ledger",
        "/reports/ledger.csv",
        "/reports/ledger/exports/1",
    ):
        assert other.get(path).status_code == 404, path


def test_ledger_page_and_formula_safe_file(app, db, client, login, bureau, staff) -> None:
    (person,) = people(db, bureau["hutang"], 1, name='=HYPERLINK("x")', emp_no="+123")
    db.execute(
        sa.insert(LedgerEntry),
        [record(person, date(2026, 5, n)) for n in range(1, 4)]
        + [record(person, date(2025, 5, 1))],
    )
    db.commit()
    login(staff["hr"])
    page = client.get("/reports/ledger?year=2026")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "3 rows" in text and "=HYPERLINK" in text
    for header in tables.LEDGER_HEADERS:
        assert header in text
    response = client.get(f"/reports/ledger.xlsx?year=2026&unit={bureau['hutang'].id}")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    assert tuple(c.value for c in sheet[1]) == tables.LEDGER_HEADERS
    assert sheet.freeze_panes == "A2"
    assert sheet["A2"].value == '=HYPERLINK("x")' and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == "+123"
    assert sheet.max_row == 4
    csv_text = client.get("/reports/ledger.csv?start=2025-01-01&end=2025-12-31").data.decode(
        "utf-8-sig"
    )
    assert csv_text.splitlines()[1].startswith('"\'=HYPERLINK(""x"")",\'+123,')
    assert len(csv_text.splitlines()) == 2

    bad = client.get("/reports/ledger?start=2026-13-01&end=yesterday")
    assert bad.status_code == 400
    assert 'data-testid="start-error"' in bad.get_data(as_text=True)
    backwards = client.get("/reports/ledger.xlsx?start=2026-05-02&end=2026-05-01")
    assert backwards.status_code == 400 and 'data-testid="end-error"' in backwards.get_data(
        as_text=True
    )


def test_a_large_ledger_export_runs_as_a_job(
    app, db, client, login, bureau, staff, monkeypatch
) -> None:
    """Over the direct limit: a link only explains; the page's button (a POST with the CSRF
    token) starts the job, which streams into the data folder; its page then offers the file,
    to the person who asked only."""
    monkeypatch.setattr(table_views, "DIRECT_EXPORT_MAX", 2)
    monkeypatch.setattr(tables, "BATCH", 2)  # several batches
    ids = people(db, bureau["hutang"], 3)
    db.execute(sa.insert(LedgerEntry), [record(p, date(2026, 4, 1)) for p in ids for _ in "ab"])
    db.execute(sa.insert(LedgerEntry), [record(ids[0], date(2026, 4, 2), start=date(2026, 4, 1))])
    db.commit()
    login(staff["manager"])
    link = client.get("/reports/ledger.xlsx?year=2026")
    assert link.status_code == 302 and "/reports/ledger?" in link.headers["Location"]
    assert client.post("/reports/ledger.xlsx?year=2026").status_code == 400  # no CSRF token

    token = csrf_token(client, "/reports/ledger?year=2026")
    response = client.post("/reports/ledger.xlsx?year=2026", data={"csrf_token": token})
    job_id, page = export_finished(client, response)
    assert 'data-testid="export-file"' in page and "7 rows" in page
    download = client.get(f"/reports/ledger/exports/{job_id}/file")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    sheet = _sheet(download.data)
    assert tuple(sheet[0]) == tables.LEDGER_HEADERS and len(sheet) == 8
    assert sheet[-1][5] == "2026-04-01至2026-04-02"
    files = list((tables.export_dir(app)).iterdir())
    assert [f.suffix for f in files] == [".xlsx"]  # no temporary file left behind
    page = client.get("/reports/ledger?year=2026").get_data(as_text=True)
    assert f"/reports/ledger/exports/{job_id}" in page  # the recent exports list it

    token = csrf_token(client, "/reports/ledger?year=2026")
    csv_job = client.post("/reports/ledger.csv?year=2026", data={"csrf_token": token})
    csv_id, _page = export_finished(client, csv_job)
    lines = client.get(f"/reports/ledger/exports/{csv_id}/file").data.decode("utf-8-sig")
    assert len(lines.splitlines()) == 8

    # another manager, and HR, get 404: the file holds the asker's scope
    for person in (staff["city_manager"], staff["hr"]):
        other = app.test_client()
        login(person, client=other)
        assert other.get(f"/reports/ledger/exports/{job_id}").status_code == 404
        assert other.get(f"/reports/ledger/exports/{job_id}/file").status_code == 404
    for path in ("/reports/ledger/exports/0", f"/reports/ledger/exports/{job_id + 100}/file"):
        assert client.get(path).status_code == 404


def export_finished(client: Any, response: Any, timeout: float = 30) -> tuple[int, str]:
    """Follow the redirect to an export's page and poll the job until it ends; the job's id
    and its page's HTML."""
    import time

    assert response.status_code == 302
    match = re.search(r"/reports/ledger/exports/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    job_id = int(match.group(1))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.get(f"/jobs/{job_id}.json").get_json()
        if data["finished"]:
            assert data["state"] == "succeeded", data
            return job_id, client.get(f"/reports/ledger/exports/{job_id}").get_data(as_text=True)
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def test_the_job_checks_the_scope_again(app, db, bureau, staff) -> None:
    from lms.jobs.services import run_now

    job = run_now(
        app,
        tables.LEDGER_EXPORT_JOB,
        {"start": "2026-01-01", "end": "2026-12-31", "unit_id": bureau["city"].id, "fmt": "csv"},
        staff["manager"],
    )
    assert job.state.value == "failed" and job.result is None
    done = run_now(
        app,
        tables.LEDGER_EXPORT_JOB,
        {"start": "2026-01-01", "end": "2026-12-31", "unit_id": None, "fmt": "csv"},
        staff["hr"],
    )
    assert done.state.value == "succeeded" and done.result["rows"] == 0


def test_commands(app, db, runner, bureau, history, tmp_path) -> None:
    out = tmp_path / "ledger.xlsx"
    result = runner.invoke(ledger_command, ["--year", "2026", "--unit", "HT", "-o", str(out)])
    assert result.exit_code == 0, result.output
    sheet = _sheet(out.read_bytes())
    assert tuple(sheet[0]) == tables.LEDGER_HEADERS and len(sheet) == 5  # 湖塘's 2026 rows
    csv_out = tmp_path / "ledger.csv"
    result = runner.invoke(
        ledger_command,
        ["--year", "2026", "--start", "2026-03-01", "--end", "2026/3/31", "-o", str(csv_out)],
    )
    assert result.exit_code == 0, result.output
    assert len(csv_out.read_text(encoding="utf-8-sig").splitlines()) == 4
    assert runner.invoke(ledger_command, ["--year", "2026", "-o", "x.pdf"]).exit_code != 0
    assert (
        runner.invoke(
            ledger_command, ["--year", "2026", "--unit", "NOPE", "-o", str(out)]
        ).exit_code
        != 0
    )

    printed = runner.invoke(statistics_command, ["--year", "2026", "--period", "q1"])
    assert printed.exit_code == 0, printed.output
    lines = printed.output.splitlines()
    assert lines[0].split("\t") == list(tables.STATISTICS_HEADERS)
    assert lines[1].split("\t")[:5] == ["龙城供电局", "ROOT", "16", "4", "5"]
    xlsx = tmp_path / "stats.xlsx"
    result = runner.invoke(statistics_command, ["--year", "2026", "--unit", "RD", "-o", str(xlsx)])
    assert result.exit_code == 0, result.output
    assert [row[1] for row in _sheet(xlsx.read_bytes())[1:]] == ["RD", "HT"]
    assert runner.invoke(statistics_command, ["--year", "2026", "--period", "q5"]).exit_code != 0
