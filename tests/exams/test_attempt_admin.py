"""HR's list of a paper's attempts and voiding an open attempt (a technical failure): abandoned,
ungraded, audited with the reason, not using up an attempt; nobody else may do it."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.exams.models import AttemptState, ExamAttempt
from lms.org.models import Role
from tests.conftest import csrf_token
from tests.exams.test_exam_pages import page_token, start


@pytest.fixture(autouse=True)
def app_context() -> None:
    """No app context held across requests (see test_exam_pages)."""


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_DEFAULT_LOCALE": "en"}


def state_of(db: Any, attempt_id: int) -> AttemptState:
    db.rollback()
    db.expire_all()
    return db.get(ExamAttempt, attempt_id).state


def test_hr_lists_attempts_and_voids_an_open_one(
    app, db, client, login, create_employee, fixed_paper
):
    paper = fixed_paper(2, max_attempts=1)
    candidate = create_employee(name="李四")
    login(candidate)
    attempt_id, _ = start(client, paper)

    hr = app.test_client()
    login(create_employee(role=Role.hr), client=hr)
    listing = hr.get(f"/admin/exams/{paper.id}/attempts").get_data(as_text=True)
    assert "李四" in listing and candidate.emp_no in listing and "In progress" in listing
    url = f"/admin/exams/{paper.id}/attempts/{attempt_id}/void"
    token = csrf_token(hr, f"/admin/exams/{paper.id}/attempts")

    refused = hr.post(url, data={"csrf_token": token, "reason": "  "}, follow_redirects=True)
    assert "Reason: say why" in refused.get_data(as_text=True)
    assert state_of(db, attempt_id) is AttemptState.in_progress
    assert hr.post(url, data={"reason": "停电"}).status_code == 400  # no CSRF token

    done = hr.post(url, data={"csrf_token": token, "reason": "考场停电"}, follow_redirects=True)
    assert "The attempt is voided" in done.get_data(as_text=True)
    assert state_of(db, attempt_id) is AttemptState.abandoned
    entry = db.scalars(sa.select(AuditEntry).where(AuditEntry.action == "exam_attempt.void")).one()
    assert entry.after == {"state": "abandoned", "reason": "考场停电"}
    again = hr.post(url, data={"csrf_token": token, "reason": "再来"}, follow_redirects=True)
    assert "no longer open" in again.get_data(as_text=True)
    voided = hr.get(f"/admin/exams/{paper.id}/attempts?state=abandoned").get_data(as_text=True)
    assert "李四" in voided and "Voided" in voided

    # The voided attempt did not use up the only attempt: the candidate starts again.
    result = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "voided" in result
    second_id, page = start(client, paper)
    assert second_id != attempt_id and page_token(page)


def test_only_hr_sees_or_voids_attempts(app, db, client, login, create_employee, fixed_paper):
    paper = fixed_paper(1)
    candidate = create_employee()
    login(candidate)
    attempt_id, _ = start(client, paper)
    token = csrf_token(client, f"/exams/{paper.id}")
    url = f"/admin/exams/{paper.id}/attempts/{attempt_id}/void"
    for role in (Role.employee, Role.manager):
        other = app.test_client()
        login(create_employee(role=role, unit=candidate.unit), client=other)
        other_token = csrf_token(other, "/")
        assert other.get(f"/admin/exams/{paper.id}/attempts").status_code == 404
        assert other.post(url, data={"csrf_token": other_token, "reason": "x"}).status_code == 404
    assert client.post(url, data={"csrf_token": token, "reason": "x"}).status_code == 404
    assert state_of(db, attempt_id) is AttemptState.in_progress
    hr = app.test_client()
    login(create_employee(role=Role.hr), client=hr)
    other_paper = fixed_paper(1)
    hr_token = csrf_token(hr, "/")
    wrong = f"/admin/exams/{other_paper.id}/attempts/{attempt_id}/void"
    assert hr.post(wrong, data={"csrf_token": hr_token, "reason": "x"}).status_code == 404
