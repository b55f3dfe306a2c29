"""The training administration pages: assigning courses and packs (managers within their own
subtree, HR anywhere; a unit outside the scope is 404, named 工号 errors), the assignments list
(scoped, filtered, closing by hand), the course packs (loaded from the shipped file, again
unchanged), the training matrix grid (HR's changes assign and close at once; managers read it,
employees get 404), and CSRF on every form."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.cli import lms_commands
from lms.courses.models import Course
from lms.i18n import local_date
from lms.org.models import EmploymentStatus, Post, Role, UnitKind
from lms.training.assignments import Target, assign
from lms.training.models import Assignment, CoursePack, MatrixRequirement
from lms.training.packs import load_packs, load_shipped_packs, shipped_pack_files
from tests.conftest import count_rows, csrf_token


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_DEFAULT_LOCALE": "en", "LMS_PAGE_SIZE": 5}


@pytest.fixture
def org(db, create_unit, create_employee) -> dict[str, Any]:
    """A bureau with two rural offices (the first with a team under it), a post for meter
    readers, the first office's head (a manager) and HR; people in each unit."""
    bureau = create_unit("测试供电局", kind=UnitKind.bureau, code="B")
    office = create_unit("湖塘供电所", parent=bureau, kind=UnitKind.rural_office, rural=True)
    team = create_unit("湖塘抄表班", parent=office)
    other = create_unit("牛塘供电所", parent=bureau, kind=UnitKind.rural_office, rural=True)
    reader = Post(name="抄表员")
    db.add(reader)
    db.commit()
    people = {
        "head": create_employee("所长", unit=office, role=Role.manager, emp_no="M001"),
        "hr": create_employee("培训专责", unit=bureau, role=Role.hr, emp_no="HR01"),
        "a1": create_employee("甲一", unit=office, emp_no="A001"),
        "a2": create_employee("甲二", unit=team, emp_no="A002"),
        "b1": create_employee("乙一", unit=other, emp_no="B001"),
        "left": create_employee(
            "离职", unit=office, emp_no="A009", status=EmploymentStatus.left, password=None
        ),
    }
    for key in ("a2", "b1"):
        people[key].post_id = reader.id
    db.commit()
    return {"bureau": bureau, "office": office, "team": team, "other": other, "post": reader}


def person(db, emp_no: str) -> Any:
    from lms.org.models import Employee

    db.rollback()
    return db.scalar(sa.select(Employee).where(Employee.emp_no == emp_no))


def signed_in(app, login, db, emp_no: str) -> Any:
    client = app.test_client()
    login(person(db, emp_no), client=client)
    return client


def assignments_of(db) -> list[tuple[str, str, str]]:
    """(工号, course code, origin) of every open assignment, sorted."""
    from lms.courses.models import Course
    from lms.org.models import Employee

    db.rollback()
    rows = db.execute(
        sa.select(Employee.emp_no, Course.code, Assignment.origin)
        .join(Employee, Employee.id == Assignment.employee_id)
        .join(Course, Course.id == Assignment.course_id)
        .where(Assignment.completed_at.is_(None), Assignment.closed_at.is_(None))
    ).all()
    return sorted(tuple(row) for row in rows)


def post_assign(client, **values: str) -> Any:
    token = csrf_token(client, "/assignments/new")
    data = {"csrf_token": token, "target": "unit", **values}
    return client.post("/assignments/new", data=data)


def due(days: int = 14) -> str:
    return (date.today() + timedelta(days=days)).isoformat()


def flashed(client) -> str:
    return client.get("/assignments").get_data(as_text=True)


# Assigning -------------------------------------------------------------------------------------


def test_manager_assigns_a_course_to_their_subtree(app, db, login, org, create_course):
    """The form offers the manager's own units only (their own preselected); assigning to their
    office gives one row per person in it and the team below (not leavers, not the other
    office); again: nothing new, all already had it."""
    course = create_course(title="农村供电所规范化服务")
    client = signed_in(app, login, db, "M001")
    form = client.get("/assignments/new").get_data(as_text=True)
    assert f'<option selected value="{org["office"].id}">' in form
    assert "湖塘抄表班" in form and "牛塘供电所" not in form and "测试供电局" not in form

    response = post_assign(
        client, item=f"course:{course.id}", unit_id=str(org["office"].id), due_on=due()
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/assignments")
    assert "3 assignments made for 3 people, 0 already had it." in flashed(client)
    assert [row[0] for row in assignments_of(db)] == ["A001", "A002", "M001"]
    row = db.scalar(sa.select(Assignment).where(Assignment.employee_id == person(db, "A001").id))
    assert (row.origin, row.due_on.isoformat(), row.assigned_by_id) == (
        "manual",
        due(),
        person(db, "M001").id,
    )

    post_assign(client, item=f"course:{course.id}", unit_id=str(org["team"].id), due_on=due(20))
    assert "0 assignments made for 1 people, 1 already had it." in flashed(client)
    assert count_rows(db, Assignment) == 3


def test_manager_cannot_assign_outside_their_subtree(app, db, login, org, create_course):
    """Another unit (a tampered unit id) or an unknown one: 404 and nothing made; a 工号
    outside the subtree is a named error, the same as an unknown one."""
    course = create_course()
    client = signed_in(app, login, db, "M001")
    audits = count_rows(db, AuditEntry)
    for unit_id in (org["other"].id, org["bureau"].id, 999999):
        response = post_assign(
            client, item=f"course:{course.id}", unit_id=str(unit_id), due_on=due()
        )
        assert response.status_code == 404, unit_id
    # even with every other field wrong, the unit decides first
    assert post_assign(client, item="", unit_id=str(org["other"].id)).status_code == 404

    refused = post_assign(
        client, item=f"course:{course.id}", target="people", emp_nos="A001\nB001", due_on=due()
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "B001: no employee with this 工号 in the units you may assign to." in page
    assert "A001:" not in page
    assert count_rows(db, Assignment) == 0
    assert count_rows(db, AuditEntry) == audits


def test_manager_sees_only_their_subtree_in_the_list(app, db, login, org, create_course):
    """The list holds the manager's people only; another unit as a filter is 404; HR sees all."""
    course = create_course(title="职业纪律")
    with app.app_context():
        hr = person(db, "HR01")
        assign(
            db,
            actor=hr,
            courses=[course],
            target=Target(unit_id=org["bureau"].id),
            due_on=date.today() + timedelta(days=7),
        )
        db.commit()
    manager = signed_in(app, login, db, "M001")
    page = manager.get("/assignments").get_data(as_text=True)
    assert "甲一" in page and "甲二" in page and "乙一" not in page
    assert f"/employees/{person(db, 'A001').id}/record" in page
    assert manager.get(f"/assignments?unit={org['other'].id}").status_code == 404
    team_only = manager.get(f"/assignments?unit={org['team'].id}").get_data(as_text=True)
    assert "甲二" in team_only and "甲一" not in team_only

    hr_client = signed_in(app, login, db, "HR01")
    everyone = hr_client.get("/assignments?page=1").get_data(as_text=True)
    assert "5 assignments" in everyone  # 4 people and HR, 5 a page
    assert "乙一" in everyone and "培训专责" in everyone  # assigned by


def test_hr_assigns_anywhere_and_to_one_post(app, db, login, org, create_course):
    """HR picks any unit; with a post, only the people of that post in the subtree get it."""
    course = create_course()
    client = signed_in(app, login, db, "HR01")
    form = client.get("/assignments/new").get_data(as_text=True)
    assert "牛塘供电所" in form and "湖塘抄表班" in form
    assert "\u3000湖塘供电所" in form  # indented under the bureau

    response = post_assign(
        client,
        item=f"course:{course.id}",
        unit_id=str(org["bureau"].id),
        post_id=str(org["post"].id),
        due_on=due(),
        note="年底前完成",
    )
    assert response.status_code == 302
    assert [row[0] for row in assignments_of(db)] == ["A002", "B001"]
    assert {a.note for a in db.scalars(sa.select(Assignment))} == {"年底前完成"}
    nobody = post_assign(
        client,
        item=f"course:{course.id}",
        unit_id=str(org["other"].id),
        post_id=str(org["post"].id),
        due_on=due(),
    )
    assert nobody.status_code == 302  # B001 already had it: 0 made for 1 person
    db.rollback()  # a fresh snapshot before writing (SQLite)
    empty_post = Post(name="驾驶员")
    db.add(empty_post)
    db.commit()
    refused = post_assign(
        client,
        item=f"course:{course.id}",
        unit_id=str(org["bureau"].id),
        post_id=str(empty_post.id),
        due_on=due(),
    )
    assert refused.status_code == 400
    assert "Nobody there to assign to" in refused.get_data(as_text=True)
    bad_post = post_assign(
        client, item=f"course:{course.id}", unit_id=str(org["bureau"].id), post_id="x", due_on=due()
    )
    assert "Post: choose one of the list." in bad_post.get_data(as_text=True)


def test_named_people_and_their_errors(app, db, login, org, create_course):
    """工号 one per line or separated by commas (Chinese ones too); an unknown one and a leaver
    are each named; with none wrong, each named person gets it."""
    course = create_course()
    client = signed_in(app, login, db, "M001")
    refused = post_assign(
        client,
        item=f"course:{course.id}",
        target="people",
        emp_nos="A001, NOPE1\nA009",
        due_on=due(),
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "NOPE1: no employee with this 工号 in the units you may assign to." in page
    assert "离职 (A009) has left." in page
    empty = post_assign(client, item=f"course:{course.id}", target="people", due_on=due())
    assert "工号: give at least one 工号." in empty.get_data(as_text=True)
    assert count_rows(db, Assignment) == 0

    ok = post_assign(
        client, item=f"course:{course.id}", target="people", emp_nos="A001，A002\n", due_on=due()
    )
    assert ok.status_code == 302
    assert [row[0] for row in assignments_of(db)] == ["A001", "A002"]


def test_due_date_and_course_are_required(app, db, login, org, create_course):
    """No due date, a date in the past, no course, a draft course: named errors, nothing made;
    today is allowed."""
    course = create_course()
    draft = create_course(published=False)
    client = signed_in(app, login, db, "M001")
    unit = str(org["office"].id)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    cases = [
        ({"item": f"course:{course.id}", "due_on": ""}, "Due date: a date like 2026-03-15."),
        ({"item": f"course:{course.id}", "due_on": "2026-02-30"}, "Due date: a date like"),
        (
            {"item": f"course:{course.id}", "due_on": yesterday},
            "Due date: the date is in the past.",
        ),
        ({"item": "", "due_on": due()}, "Course or pack: choose one of the list."),
        (
            {"item": f"course:{draft.id}", "due_on": due()},
            "Course or pack: choose one of the list.",
        ),
        ({"item": "pack:abc", "due_on": due()}, "Course or pack: choose one of the list."),
        ({"item": f"course:{course.id}", "due_on": due(), "note": "x" * 501}, "Note: at most 500"),
    ]
    for values, message in cases:
        response = post_assign(client, unit_id=unit, **values)
        assert response.status_code == 400, values
        assert message in response.get_data(as_text=True), values
    assert count_rows(db, Assignment) == 0
    with app.app_context():
        today = local_date().isoformat()
    assert (
        post_assign(client, unit_id=unit, item=f"course:{course.id}", due_on=today).status_code
        == 302
    )


def test_employees_get_404_on_every_page(app, db, login, org):
    """A plain employee: 404 on the list, the form, the packs, the matrix and every POST."""
    client = signed_in(app, login, db, "A001")
    token = csrf_token(client, "/me/record")
    for path in ("/assignments", "/assignments/new", "/packs", "/admin/matrix"):
        assert client.get(path).status_code == 404, path
    for path in (
        "/assignments/new",
        "/assignments/1/close",
        "/admin/matrix",
        "/admin/matrix/1/remove",
    ):
        assert client.post(path, data={"csrf_token": token}).status_code == 404, path


def test_forms_refuse_a_missing_csrf_token(app, db, login, org, create_course):
    """Without the token every form is refused (400) and nothing changes."""
    course = create_course()
    client = signed_in(app, login, db, "HR01")
    with app.app_context():
        assign(
            db,
            actor=person(db, "HR01"),
            courses=[course],
            target=Target(employee_ids=(person(db, "A001").id,)),
            due_on=None,
        )
        db.commit()
    assignment_id = db.scalar(sa.select(Assignment.id))
    posts = {
        "/assignments/new": {
            "item": f"course:{course.id}",
            "target": "unit",
            "unit_id": str(org["bureau"].id),
            "due_on": due(),
        },
        f"/assignments/{assignment_id}/close": {},
        "/admin/matrix": {
            "post_id": str(org["post"].id),
            "course_id": str(course.id),
            "renewal_months": "0",
            "due_days": "30",
        },
    }
    for path, data in posts.items():
        assert client.post(path, data=data).status_code == 400, path
    assert count_rows(db, Assignment) == 1 and count_rows(db, MatrixRequirement) == 0
    assert db.scalar(sa.select(Assignment.closed_at)) is None


# The list --------------------------------------------------------------------------------------


def test_list_filters_by_state_course_and_pages(app, db, login, org, create_course):
    """States as computed in SQL agree with each row's state; course filter; pages; closed ones
    only when asked for; bad parameters are ignored."""
    from lms.courses import services as courses

    first, second = create_course(title="课程甲"), create_course(title="课程乙")
    with app.app_context():
        hr = person(db, "HR01")
        today = local_date()
        for course, due_on in ((first, today - timedelta(days=1)), (second, today)):
            assign(
                db,
                actor=hr,
                courses=[course],
                target=Target(unit_id=org["office"].id),
                due_on=due_on,
            )
        db.commit()
        a1, a2 = person(db, "A001"), person(db, "A002")
        courses.start_run(db, a1, second)  # A001 has started 课程乙: in progress
        done = db.scalar(
            sa.select(Assignment).where(
                Assignment.employee_id == a2.id, Assignment.course_id == second.id
            )
        )
        done.completed_at = sa.func.now()
        db.commit()
    client = signed_in(app, login, db, "M001")

    def states(query: str) -> list[str]:
        page = client.get(f"/assignments?{query}")
        assert page.status_code == 200, query
        return re.findall(r'data-state="([^"]+)"', page.get_data(as_text=True))

    assert sorted(states("state=overdue")) == ["overdue"] * 3
    assert states("state=in_progress") == ["in_progress"]
    assert states("state=completed") == ["completed"]
    assert states("state=not_started") == ["not_started"]  # M001's 课程乙
    assert len(states(f"course={second.id}")) == 3
    assert len(states("")) == 5 and len(states("page=2")) == 1
    assert len(states("state=bogus&course=abc&unit=x&page=zz")) == 5
    assert states("state=closed") == []


def test_manager_closes_an_assignment_by_hand(app, db, login, org, create_course):
    """A manual or pack assignment in scope closes (audited) and leaves the list; a matrix one
    cannot be closed by hand; one outside the scope, or unknown, is 404."""
    course, other_course = create_course(), create_course()
    hr, a1, b1 = person(db, "HR01"), person(db, "A001"), person(db, "B001")
    with app.app_context():
        assign(db, actor=hr, courses=[course], target=Target(unit_id=org["bureau"].id), due_on=None)
        db.add(Assignment(employee_id=a1.id, course_id=other_course.id, origin="matrix"))
        db.commit()
    mine = db.scalar(
        sa.select(Assignment).where(
            Assignment.employee_id == a1.id, Assignment.course_id == course.id
        )
    )
    matrix = db.scalar(sa.select(Assignment).where(Assignment.origin == "matrix"))
    outside = db.scalar(sa.select(Assignment).where(Assignment.employee_id == b1.id))
    client = signed_in(app, login, db, "M001")
    page = client.get("/assignments").get_data(as_text=True)
    assert f"/assignments/{mine.id}/close" in page and f"/assignments/{matrix.id}/close" not in page
    token = csrf_token(client, "/assignments")

    response = client.post(
        f"/assignments/{mine.id}/close", data={"csrf_token": token, "next": "/assignments?state="}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/assignments?state="
    db.rollback()
    assert db.get(Assignment, mine.id).closed_at is not None
    entry = db.scalar(sa.select(AuditEntry).where(AuditEntry.action == "assignment.close"))
    assert entry.object_id == str(mine.id) and entry.actor_id == person(db, "M001").id
    assert f'data-assignment="{mine.id}"' not in client.get("/assignments").get_data(as_text=True)

    refused = client.post(f"/assignments/{matrix.id}/close", data={"csrf_token": token})
    assert refused.status_code == 302
    assert "Only an open assignment made by hand" in client.get("/assignments").get_data(
        as_text=True
    )
    db.rollback()
    assert db.get(Assignment, matrix.id).closed_at is None
    for assignment_id in (outside.id, 999999, 2**40):
        response = client.post(f"/assignments/{assignment_id}/close", data={"csrf_token": token})
        assert response.status_code == 404, assignment_id
    db.rollback()
    assert db.get(Assignment, outside.id).closed_at is None
    evil = client.post(
        f"/assignments/{mine.id}/close", data={"csrf_token": token, "next": "//evil.example"}
    )
    assert evil.headers["Location"] == "/assignments"


# Course packs ----------------------------------------------------------------------------------


def shipped_courses(app, db) -> None:
    from lms.courses.catalogue import import_shipped_catalogue

    with app.app_context():
        assert import_shipped_catalogue(db).ok  # without the banks: courses without exams
        db.commit()


def test_shipped_packs_load_and_again_change_nothing(app, db, runner):
    """The rural-office pack loads from catalogue/packs/ with its courses in order; loading it
    again changes nothing (no audit entry); the command says the same, as JSON too."""
    shipped_courses(app, db)
    with app.app_context():
        result = load_shipped_packs(db)
        db.commit()
    assert (result.imported, result.unchanged, result.errors) == (1, 0, [])
    pack = db.scalar(sa.select(CoursePack).where(CoursePack.code == "rural-office"))
    codes = [db.get(Course, item.course_id).code for item in pack.items]
    assert pack.name == "农村供电所培训包"
    assert codes[:2] == ["RO-101", "PE-104"] and {"MR-101", "SS-101"} <= set(codes)
    audits = count_rows(db, AuditEntry)
    with app.app_context():
        again = load_shipped_packs(db)
        db.commit()
    assert (again.imported, again.unchanged) == (0, 1)
    assert count_rows(db, AuditEntry) == audits

    (path,) = shipped_pack_files()
    output = runner.invoke(lms_commands, ["courses", "import-packs", str(path), "--json"])
    assert output.exit_code == 0, output.output
    assert json.loads(output.output)["unchanged"] == 1


def test_a_pack_file_with_an_unknown_course_is_refused(app, db, runner, create_course, tmp_path):
    """An unknown course code names the file, line and pack; nothing is written; a change of
    courses is applied and audited."""
    course = create_course()
    path: Path = tmp_path / "packs.yaml"
    path.write_text(
        f"packs:\n  - code: p1\n    name: 包一\n    courses: [{course.code}, NOPE-1]\n",
        encoding="utf-8",
    )
    with app.app_context():
        result = load_packs(db, path)
    assert [str(p) for p in result.errors] == [
        "packs.yaml:4 [courses]: Pack p1: unknown course code(s) NOPE-1."
    ]
    db.rollback()
    assert count_rows(db, CoursePack) == 0
    output = runner.invoke(lms_commands, ["courses", "import-packs", str(path)])
    assert output.exit_code == 1 and "Pack p1: unknown course code(s) NOPE-1." in output.output

    path.write_text("packs:\n  - code: p1\n    name: 包一\n    colour: red\n", encoding="utf-8")
    with app.app_context():
        assert "Unknown field colour." in str(load_packs(db, path).errors[0])
    path.write_text(f"packs:\n  - code: p1\n    name: 包一\n    courses: [{course.code}]\n")
    output = runner.invoke(lms_commands, ["courses", "import-packs", str(path)])
    assert output.exit_code == 0 and "imported 1 packs" in output.output


def test_manager_assigns_a_pack(app, db, login, org):
    """The packs page lists each pack's courses; assigning the pack gives each person each of
    its courses, origin pack, shown with the pack's name in the list."""
    shipped_courses(app, db)
    with app.app_context():
        assert load_shipped_packs(db).ok
        db.commit()
    pack = db.scalar(sa.select(CoursePack))
    client = signed_in(app, login, db, "M001")
    packs = client.get("/packs").get_data(as_text=True)
    assert "农村供电所培训包" in packs and 'data-course="RO-101"' in packs
    assert f"item=pack:{pack.id}" in packs
    assert f'value="pack:{pack.id}" selected' in client.get(
        f"/assignments/new?item=pack:{pack.id}"
    ).get_data(as_text=True)

    response = post_assign(
        client, item=f"pack:{pack.id}", unit_id=str(org["office"].id), due_on=due(30)
    )
    assert response.status_code == 302
    rows = assignments_of(db)
    assert len(rows) == 3 * len(pack.items) and {row[2] for row in rows} == {"pack"}
    assert "Pack: 农村供电所培训包" in flashed(client)


# The training matrix ---------------------------------------------------------------------------


def matrix_form(client, **values: str) -> Any:
    token = csrf_token(client, "/admin/matrix")
    return client.post("/admin/matrix", data={"csrf_token": token, **values})


def test_hr_edits_the_matrix_and_assignments_follow(app, db, login, org, create_course):
    """Adding a requirement assigns the course at once to everyone in the post (matrix origin);
    changing it is a change, not a second cell; removing it closes the open matrix ones and
    keeps those assigned by hand; each change audited."""
    course = create_course(title="抄表、核算与收费")
    client = signed_in(app, login, db, "HR01")
    assert "The matrix is empty" in client.get("/admin/matrix").get_data(as_text=True)

    response = matrix_form(
        client,
        post_id=str(org["post"].id),
        course_id=str(course.id),
        renewal_months="12",
        due_days="14",
    )
    assert response.status_code == 302
    page = client.get("/admin/matrix").get_data(as_text=True)
    assert "The requirement is added. 2 assignments made, 0 closed." in page
    assert 'data-post="抄表员"' in page and "every 12 months" in page and "within 14 days" in page
    assert assignments_of(db) == [
        ("A002", course.code, "matrix"),
        ("B001", course.code, "matrix"),
    ]
    assert db.scalar(sa.select(Assignment.due_on)) >= date.today() + timedelta(days=13)

    matrix_form(
        client,
        post_id=str(org["post"].id),
        course_id=str(course.id),
        renewal_months="0",
        due_days="14",
    )
    page = client.get("/admin/matrix").get_data(as_text=True)
    assert "The requirement is changed." in page and "once" in page
    assert count_rows(db, MatrixRequirement) == 1

    requirement = db.scalar(sa.select(MatrixRequirement))
    with app.app_context():  # someone else's hand-made assignment of the course is kept
        db.add(Assignment(employee_id=person(db, "A001").id, course_id=course.id))
        db.commit()
    token = csrf_token(client, "/admin/matrix")
    removed = client.post(f"/admin/matrix/{requirement.id}/remove", data={"csrf_token": token})
    assert removed.status_code == 302
    page = client.get("/admin/matrix").get_data(as_text=True)
    assert "The requirement is removed. 0 assignments made, 2 closed." in page
    assert assignments_of(db) == [("A001", course.code, "manual")]
    actions = set(db.scalars(sa.select(AuditEntry.action)))
    assert {"matrix.add", "matrix.update", "matrix.remove", "assignment.matrix"} <= actions
    assert client.post("/admin/matrix/999999/remove", data={"csrf_token": token}).status_code == 404


def test_matrix_form_names_its_errors(app, db, login, org, create_course):
    """Unknown post, no course, numbers out of range: named errors, nothing saved."""
    course = create_course()
    client = signed_in(app, login, db, "HR01")
    response = matrix_form(
        client, post_id="999999", course_id="", renewal_months="-1", due_days="abc"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Post: choose one of the list." in page and "Course: choose a course." in page
    assert "a whole number from 0 to 120" in page and "a whole number from 0 to 3650" in page
    assert count_rows(db, MatrixRequirement) == 0
    assert course.id


def test_managers_read_the_matrix(app, db, login, org, create_course):
    """A manager sees the grid without forms and cannot change it (404)."""
    course = create_course()
    db.add(MatrixRequirement(post_id=org["post"].id, course_id=course.id, renewal_months=24))
    db.commit()
    client = signed_in(app, login, db, "M001")
    page = client.get("/admin/matrix")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "every 24 months" in text and 'data-testid="requirement-form"' not in text
    assert "/remove" not in text
    token = csrf_token(client, "/assignments/new")
    data = {"csrf_token": token, "post_id": str(org["post"].id), "course_id": str(course.id)}
    assert client.post("/admin/matrix", data=data).status_code == 404
    requirement_id = db.scalar(sa.select(MatrixRequirement.id))
    remove = client.post(f"/admin/matrix/{requirement_id}/remove", data={"csrf_token": token})
    assert remove.status_code == 404
    assert count_rows(db, MatrixRequirement) == 1
