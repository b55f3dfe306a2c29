"""An employee's learning pages: the catalogue and its filters, a course page, starting and
continuing, lessons (sanitised, recorded, heartbeats), completion (one ledger row, even when two
requests race), the home page's lists, and scope (drafts and other people's runs answer 404)."""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from lms.courses import services
from lms.courses.models import (
    CompletionRule,
    CourseRun,
    CourseStatus,
    LessonAttachment,
    LessonProgress,
    RunStatus,
)
from lms.db import utcnow
from lms.org.models import Post, Role
from lms.training.models import Assignment, LedgerEntry, LedgerSource, TrainingForm
from tests.conftest import TEST_PASSWORD, csrf_token


@pytest.fixture
def app_config():
    """English messages, which the assertions quote."""
    return {"LMS_DEFAULT_LOCALE": "en"}


@pytest.fixture
def post(db):
    """The post 抄表员 (meter reader)."""
    row = Post(name="抄表员")
    db.add(row)
    db.commit()
    return row


@pytest.fixture
def employee(db, create_employee, login, post):
    """A meter reader, signed in."""
    person = create_employee(name="张三")
    person.post_id = post.id
    db.commit()
    login(person)
    return person


def text_of(response) -> str:
    return response.get_data(as_text=True)


def sign_in(client, person) -> None:
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"emp_no": person.emp_no, "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def form_token(client, path: str) -> str:
    return csrf_token(client, path)


def start(client, course) -> str:
    """Start (or continue) the course through its page; the lesson URL it leads to."""
    token = form_token(client, f"/courses/{course.id}")
    response = client.post(f"/courses/{course.id}/start", data={"csrf_token": token})
    assert response.status_code == 302, text_of(response)
    return response.headers["Location"]


def fresh(db) -> None:
    """Forget what ``db`` has loaded (a rollback outside a transaction expires nothing)."""
    db.rollback()
    db.expire_all()


def run_of(db, employee, course) -> CourseRun:
    fresh(db)
    return db.scalars(
        sa.select(CourseRun).where(
            CourseRun.employee_id == employee.id, CourseRun.course_id == course.id
        )
    ).one()


def lesson_ids(course) -> list[int]:
    return [lesson.id for lesson in course.lessons]


def ledger_rows(db) -> list[LedgerEntry]:
    fresh(db)
    return list(db.scalars(sa.select(LedgerEntry)))


def heartbeat_token(page: str) -> str:
    match = re.search(r'data-csrf-token="([^"]+)"', page)
    assert match, "the lesson page carries no heartbeat token"
    return match.group(1)


class Elements(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def lesson_body(page: str) -> str:
    match = re.search(r'<article class="card lesson-body"[^>]*>(.*?)</article>', page, re.S)
    assert match, "no lesson body"
    return match.group(1)


# --- the catalogue ------------------------------------------------------------------------------


def test_catalogue_shows_courses_for_my_post_by_default(db, me, post, create_course):
    """By default the catalogue lists the courses for my post and those for everyone."""
    other_post = Post(name="收费员")
    db.add(other_post)
    db.commit()
    mine = create_course(title="抄表规范")
    theirs = create_course(title="收费规范")
    everyone = create_course(title="职业道德")
    draft = create_course(title="草稿课程", published=False)
    mine.audience = [post]
    theirs.audience = [other_post]
    draft.audience = [post]
    db.commit()

    page = text_of(me.get("/courses"))
    assert "抄表规范" in page and "职业道德" in page
    assert "收费规范" not in page and "草稿课程" not in page

    every = text_of(me.get("/courses?post=all"))
    assert all(t in every for t in ("抄表规范", "收费规范", "职业道德"))
    assert "草稿课程" not in every
    one_post = text_of(me.get(f"/courses?post={other_post.id}"))
    assert "收费规范" in one_post and "抄表规范" not in one_post and "职业道德" not in one_post
    assert everyone.code in every


@pytest.fixture
def me(client, employee):
    """The test client, signed in as ``employee``."""
    return client


def test_catalogue_search_programme_filter_and_status(db, me, employee, create_course):
    """Search finds titles and codes; the programme filter keeps one programme; each course
    shows my status."""
    safety = create_course(title="安全规程", programme="safety")
    ethics = create_course(title="职业理想", programme="professional_ethics")
    done = create_course(title="廉洁从业", programme="integrity")
    with me.application.app_context():
        services.start_run(db, employee, safety)
        run = services.start_run(db, employee, done)
        services.complete_run(db, run)
        db.commit()

    found = text_of(me.get("/courses?q=安全"))
    assert "安全规程" in found and "职业理想" not in found
    by_code = text_of(me.get(f"/courses?q={ethics.code.lower()}"))
    assert "职业理想" in by_code and "安全规程" not in by_code
    programme = text_of(me.get("/courses?programme=professional_ethics"))
    assert "职业理想" in programme and "安全规程" not in programme

    page = text_of(me.get("/courses"))
    status = dict(re.findall(r'<tr data-course="([^"]+)">.*?data-status="(\w+)"', page, re.S))
    assert status == {
        safety.code: "in_progress",
        ethics.code: "not_started",
        done.code: "completed",
    }


def test_catalogue_link_in_navigation(me, employee):
    """Everyone sees "Courses" in the navigation."""
    assert 'href="/courses"' in text_of(me.get("/"))


# --- the course page, starting ------------------------------------------------------------------


def test_course_page_start_and_continue(db, me, employee, create_course):
    """The course page lists the lessons; starting (POST with CSRF) creates one run and opens
    the first lesson; continuing opens the first lesson not done, in the same run."""
    course = create_course(lessons=3, hours="1.5")
    page = text_of(me.get(f"/courses/{course.id}"))
    assert "第1课" in page and "第3课" in page and 'data-testid="start"' in page
    assert ">1.5<" in page

    assert me.post(f"/courses/{course.id}/start").status_code == 400  # no CSRF token
    assert db.scalar(sa.select(sa.func.count()).select_from(CourseRun)) == 0

    first, second, _third = lesson_ids(course)
    location = start(me, course)
    run = run_of(db, employee, course)
    assert location == f"/learn/{run.id}/lessons/{first}"
    assert me.get(location).status_code == 200  # viewed: done

    assert start(me, course) == f"/learn/{run.id}/lessons/{second}"
    assert db.scalar(sa.select(sa.func.count()).select_from(CourseRun)) == 1
    page = text_of(me.get(f"/courses/{course.id}"))
    assert 'data-testid="continue"' in page and "1 of 3 lessons done" in page


def test_drafts_and_retired_courses_are_not_found(db, me, create_course):
    """A draft or retired course answers 404 to an employee, in the catalogue and by URL."""
    draft = create_course(published=False)
    retired = create_course()
    retired.status = CourseStatus.retired
    db.commit()
    for course in (draft, retired):
        assert me.get(f"/courses/{course.id}").status_code == 404
        token = form_token(me, "/courses")
        assert me.post(f"/courses/{course.id}/start", data={"csrf_token": token}).status_code == 404
        assert course.title not in text_of(me.get("/courses?post=all"))
    assert me.get("/courses/987654321").status_code == 404
    assert me.get("/courses/99999999999").status_code == 404


def test_unmet_prerequisites_allow_browsing_but_not_starting(db, me, employee, create_course):
    """A course whose prerequisites I have not completed can be read but not started."""
    basics = create_course(title="基础课程")
    advanced = create_course(title="进阶课程")
    advanced.prerequisites = [basics]
    db.commit()

    page = text_of(me.get(f"/courses/{advanced.id}"))
    assert 'data-testid="prerequisites-unmet"' in page and "基础课程" in page
    assert re.search(r'data-testid="start" disabled', page)
    token = form_token(me, f"/courses/{advanced.id}")
    response = me.post(f"/courses/{advanced.id}/start", data={"csrf_token": token})
    assert response.headers["Location"] == f"/courses/{advanced.id}"
    assert "Complete the prerequisite courses first." in text_of(
        me.get(response.headers["Location"])
    )
    assert db.scalar(sa.select(sa.func.count()).select_from(CourseRun)) == 0

    # An imported record of the prerequisite counts as completing it.
    with me.application.app_context():
        from lms.training.services import add_ledger_entry

        add_ledger_entry(
            db,
            employee_id=employee.id,
            programme=basics.programme,
            course_id=basics.id,
            title=basics.title,
            form=TrainingForm.classroom,
            start_on=date(2025, 3, 1),
            end_on=date(2025, 3, 1),
            hours=basics.hours,
            source=LedgerSource.imported,
            source_ref="file.xlsx:2",
        )
        db.commit()
    assert 'data-testid="prerequisites-unmet"' not in text_of(me.get(f"/courses/{advanced.id}"))
    assert start(me, advanced).startswith("/learn/")


# --- lessons ------------------------------------------------------------------------------------

HOSTILE_LESSON = """# 安全用电

<script>alert("x")</script>

<img src="x.png" onerror="alert(1)">

<a href="#" onclick="steal()">点这里</a>

[恶意链接](javascript:alert(1)) 与 [另一个](JaVaScRiPt:alert(2))

<iframe src="https://evil.example/"></iframe>

正常的 **加粗** 文字与 [合法链接](https://example.com/)。
"""


def test_hostile_lesson_renders_inert(db, me, employee, create_course):
    """A lesson with script, event-handler attributes and javascript: links renders inert:
    no script element, no on* attribute, no javascript: URL, no iframe."""
    course = create_course(lessons=1)
    course.lessons[0].body = HOSTILE_LESSON
    course.lessons[0].video_url = "javascript:alert(3)"
    db.commit()
    with me.application.app_context():
        services.publish(db, course, actor=None)
        db.commit()

    page = text_of(me.get(start(me, course)))
    body = lesson_body(page)
    elements = Elements()
    elements.feed(body)
    tags = [tag for tag, _attrs in elements.tags]
    assert "script" not in tags and "iframe" not in tags and "img" not in tags
    for tag, attrs in elements.tags:
        for name, value in attrs.items():
            assert not name.lower().startswith("on"), (tag, name)
            assert "javascript:" not in (value or "").lower(), (tag, name, value)
    assert "<strong>加粗</strong>" in body
    assert 'href="https://example.com/"' in body and 'rel="noopener noreferrer"' in body
    assert "&lt;script&gt;" in body  # shown as text, not run
    assert 'data-testid="video-link"' not in page  # only https video links are shown
    # The whole page has no script but the LMS's own file.
    assert re.findall(r"<script[^>]*>", page) == [re.search(r"<script[^>]*>", page).group(0)]
    assert "lms.js" in re.search(r"<script[^>]*>", page).group(0)


def test_video_link_https_only_opens_in_new_tab(db, me, create_course):
    """An https video link is shown as a link that opens in a new tab; no iframe."""
    course = create_course(lessons=2)
    course.lessons[0].video_url = "https://video.example.cn/lesson1.mp4"
    course.lessons[1].video_url = "http://video.example.cn/lesson2.mp4"
    db.commit()
    with me.application.app_context():
        services.publish(db, course, actor=None)
        db.commit()
    first, second = lesson_ids(course)
    location = start(me, course)
    page = text_of(me.get(location))
    link = re.search(r'<a [^>]*data-testid="video-link"[^>]*>', page).group(0)
    assert 'href="https://video.example.cn/lesson1.mp4"' in link
    assert 'target="_blank"' in link and 'rel="noopener noreferrer"' in link
    assert "<iframe" not in page
    assert 'data-testid="next-lesson"' in page
    assert location.endswith(f"/lessons/{first}")
    page = text_of(me.get(location.rsplit("/", 1)[0] + f"/{second}"))
    assert 'data-testid="video-link"' not in page and 'data-testid="previous-lesson"' in page


def test_attachments_are_listed(app, db, me, create_course):
    """A lesson's attachments are listed by name, linked to the download page when the app
    has one."""
    course = create_course(lessons=1)
    attachment = LessonAttachment(
        filename="安全规程.pdf", content_type="application/pdf", size=2048, sha256="0" * 64
    )
    course.lessons[0].attachments = [attachment]
    db.commit()
    with me.application.app_context():
        services.publish(db, course, actor=None)
        db.commit()
    page = text_of(me.get(start(me, course)))
    listed = re.search(r'<ul data-testid="attachments">(.*?)</ul>', page, re.S).group(1)
    assert "安全规程.pdf" in listed and "2.0 KB" in listed
    if "lms.course_files.attachment" in app.view_functions:
        assert f'href="/courses/{course.id}/attachments/{attachment.id}"' in listed


def test_lesson_page_carries_heartbeat_settings(app, db, me, create_course):
    """The lesson page's data attributes name the heartbeat URL, interval and CSRF token (no
    inline script)."""
    app.config["LMS_HEARTBEAT_SECONDS"] = 5
    course = create_course(lessons=1)
    location = start(me, course)
    page = text_of(me.get(location))
    assert f'data-heartbeat-url="{location}/beat"' in page
    assert 'data-heartbeat-seconds="5"' in page
    assert heartbeat_token(page)
    app.config["LMS_HEARTBEAT_SECONDS"] = 600  # more than one beat may credit
    assert 'data-heartbeat-seconds="30"' in text_of(me.get(location))


def test_viewed_rule_opening_a_lesson_is_enough(db, me, employee, create_course):
    """Under the viewed rule a lesson is done once opened; the course page ticks it."""
    course = create_course(lessons=2)
    first, second = lesson_ids(course)
    me.get(start(me, course))
    run = run_of(db, employee, course)
    with me.application.app_context():
        assert services.lessons_done(db, run) == {first}
    page = text_of(me.get(f"/courses/{course.id}"))
    assert re.search(rf'<li class="done" data-lesson="{first}">', page)
    assert re.search(rf'<li class="todo" data-lesson="{second}">', page)


def test_heartbeat_credits_time_and_marks_done(db, me, employee, create_course):
    """Under the minimum-time rule a heartbeat credits the time since the previous one (capped)
    and marks the lesson done once its minimum is reached; the JSON says so."""
    course = create_course(lessons=2, rule=CompletionRule.min_time, min_seconds=40)
    first = lesson_ids(course)[0]
    location = start(me, course)
    page = text_of(me.get(location))
    token = heartbeat_token(page)
    run = run_of(db, employee, course)

    def pretend_last_beat(seconds_ago: int) -> None:
        db.execute(
            sa.update(LessonProgress)
            .where(LessonProgress.run_id == run.id, LessonProgress.lesson_id == first)
            .values(last_beat_at=utcnow() - timedelta(seconds=seconds_ago))
        )
        db.commit()

    pretend_last_beat(20)
    beat = me.post(f"{location}/beat", json={}, headers={"X-CSRFToken": token})
    assert beat.status_code == 200
    assert beat.get_json() == {
        "seconds": 20,
        "done": False,
        "all_done": False,
        "lessons_done": 0,
        "lessons_total": 2,
    }
    # The tab was hidden for ten minutes and beat no more: the next beat earns only the cap.
    pretend_last_beat(600)
    state = me.post(f"{location}/beat", json={}, headers={"X-CSRFToken": token}).get_json()
    assert state["seconds"] == 20 + services.MAX_BEAT_SECONDS and state["done"] is True
    assert state["lessons_done"] == 1 and state["all_done"] is False

    # Becoming visible again restarts the clock without credit.
    pretend_last_beat(25)
    state = me.post(
        f"{location}/beat", json={"resume": True}, headers={"X-CSRFToken": token}
    ).get_json()
    assert state["seconds"] == 50
    assert run_of(db, employee, course).seconds == 50


def test_heartbeat_needs_csrf_and_my_own_run(app, db, me, employee, create_employee, create_course):
    """A heartbeat without the CSRF token is refused (400); someone else's run, or a lesson not
    in the run, answers 404."""
    course = create_course(lessons=1, rule=CompletionRule.min_time, min_seconds=60)
    location = start(me, course)
    token = heartbeat_token(text_of(me.get(location)))
    assert me.post(f"{location}/beat", json={}).status_code == 400
    assert (
        me.post(f"{location}/beat", json={}, headers={"X-CSRFToken": "forged"}).status_code == 400
    )
    run = run_of(db, employee, course)
    assert (
        me.post(f"/learn/{run.id}/lessons/987654/beat", headers={"X-CSRFToken": token}).status_code
        == 404
    )

    other = create_employee(name="李四")
    client = app.test_client()
    sign_in(client, other)
    other_token = form_token(client, "/courses")
    for response in (
        client.get(location),
        client.post(f"{location}/beat", json={}, headers={"X-CSRFToken": other_token}),
        client.post(f"/learn/{run.id}/complete", data={"csrf_token": other_token}),
    ):
        assert response.status_code == 404
    assert "张三" not in text_of(client.get(location))
    assert run_of(db, employee, course).seconds == 0


# --- completion ---------------------------------------------------------------------------------


def test_completion_through_the_page_writes_one_row(db, me, employee, create_course):
    """Once every lesson is done the course page offers completion; completing writes one
    ledger row and completes the assignment; a second POST writes nothing."""
    course = create_course(lessons=2, hours="2.5", programme="professional_ethics")
    db.add(Assignment(employee_id=employee.id, course_id=course.id, due_on=date(2099, 1, 31)))
    db.commit()
    second = lesson_ids(course)[1]
    location = start(me, course)
    run = run_of(db, employee, course)
    assert 'data-testid="complete"' not in text_of(me.get(f"/courses/{course.id}"))
    token = form_token(me, f"/courses/{course.id}")
    refused = me.post(f"/learn/{run.id}/complete", data={"csrf_token": token})
    assert refused.status_code == 302 and ledger_rows(db) == []
    me.get(location)
    page = text_of(me.get(f"/learn/{run.id}/lessons/{second}"))
    assert 'data-testid="all-done"' in page and 'data-testid="all-done" hidden' not in page

    page = text_of(me.get(f"/courses/{course.id}"))
    assert 'data-testid="complete"' in page
    assert me.post(f"/learn/{run.id}/complete").status_code == 400  # no CSRF token
    response = me.post(f"/learn/{run.id}/complete", data={"csrf_token": token})
    assert response.headers["Location"] == f"/courses/{course.id}"
    page = text_of(me.get(response.headers["Location"]))
    assert "Course completed: 2.5 hours recorded in your training file." in page
    assert 'data-testid="course-completed"' in page and 'data-testid="start"' not in page

    again = me.post(f"/learn/{run.id}/complete", data={"csrf_token": token})
    assert again.status_code == 302
    (row,) = ledger_rows(db)
    assert (row.employee_id, row.course_id, row.programme, str(row.hours)) == (
        employee.id,
        course.id,
        "professional_ethics",
        "2.5",
    )
    assert row.form is TrainingForm.online and row.passed and row.source_ref == f"run:{run.id}"
    assert db.scalar(sa.select(Assignment.completed_at)) is not None
    assert run_of(db, employee, course).status is RunStatus.completed


def test_minimum_time_rule_blocks_completion_until_studied(db, me, employee, create_course):
    """Under the minimum-time rule, opening the lessons is not enough to complete."""
    course = create_course(lessons=1, rule=CompletionRule.min_time, min_seconds=300)
    location = start(me, course)
    me.get(location)
    run = run_of(db, employee, course)
    assert 'data-testid="complete"' not in text_of(me.get(f"/courses/{course.id}"))
    token = form_token(me, f"/courses/{course.id}")
    response = me.post(f"/learn/{run.id}/complete", data={"csrf_token": token})
    page = text_of(me.get(response.headers["Location"]))
    assert "Study every lesson before completing the course." in page
    assert ledger_rows(db) == []


def test_course_with_an_exam_is_not_completed_here(db, me, employee, create_course):
    """A course version with an exam says so and does not complete from the course page (the
    exam completes it)."""
    from lms.courses.models import CourseVersion

    course = create_course(lessons=1)
    version = db.scalars(sa.select(CourseVersion).where(CourseVersion.course_id == course.id)).one()
    version.snapshot = {**version.snapshot, "exam": "paper-1"}
    db.commit()
    me.get(start(me, course))
    run = run_of(db, employee, course)
    page = text_of(me.get(f"/courses/{course.id}"))
    assert 'data-testid="exam-required"' in page and 'data-testid="complete"' not in page
    token = form_token(me, f"/courses/{course.id}")
    response = me.post(f"/learn/{run.id}/complete", data={"csrf_token": token})
    assert "completed by passing its exam" in text_of(me.get(response.headers["Location"]))
    assert ledger_rows(db) == []


def test_banks_alone_are_not_an_exam(db, me, employee, create_course):
    """A course naming the banks its future exam draws on completes on its lessons until it has
    an exam."""
    course = create_course(lessons=1)
    course.bank_codes = ["service-standards"]
    db.commit()
    with me.application.app_context():
        services.publish(db, course, actor=None)
        db.commit()
    me.get(start(me, course))
    run = run_of(db, employee, course)
    token = form_token(me, f"/courses/{course.id}")
    me.post(f"/learn/{run.id}/complete", data={"csrf_token": token})
    assert len(ledger_rows(db)) == 1


def test_two_simultaneous_completion_requests_give_one_row(app, db, employee, create_course, me):
    """Two completion POSTs for one run at the same moment (two signed-in browsers of the same
    employee) give one ledger row, on both databases."""
    course = create_course(lessons=1)
    me.get(start(me, course))
    run = run_of(db, employee, course)
    clients = [me, app.test_client()]
    sign_in(clients[1], employee)
    tokens = [form_token(c, f"/courses/{course.id}") for c in clients]
    barrier = threading.Barrier(2)
    statuses: list[object] = []

    def complete(client, token) -> None:
        try:
            barrier.wait(timeout=10)
            response = client.post(f"/learn/{run.id}/complete", data={"csrf_token": token})
            statuses.append(response.status_code)
        except Exception as exc:  # reported by the assertion below
            statuses.append(exc)

    threads = [
        threading.Thread(target=complete, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [302, 302]
    assert len(ledger_rows(db)) == 1


def test_completed_course_lessons_are_reviewed_without_recording(db, me, employee, create_course):
    """After completion the lessons can be read again; the page sends no heartbeats and a
    heartbeat for the completed run is refused."""
    course = create_course(lessons=1)
    location = start(me, course)
    token = heartbeat_token(text_of(me.get(location)))
    with me.application.app_context():
        services.complete_run(db, run_of(db, employee, course))
        db.commit()
    page = text_of(me.get(location))
    assert "data-heartbeat-url" not in page and "reviewing its lessons" in page
    assert me.post(f"{location}/beat", json={}, headers={"X-CSRFToken": token}).status_code == 409


def test_completed_course_is_started_again_only_when_assigned_again(
    db, me, employee, create_course
):
    """A completed course offers no restart, unless it has been assigned again."""
    course = create_course(lessons=1)
    me.get(start(me, course))
    with me.application.app_context():
        services.complete_run(db, run_of(db, employee, course))
        db.commit()
    page = text_of(me.get(f"/courses/{course.id}"))
    assert 'data-testid="start"' not in page
    assert start(me, course) == f"/courses/{course.id}"
    assert db.scalar(sa.select(sa.func.count()).select_from(CourseRun)) == 1

    db.add(Assignment(employee_id=employee.id, course_id=course.id, due_on=date(2099, 6, 30)))
    db.commit()
    assert "Study again" in text_of(me.get(f"/courses/{course.id}"))
    assert start(me, course).startswith("/learn/")
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(CourseRun)) == 2


# --- the home page ------------------------------------------------------------------------------


def section(page: str, testid: str) -> str:
    match = re.search(rf'<section class="card" data-testid="{testid}">(.*?)</section>', page, re.S)
    return match.group(1) if match else ""


def test_home_lists_assigned_in_progress_and_for_my_post(db, me, employee, post, create_course):
    """The home page lists my assignments (due dates, overdue marked), my courses in progress,
    and the courses for my post I have not completed."""
    overdue = create_course(title="逾期课程")
    due_later = create_course(title="待学课程")
    studying = create_course(title="学习中课程")
    for_post = create_course(title="岗位课程")
    finished = create_course(title="已完成课程")
    other_post = Post(name="装表接电工")
    db.add(other_post)
    elsewhere = create_course(title="别的岗位课程")
    elsewhere.audience = [other_post]
    for_post.audience = [post]
    yesterday = date.today() - timedelta(days=2)
    db.add_all(
        [
            Assignment(employee_id=employee.id, course_id=overdue.id, due_on=yesterday),
            Assignment(employee_id=employee.id, course_id=due_later.id, due_on=date(2099, 1, 1)),
        ]
    )
    db.commit()
    with me.application.app_context():
        services.start_run(db, employee, studying)
        services.complete_run(db, services.start_run(db, employee, finished))
        db.commit()

    page = text_of(me.get("/"))
    assigned = section(page, "home-assigned")
    assert assigned.index("逾期课程") < assigned.index("待学课程")
    assert re.search(r"逾期课程.*?Overdue.*?待学课程", assigned, re.S)
    assert "Due 2099-01-01" in assigned and assigned.count("Overdue") == 1
    assert "学习中课程" in section(page, "home-in-progress")
    for_me = section(page, "home-for-my-post")
    assert "岗位课程" in for_me
    assert all(t not in for_me for t in ("已完成课程", "别的岗位课程", "学习中课程", "逾期课程"))


def test_manager_home_keeps_the_unit_summary(db, create_employee, login, client):
    """A manager's home page still shows their units, beside their own learning."""
    manager = create_employee(role=Role.manager)
    login(manager)
    page = text_of(client.get("/"))
    assert 'data-testid="home-assigned"' in page and "My units" in page


def test_a_retired_course_lets_started_runs_carry_on(
    app, db, client, login, create_employee, create_course
):
    """Retiring a course hides it from those who never started it; a started run carries on."""
    from lms.courses.models import CourseStatus

    learner, other = create_employee(), create_employee()
    course = create_course(lessons=1)
    login(learner)
    token = csrf_token(client, f"/courses/{course.id}")
    started = client.post(f"/courses/{course.id}/start", data={"csrf_token": token})
    assert started.status_code == 302 and "/learn/" in started.headers["Location"]
    db.get(type(course), course.id).status = CourseStatus.retired
    db.commit()
    assert client.get(started.headers["Location"]).status_code == 200
    assert client.get(f"/courses/{course.id}").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(other)
    assert client.get(f"/courses/{course.id}").status_code == 404
