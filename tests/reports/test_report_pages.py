"""The annual report's page and files: scope (a manager's subtree, HR's bureau, 404 outside),
the three targets with their figures, the JSON shape, CSV and XLSX headers and formula safety,
the PDF's text, the gap lists (on the page, as files, and as a job), and the monthly trend."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from lms.certificates.models import Certificate, CertificateStatus
from lms.org.models import Employee, EmployeeMove, EmploymentStatus, Post, Role, UnitKind
from lms.reports import gaps
from lms.reports.coverage import CoverageSettings, coverage
from lms.reports.trend import points_of, trend
from lms.training.models import LedgerEntry
from tests.conftest import csrf_token, pdf_text
from tests.reports.conftest import certificate, people, record

ZONE = ZoneInfo("Asia/Shanghai")
SETTINGS = CoverageSettings()
YEAR, AS_OF = 2026, date(2026, 12, 31)
QUERY = f"year={YEAR}&as_of={AS_OF.isoformat()}"
FORMULA = '=HYPERLINK("x")'


@pytest.fixture
def client(app: Any) -> Any:
    """A test client that asks for English (the page's words are the English msgids)."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


@pytest.fixture
def bureau(app: Any, db: Any, create_unit: Any, create_employee: Any) -> dict[str, Any]:
    """龙城供电局 (HR) with 农电工作部 (its manager) over 湖塘供电所 (rural), and 城区中心.

    In scope on 31 December 2026, ten people: 湖塘 six (P01 untrained; a1, a2 trained, a2 with
    professional ethics; a3 untrained; managers m1 trained and certified, m2 neither), 农电工作部
    the manager M01 (untrained), 城区中心 two (c1 untrained, c2 trained), the bureau HR01.
    Whole bureau: trained 4/10, certified 1/2, ethics 1/10. A leaver is out of every list."""
    root = create_unit("龙城供电局", kind=UnitKind.bureau, code="ROOT")
    rural = create_unit("农电工作部", parent=root, kind=UnitKind.department, code="RD")
    hutang = create_unit(
        "湖塘供电所", parent=rural, kind=UnitKind.rural_office, rural=True, code="HT"
    )
    city = create_unit("城区中心", parent=root, kind=UnitKind.centre, code="CITY")
    post = Post(name="抄表员")
    db.add(post)
    db.commit()
    logins = {
        "hr": create_employee("人资", unit=root, role=Role.hr, emp_no="HR01"),
        "manager": create_employee("农电主任", unit=rural, role=Role.manager, emp_no="M01"),
        "employee": create_employee("张三", unit=hutang, emp_no="P01"),
    }
    a1, a2, a3 = people(db, hutang, 3, post_id=post.id)
    m1, m2 = people(db, hutang, 2, is_manager=True)
    c1, c2 = people(db, city, 2)
    (gone,) = people(db, hutang, 1, status=EmploymentStatus.left, left_on=date(2026, 5, 1))
    db.execute(
        sa.insert(LedgerEntry),
        [
            record(a1, date(2026, 3, 10)),
            record(a2, date(2026, 7, 1), programme="professional_ethics"),
            record(m1, date(2026, 11, 2)),
            record(c2, date(2026, 1, 1)),
            record(a3, date(2026, 4, 1), passed=False),  # failed: not training
            record(a3, date(2025, 12, 31)),  # last year's
        ],
    )
    db.execute(sa.insert(Certificate), [certificate(m1)])
    db.commit()
    return {
        "units": {"root": root, "rural": rural, "hutang": hutang, "city": city},
        "ids": {
            "a1": a1,
            "a2": a2,
            "a3": a3,
            "m1": m1,
            "m2": m2,
            "c1": c1,
            "c2": c2,
            "gone": gone,
        },
        **logins,
    }


def emp_no(db: Any, employee_id: int) -> str:
    return db.scalar(sa.select(Employee.emp_no).where(Employee.id == employee_id))


def page(client: Any, query: str = QUERY) -> str:
    response = client.get(f"/reports/coverage?{query}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def section(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


def test_hr_sees_the_bureau_with_every_target_and_unit(
    client: Any, login: Any, bureau: dict
) -> None:
    """The three targets with numerator/denominator, rate to two decimals, requirement and a
    met/not-met word; every unit's subtree; rural offices marked; charts and the trend."""
    login(bureau["hr"])
    html = page(client)
    targets = html[html.index('data-testid="targets"') :]
    row = targets[targets.index('data-testid="target-all_staff_training"') :]
    assert 'data-met="0"' in row[:80]
    assert "4 / 10" in row and "40.00%" in row and "&gt; 80%" in row and "Not met" in row
    row = targets[targets.index('data-testid="target-management_certification"') :]
    assert "1 / 2" in row and "50.00%" in row and "✓ Met" in row
    row = targets[targets.index('data-testid="target-professional_ethics"') :]
    assert "1 / 10" in row and "10.00%" in row and "≥ 20%" in row
    for code in ("ROOT", "RD", "HT", "CITY"):
        assert f'data-unit="{code}"' in html
    hutang = html[html.index('data-unit="HT"') :]
    assert "rural" in hutang[: hutang.index("</th>")]
    assert html.count('data-testid="unit-chart"') == 3
    assert html.count('data-testid="trend-chart"') == 3
    assert html.count("<svg") == 6 and 'data-threshold="1"' in html
    trend_table = html[html.index('data-testid="trend"') :]
    assert trend_table.count("data-month=") == 12
    assert 'data-testid="by-post"' in html and "抄表员" in html
    assert 'data-testid="by-staff-kind"' in html


def test_gap_lists_on_the_page(client: Any, login: Any, db: Any, bureau: dict) -> None:
    """Not trained (6), no professional ethics (9), managers without the certificate (m2);
    with name, 工号 and the unit on the date; the leaver is on none."""
    login(bureau["hr"])
    html = page(client)
    ids = bureau["ids"]
    untrained = section(html, "gap-untrained")
    assert 'data-count="6"' in untrained
    for key in ("a3", "m2", "c1"):
        assert f'data-emp-no="{emp_no(db, ids[key])}"' in untrained
    for key in ("a1", "a2", "m1", "c2", "gone"):
        assert f'data-emp-no="{emp_no(db, ids[key])}"' not in untrained
    assert 'data-count="9"' in section(html, "gap-no_ethics")
    uncertified = section(html, "gap-uncertified")
    assert 'data-count="1"' in uncertified
    assert f'data-emp-no="{emp_no(db, ids["m2"])}"' in uncertified and "湖塘供电所" in uncertified
    assert "Full list (CSV)" in untrained and "Full list (XLSX)" in untrained


def test_a_manager_sees_their_subtree_only(client: Any, login: Any, bureau: dict) -> None:
    """The page opens on the manager's unit; units below it are open to them; a unit beside
    it, an unknown code and its files are 404."""
    login(bureau["manager"])
    html = page(client)
    assert "农电工作部" in html[html.index('data-testid="report-where"') :][:200]
    assert 'data-unit="RD"' in html and 'data-unit="HT"' in html
    assert 'data-unit="CITY"' not in html and 'data-unit="ROOT"' not in html
    assert "Whole bureau" not in html
    target = html[html.index('data-testid="target-all_staff_training"') :]
    assert "3 / 7" in target
    assert 'data-count="4"' in section(html, "gap-untrained")  # P01, a3, m2, M01
    assert "城区中心" not in html
    assert client.get(f"/reports/coverage?{QUERY}&unit=HT").status_code == 200
    for path in (
        f"/reports/coverage?{QUERY}&unit=CITY",
        f"/reports/coverage?{QUERY}&unit=ROOT",
        f"/reports/coverage?{QUERY}&unit=NOPE",
        f"/reports/coverage.json?{QUERY}&unit=CITY",
        f"/reports/coverage.pdf?{QUERY}&unit=ROOT",
        f"/reports/coverage/gaps/untrained.csv?{QUERY}&unit=CITY",
        f"/reports/coverage/gaps/untrained.xlsx?{QUERY}&unit=CITY",
    ):
        assert client.get(path).status_code == 404, path
    # the manager's own JSON is their subtree
    data = client.get(f"/reports/coverage.json?{QUERY}").get_json()
    assert data["unit"] == "RD" and [u["code"] for u in data["units"]] == ["RD", "HT"]


def test_employees_get_404(client: Any, login: Any, bureau: dict) -> None:
    login(bureau["employee"])
    for path in (
        f"/reports/coverage?{QUERY}",
        f"/reports/coverage.csv?{QUERY}",
        f"/reports/coverage.json?{QUERY}",
        f"/reports/coverage/gaps/untrained.csv?{QUERY}",
    ):
        assert client.get(path).status_code == 404, path


def test_bad_input_gives_named_field_errors_not_500s(client: Any, login: Any, bureau: dict) -> None:
    """A bad year or date is named on the page (the defaults stand in); files refuse it with
    400; unknown formats and lists are 404."""
    login(bureau["hr"])
    html = page(client, "year=abc")
    assert 'data-testid="year-error"' in html and 'aria-invalid="true"' in html
    html = page(client, "year=2026&as_of=2026-13-01")
    assert 'data-testid="as_of-error"' in html and "2026-13-01" in html
    html = page(client, "year=2026&as_of=2025-06-30")
    assert 'data-testid="as_of-error"' in html
    assert page(client, "year=99999999999999999999")
    assert client.get("/reports/coverage.csv?year=abc").status_code == 400
    assert client.get("/reports/coverage.doc?year=2026").status_code == 404
    assert client.get(f"/reports/coverage/gaps/everyone.csv?{QUERY}").status_code == 404
    assert client.get(f"/reports/coverage/gaps/untrained.pdf?{QUERY}").status_code == 404
    assert client.get(f"/reports/coverage?{QUERY}&unit=" + "x" * 300).status_code == 404


def test_the_json_has_the_design_shape(client: Any, login: Any, bureau: dict) -> None:
    """DESIGN.md: year, as_of, unit, targets (key, label, numerator, denominator, rate,
    threshold, comparison, met) and units."""
    login(bureau["hr"])
    response = client.get(f"/reports/coverage.json?{QUERY}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    data = json.loads(response.get_data(as_text=True))
    assert set(data) == {"year", "as_of", "unit", "targets", "units"}
    assert (data["year"], data["as_of"], data["unit"]) == (2026, "2026-12-31", None)
    assert [t["key"] for t in data["targets"]] == [
        "all_staff_training",
        "management_certification",
        "professional_ethics",
    ]
    for target in data["targets"]:
        assert set(target) == {
            "key",
            "label",
            "numerator",
            "denominator",
            "rate",
            "threshold",
            "comparison",
            "met",
        }
    first = data["targets"][0]
    assert (first["numerator"], first["denominator"], first["rate"], first["met"]) == (
        4,
        10,
        40.0,
        False,
    )
    assert (first["label"], first["threshold"], first["comparison"]) == ("全员培训率", 80, ">")
    assert [u["code"] for u in data["units"]] == ["ROOT", "CITY", "RD", "HT"]  # by code
    hutang = data["units"][3]
    assert hutang["rural"] is True and hutang["headcount"] == 6 and hutang["parent"] == "RD"


def test_coverage_csv_and_xlsx(client: Any, login: Any, bureau: dict) -> None:
    """One row per unit subtree with each target's numerator, denominator, rate and met; CSV in
    UTF-8 with a BOM; XLSX with a bold frozen header."""
    login(bureau["hr"])
    response = client.get(f"/reports/coverage.csv?{QUERY}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith("\ufeff".encode())
    lines = body.decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert header[:6] == ["单位编码", "单位名称", "上级单位编码", "层级", "农村供电所", "在岗人数"]
    assert "全员培训率-分子" in header and "管理人员上岗培训持证率(%)" in header
    assert "四职业培训率-达标" in header
    assert len(lines) == 5
    assert lines[1].startswith("ROOT,龙城供电局,,0,否,10,2,4,10,40.0,否,1,2,50.0,是,1,10,10.0,否")

    response = client.get(f"/reports/coverage.xlsx?{QUERY}")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.bold
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == header
    assert rows[4][:6] == ("HT", "湖塘供电所", "RD", 2, "是", 6)


def test_files_keep_formulas_as_text(
    client: Any, login: Any, db: Any, create_unit: Any, create_employee: Any
) -> None:
    """A unit and a person named =HYPERLINK("x") arrive as text in every CSV and XLSX."""
    root = create_unit(FORMULA, kind=UnitKind.bureau, code="ROOT")
    hr = create_employee("人资", unit=root, role=Role.hr, emp_no="HR01")
    people(db, root, 1, name=FORMULA, emp_no="F0001")
    db.commit()
    login(hr)
    sheet = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/reports/coverage.xlsx?{QUERY}").get_data())
    ).active
    cell = sheet["B2"]
    assert cell.value == FORMULA and cell.data_type == "s"
    csv_text = client.get(f"/reports/coverage.csv?{QUERY}").get_data().decode("utf-8-sig")
    assert "'=HYPERLINK" in csv_text
    sheet = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/reports/coverage/gaps/untrained.xlsx?{QUERY}").get_data())
    ).active
    values = {c.value: c.data_type for row in sheet.iter_rows(min_row=2) for c in row}
    assert values[FORMULA] == "s"  # the person's name and the unit's
    csv_text = (
        client.get(f"/reports/coverage/gaps/untrained.csv?{QUERY}").get_data().decode("utf-8-sig")
    )
    assert "'=HYPERLINK" in csv_text and "\n=" not in csv_text and ",=" not in csv_text


def test_the_pdf_has_the_target_names_and_figures(
    client: Any, login: Any, bureau: dict, tmp_path: Any
) -> None:
    """The PDF (Chinese) names the three targets with their figures and holds the charts."""
    login(bureau["hr"])
    response = client.get(f"/reports/coverage.pdf?{QUERY}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.get_data(), tmp_path)
    for expected in (
        "全员培训率",
        "管理人员上岗培训持证率",
        "四职业培训率",
        "40.00%",
        "50.00%",
        "10.00%",
        "龙城供电局",
        "湖塘供电所",
        "未达标",
        "2026-12-31",
    ):
        assert expected in text, expected
    assert "各单位全员培训率" in text  # a chart's title, drawn as SVG text


def test_gap_list_files(client: Any, login: Any, db: Any, bureau: dict) -> None:
    """The full lists as CSV (streamed) and XLSX, with 姓名, 工号, 单位, 岗位; a manager's
    are their subtree's."""
    login(bureau["hr"])
    response = client.get(f"/reports/coverage/gaps/untrained.csv?{QUERY}")
    assert response.status_code == 200 and response.is_streamed
    lines = response.get_data().decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(gaps.HEADERS)
    assert len(lines) == 7
    a3 = emp_no(db, bureau["ids"]["a3"])
    assert any(
        line.startswith(f"员工{bureau['ids']['a3']},{a3},湖塘供电所,HT,抄表员,") for line in lines
    )
    sheet = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/reports/coverage/gaps/uncertified.xlsx?{QUERY}").get_data())
    ).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == gaps.HEADERS and sheet.freeze_panes == "A2"
    assert [r[1] for r in rows[1:]] == [emp_no(db, bureau["ids"]["m2"])]


def test_a_long_gap_list_is_made_by_a_job(
    client: Any, login: Any, bureau: dict, monkeypatch: pytest.MonkeyPatch, create_employee: Any
) -> None:
    """Above the direct-download size the page offers the XLSX as a job: its page shows the
    progress, then the file, which only the person who asked for it may fetch."""
    import lms.reports.views as views

    monkeypatch.setattr(views, "EXPORT_DIRECT_ROWS", 2)
    login(bureau["manager"])
    html = page(client)
    assert 'data-testid="gap-xlsx-job"' in section(html, "gap-untrained")
    token = csrf_token(client, f"/reports/coverage?{QUERY}")
    refused = client.post(
        "/reports/coverage/gaps/untrained/export", data={"year": "2026", "as_of": "2026-12-31"}
    )
    assert refused.status_code == 400  # no CSRF token
    outside = client.post(
        "/reports/coverage/gaps/untrained/export",
        data={"csrf_token": token, "year": "2026", "unit": "CITY"},
    )
    assert outside.status_code == 404
    response = client.post(
        "/reports/coverage/gaps/untrained/export",
        data={"csrf_token": token, "year": "2026", "as_of": "2026-12-31"},
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    job_id = int(location.rstrip("/").rsplit("/", 1)[1])
    deadline = time.monotonic() + 30
    while not client.get(f"/jobs/{job_id}.json").get_json()["finished"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert client.get(f"/jobs/{job_id}.json").get_json()["error"] is None
    status = client.get(location).get_data(as_text=True)
    assert 'data-testid="export-file"' in status and "(4 rows)" in status
    file = client.get(f"/reports/exports/{job_id}/file")
    assert file.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(file.get_data())).active.values)
    assert len(rows) == 5 and {r[3] for r in rows[1:]} <= {"HT", "RD"}
    other = create_employee("另一人资", role=Role.hr)
    login(other)
    assert client.get(location).status_code == 404
    assert client.get(f"/reports/exports/{job_id}/file").status_code == 404


# -- the gap lists and the trend, as services ---------------------------------------------


def test_gap_lists_use_the_unit_on_the_as_of_date(app: Any, db: Any, create_unit: Any) -> None:
    """A person who moved from A to B on 1 July is on A's list as of 30 June and on B's as of
    31 December; people hired after the date or excluded by status are on no list; each list
    is the complement of its target's numerator."""
    root = create_unit("局", code="ROOT")
    a = create_unit("甲所", parent=root, code="A")
    b = create_unit("乙所", parent=root, code="B")
    (mover,) = people(db, b, 1)
    (later,) = people(db, a, 1, hired_on=date(2027, 1, 5))
    (away,) = people(db, a, 1, status=EmploymentStatus.away)
    (stays,) = people(db, a, 1, is_manager=True)
    db.add(
        EmployeeMove(
            employee_id=mover, effective_on=date(2026, 7, 1), from_unit_id=a.id, to_unit_id=b.id
        )
    )
    db.execute(sa.insert(LedgerEntry), [record(stays, date(2026, 2, 1))])
    db.execute(
        sa.insert(Certificate),
        [
            certificate(
                stays,
                status=CertificateStatus.revoked,
                revoked_at=datetime(2026, 9, 1, 2, tzinfo=UTC),
            )
        ],
    )
    db.commit()

    def ids(kind: str, unit: Any, as_of: date) -> list[int]:
        return [
            row.employee_id
            for row in gaps.iter_gaps(
                db, kind, year=2026, as_of=as_of, unit=unit, settings=SETTINGS, zone=ZONE
            )
        ]

    assert ids(gaps.UNTRAINED, a, date(2026, 6, 30)) == [mover]
    assert ids(gaps.UNTRAINED, b, date(2026, 6, 30)) == []
    assert ids(gaps.UNTRAINED, b, AS_OF) == [mover]
    assert ids(gaps.UNTRAINED, None, AS_OF) == [mover]
    assert ids(gaps.NO_ETHICS, None, AS_OF) == sorted([mover, stays], key=lambda i: i != stays)
    # revoked on 1 September: certified as of 31 August, not as of 31 December
    assert ids(gaps.UNCERTIFIED, None, date(2026, 8, 31)) == []
    assert ids(gaps.UNCERTIFIED, None, AS_OF) == [stays]
    result = coverage(db, year=2026, as_of=AS_OF, unit=None, settings=SETTINGS, zone=ZONE)
    for kind in gaps.KINDS:
        assert gaps.gap_count(result, kind) == len(ids(kind, None, AS_OF))
    first = gaps.first_gaps(
        db, gaps.KINDS, year=2026, as_of=AS_OF, unit=None, settings=SETTINGS, zone=ZONE, limit=1
    )
    assert first == {
        kind: list(
            gaps.iter_gaps(
                db, kind, year=2026, as_of=AS_OF, unit=None, settings=SETTINGS, zone=ZONE
            )
        )[:1]
        for kind in gaps.KINDS
    }
    del later, away


def test_the_trend_builds_up_to_the_report(app: Any, db: Any, create_unit: Any) -> None:
    """Each month-end counts what had happened by then among the report's people; the last
    point (the as-of date) is the report's own figures."""
    unit = create_unit("所", code="U")
    staff = people(db, unit, 3)
    (manager,) = people(db, unit, 1, is_manager=True)
    db.execute(
        sa.insert(LedgerEntry),
        [
            record(staff[0], date(2026, 1, 31)),
            record(staff[1], date(2026, 3, 1), programme="professional_ethics"),
            record(staff[2], date(2026, 8, 20)),  # after the as-of date: not counted
        ],
    )
    db.execute(
        sa.insert(Certificate),
        [certificate(manager, issued_on=date(2026, 2, 10), valid_until=date(2026, 5, 31))],
    )
    db.commit()
    as_of = date(2026, 8, 15)
    assert points_of(2026, as_of)[-2:] == [date(2026, 7, 31), as_of]
    points = trend(db, year=2026, as_of=as_of, unit=None, settings=SETTINGS, zone=ZONE)
    assert [p.month for p in points] == [1, 2, 3, 4, 5, 6, 7, 8]

    def numerators(point: Any) -> tuple[int, ...]:
        return tuple(t.numerator for t in point.targets)

    assert [numerators(p) for p in points] == [
        (1, 0, 0),  # January: the 31 January record
        (1, 1, 0),  # February: the certificate from 10 February
        (2, 1, 1),
        (2, 1, 1),
        (2, 1, 1),  # valid until 31 May: held on it
        (2, 0, 1),
        (2, 0, 1),
        (2, 0, 1),
    ]
    assert {t.denominator for p in points for t in p.targets} == {4, 1}
    report = coverage(db, year=2026, as_of=as_of, unit=unit, settings=SETTINGS, zone=ZONE)
    assert points[-1].targets == report.targets
    minimum = CoverageSettings(min_hours=3)
    db.execute(sa.insert(LedgerEntry), [record(staff[0], date(2026, 4, 2))])
    db.commit()
    points = trend(db, year=2026, as_of=as_of, unit=unit, settings=minimum, zone=ZONE)
    assert [p.targets[0].numerator for p in points][:5] == [0, 0, 0, 1, 1]  # 2 h, then 4 h
    report = coverage(db, year=2026, as_of=as_of, unit=unit, settings=minimum, zone=ZONE)
    assert points[-1].targets == report.targets
    assert (
        trend(db, year=2027, as_of=date(2026, 12, 31), unit=None, settings=SETTINGS, zone=ZONE)
        == []
    )
