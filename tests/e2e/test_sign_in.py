"""Signing in and out in a real browser: each demo role, the keyboard, a phone-size screen."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .browser import ROLES, sign_in

pytestmark = pytest.mark.e2e

#: How the header names each role in Chinese (the default language).
ROLE_NAMES_ZH = {"employee": "员工", "manager": "管理者", "hr": "人力资源", "admin": "系统管理员"}


@pytest.mark.parametrize("role", ROLES)
def test_each_role_signs_in_and_sees_own_home(page, site, console, role, tmp_path):
    """Each demo role signs in through the form and sees its own name and role on its home page."""
    account = site.accounts[role]
    sign_in(page, account)

    assert page.url == site.url + "/"
    whoami = page.get_by_test_id("whoami")
    expect(whoami).to_contain_text(account.name)
    expect(whoami).to_contain_text(account.emp_no)
    expect(whoami).to_contain_text(ROLE_NAMES_ZH[role])
    expect(page.get_by_test_id("home-title")).to_contain_text(account.name)
    expect(page.get_by_test_id("home-role")).to_have_text(ROLE_NAMES_ZH[role])
    page.screenshot(path=str(tmp_path / f"home-{role}.png"), full_page=True)
    assert console.problems() == []


def test_wrong_password_keeps_the_visitor_out(page, site):
    """A wrong password leaves the visitor on the sign-in page with an error and no session."""
    sign_in(page, site.accounts["employee"], password="not-the-password")

    assert page.url.startswith(site.url + "/login")
    expect(page.locator(".flash-error")).to_be_visible()
    expect(page.get_by_test_id("whoami")).to_have_count(0)


def test_sign_out(page, site):
    """Signing out ends the session: the home page asks to sign in again."""
    sign_in(page, site.accounts["employee"])
    with page.expect_navigation():
        page.locator("form[action$='/logout'] button[type=submit]").click()

    assert re.search(r"/login\b", page.url)
    expect(page.get_by_test_id("whoami")).to_have_count(0)
    page.goto("/")
    assert "/login" in page.url
    expect(page.locator("main form #emp_no")).to_be_visible()


def test_keyboard_alone_signs_in(page, site):
    """Tab reaches 工号, then the password, then the submit button; Enter signs in."""
    account = site.accounts["employee"]
    page.goto("/login")
    page.evaluate("document.activeElement && document.activeElement.blur()")

    def focused() -> dict:
        return page.evaluate(
            """() => {
                const el = document.activeElement;
                return {id: el.id, tag: el.tagName, type: el.type || "",
                        inMain: !!el.closest("main"), outline: getComputedStyle(el).outlineStyle};
            }"""
        )

    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        seen.append(focused())
        if seen[-1]["id"] == "emp_no":
            break
    assert seen[-1]["id"] == "emp_no", f"Tab never reached 工号; focus went {seen}"
    assert seen[-1]["outline"] != "none", "the focused 工号 field shows no focus ring"
    page.keyboard.type(account.emp_no)

    page.keyboard.press("Tab")
    assert focused()["id"] == "password"
    page.keyboard.type(account.password)

    page.keyboard.press("Tab")
    button = focused()
    assert (button["tag"], button["type"], button["inMain"]) == ("BUTTON", "submit", True)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_test_id("home-title")).to_contain_text(account.name)


class TestPhone:
    """A phone-size screen (375x812, touch)."""

    @pytest.fixture
    def context_options(self):
        return {
            "viewport": {"width": 375, "height": 812},
            "is_mobile": True,
            "has_touch": True,
            "device_scale_factor": 2,
        }

    def test_sign_in_form_fits_and_works(self, page, site, tmp_path):
        """The sign-in form fits the screen without sideways scrolling and signs in by touch."""
        account = site.accounts["employee"]
        page.goto("/login")

        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        form = page.locator("main form")
        for control in (form.locator("#emp_no"), form.locator("#password")):
            expect(control).to_be_visible()
            box = control.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 375, box
            assert box["height"] >= 32, f"a touch target {box['height']}px high is too small"
        submit = form.locator("button[type=submit]")
        expect(submit).to_be_in_viewport()

        form.locator("#emp_no").tap()
        page.keyboard.type(account.emp_no)
        form.locator("#password").tap()
        page.keyboard.type(account.password)
        with page.expect_navigation():
            submit.tap()
        expect(page.get_by_test_id("home-title")).to_contain_text(account.name)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=str(tmp_path / "phone-home.png"))
