"""A course with an exam: publishing the course freezes its exam into the version, the course
page leads to the exam once the lessons are done, and a pass (not a fail, not practice)
completes the run with its ledger row. Also the candidates' exam list."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lms.courses.models import CourseRun, CourseVersion, RunStatus
from lms.courses.services import publish
from lms.exams.models import ReviewPolicy
from lms.training.models import LedgerEntry
from tests.conftest import csrf_token
from tests.exams.test_exam_pages import items, page_token, save, start


@pytest.fixture(autouse=True)
def app_context() -> None:
    """No app context held across requests (see test_exam_pages)."""


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_DEFAULT_LOCALE": "en"}


def fresh(db: Any) -> None:
    db.rollback()
    db.expire_all()


def course_with_exam(app: Any, db: Any, create_course: Any, fixed_paper: Any, **settings: Any):
    course = create_course(lessons=1, published=False)
    paper = fixed_paper(
        2,
        course_id=course.id,
        review_policy=ReviewPolicy.answers_at_once,
        pass_mark=Decimal(100),
        **settings,
    )
    with app.app_context():
        publish(db, course, actor=None)
    db.commit()
    return course, paper


def study(client: Any, course: Any) -> None:
    """Start the course and open its one lesson (the viewed rule: done once opened)."""
    token = csrf_token(client, f"/courses/{course.id}")
    response = client.post(f"/courses/{course.id}/start", data={"csrf_token": token})
    assert client.get(response.headers["Location"]).status_code == 200


def sit(client: Any, paper: Any, *, right: bool) -> int:
    """Start the paper, pick the right (or a wrong) option of every item, submit."""
    attempt_id, page = start(client, paper)
    token = page_token(page)
    for url, options in items(page):
        wanted = next(i for i, text in enumerate(options) if text.startswith("RIGHT") == right)
        assert save(client, url, wanted, token).status_code == 200
    response = client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": token})
    assert response.status_code == 302
    return attempt_id


def run_status(db: Any, course: Any) -> RunStatus:
    fresh(db)
    return db.scalars(sa.select(CourseRun.status).where(CourseRun.course_id == course.id)).one()


def test_publishing_a_course_freezes_its_published_exam(app, db, create_course, fixed_paper):
    course, paper = course_with_exam(app, db, create_course, fixed_paper)
    version = db.scalars(sa.select(CourseVersion).where(CourseVersion.course_id == course.id)).one()
    assert version.snapshot["exam"] == {
        "paper_id": paper.id,
        "code": paper.code,
        "title": paper.title,
    }
    # an unpublished or practice paper is no exam of the course
    other = create_course(lessons=1, published=False)
    fixed_paper(1, course_id=other.id, published=False)
    fixed_paper(1, course_id=other.id, practice=True)
    with app.app_context():
        assert publish(db, other, actor=None).snapshot["exam"] is None


def test_passing_the_exam_completes_the_course(
    app, db, client, login, create_employee, create_course, fixed_paper
):
    course, paper = course_with_exam(app, db, create_course, fixed_paper)
    login(create_employee())
    study(client, course)
    page = client.get(f"/courses/{course.id}").get_data(as_text=True)
    assert 'data-testid="exam-required"' in page
    link = re.search(r'href="([^"]+)" data-testid="take-exam"', page)
    assert link and link.group(1).endswith(f"/exams/{paper.id}")

    sit(client, paper, right=False)
    assert run_status(db, course) is RunStatus.in_progress
    assert db.scalars(sa.select(LedgerEntry)).all() == []

    sit(client, paper, right=True)
    assert run_status(db, course) is RunStatus.completed
    entry = db.scalars(sa.select(LedgerEntry)).one()
    assert entry.course_id == course.id and entry.score == Decimal(20)


def test_a_practice_pass_completes_nothing(
    app, db, client, login, create_employee, create_course, fixed_paper
):
    course, _ = course_with_exam(app, db, create_course, fixed_paper)
    practice = fixed_paper(1, course_id=course.id, practice=True, pass_mark=Decimal(0))
    login(create_employee())
    study(client, course)
    sit(client, practice, right=True)
    assert run_status(db, course) is RunStatus.in_progress
    assert db.scalars(sa.select(LedgerEntry)).all() == []


def test_exam_list_shows_open_published_shared_papers(
    app, db, client, login, create_employee, fixed_paper
):
    from datetime import timedelta

    from lms.db import utcnow

    me = create_employee()
    open_paper = fixed_paper(1, title="开放的考试")
    fixed_paper(1, title="草稿试卷", published=False)
    fixed_paper(1, title="已结束的考试", closes_at=utcnow() - timedelta(days=1))
    fixed_paper(1, title="别人的练习", owner_id=create_employee().id, practice=True)
    login(me)
    page = client.get("/exams").get_data(as_text=True)
    assert "开放的考试" in page and "Not attempted" in page
    for hidden in ("草稿试卷", "已结束的考试", "别人的练习"):
        assert hidden not in page
    sit(client, open_paper, right=True)
    page = client.get("/exams").get_data(as_text=True)
    assert "Passed" in page
    for paper in db.scalars(
        sa.select(type(open_paper)).where(type(open_paper).title != "开放的考试")
    ):
        if not paper.published or paper.owner_id:
            assert client.get(f"/exams/{paper.id}").status_code == 404
