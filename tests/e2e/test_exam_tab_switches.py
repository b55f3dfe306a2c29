"""Switching away from an exam in a real browser: the page becoming hidden is reported, and back
on the page the candidate sees how often they left (the site sets no limit, so nothing is
submitted); submitting the paper itself is not counted as a switch."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .browser import sign_in
from .test_exam import _paper
from .test_learning import set_visibility

pytestmark = pytest.mark.e2e


def test_switching_away_is_counted_and_shown(page, site, console):
    paper_id = _paper(site)
    sign_in(page, site.accounts["employee"])
    page.goto(f"/exams/{paper_id}")
    with page.expect_navigation():
        page.get_by_test_id("start-exam").click()
    warning = page.get_by_test_id("exam-away")
    expect(warning).to_be_hidden()
    for n in (1, 2):
        with page.expect_response(lambda r: r.url.endswith("/away")) as reply:
            set_visibility(page, "hidden")
        assert reply.value.json() == {"switches": n, "limit": 0, "submitted": False}
        set_visibility(page, "visible")
        expect(warning).to_be_visible()
        expect(warning).to_contain_text(f"你已离开考试页面 {n} 次")
    attempt_url = page.url
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_test_id("submit-exam").click()
    expect(page.get_by_test_id("score")).to_be_visible()

    from lms.exams.models import ExamAttempt

    attempt_id = int(attempt_url.rstrip("/").rsplit("/", 1)[1])
    with site.app.app_context(), site.app.extensions["lms"].db.transaction() as session:
        assert session.get(ExamAttempt, attempt_id).tab_switches == 2
    assert console.problems() == []
