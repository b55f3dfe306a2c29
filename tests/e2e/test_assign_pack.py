"""Assigning a pack in a real browser: a rural-office head assigns the bureau's rural-office
pack to their office with a due date, and an employee of that office finds every course of the
pack on their home page, due on that date."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from .browser import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def rural_pack(site) -> Iterator[dict[str, Any]]:
    """The shipped catalogue (without its question banks: the courses have no exams here) and
    the shipped packs on the live server; the pack's name and its courses' codes and titles.
    Afterwards the pack's assignments go, so that other tests see the home pages as before."""
    from lms.courses.catalogue import import_shipped_catalogue
    from lms.courses.models import Course
    from lms.training.models import Assignment, CoursePack, CoursePackItem
    from lms.training.packs import load_shipped_packs

    database = site.app.extensions["lms"].db
    with site.app.app_context(), database.transaction() as session:
        assert import_shipped_catalogue(session).ok
        assert load_shipped_packs(session).ok
    with database.transaction() as session:
        pack = session.scalar(sa.select(CoursePack).where(CoursePack.code == "rural-office"))
        courses = session.execute(
            sa.select(Course.code, Course.title)
            .join(CoursePackItem, CoursePackItem.course_id == Course.id)
            .where(CoursePackItem.pack_id == pack.id)
            .order_by(CoursePackItem.position)
        ).all()
        found = {"id": pack.id, "name": pack.name, "courses": [tuple(c) for c in courses]}
    yield found
    with database.transaction() as session:
        session.execute(sa.delete(Assignment).where(Assignment.pack_id == found["id"]))


def test_rural_office_head_assigns_the_pack_and_the_employee_sees_it(
    page, context, site, console, rural_pack
):
    """The head's form preselects their own office; after assigning the pack the list shows it;
    the office's employee sees each of the pack's courses on the home page with the due date."""
    head, employee = site.accounts["manager"], site.accounts["employee"]
    assert head.unit == employee.unit and head.unit.endswith("供电所")  # the same rural office
    due_on = (date.today() + timedelta(days=21)).isoformat()

    sign_in(page, head)
    page.goto("/assignments/new")
    form = page.get_by_test_id("assign-form")
    expect(form.locator("#unit_id option:checked")).to_have_text(head.unit)
    form.locator("#item").select_option(label=rural_pack["name"])
    form.locator("#due_on").fill(due_on)
    form.locator("#note").fill("第四季度完成")
    with page.expect_navigation():
        form.get_by_test_id("assign").click()

    expect(page).to_have_url(f"{site.url}/assignments")
    expect(page.locator(".flash")).to_contain_text(str(len(rural_pack["courses"])))
    table = page.get_by_test_id("assignments")
    expect(table).to_contain_text(employee.name)
    expect(table).to_contain_text(rural_pack["name"])

    context.clear_cookies()
    sign_in(page, employee)
    page.goto("/")
    assigned = page.get_by_test_id("home-assigned")
    for code, title in rural_pack["courses"]:
        item = assigned.locator(f'li[data-course="{code}"]')
        expect(item).to_contain_text(title)
        expect(item.get_by_test_id("due")).to_contain_text(due_on)
    assert console.problems() == []
