"""Learning in a real browser: an employee studies an assigned course lesson by lesson (study
time credited from the page's heartbeats), completes it, and finds it on their training file;
heartbeats stop while the tab is hidden; other people's files and runs answer 404."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from .browser import sign_in
from .conftest import HIDDEN_TAB_COURSE, LEARNING_COURSE

pytestmark = pytest.mark.e2e


def _other_lesson_url(site) -> str:
    """The first lesson of the run the site's other employee started on the learning course."""
    from lms.courses.models import Course, CourseRun, LessonProgress

    with site.app.extensions["lms"].db.transaction() as session:
        run_id, lesson_id = session.execute(
            sa.select(CourseRun.id, LessonProgress.lesson_id)
            .join(Course, Course.id == CourseRun.course_id)
            .join(LessonProgress, LessonProgress.run_id == CourseRun.id)
            .where(
                Course.code == LEARNING_COURSE["code"],
                CourseRun.employee_id == site.other_employee[0],
            )
        ).one()
    return f"/learn/{run_id}/lessons/{lesson_id}"


def set_visibility(page, state: str) -> None:
    """Pretend the tab became ``hidden`` or ``visible`` (headless pages are always visible)."""
    page.evaluate(
        """(state) => {
          const getter = {configurable: true, get: () => state};
          Object.defineProperty(document, "visibilityState", getter);
          document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def _total_hours(page) -> Decimal:
    """The total hours on the signed-in employee's training file."""
    if not page.url.endswith("/me/record"):
        page.goto("/me/record")
    return Decimal(page.get_by_test_id("total-hours").inner_text().strip())


def _study(page) -> None:
    """Stay on the lesson page until its heartbeats have made the lesson done."""
    status = page.get_by_test_id("study-status")
    expect(status.locator("[data-lesson-state]")).to_have_attribute("data-done", "true")
    assert re.search(r"\d+:\d\d", status.locator("[data-lesson-time]").inner_text())


def test_employee_studies_and_completes_an_assigned_course(page, site, console):
    """Sign in; the home page lists the assigned course with its due date; start it, study both
    lessons (each done once its heartbeats reach its minimum time), complete it; the training
    file shows the row and its hours. Nobody else's file or run opens by URL."""
    account = site.accounts["employee"]
    title = LEARNING_COURSE["title"]
    sign_in(page, account)
    hours_before = _total_hours(page)
    page.goto("/")

    assigned = page.get_by_test_id("home-assigned")
    expect(assigned).to_contain_text(title)
    expect(assigned.get_by_test_id("due")).to_contain_text(re.compile(r"\d{4}-\d\d-\d\d"))
    assigned.get_by_role("link", name=title).click()

    expect(page.get_by_test_id("course-title")).to_have_text(title)
    expect(page.get_by_test_id("lessons").locator("li")).to_have_count(2)
    with page.expect_navigation():
        page.get_by_test_id("start").click()

    expect(page.get_by_test_id("lesson-title")).to_have_text("用电安全的基本知识")
    expect(page.get_by_test_id("lesson-body").locator("strong")).to_have_text("要点")
    _study(page)
    expect(page.get_by_test_id("all-done")).to_be_hidden()
    page.get_by_test_id("next-lesson").click()

    expect(page.get_by_test_id("lesson-title")).to_have_text("触电急救")
    _study(page)
    all_done = page.get_by_test_id("all-done")
    expect(all_done).to_be_visible()  # shown by the heartbeat's answer, without a reload
    all_done.get_by_role("link").click()

    with page.expect_navigation():
        page.get_by_test_id("complete").click()
    expect(page.get_by_test_id("course-completed")).to_be_visible()
    expect(page.get_by_test_id("complete")).to_have_count(0)

    page.goto("/")
    expect(page.get_by_test_id("home-assigned")).not_to_contain_text(title)
    with page.expect_navigation():
        page.get_by_test_id("home-record").click()  # the training file (一人一档)
    assert page.url == f"{site.url}/me/record"
    row = page.get_by_test_id("record-rows").locator("tr", has_text=title)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(LEARNING_COURSE["hours"])
    assert _total_hours(page) == hours_before + Decimal(LEARNING_COURSE["hours"])

    other_id, other_name = site.other_employee
    for path in (
        f"/employees/{other_id}/record",
        f"/employees/{other_id}/record.pdf",
        _other_lesson_url(site),
    ):
        response = page.goto(path)
        assert response.status == 404, path
        assert other_name not in page.locator("main").inner_text()

    assert console.problems(allow=lambda text: "status of 404" in text) == []


def test_heartbeats_stop_while_the_tab_is_hidden(page, site, console):
    """The lesson page beats while visible, sends one last beat when hidden and then none, and
    on becoming visible again resumes (restarting the server's clock first)."""
    sign_in(page, site.accounts["employee"])
    page.goto("/courses?post=all")
    page.get_by_role("link", name=HIDDEN_TAB_COURSE["title"]).click()
    with page.expect_navigation():
        page.get_by_test_id("start").click()
    expect(page.get_by_test_id("lesson-title")).to_have_text("十项承诺")

    beats: list[dict] = []
    page.on(
        "request",
        lambda request: (
            beats.append(json.loads(request.post_data or "{}"))
            if request.url.endswith("/beat")
            else None
        ),
    )
    page.wait_for_timeout(2600)
    assert len(beats) >= 2 and not any(b.get("resume") for b in beats)

    set_visibility(page, "hidden")
    page.wait_for_timeout(300)
    hidden_at = len(beats)
    page.wait_for_timeout(3000)
    assert len(beats) == hidden_at, "the page beat while hidden"

    set_visibility(page, "visible")
    page.wait_for_timeout(2600)
    after = beats[hidden_at:]
    assert after and after[0] == {"resume": True}
    assert len(after) >= 2 and not any(b.get("resume") for b in after[1:])
    assert console.problems() == []
