"""Pages in a real browser: no console errors, nothing blocked by the Content-Security-Policy."""

from __future__ import annotations

import pytest

from .browser import sign_in

pytestmark = pytest.mark.e2e

PAGES_BY_ROLE = {
    "employee": ["/", "/me"],
    "manager": ["/", "/units", "/employees", "/employees?q=1", "/me"],
    "hr": ["/", "/units", "/employees", "/import", "/me"],
    "admin": ["/", "/employees?page=2"],
}


def test_sign_in_page_is_clean(page, site, console):
    """The sign-in page loads its CSS and script with a strict CSP and logs no problem."""
    response = page.goto("/login")

    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.evaluate("getComputedStyle(document.body).fontFamily"), (
        "no stylesheet reached the page"
    )
    assert console.problems() == []


@pytest.mark.parametrize("role", sorted(PAGES_BY_ROLE))
def test_pages_log_no_errors(page, site, console, role):
    """Each role's pages load with no console error, uncaught exception or CSP violation."""
    sign_in(page, site.accounts[role])
    for path in PAGES_BY_ROLE[role]:
        response = page.goto(path)
        assert response.status == 200, path
        page.wait_for_load_state("load")
    assert console.problems() == []


def test_error_page_has_no_csp_violation(page, site, console):
    """The 404 page itself breaks no CSP rule (the failed load of the page is its only error)."""
    sign_in(page, site.accounts["employee"])
    response = page.goto("/no-such-page")

    assert response.status == 404
    assert console.problems(allow=lambda text: "status of 404" in text) == []
