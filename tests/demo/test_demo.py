"""The demo bureau: its shape, its size, determinism, the demo sign-ins, and ``lms demo``."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from lms.cli import lms_commands
from lms.demo import DEMO_PASSWORD, build_demo, has_data, reset_data
from lms.demo.build import FIRST_HIRE, LAST_LEAVE, DemoLogin
from lms.org.models import (
    Employee,
    EmploymentStatus,
    Post,
    Role,
    StaffKind,
    Unit,
    UnitKind,
)


def build(app: Any, **options: Any) -> list[DemoLogin]:
    """Build the demo bureau in its own committed transaction, as ``lms demo`` does."""
    with app.app_context(), app.extensions["lms"].db.transaction() as session:
        return build_demo(session, **options)


def digest(db: Any) -> str:
    """A fingerprint of every unit and employee, by codes and values (not ids or hashes)."""
    parent = sa.orm.aliased(Unit)
    units = db.execute(
        sa.select(Unit.code, Unit.name, Unit.kind, Unit.is_rural, parent.code)
        .outerjoin(parent, Unit.parent_id == parent.id)
        .order_by(Unit.code)
    ).all()
    people = db.execute(
        sa.select(
            Employee.emp_no,
            Employee.name,
            Unit.code,
            Post.name,
            Employee.is_manager,
            Employee.staff_kind,
            Employee.status,
            Employee.hired_on,
            Employee.left_on,
            Employee.role,
        )
        .join(Unit, Employee.unit_id == Unit.id)
        .outerjoin(Post, Employee.post_id == Post.id)
        .order_by(Employee.emp_no)
    ).all()
    return hashlib.sha256(repr((units, people)).encode()).hexdigest()


def units_of_kind(db: Any, kind: UnitKind) -> list[Unit]:
    return list(db.scalars(sa.select(Unit).where(Unit.kind == kind).order_by(Unit.code)))


def test_small_build_has_the_bureau_shape(app, db):
    """A 300-person build has the whole tree: 2 county bureaus, 24 rural offices, 4 urban ones."""
    logins = build(app, employees=300)
    assert db.scalar(sa.select(sa.func.count()).select_from(Employee)) == 300
    root = db.scalar(sa.select(Unit).where(Unit.parent_id.is_(None)))
    assert (root.code, root.name, root.kind) == ("LC", "龙城供电局", UnitKind.bureau)
    counties = [u for u in units_of_kind(db, UnitKind.bureau) if u.parent_id == root.id]
    assert sorted(u.name for u in counties) == ["武进县供电局", "金坛县供电局"]
    rural = units_of_kind(db, UnitKind.rural_office)
    assert len(rural) == 24
    assert all(u.is_rural and u.name.endswith("供电所") for u in rural)
    assert {u.parent_id for u in rural} == {u.id for u in counties}
    urban = units_of_kind(db, UnitKind.urban_office)
    assert len(urban) == 4 and not any(u.is_rural for u in urban)
    codes = set(db.scalars(sa.select(Unit.code)))
    assert {"LC", "LC-KF", "LC-KF-YY", "LC-KF-95", "LC-JL-ZB", "LC-RZ-JP", "LC-WJ-HT"} <= codes
    # Materialised paths are in place: every unit lies in the root's subtree.
    assert all(u.path.startswith(root.path) and u.path.endswith(f"/{u.id}/") for u in rural)
    assert {login.role for login in logins} == {"admin", "hr", "manager", "employee"}


def test_people_are_consistent(app, db):
    """工号 are unique and well-formed, dates are plausible, flags match posts and statuses."""
    build(app, employees=300)
    people = db.scalars(sa.select(Employee)).all()
    emp_nos = [p.emp_no for p in people]
    assert len(set(emp_nos)) == len(emp_nos)
    assert all(len(n) == 8 and n.startswith("LC") and n[2:].isdigit() for n in emp_nos)
    for person in people:
        assert 2 <= len(person.name) <= 4
        assert person.post is not None
        assert person.is_manager == (person.staff_kind is StaffKind.management)
        assert FIRST_HIRE <= person.hired_on <= date(2026, 12, 31)
        if person.status is EmploymentStatus.left:
            assert person.left_on is not None and person.hired_on < person.left_on <= LAST_LEAVE
        else:
            assert person.left_on is None
    # Only the demo sign-ins have a password; everybody else gets one from HR.
    with_password = [p for p in people if p.password_hash is not None]
    assert {p.emp_no for p in with_password} == {f"LC00000{i}" for i in range(1, 7)}
    assert not any(p.must_change_password for p in with_password)


def test_default_build_has_about_1800_people_and_260_managers(app, db, backend):
    """The default bureau: about 1,800 people, 260 management staff, heads as managers."""
    if backend != "sqlite":
        pytest.skip("the full-size build is checked on one database; the shape on both")
    build(app)
    count = lambda *where: db.scalar(  # noqa: E731
        sa.select(sa.func.count()).select_from(Employee).where(*where)
    )
    assert 1620 <= count() <= 1980
    assert 234 <= count(Employee.is_manager.is_(True)) <= 286
    assert count(Employee.role == Role.admin) == 1
    assert 2 <= count(Employee.role == Role.hr) <= 8
    assert count(Employee.status == EmploymentStatus.active) > 0.85 * count()
    assert count(Employee.status == EmploymentStatus.left) > 10
    # The management staff sit mostly in the functional departments.
    in_departments = count(
        Employee.is_manager.is_(True),
        Employee.unit.has(Unit.kind == UnitKind.department),
    )
    assert in_departments > 0.5 * count(Employee.is_manager.is_(True))
    # Every rural office has exactly one head, a 所长 with the manager role.
    heads = db.execute(
        sa.select(Unit.code, sa.func.count())
        .join(Employee, Employee.unit_id == Unit.id)
        .join(Post, Employee.post_id == Post.id)
        .where(Unit.kind == UnitKind.rural_office, Post.name == "所长", Employee.role == "manager")
        .group_by(Unit.code)
    ).all()
    assert len(heads) == 24 and all(n == 1 for _, n in heads)
    # A rural office is a few dozen people, not a handful.
    per_office = db.execute(
        sa.select(sa.func.count())
        .select_from(Employee)
        .join(Unit, Employee.unit_id == Unit.id)
        .where(Unit.kind == UnitKind.rural_office)
        .group_by(Unit.id)
    ).scalars()
    assert all(15 <= n <= 60 for n in per_office)


def test_same_seed_same_bureau(app, db):
    """The same seed builds exactly the same units and people; another seed does not."""
    build(app, seed=7, employees=300)
    first = digest(db)
    db.rollback()
    with app.extensions["lms"].db.transaction() as session:
        assert has_data(session)
        reset_data(session)
        assert not has_data(session)
    build(app, seed=7, employees=300)
    assert digest(db) == first
    db.rollback()
    with app.extensions["lms"].db.transaction() as session:
        reset_data(session)
    build(app, seed=8, employees=300)
    assert digest(db) != first


def test_demo_logins_sign_in(app, db, client, login):
    """Each demo sign-in works with the demo password and goes straight to the home page."""
    logins = build(app, employees=200)
    for account in logins:
        employee = db.scalar(sa.select(Employee).where(Employee.emp_no == account.emp_no))
        assert employee.name == account.name and employee.unit.name == account.unit
        response = login(employee, DEMO_PASSWORD)
        assert response.status_code == 302, account
        assert "/password" not in response.headers["Location"]
        assert employee.name in client.get("/").get_data(as_text=True)


def test_rural_manager_sees_own_office(app, db, client, login):
    """The rural office's demo manager sees the office's demo employee, not the other offices."""
    logins = {(item.role, item.unit): item for item in build(app, employees=200)}
    manager = logins[("manager", "湖塘供电所")]
    employee = logins[("employee", "湖塘供电所")]
    login(db.scalar(sa.select(Employee).where(Employee.emp_no == manager.emp_no)), DEMO_PASSWORD)
    page = client.get("/employees").get_data(as_text=True)
    assert employee.emp_no in page
    assert logins[("admin", "办公室")].emp_no not in page
    assert logins[("employee", "城东供电所")].emp_no not in page


def test_hr_pages_through_and_searches_the_bureau(app, db, client, login):
    """The demo HR user pages through the employee list and finds someone by 工号."""
    logins = {item.emp_no: item for item in build(app, employees=300)}
    hr = db.scalar(sa.select(Employee).where(Employee.emp_no == "LC000002"))
    login(hr, DEMO_PASSWORD)
    first = client.get("/employees")
    assert first.status_code == 200
    assert "LC000001" in first.get_data(as_text=True)
    second = client.get("/employees?page=2")
    assert second.status_code == 200
    assert "LC000001" not in second.get_data(as_text=True)
    found = client.get("/employees?q=LC000004").get_data(as_text=True)
    assert logins["LC000004"].name in found and "LC000005" not in found


def test_cli_demo_prints_logins_and_refuses_a_second_run(app, runner):
    """``lms demo`` prints the sign-ins and loads the shipped banks; a second run needs --reset,
    and works with it."""
    from lms.questions.models import QuestionBank

    result = runner.invoke(lms_commands, ["demo", "--employees", "200"])
    assert result.exit_code == 0, result.output
    assert "LC000001" in result.output and DEMO_PASSWORD in result.output
    assert "Question banks:" in result.output
    with app.extensions["lms"].db.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(QuestionBank)) >= 13
    again = runner.invoke(lms_commands, ["demo", "--employees", "200"])
    assert again.exit_code != 0
    assert "--reset" in again.output
    reset = runner.invoke(lms_commands, ["demo", "--employees", "250", "--reset", "--seed", "3"])
    assert reset.exit_code == 0, reset.output
    with app.extensions["lms"].db.transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Employee)) == 250
