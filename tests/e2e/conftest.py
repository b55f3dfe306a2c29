"""Browser tests: the real app on a free loopback port, driven through Playwright by Debian's
Chromium (``/usr/bin/chromium``; ``LMS_CHROMIUM`` to use another build).

One live server and one browser per test session; a fresh browser context (cookies, storage) per
test. The server runs the standalone app on a SQLite file holding a small demo bureau, built by
the same code as ``lms demo``. These tests run on SQLite only: they use none of the top-level
``app``/``database_url`` fixtures that run a test on each database.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from .browser import (
    CHROMIUM_ARGS,
    DEMO_EMPLOYEES,
    ROLES,
    Account,
    ConsoleLog,
    Site,
    chromium_executable,
)


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _build_app(base: Path) -> Any:
    import lms

    # The instance folder is fixed when the app is built: keep it away from the real instance/.
    with _environment(LMS_INSTANCE_PATH=str(base / "instance")):
        return lms.create_app(
            {
                "SECRET_KEY": "e2e-secret",
                "LMS_DATABASE_URL": "sqlite:///" + str(base / "lms.db"),
                "LMS_DATA_DIR": str(base / "data"),
                "LMS_SESSION_COOKIE_SECURE": False,  # plain HTTP on loopback
                "SESSION_COOKIE_SECURE": False,
                "LMS_ARGON2_TIME_COST": 1,
                "LMS_ARGON2_MEMORY_KIB": 1024,
                # Lesson pages beat every second, so that studying a lesson takes seconds.
                "LMS_HEARTBEAT_SECONDS": 1,
            }
        )


#: Courses the site adds to the demo bureau for the learning tests (the shipped catalogue's
#: courses end in exams, which a browser test of the lessons alone cannot pass).
LEARNING_COURSE = {"code": "E2E-LEARN", "title": "安全用电常识（测试课程）", "hours": "1.5"}
HIDDEN_TAB_COURSE = {"code": "E2E-HIDDEN", "title": "供电服务承诺（测试课程）", "hours": "1"}


def _add_learning_courses(session: Any, employee_emp_no: str, other_id: int) -> None:
    """Two small published courses under the minimum-time rule: the first, with two lessons of
    two seconds each, assigned to ``employee_emp_no`` and due in a week, and also started by the
    employee ``other_id`` (whose run the first must not reach); the second with a long lesson
    (for watching heartbeats stop while the tab is hidden)."""
    from datetime import date, timedelta
    from decimal import Decimal

    from lms.courses import services
    from lms.courses.models import CompletionRule, Course, Lesson
    from lms.org.models import Employee
    from lms.training.models import Assignment

    courses = []
    for spec, lessons in (
        (LEARNING_COURSE, [("用电安全的基本知识", 2), ("触电急救", 2)]),
        (HIDDEN_TAB_COURSE, [("十项承诺", 600)]),
    ):
        course = Course(
            code=spec["code"],
            title=spec["title"],
            programme="safety",
            hours=Decimal(spec["hours"]),
            summary="浏览器测试用的小课程。",
            completion_rule=CompletionRule.min_time,
        )
        course.lessons = [
            Lesson(position=i, title=title, body=f"## {title}\n\n本课的**要点**。", min_seconds=s)
            for i, (title, s) in enumerate(lessons, start=1)
        ]
        session.add(course)
        session.flush()
        services.publish(session, course, actor=None)
        courses.append(course)
    employee = session.scalar(sa.select(Employee).where(Employee.emp_no == employee_emp_no))
    session.add(
        Assignment(
            employee_id=employee.id,
            course_id=courses[0].id,
            due_on=date.today() + timedelta(days=7),
        )
    )
    other = session.get(Employee, other_id)
    run = services.start_run(session, other, courses[0])
    services.view_lesson(session, run, courses[0].lessons[0].id)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The demo bureau served by the real app on a free port of 127.0.0.1."""
    from werkzeug.serving import make_server

    from lms.demo import build_demo
    from lms.migrate import upgrade
    from lms.org.models import Employee, Role

    app = _build_app(tmp_path_factory.mktemp("e2e"))
    upgrade(app)
    database = app.extensions["lms"].db
    with app.app_context(), database.transaction() as session:
        logins = build_demo(session, seed=1, employees=DEMO_EMPLOYEES)
    by_role: dict[str, Any] = {}
    for login in logins:  # the first sign-in of each role
        by_role.setdefault(str(getattr(login.role, "value", login.role)), login)
    missing = set(ROLES) - set(by_role)
    assert not missing, f"the demo has no sign-in for {sorted(missing)}"
    with database.transaction() as session:
        ids = dict(
            session.execute(
                sa.select(Employee.emp_no, Employee.id).where(
                    Employee.emp_no.in_([login.emp_no for login in logins])
                )
            ).all()
        )
        own_unit = session.scalar(
            sa.select(Employee.unit_id).where(Employee.emp_no == by_role["employee"].emp_no)
        )
        other = session.execute(
            sa.select(Employee.id, Employee.name)
            .where(Employee.role == Role.employee, Employee.id.not_in(ids.values()))
            .order_by(Employee.unit_id == own_unit, Employee.id)  # another unit if there is one
            .limit(1)
        ).one()
    with database.transaction() as session:
        _add_learning_courses(session, by_role["employee"].emp_no, other.id)
    accounts = {
        role: Account(
            role=role,
            emp_no=login.emp_no,
            password=login.password,
            name=login.name,
            unit=login.unit,
            id=ids[login.emp_no],
        )
        for role, login in by_role.items()
    }

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="lms-e2e-server", daemon=True)
    thread.start()
    try:
        yield Site(
            url=f"http://127.0.0.1:{server.server_port}",
            accounts=accounts,
            other_employee=(other.id, other.name),
            app=app,
        )
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["lms"].job_runner.shutdown()
        database.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session."""
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def context_options() -> dict[str, Any]:
    """Options for this test's browser context (override in a test to change the viewport)."""
    return {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def context(browser: Any, site: Site, context_options: dict[str, Any]) -> Iterator[Any]:
    """A fresh browser context (no cookies) in Chinese, with relative URLs on the live server."""
    options = {"locale": "zh-CN", "base_url": site.url, **context_options}
    ctx = browser.new_context(**options)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(context: Any, console: ConsoleLog) -> Iterator[Any]:
    """A page whose console errors, warnings and uncaught exceptions land in ``console``."""
    tab = context.new_page()

    def on_console(message: Any) -> None:
        if message.type in ("error", "warning"):
            console.record(message.type, message.text, (message.location or {}).get("url", ""))

    tab.on("console", on_console)
    tab.on("pageerror", lambda error: console.record("pageerror", str(error)))
    yield tab
    tab.close()
