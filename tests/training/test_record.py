"""The personal training file (一人一档): the page, its totals, its scope, and its XLSX and PDF."""

from __future__ import annotations

import io
import socket
import threading
from datetime import date
from decimal import Decimal
from typing import Any

import openpyxl
import pytest

from lms.courses import services as courses
from lms.courses.models import CompletionRule, Course, Lesson
from lms.org.models import Role, UnitKind
from lms.pdf import data_uri, html_to_pdf, make_url_fetcher, pdf_environment_problems
from lms.training import services
from lms.training.models import LedgerEntry, LedgerSource, TrainingForm
from tests.conftest import TEST_PASSWORD, csrf_token, make_app, pdf_text, pdf_tool

# A 1x1 PNG.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6364f8cf50070002a0014b3c7ab1de0000000049454e44ae426082"
)


def add_entry(db: Any, employee: Any, title: str, **values: Any) -> LedgerEntry:
    """A ledger row as a classroom session or an import would write it."""
    values = {
        "programme": "safety",
        "form": TrainingForm.classroom,
        "start_on": date(2025, 6, 3),
        "end_on": date(2025, 6, 4),
        "hours": Decimal("8.0"),
        "score": None,
        "passed": True,
        "source": LedgerSource.session,
        "source_ref": f"test:{title}",
        **values,
    }
    entry = LedgerEntry(employee_id=employee.id, title=title, **values)
    db.add(entry)
    db.commit()
    return entry


def complete_course(app: Any, db: Any, employee: Any, title: str, hours: str = "2.5") -> None:
    """A published online course that ``employee`` completes with a score of 92.5."""
    course = Course(
        code=f"R-{title}",
        title=title,
        programme="service_standards",
        hours=Decimal(hours),
        completion_rule=CompletionRule.viewed,
    )
    course.lessons = [Lesson(title="第1课", body="内容", position=1)]
    db.add(course)
    db.flush()
    with app.app_context():
        courses.publish(db, course, actor=None)
        run = courses.start_run(db, employee, course)
        assert courses.complete_run(db, run, score=Decimal("92.5"))
    db.commit()


@pytest.fixture
def client(app: Any) -> Any:
    """A test client that asks for English (messages are English ids; Chinese is tested by
    tests/test_i18n.py)."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


@pytest.fixture
def bureau(create_unit: Any) -> dict[str, Any]:
    """A bureau with two offices side by side."""
    root = create_unit("龙城供电局", kind=UnitKind.bureau)
    return {
        "root": root,
        "hutang": create_unit("湖塘供电所", parent=root, kind=UnitKind.rural_office, rural=True),
        "xinbei": create_unit("新北供电所", parent=root, kind=UnitKind.urban_office),
    }


@pytest.fixture
def person(app: Any, db: Any, bureau: Any, create_employee: Any) -> Any:
    """张三 of 湖塘 with an online completion (this year), a classroom day and a failed import."""
    zhang = create_employee("张三", unit=bureau["hutang"], emp_no="10001")
    complete_course(app, db, zhang, "营业窗口服务规范")
    add_entry(db, zhang, "安全工作规程考试")
    add_entry(
        db,
        zhang,
        "职业道德·职业纪律",
        programme="professional_ethics",
        form=TrainingForm.online,
        start_on=date(2024, 3, 1),
        end_on=date(2024, 3, 1),
        hours=Decimal("4.0"),
        score=Decimal("55"),
        passed=False,
        source=LedgerSource.imported,
        source_ref="records.xlsx:2",
    )
    return zhang


def sign_in(client: Any, employee: Any) -> Any:
    """Sign ``client`` in as ``employee``; returns the client."""
    token = csrf_token(client, "/login")
    client.post(
        "/login", data={"emp_no": employee.emp_no, "password": TEST_PASSWORD, "csrf_token": token}
    )
    return client


# --- the page ---------------------------------------------------------------------------------


def test_page_lists_every_row_newest_first(person, client, login):
    """The employee's own page lists online, classroom and imported rows, newest first."""
    login(person)
    page = client.get("/me/record").get_data(as_text=True)
    titles = ["营业窗口服务规范", "安全工作规程考试", "职业道德·职业纪律"]
    positions = [page.find(title) for title in titles]
    assert -1 not in positions and positions == sorted(positions)
    assert "2025-06-03 – 2025-06-04" in page
    assert "92.5" in page  # the score
    assert "<td>Service standards</td>" in page and "<td>Safety rules</td>" in page
    assert "<td>Online</td>" in page and "<td>Classroom</td>" in page
    assert '<span class="tag">Imported</span>' in page


def test_page_shows_totals_per_year_and_programme(person, client, login):
    """Totals: hours of the rows passed (the failed row earns none), per year and programme."""
    login(person)
    page = client.get(f"/employees/{person.id}/record").get_data(as_text=True)
    assert '<strong data-testid="total-hours">10.5</strong>' in page
    assert '<strong data-testid="total-count">3</strong>' in page
    by_year = page.split('data-testid="totals-by-year"')[1].split("</table>")[0]
    this_year = date.today().year
    assert f'<th scope="row">{this_year}</th><td>2.5</td><td>1</td><td>1</td>' in by_year
    assert '<th scope="row">2024</th><td>0</td><td>1</td><td>0</td>' in by_year
    by_programme = page.split('data-testid="totals-by-programme"')[1].split("</table>")[0]
    assert '<th scope="row">Safety rules</th><td>8</td><td>1</td><td>1</td>' in by_programme
    order = [by_programme.index(label) for label in ("Safety rules", "Service", "Professional")]
    assert order == sorted(order)  # most hours first


def test_record_summary_is_computed_by_the_database(app, db, person, create_employee):
    """record_summary: per year newest first, per programme most hours first, and overall."""
    summary = services.record_summary(db, person.id)
    assert [(t.key, t.count, t.passed, t.hours) for t in summary.by_year] == [
        (date.today().year, 1, 1, Decimal("2.5")),
        (2025, 1, 1, Decimal("8.0")),
        (2024, 1, 0, Decimal("0.0")),
    ]
    assert [t.key for t in summary.by_programme] == [
        "safety",
        "service_standards",
        "professional_ethics",
    ]
    assert (summary.overall.count, summary.overall.passed, summary.overall.hours) == (
        3,
        2,
        Decimal("10.5"),
    )
    nobody = services.record_summary(db, create_employee().id)
    assert nobody.by_year == [] and nobody.overall.hours == Decimal("0.0")


def test_hours_add_up_exactly(app, db, create_employee):
    """Tenths of hours add up without floating-point residue on either database."""
    person = create_employee()
    for number in range(3):
        add_entry(db, person, f"班组学习{number}", hours=Decimal("0.1"))
    assert services.record_summary(db, person.id).overall.hours == Decimal("0.3")


def test_certificates_section_is_an_empty_hook(person, client, login):
    """The certificates section shows none until the certificates domain fills the hook."""
    login(person)
    page = client.get("/me/record").get_data(as_text=True)
    section = page.split('data-testid="record-certificates"')[1]
    assert "<table>" not in section.split("</section>")[0]


def test_empty_file(client, login, create_employee):
    """Someone with no ledger rows gets a page that says so."""
    newcomer = create_employee()
    login(newcomer)
    response = client.get("/me/record")
    assert response.status_code == 200
    assert 'data-testid="record-rows"' not in response.get_data(as_text=True)


def test_navigation_and_employee_page_link_to_the_file(person, client, login):
    """ "My record" leads to the training file; the employee page links to it."""
    login(person)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/me/record"' in home
    employee_page = client.get(f"/employees/{person.id}").get_data(as_text=True)
    assert f'href="/employees/{person.id}/record"' in employee_page


def test_page_escapes_user_values(app, db, bureau, client, login, create_employee):
    """Names and titles with markup show as text on the page."""
    person = create_employee('<script>alert("x")</script>', unit=bureau["hutang"])
    add_entry(db, person, '<img src=x onerror="alert(1)">')
    login(person)
    page = client.get("/me/record").get_data(as_text=True)
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page


# --- scope ------------------------------------------------------------------------------------

FORMATS = ("", ".xlsx", ".pdf")


def test_another_employee_gets_404(person, bureau, client, login, create_employee):
    """A colleague of the same office cannot reach the file, its XLSX or its PDF."""
    login(create_employee(unit=bureau["hutang"]))
    for suffix in FORMATS:
        assert client.get(f"/employees/{person.id}/record{suffix}").status_code == 404


def test_manager_sees_own_subtree_only(app, person, bureau, client, login, create_employee):
    """The manager of 湖塘 sees 张三's file; the manager of 新北 gets 404."""
    login(create_employee(unit=bureau["xinbei"], role=Role.manager))
    for suffix in FORMATS:
        assert client.get(f"/employees/{person.id}/record{suffix}").status_code == 404
    head = sign_in(app.test_client(), create_employee(unit=bureau["hutang"], role=Role.manager))
    for suffix in FORMATS:
        assert head.get(f"/employees/{person.id}/record{suffix}").status_code == 200


def test_hr_sees_everyone(person, bureau, client, login, create_employee):
    """HR opens anyone's file."""
    login(create_employee(unit=bureau["root"], role=Role.hr))
    response = client.get(f"/employees/{person.id}/record")
    assert response.status_code == 200 and "营业窗口服务规范" in response.get_data(as_text=True)


def test_unknown_or_huge_ids_and_anonymous(client, login, create_employee):
    """Ids that do not exist give 404; without signing in, the sign-in page."""
    assert client.get("/me/record").status_code == 302
    assert client.get("/employees/1/record.pdf").status_code == 302
    login(create_employee(role=Role.hr))
    assert client.get("/employees/999999/record").status_code == 404
    assert client.get(f"/employees/{2**40}/record.xlsx").status_code == 404


# --- XLSX -------------------------------------------------------------------------------------


def test_xlsx_has_the_ledger_columns(person, client, login):
    """The XLSX opens, has the 教育培训台账 columns, and one row per ledger row, newest first."""
    login(person)
    response = client.get(f"/employees/{person.id}/record.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:14] == [
        "姓名",
        "工号",
        "单位",
        "岗位",
        "项目",
        "起止日期",
        "学时",
        "形式",
        "成绩",
        "合格",
        "证书名称",
        "证书编号",
        "发证日期",
        "有效期至",
    ]
    assert rows[0][14] == "培训内容"
    assert [row[14] for row in rows[1:]] == [
        "营业窗口服务规范",
        "安全工作规程考试",
        "职业道德·职业纪律",
    ]
    classroom = rows[2]
    assert classroom[:10] == [
        "张三",
        "10001",
        "湖塘供电所",
        None,
        "安规",
        "2025-06-03至2025-06-04",
        8,
        "面授",
        None,
        "是",
    ]
    assert rows[3][9] == "否" and rows[3][8] == 55 and rows[3][4] == "职业道德"
    assert all(cell is None for row in rows[1:] for cell in row[10:14])  # no certificates yet


def test_xlsx_keeps_formulas_as_text(app, db, bureau, client, login, create_employee):
    """A name like =HYPERLINK("x") arrives in the XLSX as text, not as a formula."""
    person = create_employee('=HYPERLINK("x")', unit=bureau["hutang"])
    add_entry(db, person, "=1+2")
    login(person)
    response = client.get(f"/employees/{person.id}/record.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    name, title = sheet["A2"], sheet["O2"]
    assert (name.value, name.data_type) == ('=HYPERLINK("x")', "s")
    assert (title.value, title.data_type) == ("=1+2", "s")


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_shows_name_and_titles_in_chinese(person, client, login, tmp_path):
    """The PDF opens; pdftotext shows the name, 工号, unit, titles and totals in Chinese."""
    login(person)
    response = client.get(f"/employees/{person.id}/record.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    text = pdf_text(response.data, tmp_path)
    for expected in ("张三", "10001", "湖塘供电所", "龙城供电局", "员工教育培训档案"):
        assert expected in text, expected
    for title in ("营业窗口服务规范", "安全工作规程考试", "职业道德·职业纪律"):
        assert title in text, title
    assert "第 1 页，共 1 页" in text or "第1页，共1页" in text.replace(" ", "")
    assert "10.5" in text  # the total hours


def test_pdf_embeds_a_cjk_font_subset(person, client, login, tmp_path):
    """pdffonts lists an embedded, subset Noto CJK font."""
    login(person)
    data = client.get(f"/employees/{person.id}/record.pdf").data
    fonts = pdf_tool("pdffonts", data, tmp_path)
    cjk = [line.split() for line in fonts.splitlines() if "CJK" in line]
    assert cjk, fonts
    for columns in cjk:
        name = columns[0]
        assert "+" in name  # a subset's name: ABCDEF+Noto-Serif-CJK-SC
        emb, sub = columns[-5], columns[-4]
        assert (emb, sub) == ("yes", "yes"), fonts


def test_pdf_of_many_rows_has_page_numbers(
    app, db, bureau, client, login, create_employee, tmp_path
):
    """A long file runs over several A4 pages, each numbered 第 n 页，共 N 页."""
    person = create_employee("李四", unit=bureau["xinbei"])
    for number in range(80):
        add_entry(db, person, f"岗位培训第{number + 1}期", end_on=date(2025, 1, 1 + number % 28))
    login(person)
    data = client.get(f"/employees/{person.id}/record.pdf").data
    pages = int(
        next(
            line.split()[-1]
            for line in pdf_tool("pdfinfo", data, tmp_path).splitlines()
            if line.startswith("Pages:")
        )
    )
    assert pages >= 2
    text = pdf_text(data, tmp_path).replace(" ", "")
    assert f"第{pages}页，共{pages}页" in text and "岗位培训第80期" in text


class Listener:
    """A TCP port that records whether anything connected to it."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(5)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                connection, _address = self.socket.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> int:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.socket.close()
        return self.connections


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def test_fetcher_refuses_files_and_network(listener, tmp_path):
    """A template with file: and http: resources fetches nothing, attaches nothing, renders."""
    fetcher = make_url_fetcher()
    html = (
        "<html><head>"
        f'<link rel="stylesheet" href="http://127.0.0.1:{listener.port}/x.css">'
        '<link rel="attachment" href="file:///etc/passwd">'
        f"<style>@import url(http://127.0.0.1:{listener.port}/y.css);"
        "body { background: url(file:///etc/hostname); font-family: 'Noto Serif CJK SC'; }"
        "</style></head><body><p>只渲染文字</p>"
        '<img src="file:///etc/passwd">'
        f'<img src="http://127.0.0.1:{listener.port}/z.png">'
        f'<img src="https://127.0.0.1:{listener.port}/z.png">'
        '<img src="/static/lms/favicon.svg"><img src="relative.png">'
        "</body></html>"
    )
    data = html_to_pdf(html, url_fetcher=fetcher)
    assert data.startswith(b"%PDF-")
    assert listener.close() == 0
    assert any(url.startswith("file:///etc/passwd") for url in fetcher.refused)
    assert any(url.startswith("http://127.0.0.1") for url in fetcher.refused)
    assert any(url.startswith("https://127.0.0.1") for url in fetcher.refused)
    text = pdf_text(data, tmp_path)
    assert "只渲染文字" in text and "root:" not in text
    assert "0 embedded files" in pdf_tool("pdfdetach", data, tmp_path, "-list")
    assert "image" not in pdf_tool("pdfimages", data, tmp_path, "-list").split("\n", 2)[2]


def test_fetcher_loads_data_uris(tmp_path):
    """data: URIs are the one thing a PDF may load: an inlined image is in the PDF."""
    fetcher = make_url_fetcher()
    data = html_to_pdf(f'<img src="{data_uri(PIXEL, "image/png")}">', url_fetcher=fetcher)
    assert fetcher.refused == []
    images = pdf_tool("pdfimages", data, tmp_path, "-list").splitlines()[2:]
    assert [line.split()[2] for line in images] == ["image", "smask"]


def test_pdf_values_are_escaped_and_fetch_nothing(
    app, db, bureau, client, login, create_employee, listener, tmp_path, caplog
):
    """A name and a title holding tags render as plain text; nothing is fetched or attached."""
    name = '<img src="file:///etc/passwd">'
    title = f'<link href="http://127.0.0.1:{listener.port}/x" rel="attachment">'
    person = create_employee(name, unit=bureau["hutang"])
    add_entry(db, person, title)
    login(person)
    response = client.get(f"/employees/{person.id}/record.pdf")
    assert response.status_code == 200
    assert listener.close() == 0
    assert "refused to fetch" not in caplog.text  # escaped: nothing even tried
    text = pdf_text(response.data, tmp_path).replace("\n", "")
    assert name in text and f"127.0.0.1:{listener.port}/x" in text
    assert "0 embedded files" in pdf_tool("pdfdetach", response.data, tmp_path, "-list")


def test_render_pdf_sees_no_flask_globals(app):
    """The PDF environment renders from the given context only: no request, config or url_for."""
    from lms.pdf import _pdf_environment

    with app.test_request_context("/"):
        environment = _pdf_environment(app)
        template = environment.from_string(
            "{{ config is defined }} {{ request is defined }} {{ url_for is defined }} {{ v }}"
        )
        assert template.render(v="<b>") == "False False False &lt;b&gt;"


# --- start-up check ---------------------------------------------------------------------------


def test_this_machine_has_what_pdfs_need():
    """Here WeasyPrint, Pango, Noto CJK and HarfBuzz's subsetting library are all present."""
    assert pdf_environment_problems() == []


def test_missing_libraries_are_reported(monkeypatch):
    """A missing HarfBuzz subsetter, Pango or CJK font is named, with the package to install."""
    import lms.pdf

    monkeypatch.setattr(lms.pdf.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(lms.pdf.shutil, "which", lambda name: None)
    lms.pdf._problems.cache_clear()
    try:
        problems = pdf_environment_problems()
    finally:
        lms.pdf._problems.cache_clear()
    joined = "\n".join(problems)
    assert "libharfbuzz-subset0" in joined and "libpango-1.0-0" in joined
    assert "fonts-noto-cjk" in joined


def test_missing_font_is_reported(monkeypatch):
    """fc-list listing no Noto CJK font gives a warning naming fonts-noto-cjk."""
    import lms.pdf

    class Listing:
        stdout = "DejaVu Sans\nWenQuanYi Zen Hei,文泉驛正黑\n"

    monkeypatch.setattr(lms.pdf.subprocess, "run", lambda *args, **kwargs: Listing())
    problem = lms.pdf._cjk_font_problem()
    assert problem and "fonts-noto-cjk" in problem


def test_start_up_warns_but_starts(monkeypatch, database_url, tmp_path, caplog):
    """When something is missing, app start-up logs a warning and the app still starts."""
    import lms.pdf

    monkeypatch.setattr(lms.pdf, "pdf_environment_problems", lambda: ["HarfBuzz is missing."])
    application = make_app(database_url, tmp_path)
    try:
        assert "PDF rendering: HarfBuzz is missing." in caplog.text
        assert any(r.levelname == "WARNING" for r in caplog.records if "PDF" in r.getMessage())
    finally:
        application.extensions["lms"].job_runner.shutdown()
        application.extensions["lms"].db.dispose()
