"""Access rules in one place: CSRF on every POST, security headers, scope (404 when not yours)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lms.org.models import Role, UnitKind
from lms.security import employee_scope, unit_scope
from tests.conftest import csrf_token


def post_routes(app) -> list[str]:
    """Every LMS URL that takes POST, with its arguments filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("lms.") or "POST" not in rule.methods:
            continue
        values = {name: 1 for name in rule.arguments}
        if "fmt" in values:
            values["fmt"] = "csv"
        urls.append(rule.build(values, append_unknown=False)[1])
    return urls


def test_every_post_route_refuses_missing_csrf(app, client, create_employee, login):
    """Each POST route of the LMS answers 400 without a CSRF token, even for HR."""
    assert app.config.get("WTF_CSRF_ENABLED", True)
    routes = post_routes(app)
    assert {"/login", "/logout", "/password", "/import", "/import/confirm"} <= set(routes)
    assert len(routes) >= 9
    hr = create_employee(role=Role.hr)
    login(hr)
    for url in routes:
        assert client.post(url, data={"x": "1"}).status_code == 400, url
        assert client.post(url, data={"csrf_token": "forged"}).status_code == 400, url
    assert client.get("/").status_code == 200  # still signed in: nothing was done


def test_token_from_another_session_refused(app, client, create_employee, login):
    """A CSRF token taken from another browser's session is refused."""
    other = app.test_client()
    foreign = csrf_token(other, "/login")
    person = create_employee()
    login(person)
    response = client.post("/logout", data={"csrf_token": foreign})
    assert response.status_code == 400


def test_csrf_header_is_accepted(client, create_employee, login):
    """The token may come in the X-CSRFToken header (for scripts)."""
    login(create_employee())
    token = csrf_token(client, "/")
    assert client.post("/logout", headers={"X-CSRFToken": token}).status_code == 302


def assert_security_headers(response) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    directives = dict(
        [*part.strip().split(" ", 1), ""][:2] for part in csp.split(";") if part.strip()
    )
    assert "script-src" in directives or "default-src" in directives, csp
    script = directives.get("script-src", directives.get("default-src", ""))
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "frame-ancestors" in directives
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Referrer-Policy")


def test_headers_on_pages_errors_and_redirects(client, create_employee, login):
    """Pages, 404s (known and unknown URLs), redirects and CSRF errors carry the headers."""
    anonymous = client.get("/")
    assert anonymous.status_code == 302
    assert_security_headers(anonymous)
    assert_security_headers(client.get("/login"))
    assert_security_headers(client.get("/no/such/page"))
    assert_security_headers(client.post("/login"))  # 400: no CSRF token
    login(create_employee())
    page = client.get("/")
    assert page.status_code == 200
    assert_security_headers(page)
    missing = client.get("/employees/999999")
    assert missing.status_code == 404
    assert_security_headers(missing)


def test_no_inline_script_in_pages(client, create_employee, login):
    """Pages have no inline script (the CSP would block it anyway)."""
    login(create_employee(role=Role.hr))
    for path in ("/", "/employees", "/units", "/import"):
        html = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"\son[a-z]+=", html), path


@pytest.fixture
def org(create_unit, create_employee):
    """Two branches under a bureau: A (with A1 below it) and B, with people and a manager."""
    root = create_unit("龙城供电局", kind=UnitKind.bureau)
    a = create_unit("农电工作部", parent=root, kind=UnitKind.department)
    a1 = create_unit("湖塘供电所", parent=a, kind=UnitKind.rural_office, rural=True)
    b = create_unit("营销部", parent=root, kind=UnitKind.department)
    people = {
        "manager": create_employee("部门经理", unit=a, role=Role.manager, emp_no="M001"),
        "a": create_employee("甲", unit=a, emp_no="A001"),
        "a1": create_employee("乙", unit=a1, emp_no="A101"),
        "b": create_employee("丙", unit=b, emp_no="B001"),
        "hr": create_employee("人资", unit=root, role=Role.hr, emp_no="H001"),
    }
    return {"units": {"root": root, "a": a, "a1": a1, "b": b}, "people": people}


def page_status(client, person) -> int:
    return client.get(f"/employees/{person.id}").status_code


def test_employee_sees_only_self(org, client, login):
    """An employee opening someone else's page gets 404, just like for an unknown id."""
    people = org["people"]
    login(people["a"])
    assert page_status(client, people["a"]) == 200
    other = client.get(f"/employees/{people['a1'].id}")
    missing = client.get("/employees/999999")
    assert other.status_code == missing.status_code == 404
    main = lambda r: r.get_data(as_text=True).split("<main", 1)[1].split("</main>")[0]  # noqa: E731
    assert main(other) == main(missing)


def test_employee_has_no_org_pages(org, client, login):
    """Employees get 404 on the lists, the tree, imports and exports."""
    login(org["people"]["a"])
    for path in (
        "/employees",
        "/units",
        "/import",
        "/employees/export.csv",
        "/employees/export.xlsx",
        "/units/export.csv",
    ):
        assert client.get(path).status_code == 404, path


def test_manager_sees_own_subtree(org, client, login):
    """A manager sees people in their unit and below it, and gets 404 for anyone else."""
    people = org["people"]
    login(people["manager"])
    assert page_status(client, people["a"]) == 200
    assert page_status(client, people["a1"]) == 200
    assert page_status(client, people["b"]) == 404
    assert page_status(client, people["hr"]) == 404


def test_manager_list_is_limited(org, client, login):
    """The manager's list shows only their subtree; another unit's filter is 404."""
    people, units = org["people"], org["units"]
    login(people["manager"])
    listed = lambda url: set(  # noqa: E731
        re.findall(r'href="/employees/\d+">([^<]+)<', client.get(url).get_data(as_text=True))
    )
    assert listed("/employees") == {"M001", "A001", "A101"}
    assert listed("/employees?q=B001") == set()
    assert client.get(f"/employees?unit={units['b'].id}").status_code == 404
    assert client.get(f"/employees?unit={units['root'].id}").status_code == 404
    assert client.get(f"/employees?unit={units['a1'].id}").status_code == 200
    tree = client.get("/units").get_data(as_text=True)
    assert "湖塘供电所" in tree and "营销部" not in tree


def test_manager_export_is_limited(org, client, login):
    """A manager's employee export holds only their subtree; the units export is 404."""
    login(org["people"]["manager"])
    text = client.get("/employees/export.csv").get_data().decode("utf-8-sig")
    emp_nos = {line.split(",")[0] for line in text.splitlines()[1:]}
    assert emp_nos == {"M001", "A001", "A101"}
    assert client.get("/units/export.csv").status_code == 404


def test_manager_cannot_edit_move_or_import(org, client, login):
    """Editing, moving and issuing passwords are for HR: a manager gets 404."""
    people = org["people"]
    login(people["manager"])
    token = csrf_token(client, "/")
    target = people["a1"].id
    for action in ("edit", "move", "initial-password"):
        response = client.post(f"/employees/{target}/{action}", data={"csrf_token": token})
        assert response.status_code == 404, action
    assert client.get("/import").status_code == 404


def test_hr_sees_everyone(org, client, login):
    """HR sees every employee, every unit filter and the whole export."""
    people, units = org["people"], org["units"]
    login(people["hr"])
    for person in people.values():
        assert page_status(client, person) == 200
    assert client.get(f"/employees?unit={units['b'].id}").status_code == 200
    text = client.get("/employees/export.csv").get_data().decode("utf-8-sig")
    assert len(text.splitlines()) == 1 + len(people)


def test_scope_conditions(org, db):
    """The scope conditions used by every list agree with the rules."""
    from lms.org.models import Employee, Unit

    people = org["people"]

    def visible(actor) -> set[str]:
        actor = db.get(Employee, actor.id)
        query = sa.select(Employee.emp_no).join(Unit, Employee.unit_id == Unit.id)
        return set(db.scalars(query.where(employee_scope(actor))))

    def units(actor) -> set[str]:
        actor = db.get(Employee, actor.id)
        return set(db.scalars(sa.select(Unit.name).where(unit_scope(actor))))

    assert visible(people["a"]) == {"A001"}
    assert visible(people["manager"]) == {"M001", "A001", "A101"}
    assert len(visible(people["hr"])) == 5
    assert units(people["a"]) == set()
    assert units(people["manager"]) == {"农电工作部", "湖塘供电所"}


def test_manager_with_unbuilt_path_sees_no_one_else(org, db):
    """A manager whose unit has no materialised path yet sees only themself, not everyone."""
    from lms.org.models import Employee, Unit

    manager = db.get(Employee, org["people"]["manager"].id)
    db.get(Unit, manager.unit_id).path = ""
    db.flush()
    query = sa.select(Employee.emp_no).join(Unit, Employee.unit_id == Unit.id)
    assert set(db.scalars(query.where(employee_scope(manager)))) <= {"M001"}
    assert not set(db.scalars(sa.select(Unit.name).where(unit_scope(manager))))
    db.rollback()


def test_hostile_query_values(org, client, login):
    """NUL bytes, huge numbers and odd values in the list's query give a page, never a 500."""
    login(org["people"]["hr"])
    for query in (
        "q=%00",
        "q=a%00b",
        "page=99999999999999999999",
        "page=-3",
        "page=x",
        "unit=99999999999999999999",
        "unit=%C2%B2",  # "²" is a digit to str.isdigit but not to int()
        "status=%00",
    ):
        assert client.get(f"/employees?{query}").status_code in (200, 404), query
    assert client.get("/employees/99999999999999999999").status_code == 404
    assert client.get("/jobs/99999999999999999999.json").status_code == 404


def test_hostile_sign_in_values(client, create_employee):
    """A NUL byte in the 工号 or password is a failed sign-in, not a 500."""
    create_employee(emp_no="10001")
    for emp_no, password in (("100\x0001", "x"), ("10001", "pass\x00word")):
        token = csrf_token(client, "/login")
        response = client.post(
            "/login", data={"emp_no": emp_no, "password": password, "csrf_token": token}
        )
        assert response.status_code == 200


FORM = {"status": "在岗", "staff_kind": "", "hired_on": "", "left_on": ""}


def test_hr_cannot_grant_admin_or_take_over_admins(org, client, login, create_employee, db):
    """HR may not make anyone HR or admin, nor issue a password for an admin account."""
    from lms.org.models import Employee

    people = org["people"]
    admin = create_employee("管理员", unit=org["units"]["root"], role=Role.admin)
    login(people["hr"])
    target = people["a"]
    token = csrf_token(client, f"/employees/{target.id}")
    for role in ("admin", "hr"):
        client.post(
            f"/employees/{target.id}/edit",
            data={**FORM, "csrf_token": token, "name": target.name, "role": role},
        )
        db.expire_all()
        assert db.get(Employee, target.id).role is Role.employee
    response = client.post(f"/employees/{admin.id}/initial-password", data={"csrf_token": token})
    assert response.status_code == 404
    client.post(
        f"/employees/{people['hr'].id}/edit",
        data={**FORM, "csrf_token": token, "name": "人资", "role": "admin"},
    )
    db.expire_all()
    assert db.get(Employee, people["hr"].id).role is Role.hr


def test_hr_may_make_managers_and_admin_may_make_hr(org, client, login, create_employee, db):
    """HR gives the manager role; an admin gives the HR role."""
    from lms.org.models import Employee

    people = org["people"]
    login(people["hr"])
    target = people["a"]
    token = csrf_token(client, f"/employees/{target.id}")
    client.post(
        f"/employees/{target.id}/edit",
        data={**FORM, "csrf_token": token, "name": target.name, "role": "manager"},
    )
    db.expire_all()
    assert db.get(Employee, target.id).role is Role.manager
    client.post("/logout", data={"csrf_token": token})
    login(create_employee("管理员", unit=org["units"]["root"], role=Role.admin))
    token = csrf_token(client, f"/employees/{target.id}")
    client.post(
        f"/employees/{target.id}/edit",
        data={**FORM, "csrf_token": token, "name": target.name, "role": "hr"},
    )
    db.expire_all()
    assert db.get(Employee, target.id).role is Role.hr
