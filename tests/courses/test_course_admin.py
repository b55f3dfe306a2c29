"""HR's catalogue pages and services: courses, lessons, versions, retiring, access, sanitising."""

from __future__ import annotations

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.courses import admin, services
from lms.courses.models import Course, CourseStatus, CourseVersion, Lesson
from lms.org.models import Role
from lms.questions.models import QuestionBank
from tests.conftest import csrf_token


@pytest.fixture
def app_config():
    """English messages, which the assertions quote."""
    return {"LMS_DEFAULT_LOCALE": "en"}


@pytest.fixture
def hr(create_employee, login):
    """An HR employee, signed in."""
    person = create_employee(role=Role.hr, name="人事甲")
    login(person)
    return person


def main(response) -> str:
    html = response.get_data(as_text=True)
    return html.split("<main", 1)[1].split("</main>", 1)[0]


def token(client) -> str:
    return csrf_token(client, "/admin/courses/new")


def course_data(**changes) -> dict:
    data = {
        "code": "SVC-01",
        "title": "服务规范与承诺",
        "programme": "service_standards",
        "hours": "2.0",
        "completion_rule": "viewed",
        "summary": "",
        "audience": "",
        "prerequisites": "",
        "bank_codes": "",
        "certificate_design": "",
    }
    return {**data, **changes}


def create(client, **changes):
    return client.post(
        "/admin/courses/new", data={"csrf_token": token(client), **course_data(**changes)}
    )


def add_lesson(client, course_id: int, title: str, body: str = "正文", **extra):
    data = {
        "csrf_token": token(client),
        "title": title,
        "body": body,
        "video_url": "",
        "min_seconds": "0",
        "action": "save",
        **extra,
    }
    return client.post(f"/admin/courses/{course_id}/lessons/new", data=data)


def reload(db) -> None:
    """Forget what the test's session read: the next access reads what the requests wrote."""
    db.rollback()
    db.expire_all()


def course_by_code(db, code: str) -> Course:
    reload(db)
    return db.scalars(sa.select(Course).where(Course.code == code)).one()


def post(client, url: str, **data):
    return client.post(url, data={"csrf_token": token(client), **data})


# Create, edit, publish, versions --------------------------------------------------------------


def test_create_edit_publish_two_versions(app, hr, client, db, create_employee):
    """Create, publish v1, edit a lesson, publish v2: v1's snapshot and a run on v1 stay."""
    response = create(client, audience="营业窗口、抄表")
    assert response.status_code == 302
    course = course_by_code(db, "SVC-01")
    assert course.status is CourseStatus.draft and [p.name for p in course.audience] == [
        "抄表",
        "营业窗口",
    ]
    assert add_lesson(client, course.id, "第一课", "旧的正文").status_code == 302
    assert add_lesson(client, course.id, "第二课").status_code == 302
    page = main(client.get(f"/admin/courses/{course.id}/publish"))
    assert "First publication" in page and "第一课" in page
    assert post(client, f"/admin/courses/{course.id}/publish").status_code == 302
    course = course_by_code(db, "SVC-01")
    assert (course.status, course.current_version) == (CourseStatus.published, 1)

    learner = create_employee()
    with app.app_context():
        run = services.start_run(db, learner, course)
        db.commit()
    lesson = course.lessons[0]
    url = f"/admin/courses/{course.id}/lessons/{lesson.id}"
    edited = post(
        client,
        url,
        title="第一课",
        body="新的正文",
        video_url="https://v.example.cn/1",
        min_seconds="0",
        action="save",
    )
    assert edited.status_code == 302
    overview = main(client.get(f"/admin/courses/{course.id}"))
    assert "2 changes are not published yet." in overview
    changes = main(client.get(f"/admin/courses/{course.id}/publish"))
    assert "Lesson text changed: 第一课" in changes and "Video link changed: 第一课" in changes
    assert post(client, f"/admin/courses/{course.id}/publish").status_code == 302

    reload(db)
    v1, v2 = db.scalars(sa.select(CourseVersion).order_by(CourseVersion.number)).all()
    assert v1.snapshot["lessons"][0]["body"] == "旧的正文"
    assert v2.snapshot["lessons"][0]["body"] == "新的正文" and v2.published_by_id == hr.id
    assert run.version == 1
    with app.app_context():
        services.view_lesson(db, run, lesson.id)
        assert (
            services.version_of(db, course.id, run.version).snapshot["lessons"][0]["body"]
            == "旧的正文"
        )
    history = main(client.get(f"/admin/courses/{course.id}"))
    assert "人事甲" in history and "第一课、第二课" in history
    old = main(client.get(f"/admin/courses/{course.id}/versions/1"))
    assert "旧的正文" in old and "新的正文" not in old
    assert client.get(f"/admin/courses/{course.id}/versions/3").status_code == 404


def test_publish_refused_without_lessons_or_changes(app, hr, client, db):
    """No lessons, or nothing new since the last version: publishing is refused with a reason."""
    create(client)
    course = course_by_code(db, "SVC-01")
    page = main(client.get(f"/admin/courses/{course.id}/publish"))
    assert "A course without lessons cannot be published." in page
    refused = client.post(
        f"/admin/courses/{course.id}/publish",
        data={"csrf_token": token(client)},
        follow_redirects=True,
    )
    assert "A course without lessons cannot be published." in main(refused)
    add_lesson(client, course.id, "第一课")
    post(client, f"/admin/courses/{course.id}/publish")
    again = client.post(
        f"/admin/courses/{course.id}/publish",
        data={"csrf_token": token(client)},
        follow_redirects=True,
    )
    assert "Nothing has changed since version 1." in main(again)
    assert course_by_code(db, "SVC-01").current_version == 1


def test_lessons_reorder_and_delete_with_confirmation(hr, client, db):
    """Up/down buttons swap lessons; delete asks first (GET), then deletes (POST)."""
    create(client)
    course = course_by_code(db, "SVC-01")
    for title in ("甲", "乙", "丙"):
        add_lesson(client, course.id, title)
    lessons = course_by_code(db, "SVC-01").lessons
    post(client, f"/admin/courses/{course.id}/lessons/{lessons[2].id}/move", direction="up")
    post(client, f"/admin/courses/{course.id}/lessons/{lessons[0].id}/move", direction="up")
    assert [x.title for x in course_by_code(db, "SVC-01").lessons] == ["甲", "丙", "乙"]
    confirm = client.get(f"/admin/courses/{course.id}/lessons/{lessons[0].id}/delete")
    assert confirm.status_code == 200 and "Delete the lesson 甲?" in main(confirm)
    assert len(course_by_code(db, "SVC-01").lessons) == 3
    post(client, f"/admin/courses/{course.id}/lessons/{lessons[0].id}/delete")
    kept = course_by_code(db, "SVC-01").lessons
    assert [(x.title, x.position) for x in kept] == [("丙", 1), ("乙", 2)]


def test_retire_reinstate_and_delete_draft(app, hr, client, db, create_course):
    """Retire hides a published course (no new runs); reinstate brings it back; only a draft
    that was never published may be deleted."""
    course = create_course()
    post(client, f"/admin/courses/{course.id}/retire")
    reload(db)
    assert course.status is CourseStatus.retired
    assert "Return to the catalogue" in main(client.get(f"/admin/courses/{course.id}"))
    post(client, f"/admin/courses/{course.id}/reinstate")
    reload(db)
    assert course.status is CourseStatus.published
    refused = client.post(
        f"/admin/courses/{course.id}/delete",
        data={"csrf_token": token(client)},
        follow_redirects=True,
    )
    assert "cannot be deleted: retire it instead" in main(refused)
    draft_id = create_course(published=False).id
    post(client, f"/admin/courses/{draft_id}/delete")
    reload(db)
    assert db.get(Course, draft_id) is None and course.status is CourseStatus.published
    actions = set(db.scalars(sa.select(AuditEntry.action)))
    assert {"course.retire", "course.reinstate", "course.delete"} <= actions


def test_every_change_is_audited(app, hr, client, db):
    """Creating, editing, adding, moving, publishing: each leaves an audit entry by its actor."""
    create(client)
    course = course_by_code(db, "SVC-01")
    add_lesson(client, course.id, "甲")
    add_lesson(client, course.id, "乙")
    post(client, f"/admin/courses/{course.id}/edit", **course_data(title="新标题"))
    lesson = course_by_code(db, "SVC-01").lessons[1]
    post(client, f"/admin/courses/{course.id}/lessons/{lesson.id}/move", direction="up")
    post(client, f"/admin/courses/{course.id}/publish")
    reload(db)
    entries = db.scalars(sa.select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == [
        "course.create",
        "lesson.create",
        "lesson.create",
        "course.update",
        "lesson.move",
        "course.publish",
    ]
    assert {e.actor_id for e in entries} == {hr.id}
    update = entries[3]
    assert update.before == {"title": "服务规范与承诺"} and update.after == {"title": "新标题"}


def test_list_filters_by_programme_status_and_text(hr, client, create_course):
    """The list shows every status and filters by programme, status and code or title."""
    create_course(title="安规年度", programme="safety")
    create_course(title="服务草稿", published=False)
    everything = main(client.get("/admin/courses"))
    assert "安规年度" in everything and "服务草稿" in everything
    safety = main(client.get("/admin/courses?programme=safety"))
    assert "安规年度" in safety and "服务草稿" not in safety
    drafts = main(client.get("/admin/courses?status=draft"))
    assert "服务草稿" in drafts and "安规年度" not in drafts
    assert "安规年度" in main(client.get("/admin/courses?q=安规"))
    assert "No course matches." in main(client.get("/admin/courses?q=nothing-like-it"))


# Validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"programme": "astrology"}, "Not a valid choice"),
        ({"hours": "0"}, "Hours are more than 0"),
        ({"hours": "1.25"}, "one decimal place"),
        ({"code": "SVC 01/.."}, "A code is 1 to 64 letters"),
        ({"bank_codes": "svc, nope"}, "No question bank nope."),
        ({"prerequisites": "NOPE-1"}, "No course NOPE-1."),
        ({"certificate_design": "x" * 65}, "Field cannot be longer than 64 characters."),
    ],
)
def test_create_refused_with_messages(hr, client, db, changes, message):
    """Wrong fields are shown on the form (200, no 500) and nothing is created."""
    db.add(QuestionBank(code="svc", title="服务规范题库"))
    db.commit()
    response = create(client, **changes)
    assert response.status_code == 200
    assert message in main(response)
    assert db.scalar(sa.select(sa.func.count()).select_from(Course)) == 0


def test_unknown_programme_and_duplicate_code_refused_by_the_service(app, db, create_course):
    """The service checks what the form cannot: a known programme, a unique code."""
    existing = create_course()
    with app.app_context(), pytest.raises(admin.CatalogueError) as refused:
        admin.create_course(
            db,
            None,
            admin.CourseFields(code=existing.code, title="x", programme="astrology", hours="1"),
        )
    assert set(refused.value.problems) == {"code", "programme"}
    assert "Another course has the code" in refused.value.problems["code"]


def test_duplicate_code_and_cycle_shown_on_the_form(hr, client, db, create_course):
    """A duplicate code and a circle of prerequisites are shown on the edit form."""
    first, second = create_course(published=False), create_course(published=False)
    assert "Another course has the code" in main(create(client, code=first.code))
    post(
        client,
        f"/admin/courses/{second.id}/edit",
        **course_data(code=second.code, prerequisites=first.code),
    )
    response = post(
        client,
        f"/admin/courses/{first.id}/edit",
        **course_data(code=first.code, prerequisites=second.code),
    )
    assert response.status_code == 200
    page = main(response)
    assert "go round in a circle" in page and f"{first.code} → {second.code} → {first.code}" in page
    assert "A course cannot require itself." in main(
        post(
            client,
            f"/admin/courses/{first.id}/edit",
            **course_data(code=first.code, prerequisites=first.code),
        )
    )
    reload(db)
    assert db.get(Course, first.id).prerequisites == []


def test_code_fixed_once_published(hr, client, db, create_course):
    """A published course keeps its code (versions, records and certificates name it)."""
    course = create_course()
    response = post(client, f"/admin/courses/{course.id}/edit", **course_data(code="NEW-1"))
    assert "The code cannot change once the course has been published." in main(response)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:x",
        "file:///etc/passwd",
        "//evil.example/x",
        "https://",
        "https://a.example/x y",
    ],
)
def test_video_url_must_be_http(hr, client, db, create_course, url):
    """A video link other than an http(s) address of a host is refused with a message."""
    course = create_course(published=False)
    response = add_lesson(client, course.id, "视频课", video_url=url)
    assert response.status_code == 200
    assert "A video link is a web address starting with https://" in main(response)
    reload(db)
    assert (
        db.scalar(sa.select(sa.func.count()).select_from(Lesson).where(Lesson.title == "视频课"))
        == 0
    )


# Sanitising ------------------------------------------------------------------------------------


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def test_preview_renders_hostile_markdown_inert(hr, client, db, create_course):
    """Script, event handlers and javascript: links in the Markdown come out inert in the
    server-rendered preview, and nothing is saved by previewing."""
    course = create_course(published=False)
    body = (
        "# 标题\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
        "[点我](javascript:alert(3)) ![图](javascript:alert(4)) **粗体**\n"
    )
    response = add_lesson(client, course.id, "危险课", body, action="preview")
    assert response.status_code == 200
    preview = re.search(
        r'data-testid="preview">(.*?)</section>', response.get_data(as_text=True), re.S
    )
    assert preview, "no preview"
    parser = _Elements()
    parser.feed(preview.group(1))
    tags = [tag for tag, _attrs in parser.found]
    assert "strong" in tags
    for tag, attrs in parser.found:
        assert tag not in ("script", "iframe", "object")
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("href", "src"):
            assert not (attrs.get(name) or "").lower().strip().startswith("javascript"), attrs
    reload(db)
    assert (
        db.scalar(sa.select(sa.func.count()).select_from(Lesson).where(Lesson.title == "危险课"))
        == 0
    )


# Access ----------------------------------------------------------------------------------------


def admin_urls(course: Course) -> tuple[list[str], list[str]]:
    lesson = course.lessons[0]
    base = f"/admin/courses/{course.id}"
    pages = [
        "/admin/courses",
        "/admin/courses/new",
        base,
        f"{base}/edit",
        f"{base}/lessons/new",
        f"{base}/lessons/{lesson.id}",
        f"{base}/lessons/{lesson.id}/delete",
        f"{base}/publish",
        f"{base}/delete",
        f"{base}/versions/1",
    ]
    posts = [
        f"{base}/lessons/{lesson.id}/move",
        f"{base}/lessons/{lesson.id}/attachments",
        f"{base}/lessons/{lesson.id}/attachments/1/delete",
        f"{base}/publish",
        f"{base}/retire",
        f"{base}/reinstate",
        f"{base}/delete",
        f"{base}/edit",
    ]
    return pages, posts


@pytest.mark.parametrize("role", [Role.employee, Role.manager])
def test_every_page_is_404_for_employees_and_managers(
    client, create_employee, login, create_course, db, role
):
    """Employees and managers get 404 on every catalogue page and action (with a valid token)."""
    course = create_course()
    login(create_employee(role=role))
    pages, posts = admin_urls(course)
    for url in pages:
        assert client.get(url).status_code == 404, url
    csrf = csrf_token(client, "/")
    for url in posts:
        assert client.post(url, data={"csrf_token": csrf, "direction": "up"}).status_code == 404, (
            url
        )
    reload(db)
    assert course.status is CourseStatus.published
    assert "Course management" not in client.get("/").get_data(as_text=True)


def test_pages_open_for_hr_and_posts_need_a_token(hr, client, create_course, db):
    """HR opens every page (and sees the navigation entry); each POST without a token is 400."""
    course = create_course()
    pages, posts = admin_urls(course)
    for url in pages:
        assert client.get(url).status_code == 200, url
    assert "Course management" in client.get("/").get_data(as_text=True)
    for url in posts:
        assert client.post(url, data={"direction": "up"}).status_code == 400, url
    reload(db)
    assert course.status is CourseStatus.published


def test_anonymous_is_sent_to_sign_in(client, create_course):
    """Signed out, the pages send to the sign-in page."""
    course = create_course()
    response = client.get(f"/admin/courses/{course.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_hours_stored_as_given(app, db):
    """Hours keep their one decimal (学时 such as 1.5)."""
    with app.app_context():
        admin.create_course(
            db, None, admin.CourseFields(code="H-1", title="学时", programme="safety", hours="1.5")
        )
        db.commit()
    assert course_by_code(db, "H-1").hours == Decimal("1.5")


def test_three_course_cycle_named_in_order(app, db, create_course):
    """A requires B, B requires C: C requiring A is refused with the whole circle."""
    a, b, c = (create_course(published=False) for _ in range(3))
    with app.app_context():
        for course, required in ((a, b), (b, c)):
            fields = admin.CourseFields(
                course.code, course.title, course.programme, "1", prerequisites=[required.code]
            )
            admin.update_course(db, None, course, fields)
        fields = admin.CourseFields(c.code, c.title, c.programme, "1", prerequisites=[a.code])
        with pytest.raises(admin.CatalogueError) as refused:
            admin.update_course(db, None, c, fields)
    assert f"{c.code} → {a.code} → {b.code} → {c.code}" in refused.value.problems["prerequisites"]


def test_two_simultaneous_publications_make_one_version(app, db, create_course):
    """Two HR clicks on publish at once: one version, the other is told nothing changed."""
    import threading

    course = create_course(published=False)
    database = app.extensions["lms"].db
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def publish() -> None:
        try:
            with app.app_context(), database.transaction() as session:
                barrier.wait(timeout=10)
                version = admin.publish_course(session, None, session.get(Course, course.id))
                outcomes.append(version.number)
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=publish) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(map(str, outcomes)) == ["1", "CatalogueError"]
    reload(db)
    assert db.scalar(sa.select(sa.func.count()).select_from(CourseVersion)) == 1
