"""Access in a real browser: an employee sees their own page and nobody else's."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import sign_in

pytestmark = pytest.mark.e2e


def test_employee_cannot_open_another_employees_page(page, site):
    """Another employee's page answers 404 to an employee, just like a page that is not there."""
    other_id, other_name = site.other_employee
    sign_in(page, site.accounts["employee"])

    response = page.goto(f"/employees/{other_id}")
    assert response.status == 404
    expect(page.locator("main h1")).to_contain_text("404")
    forbidden = page.locator("main").inner_text()
    assert other_name not in forbidden

    missing = page.goto("/employees/987654321")
    assert missing.status == 404
    assert page.locator("main").inner_text() == forbidden  # nothing tells the two apart


def test_employee_opens_own_page_through_me(page, site):
    """``/me`` takes an employee to their own page."""
    account = site.accounts["employee"]
    sign_in(page, account)

    response = page.goto("/me")
    assert response.status == 200
    assert page.url == f"{site.url}/employees/{account.id}"
    expect(page.locator("main")).to_contain_text(account.name)
    expect(page.locator("main")).to_contain_text(account.emp_no)


def test_anonymous_visitor_is_sent_to_sign_in(page, site):
    """An anonymous visitor to an employee's page is sent to the sign-in form."""
    page.goto(f"/employees/{site.accounts['employee'].id}")

    assert "/login" in page.url
    expect(page.locator("main form #emp_no")).to_be_visible()
