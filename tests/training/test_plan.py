"""The annual training plan (年度培训计划) and its plan-versus-actual table (完成情况): the actual
figures exactly (distinct people against 人次, other years left out, failed rows in 人次 but not
in 合格人数, linked sessions as 期数), the exports' headers and formula safety, the import (line
and column errors, nothing changed), HR-only edits and CSRF."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.org.models import Role, UnitKind
from lms.sheets import read_table, write_xlsx
from lms.training import plan
from lms.training.models import (
    LedgerEntry,
    LedgerSource,
    PlanItem,
    TrainingForm,
    TrainingSession,
)
from tests.conftest import count_rows, csrf_token, hidden_value

YEAR = 2026
ZONE = ZoneInfo("Asia/Shanghai")
#: the as-of moment of the figures: mid-year
NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_TIMEZONE": "Asia/Shanghai", "LMS_DEFAULT_LOCALE": "en"}


@pytest.fixture
def client(app: Any) -> Any:
    """A test client that asks for English (the page's words are the English msgids)."""
    test_client = app.test_client()
    test_client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return test_client


@pytest.fixture
def org(create_unit: Any, create_employee: Any) -> dict[str, Any]:
    root = create_unit("龙城供电局", kind=UnitKind.bureau, code="ROOT")
    office = create_unit("湖塘供电所", parent=root, kind=UnitKind.rural_office, code="HT")
    people = {
        "hr": create_employee("人资", unit=root, role=Role.hr, emp_no="HR01"),
        "manager": create_employee("所长", unit=office, role=Role.manager, emp_no="M01"),
        "employee": create_employee("员工", unit=office, emp_no="E00"),
    }
    for number in range(1, 6):
        people[f"p{number}"] = create_employee(f"学员{number}", unit=office, emp_no=f"P0{number}")
    return {"root": root, "office": office, **people}


def item(db: Any, title: str, *, year: int = YEAR, position: int = 1, **values: Any) -> PlanItem:
    defaults: dict[str, Any] = {
        "programme": "safety",
        "form": TrainingForm.classroom,
        "planned_sessions": 2,
        "planned_people": 4,
        "hours": Decimal("2.0"),
    }
    row = PlanItem(year=year, position=position, title=title, **{**defaults, **values})
    db.add(row)
    db.flush()
    return row


def session(
    db: Any, unit: Any, ends: datetime, *, plan_item: PlanItem | None = None, **values: Any
) -> TrainingSession:
    """A classroom session built with the model (the sessions service is not needed here)."""
    row = TrainingSession(
        title=values.pop("title", "安规培训"),
        programme=values.pop("programme", "safety"),
        form=values.pop("form", TrainingForm.classroom),
        starts_at=ends.replace(hour=1),
        ends_at=ends,
        hours=Decimal("2.0"),
        unit_id=unit.id,
        plan_item_id=plan_item.id if plan_item else None,
        checkin_secret="secret",
        **values,
    )
    db.add(row)
    db.flush()
    return row


def ledger(
    db: Any,
    person: Any,
    end_on: date,
    *,
    source: LedgerSource = LedgerSource.imported,
    ref: str | None = None,
    hours: str = "2.0",
    passed: bool = True,
    programme: str = "safety",
    form: TrainingForm = TrainingForm.classroom,
    course: Any = None,
) -> LedgerEntry:
    row = LedgerEntry(
        employee_id=person.id,
        programme=programme,
        course_id=course.id if course else None,
        title="x",
        form=form,
        start_on=end_on,
        end_on=end_on,
        hours=Decimal(hours),
        passed=passed,
        source=source,
        source_ref=ref or f"test:{person.id}:{end_on}:{programme}:{hours}:{passed}:{source}",
    )
    db.add(row)
    db.flush()
    return row


def attended(db: Any, training: TrainingSession, person: Any, **values: Any) -> LedgerEntry:
    """The ledger row that marking ``person`` present at ``training`` writes."""
    return ledger(
        db,
        person,
        values.pop("end_on", training.ends_at.astimezone(ZONE).date()),
        source=LedgerSource.session,
        ref=f"session:{training.id}:{person.id}",
        programme=training.programme,
        form=training.form,
        course=values.pop("course", None),
        **values,
    )


def figures(actual: plan.Actual) -> dict[str, Any]:
    return {
        "sessions": actual.sessions,
        "people": actual.people,
        "attendances": actual.attendances,
        "hours": actual.hours,
        "passed": actual.passed_people,
    }


# -- the actual figures --------------------------------------------------------------------------


@pytest.fixture
def ledger_year(db: Any, org: dict, create_course: Any) -> dict[str, Any]:
    """Items of the 2026 plan with sessions and ledger rows built by hand; each row's fate is
    written beside it."""
    p1, p2, p3, p4, p5 = (org[f"p{n}"] for n in range(1, 6))
    office = org["office"]
    c1, c2 = create_course(title="安规考试"), create_course(title="服务规范")

    # each item of its own programme, so that no item's rows are the programme item's
    skills = {"programme": "repair_skills"}
    by_sessions = item(db, "安规集中培训", position=1, planned_people=4, **skills)

    def held(ends: datetime, plan_item: PlanItem | None = by_sessions, **values: Any) -> Any:
        return session(db, office, ends, plan_item=plan_item, **{**skills, **values})

    s1 = held(datetime(2026, 3, 10, 8, tzinfo=UTC))
    s2 = held(datetime(2026, 5, 20, 8, tzinfo=UTC))
    held(datetime(2026, 11, 10, 8, tzinfo=UTC))  # to come (as of NOW)
    s_old = held(datetime(2025, 12, 10, 8, tzinfo=UTC))  # of 2025
    unlinked = held(datetime(2026, 3, 11, 8, tzinfo=UTC), plan_item=None)
    attended(db, s1, p1)
    attended(db, s1, p2)
    attended(db, s1, p3, passed=False)  # failed: in 人次 and 学时, not in 合格人数
    attended(db, s2, p1, hours="3.0")  # p1 again: a second 人次, the same person
    attended(db, s_old, p4)  # 2025: another year
    attended(db, unlinked, p5)  # a session of no item
    # a session row of another shape belongs to no session
    ledger(db, p5, date(2026, 3, 1), source=LedgerSource.session, ref=f"session:{s1.id}", **skills)

    exam = {"course": c1, "programme": "post_training"}
    by_course = item(
        db, "安规考试", position=2, course_id=c1.id, planned_people=2, programme="post_training"
    )
    ledger(db, p1, date(2026, 2, 1), source=LedgerSource.online, hours="1.5", **exam)
    ledger(db, p2, date(2026, 2, 2), hours="1.5", passed=False, **exam)  # failed ...
    ledger(db, p2, date(2026, 4, 2), hours="1.5", **exam)  # ... then passed
    ledger(db, p3, date(2025, 12, 31), source=LedgerSource.online, **exam)  # 2025
    ledger(db, p4, date(2027, 1, 1), source=LedgerSource.online, **exam)  # 2027

    by_programme = item(
        db, "三月至五月面授安规", position=3, start_month=3, end_month=5, planned_people=3
    )
    ledger(db, p1, date(2026, 4, 1))  # safety, 面授, April: counted
    ledger(db, p2, date(2026, 6, 1))  # June: outside the months
    ledger(db, p3, date(2026, 4, 1), form=TrainingForm.online)  # another form
    ledger(db, p4, date(2025, 4, 1))  # another year
    ledger(db, p5, date(2026, 4, 1), programme="integrity")  # another programme

    service = {"programme": "service_standards"}
    both = item(db, "服务规范轮训", position=4, course_id=c2.id, **service)
    s3 = held(datetime(2026, 6, 1, 8, tzinfo=UTC), plan_item=both, course_id=c2.id, **service)
    attended(db, s3, p1, course=c2)  # a linked session teaching the course: counted once
    ledger(db, p2, date(2026, 7, 1), source=LedgerSource.online, course=c2, **service)

    nothing = item(db, "未开展项目", position=5, planned_people=0, programme="culture")
    item(db, "上年度项目", year=2025)  # another year's plan
    db.commit()
    return {
        "by_sessions": by_sessions,
        "by_course": by_course,
        "by_programme": by_programme,
        "both": both,
        "nothing": nothing,
    }


def test_the_actual_figures(app: Any, db: Any, ledger_year: dict) -> None:
    """期数 are the linked sessions held in the year before now; 人数 distinct people, 人次 rows,
    学时 their sum; failed rows count in 人次 not 合格人数; other years are left out."""
    with app.app_context():
        actuals = plan.plan_versus_actual(db, YEAR, now=NOW, zone=ZONE)
    assert [a.item.title for a in actuals] == [
        "安规集中培训",
        "安规考试",
        "三月至五月面授安规",
        "服务规范轮训",
        "未开展项目",
    ]
    sessions, course, programme, both, nothing = actuals
    assert figures(sessions) == {
        "sessions": 2,
        "people": 3,
        "attendances": 4,
        "hours": Decimal("9.0"),
        "passed": 2,
    }
    assert sessions.completion == Fraction(3, 4) and sessions.pass_rate == Fraction(2, 3)
    assert sessions.under_target and plan.percent(sessions.completion) == "75.0%"
    assert sessions.planned_attendances == 4 and sessions.planned_hours == Decimal("8.0")
    assert figures(course) == {
        "sessions": 0,
        "people": 2,
        "attendances": 3,
        "hours": Decimal("4.5"),
        "passed": 2,
    }
    assert course.completion == 1 and not course.under_target
    assert figures(programme) == {
        "sessions": 0,
        "people": 1,
        "attendances": 1,
        "hours": Decimal("2.0"),
        "passed": 1,
    }
    assert figures(both) == {
        "sessions": 1,
        "people": 2,
        "attendances": 2,
        "hours": Decimal("4.0"),
        "passed": 2,
    }
    assert figures(nothing)["people"] == 0
    assert nothing.completion is None and nothing.pass_rate is None
    assert not nothing.under_target and plan.percent(nothing.completion) == ""

    # as of the year's end the session of November is held too
    with app.app_context():
        later = plan.plan_versus_actual(db, YEAR, now=datetime(2027, 1, 1, tzinfo=UTC), zone=ZONE)
    assert later[0].sessions == 3
    with app.app_context():
        assert [a.item.title for a in plan.plan_versus_actual(db, 2025, now=NOW, zone=ZONE)] == [
            "上年度项目"
        ]
        assert plan.plan_versus_actual(db, 2024, now=NOW, zone=ZONE) == []


def test_the_sessions_year_is_the_bureaus(app: Any, db: Any, org: dict) -> None:
    """A session ending at 20:00 UTC on 31 December is held on 1 January in the bureau: it is
    a session of the next year."""
    plan_item = item(db, "跨年")
    session(db, org["office"], datetime(2025, 12, 31, 20, tzinfo=UTC), plan_item=plan_item)
    session(db, org["office"], datetime(2026, 12, 31, 20, tzinfo=UTC), plan_item=plan_item)
    db.commit()
    with app.app_context():
        (actual,) = plan.plan_versus_actual(
            db, YEAR, now=datetime(2027, 6, 1, tzinfo=UTC), zone=ZONE
        )
    assert actual.sessions == 1


def test_a_planned_item_with_a_session_does_not_count_its_programme(
    app: Any, db: Any, org: dict
) -> None:
    """An item that names a session counts its sessions' rows only, not its programme's."""
    plan_item = item(db, "安规", start_month=1, end_month=12)
    ledger(db, org["p1"], date(2026, 4, 1))
    db.commit()
    with app.app_context():
        assert plan.plan_versus_actual(db, YEAR, now=NOW, zone=ZONE)[0].people == 1
    session(db, org["office"], datetime(2026, 9, 1, 8, tzinfo=UTC), plan_item=plan_item)
    db.commit()
    with app.app_context():
        assert plan.plan_versus_actual(db, YEAR, now=NOW, zone=ZONE)[0].people == 0


# -- values --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("3月", (3, 3)),
        ("3", (3, 3)),
        ("3-5月", (3, 5)),
        ("3月-5月", (3, 5)),
        ("3～5月", (3, 5)),
        ("3月至5月", (3, 5)),
        (" 全年 ", (1, 12)),
        ("上半年", (1, 6)),
        ("下半年", (7, 12)),
        ("二季度", (4, 6)),
        ("第四季度", (10, 12)),
        ("Q1", (1, 3)),
        ("2026-03", (3, 3)),
        ("2026年3月", (3, 3)),
        ("2026年3-5月", (3, 5)),
        ("2026-03至2026-05", (3, 5)),
        ("2026-03-01", (3, 3)),
    ],
)
def test_planned_time(app: Any, text: str, months: tuple[int, int]) -> None:
    with app.app_context():
        assert plan.parse_months(text, YEAR) == months
        first, last = months
        assert plan.parse_months(plan.format_months(first, last), YEAR) == months


@pytest.mark.parametrize(
    "text", ["", "13月", "0月", "5-3月", "2025-03", "3、6月", "春季", "2026-13", "3--5月"]
)
def test_planned_time_refused(app: Any, text: str) -> None:
    with app.app_context(), pytest.raises(ValueError):
        plan.parse_months(text, YEAR)


def test_numbers(app: Any) -> None:
    with app.app_context():
        assert plan.parse_count("60人") == 60 and plan.parse_count("") == 0
        assert plan.parse_hours("8学时") == Decimal("8.0") and plan.parse_hours("") == 0
        assert plan.parse_budget("5万元") == Decimal("50000.00")
        assert plan.parse_budget("12,500.5") == Decimal("12500.50")
        assert plan.parse_budget("") is None
        for parse, text in (
            (plan.parse_count, "-1"),
            (plan.parse_count, "1.5"),
            (plan.parse_hours, "1.25"),
            (plan.parse_hours, "abc"),
            (plan.parse_budget, "NaN"),
            (plan.parse_budget, "1.005"),
            (plan.parse_budget, "-5"),
        ):
            with pytest.raises(ValueError):
                parse(text)


# -- the pages: who may do what ------------------------------------------------------------------


def signed_in(client: Any, login: Any, person: Any) -> Any:
    client.delete_cookie("lms_session")
    login(person)
    return client


def test_managers_read_employees_get_404(db: Any, client: Any, login: Any, org: dict) -> None:
    """A manager reads the plan, the completion table and both exports, with no edit buttons;
    an employee gets 404 on every page."""
    row = item(db, "安规集中培训")
    db.commit()
    signed_in(client, login, org["manager"])
    page = client.get(f"/plan?year={YEAR}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "安规集中培训" in html and f"/plan/{row.id}/edit" not in html
    assert "/plan/new" not in html and 'data-testid="plan-add"' not in html
    actual = client.get(f"/plan/actual?year={YEAR}").get_data(as_text=True)
    assert "安规集中培训" in actual and 'data-testid="shortfall-form"' not in actual
    assert client.get(f"/plan.xlsx?year={YEAR}").status_code == 200
    assert client.get(f"/plan/actual.xlsx?year={YEAR}").status_code == 200

    signed_in(client, login, org["employee"])
    for path in ("/plan", "/plan/actual", "/plan.xlsx", "/plan/actual.xlsx", "/plan/import"):
        assert client.get(path).status_code == 404, path


def test_edits_are_hr_only(app: Any, db: Any, client: Any, login: Any, org: dict) -> None:
    """Managers and employees get 404 on every HR page and every POST (with a valid CSRF
    token), and nothing changes."""
    posts = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("lms.plan.") and "POST" in rule.methods
    }
    assert len(posts) == 7, posts  # each one is posted to below
    row = item(db, "安规集中培训", planned_people=10)
    db.commit()
    data = item_form(title="改名")
    for person in ("manager", "employee"):
        signed_in(client, login, org[person])
        token = csrf_token(client, "/")
        for path in (f"/plan/new?year={YEAR}", f"/plan/{row.id}/edit", "/plan/import"):
            assert client.get(path).status_code == 404, (person, path)
        for path, values in (
            (f"/plan/new?year={YEAR}", data),
            (f"/plan/{row.id}/edit", data),
            (f"/plan/{row.id}/delete", {}),
            (f"/plan/{row.id}/move", {"direction": "down"}),
            (f"/plan/{row.id}/shortfall", {"reason": "人手不足"}),
            ("/plan/import", {"year": str(YEAR)}),
            ("/plan/import/confirm", {"token": "abc"}),
        ):
            response = client.post(path, data={**values, "csrf_token": token})
            assert response.status_code == 404, (person, path)
    assert count_rows(db, PlanItem) == 1
    assert db.scalar(sa.select(PlanItem.title)) == "安规集中培训"
    assert db.scalar(sa.select(PlanItem.shortfall_reason)) == ""
    assert count_rows(db, AuditEntry) == 0


def test_forms_need_the_csrf_token(db: Any, client: Any, login: Any, org: dict) -> None:
    """Without the token HR's every form is refused (400) and nothing changes."""
    row = item(db, "安规集中培训", planned_people=10)
    db.commit()
    signed_in(client, login, org["hr"])
    for path, values in (
        (f"/plan/new?year={YEAR}", item_form(title="新项目")),
        (f"/plan/{row.id}/edit", item_form(title="改名")),
        (f"/plan/{row.id}/delete", {}),
        (f"/plan/{row.id}/move", {"direction": "down"}),
        (f"/plan/{row.id}/shortfall", {"reason": "人手不足"}),
        ("/plan/import/confirm", {"token": "abc"}),
    ):
        assert client.post(path, data=values).status_code == 400, path
    assert count_rows(db, PlanItem) == 1
    assert db.scalar(sa.select(PlanItem.title)) == "安规集中培训"
    assert count_rows(db, AuditEntry) == 0


# -- HR's pages ----------------------------------------------------------------------------------


def item_form(**values: str) -> dict[str, str]:
    data = {
        "title": "安规集中培训",
        "programme": "safety",
        "course": "",
        "audience": "运维人员",
        "planned_sessions": "2",
        "planned_people": "60",
        "hours": "8",
        "form": "面授",
        "months": "3-5月",
        "organiser": "安监部",
        "trainer": "内训师",
        "budget": "2万",
        "assessment": "笔试",
        "note": "",
    }
    data.update(values)
    return data


def post_item(client: Any, path: str, **values: str) -> Any:
    token = csrf_token(client, path)
    return client.post(path, data={**item_form(**values), "csrf_token": token})


def test_hr_adds_changes_moves_and_deletes(db: Any, client: Any, login: Any, org: dict) -> None:
    """HR adds items (numbered in order), changes one, moves one and deletes one; each change
    is an audit entry with before and after; a deleted item's sessions stay, unlinked."""
    signed_in(client, login, org["hr"])
    new = f"/plan/new?year={YEAR}"
    assert post_item(client, new).status_code == 302
    assert post_item(client, new, title="服务规范", months="全年", budget="").status_code == 302
    first, second = db.scalars(sa.select(PlanItem).order_by(PlanItem.position)).all()
    assert (first.position, first.title, first.start_month, first.end_month) == (
        1,
        "安规集中培训",
        3,
        5,
    )
    assert first.budget == Decimal("20000.00") and first.hours == Decimal("8.0")
    assert first.form is TrainingForm.classroom and second.budget is None
    # ids kept: the test's session reads again only after a rollback (SQLite keeps a reading
    # transaction's snapshot, and an expired object would start one before the requests)
    first_id, second_id = first.id, second.id
    db.rollback()

    response = post_item(client, f"/plan/{first_id}/edit", planned_people="80")
    assert response.status_code == 302
    db.rollback()
    assert db.scalar(sa.select(PlanItem.planned_people).where(PlanItem.id == first_id)) == 80
    update = db.scalar(sa.select(AuditEntry).where(AuditEntry.action == "plan.update"))
    assert update.before["planned_people"] == 60 and update.after["planned_people"] == 80

    token = csrf_token(client, f"/plan?year={YEAR}")
    assert (
        client.post(
            f"/plan/{second_id}/move", data={"direction": "up", "csrf_token": token}
        ).status_code
        == 302
    )
    db.rollback()
    assert db.scalars(sa.select(PlanItem.title).order_by(PlanItem.position)).all() == [
        "服务规范",
        "安规集中培训",
    ]
    assert (
        client.post(
            f"/plan/{second_id}/move", data={"direction": "sideways", "csrf_token": token}
        ).status_code
        == 400
    )

    second = db.get(PlanItem, second_id)
    linked_id = session(db, org["office"], datetime(2026, 4, 1, 8, tzinfo=UTC), plan_item=second).id
    db.commit()
    html = client.get(f"/plan?year={YEAR}").get_data(as_text=True)
    assert "1 session carries it out" in html
    assert client.post(f"/plan/{second_id}/delete", data={"csrf_token": token}).status_code == 302
    db.rollback()
    assert db.scalars(sa.select(PlanItem.title)).all() == ["安规集中培训"]
    assert db.scalar(sa.select(PlanItem.position)) == 1  # numbered again
    assert db.get(TrainingSession, linked_id).plan_item_id is None
    actions = db.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["plan.create", "plan.create", "plan.update", "plan.reorder", "plan.delete"]
    assert client.post(f"/plan/{second_id}/delete", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/plan/{2**40}/delete", data={"csrf_token": token}).status_code == 404


def test_the_item_form_names_each_problem(db: Any, client: Any, login: Any, org: dict) -> None:
    """Bad values are named on their fields (400), a title already in the year's plan too;
    nothing is saved; an unknown year is 404."""
    item(db, "安规集中培训")
    db.commit()
    signed_in(client, login, org["hr"])
    new = f"/plan/new?year={YEAR}"
    for values, message in (
        ({"title": "服务", "months": "13月"}, "is not a planned time"),
        ({"title": "服务", "months": "2025-03"}, "the year of the plan"),
        ({"title": "服务", "planned_people": "很多"}, "is not a whole number"),
        ({"title": "服务", "hours": "1.25"}, "is not a number of hours"),
        ({"title": "服务", "budget": "-1"}, "is not a budget"),
        ({"title": "服务", "programme": "nope"}, "Choose a programme."),
        ({"title": "服务", "form": "飞行"}, "is not a form of training"),
        ({"title": "服务", "course": str(2**40)}, "Choose a course."),
        ({"title": "服务", "course": "999"}, "Choose a course."),
        ({"title": "安规集中培训"}, "has an item of this name already"),
    ):
        response = post_item(client, new, **values)
        assert response.status_code == 400, values
        assert message in response.get_data(as_text=True), values
    # every problem at once: a required field left empty does not hide the others
    html = post_item(client, new, title="", hours="a", budget="x").get_data(as_text=True)
    errors = re.findall(r'class="error" role="alert">([^<]*)<', html)
    assert len(errors) == 3 and "is not a number of hours" in errors[1], errors
    assert count_rows(db, PlanItem) == 1
    assert client.get("/plan/new?year=1999").status_code == 404
    assert client.get("/plan/new?year=abc").status_code == 404
    page = client.get("/plan?year=abc")
    assert page.status_code == 200 and "choose a year between" in page.get_data(as_text=True)


def test_the_shortfall_reason(app: Any, db: Any, client: Any, login: Any, org: dict) -> None:
    """HR gives the reason of an item under target; an item that reached its planned people
    needs none; the reason is on the page and in the export."""
    short = item(db, "安规集中培训", planned_people=10, position=1)
    done = item(db, "全员考试", planned_people=1, position=2)
    ledger(db, org["p1"], date(2026, 2, 1))  # safety 面授: counts for both items
    db.commit()
    short_id, done_id = short.id, done.id
    db.rollback()
    signed_in(client, login, org["hr"])
    page = client.get(f"/plan/actual?year={YEAR}").get_data(as_text=True)
    assert page.count('data-testid="shortfall-form"') == 1
    token = csrf_token(client, f"/plan/actual?year={YEAR}")
    response = client.post(
        f"/plan/{short_id}/shortfall", data={"reason": "=人员 抽调", "csrf_token": token}
    )
    assert response.status_code == 302
    refused = client.post(f"/plan/{done_id}/shortfall", data={"reason": "无", "csrf_token": token})
    assert refused.status_code == 302
    too_long = client.post(
        f"/plan/{short_id}/shortfall", data={"reason": "长" * 2001, "csrf_token": token}
    )
    assert too_long.status_code == 302
    db.rollback()
    reasons = dict(db.execute(sa.select(PlanItem.id, PlanItem.shortfall_reason)).all())
    assert reasons == {short_id: "=人员 抽调", done_id: ""}
    entry = db.scalar(sa.select(AuditEntry).where(AuditEntry.action == "plan.shortfall"))
    assert entry.after == {"shortfall_reason": "=人员 抽调"}
    html = client.get(f"/plan/actual?year={YEAR}").get_data(as_text=True)
    assert "=人员 抽调" in html
    rows = sheet_rows(client.get(f"/plan/actual.xlsx?year={YEAR}").data)
    assert rows[1][-1] == "=人员 抽调" and rows[2][-1] is None


# -- the exports ---------------------------------------------------------------------------------


def sheet_rows(data: bytes) -> list[list[Any]]:
    """The first sheet's values; no cell may be a formula."""
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    sheet = workbook.active
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        name = next(n for n in archive.namelist() if n.startswith("xl/worksheets/"))
        assert b"<f>" not in archive.read(name)
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_the_exports(
    app: Any, db: Any, client: Any, login: Any, org: dict, ledger_year: dict
) -> None:
    """Both exports carry the DESIGN.md headers in order and the page's figures; a title like
    =HYPERLINK(...) stays text."""
    plan_item = ledger_year["by_course"]
    plan_item.title = '=HYPERLINK("http://evil","x")'
    plan_item.budget = Decimal("50000.00")
    plan_item.audience = "@营销"
    db.commit()
    signed_in(client, login, org["manager"])
    response = client.get(f"/plan.xlsx?year={YEAR}")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    rows = sheet_rows(response.data)
    assert rows[0] == [
        "序号",
        "项目名称",
        "类别",
        "培训对象(岗位)",
        "计划期数",
        "计划人数",
        "学时",
        "形式(面授/网络/实操/以会代训)",
        "计划时间",
        "主办部门",
        "师资",
        "预算",
        "考核方式",
        "备注",
    ]
    assert len(rows) == 6
    assert rows[2][:9] == [
        2,
        '=HYPERLINK("http://evil","x")',
        "岗位培训",
        "@营销",
        2,
        2,
        2,
        "面授",
        "全年",
    ]
    assert rows[2][11] == 50000
    assert rows[3][8] == "3-5月"
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.active["B3"].data_type == "s"

    rows = sheet_rows(client.get(f"/plan/actual.xlsx?year={YEAR}").data)
    assert rows[0] == [
        "序号",
        "项目名称",
        "计划期数",
        "实际期数",
        "计划人数",
        "实际人数",
        "计划人次",
        "实际人次",
        "计划学时",
        "实际学时",
        "完成率",
        "合格人数",
        "合格率",
        "未完成原因",
    ]
    # 实际期数 (column 4) depends on today's date: the service's test counts it
    first = rows[1]
    assert first[:3] == [1, "安规集中培训", 2] and first[4:] == [
        4,
        3,
        4,
        4,
        8,
        9,
        "75.0%",
        2,
        "66.7%",
        None,
    ]
    assert rows[2][1] == '=HYPERLINK("http://evil","x")' and rows[2][10] == "100.0%"
    assert rows[5][10:13] == [None, 0, None]


def test_the_pages_show_the_figures(
    db: Any, client: Any, login: Any, org: dict, ledger_year: dict
) -> None:
    signed_in(client, login, org["hr"])
    html = client.get(f"/plan/actual?year={YEAR}").get_data(as_text=True)
    match = re.search(rf'<tr id="item-{ledger_year["by_course"].id}"(.*?)</tr>', html, re.S)
    assert match
    cells = dict(re.findall(r'data-count="(\w+)">([^<]*)<', match.group(1)))
    assert cells == {
        "planned_sessions": "2",
        "sessions": "0",
        "planned_people": "2",
        "people": "2",
        "planned_attendances": "2",
        "attendances": "3",
        "planned_hours": "4.0",
        "hours": "4.5",
        "completion": "100.0%",
        "passed_people": "2",
        "pass_rate": "100.0%",
    }
    plan_page = client.get(f"/plan?year={YEAR}").get_data(as_text=True)
    for header in plan.PLAN_HEADERS:
        assert f'<th scope="col">{header}</th>' in plan_page
    assert "3-5月" in plan_page and "Course: C" in plan_page


# -- the import ----------------------------------------------------------------------------------

HEADER = ",".join(plan.PLAN_HEADERS)
FORM_HEADER = "形式(面授/网络/实操/以会代训)"
GOOD = (
    HEADER
    + """
1,安规集中培训,安规,运维人员,2,60,8,面授,3-5月,安监部,内训师,2万,笔试,
2,服务规范轮训,service_standards,营业厅,4,120,4,网络,全年,营销部,外聘,,线上考试,分批
,廉洁教育,廉洁,全员,1,300,2,以会代训,2026-07,纪委办,,"5,000",,
"""
)


def run(app: Any, db: Any, text: str, *, write: bool = True, year: int = YEAR) -> Any:
    with app.app_context():
        table = read_table(text.encode("utf-8"), "plan.csv", plan.PLAN_COLUMNS)
        result = plan.import_plan(db, table, year=year, actor=None, write=write)
        if result.ok and write:
            db.commit()
        else:
            db.rollback()
    return result


def test_a_good_file_imports_and_again_changes_nothing(app: Any, db: Any, org: dict) -> None:
    """The file's items are added in order (a line without 序号 at the end); importing it
    again changes nothing; a changed line updates its item, matched by 项目名称."""
    preview = run(app, db, GOOD, write=False)
    assert (preview.imported, preview.details["updated"], preview.unchanged) == (3, 0, 0)
    assert count_rows(db, PlanItem) == 0
    result = run(app, db, GOOD)
    assert result.ok and result.imported == 3, result.errors
    rows = db.scalars(sa.select(PlanItem).order_by(PlanItem.position)).all()
    assert [(r.position, r.title, r.programme, r.form.value) for r in rows] == [
        (1, "安规集中培训", "safety", "面授"),
        (2, "服务规范轮训", "service_standards", "网络"),
        (3, "廉洁教育", "integrity", "以会代训"),
    ]
    assert (rows[0].start_month, rows[0].end_month, rows[0].budget) == (3, 5, Decimal("20000"))
    assert (rows[2].start_month, rows[2].end_month, rows[2].budget) == (7, 7, Decimal("5000"))
    assert rows[1].note == "分批" and rows[1].planned_people == 120
    audits = count_rows(db, AuditEntry)
    assert audits == 4  # three items and the import

    again = run(app, db, GOOD)
    assert (again.imported, again.details["updated"], again.unchanged) == (0, 0, 3)
    assert count_rows(db, AuditEntry) == audits

    changed = run(app, db, GOOD.replace("2,60,8", "3,60,8"))
    assert (changed.imported, changed.details["updated"], changed.unchanged) == (0, 1, 2)
    assert db.scalar(sa.select(PlanItem.planned_sessions).where(PlanItem.position == 1)) == 3
    assert count_rows(db, PlanItem) == 3


def test_the_export_imports_back_unchanged(
    app: Any, db: Any, client: Any, login: Any, org: dict
) -> None:
    """The plan's own export, imported into its year, changes nothing (a formula-like title
    comes back as it was)."""
    assert run(app, db, GOOD.replace("廉洁教育", "=1+1")).ok
    signed_in(client, login, org["hr"])
    data = client.get(f"/plan.xlsx?year={YEAR}").data
    with app.app_context():
        table = read_table(data, "plan.xlsx", plan.PLAN_COLUMNS)
        result = plan.import_plan(db, table, year=YEAR, actor=None, write=False)
    db.rollback()
    assert (result.imported, result.details["updated"], result.unchanged) == (0, 0, 3)


BAD = (
    HEADER
    + """,课程编码
x,安规集中培训,安规,,2,60,8,面授,3-5月,,,,,,
2,,安规,,2,60,8,面授,3-5月,,,,,,
3,服务规范,不存在,,很多,-1,1.25,飞行,13月,,,五千,,,NOPE
4,安规集中培训,安规,,2,60,8,面授,2025-03,,,,,,
4,廉洁,安规,,1,1,1,网络,5-3月,,,,,,
9,占位,安规,,1,1,1,网络,全年,,,,,,
"""
)


def test_every_error_names_its_line_and_column_and_nothing_changes(
    app: Any, db: Any, org: dict
) -> None:
    """Each bad cell is an error with its line and column; a 序号 held by an item the file
    leaves alone too; nothing is written."""
    item(db, "已有项目", position=9)
    db.commit()
    audits = count_rows(db, AuditEntry)
    result = run(app, db, BAD)
    found = {(p.line, p.column) for p in result.errors}
    assert found == {
        (2, "序号"),
        (3, "项目名称"),
        (4, "类别"),
        (4, "计划期数"),
        (4, "计划人数"),
        (4, "学时"),
        (4, FORM_HEADER),
        (4, "计划时间"),
        (4, "预算"),
        (4, "课程编码"),
        (5, "计划时间"),
        (6, "计划时间"),
        (7, "序号"),
    }, result.errors
    assert all(p.file == "plan.csv" and p.message for p in result.errors)
    assert count_rows(db, PlanItem) == 1 and count_rows(db, AuditEntry) == audits

    twice = (
        GOOD + "4,安规集中培训,安规,,1,1,1,网络,全年,,,,,\n1,又一项,安规,,1,1,1,网络,全年,,,,,\n"
    )
    result = run(app, db, twice)
    assert {(p.line, p.column) for p in result.errors} == {(5, "项目名称"), (6, "序号")}
    assert "line 2" in result.errors[0].message
    assert count_rows(db, PlanItem) == 1

    missing = run_file(app, db, b"\xef\xbb\xbf\xe5\xba\x8f\xe5\x8f\xb7\n1\n")
    assert {p.column for p in missing.errors} == {"项目名称", "类别", FORM_HEADER, "计划时间"}
    assert not run_file(app, db, b"\x00\x01\x02" * 20).ok
    assert not run_file(app, db, write_xlsx(["x"], [["y"]])).ok
    assert count_rows(db, PlanItem) == 1


def run_file(app: Any, db: Any, data: bytes) -> Any:
    with app.app_context():
        result = plan.run_import(db, data, "plan.csv", year=YEAR, actor=None, write=False)
    db.rollback()
    return result


PAGE = "/plan/import"


def upload(client: Any, data: bytes, name: str, year: int = YEAR) -> Any:
    token = csrf_token(client, PAGE)
    return client.post(
        PAGE,
        data={"csrf_token": token, "year": str(year), "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def confirm(client: Any, html: str) -> Any:
    token, csrf = hidden_value(html, "token"), hidden_value(html, "csrf_token")
    assert token and csrf, "no confirm form on the preview"
    return client.post(f"{PAGE}/confirm", data={"csrf_token": csrf, "token": token})


def test_the_import_page(app: Any, db: Any, client: Any, login: Any, org: dict) -> None:
    """HR uploads: the preview counts and changes nothing; confirming imports into the chosen
    year; a second confirm of the same preview is 404; a bad file lists its problems by line
    and column and offers no import."""
    signed_in(client, login, org["hr"])
    page = client.get(PAGE).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and "以会代训" in page
    preview = upload(client, GOOD.encode("utf-8"), "plan.csv")
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert 'data-testid="import-new">3<' in html
    assert count_rows(db, PlanItem) == 0
    response = confirm(client, html)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"year={YEAR}")
    assert count_rows(db, PlanItem) == 3
    assert set(db.scalars(sa.select(PlanItem.year))) == {YEAR}
    assert confirm(client, html).status_code == 404
    again = upload(client, GOOD.encode("utf-8"), "plan.csv").get_data(as_text=True)
    assert 'data-testid="import-unchanged">3<' in again and " disabled" in again

    bad = upload(client, BAD.encode("utf-8"), "bad.csv").get_data(as_text=True)
    assert 'data-testid="import-errors"' in bad and 'name="token"' not in bad
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>[^<]*</td></tr>", bad)
    assert ("4", "计划时间") in rows and ("2", "序号") in rows
    wrong_year = upload(client, GOOD.encode("utf-8"), "plan.csv", year=2026 + 1)
    assert "the year of the plan" in wrong_year.get_data(as_text=True)
    no_year = upload(client, GOOD.encode("utf-8"), "plan.csv", year=1900)
    assert no_year.status_code == 400
    assert count_rows(db, PlanItem) == 3

    template = client.get(f"{PAGE}/template.csv")
    assert template.get_data().decode("utf-8-sig").strip() == ",".join(plan.PLAN_HEADERS)
    token = csrf_token(client, PAGE)
    for value in ("abc", "../../etc/passwd"):
        response = client.post(f"{PAGE}/confirm", data={"csrf_token": token, "token": value})
        assert response.status_code == 404, value
