"""Switching away from the exam page: each switch is counted (with its time), the Nth one
(``LMS_EXAM_MAX_TAB_SWITCHES``) submits the attempt exactly once, a finished attempt counts no
more, anyone else's attempt answers 404 and the report needs the CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from lms.db import db_session, utcnow
from lms.exams import services
from lms.exams.models import AttemptState, ExamAttempt
from tests.conftest import TEST_PASSWORD, csrf_token
from tests.exams.test_exam_pages import page_token, start


@pytest.fixture(autouse=True)
def app_context() -> None:
    """No app context held across requests (as in test_exam_pages)."""


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_EXAM_MAX_TAB_SWITCHES": 3}


def away(client: Any, attempt_id: int, token: str | None) -> Any:
    headers = {"X-CSRFToken": token} if token else {}
    return client.post(f"/attempts/{attempt_id}/away", headers=headers)


def stored(app: Any, attempt_id: int) -> ExamAttempt:
    with app.app_context():
        attempt = db_session.get(ExamAttempt, attempt_id)
        db_session.expunge(attempt)
        return attempt


def test_switches_are_counted_and_the_nth_submits(
    app: Any, client: Any, login: Any, create_employee: Callable[..., Any], fixed_paper: Any
) -> None:
    paper = fixed_paper(2)
    login(create_employee())
    attempt_id, page = start(client, paper)
    assert 'data-away-url="/attempts/' in page and "data-exam-away" in page
    token = page_token(page)
    before = utcnow()
    for n in (1, 2):
        response = away(client, attempt_id, token)
        assert response.status_code == 200
        assert response.get_json() == {"switches": n, "limit": 3, "submitted": False}
    attempt = stored(app, attempt_id)
    assert attempt.tab_switches == 2 and attempt.state is AttemptState.in_progress
    assert attempt.last_tab_switch_at is not None and attempt.last_tab_switch_at >= before
    response = away(client, attempt_id, token)
    body = response.get_json()
    assert body["switches"] == 3 and body["limit"] == 3 and body["submitted"] is True
    assert body["result_url"] == f"/attempts/{attempt_id}/result"
    attempt = stored(app, attempt_id)
    assert attempt.state is AttemptState.finished and attempt.score is not None
    # finished: no more counting, and it says the attempt is submitted
    body = away(client, attempt_id, token).get_json()
    assert body["switches"] == 3 and body["submitted"] is True
    assert stored(app, attempt_id).tab_switches == 3
    assert client.get(f"/attempts/{attempt_id}").status_code == 302


def test_a_finished_attempt_counts_no_more(
    app: Any, client: Any, login: Any, create_employee: Callable[..., Any], fixed_paper: Any
) -> None:
    paper = fixed_paper(1)
    login(create_employee())
    attempt_id, page = start(client, paper)
    token = page_token(page)
    assert away(client, attempt_id, token).get_json()["switches"] == 1
    client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": token})
    body = away(client, attempt_id, token).get_json()
    assert body["switches"] == 1 and body["submitted"] is True
    assert stored(app, attempt_id).tab_switches == 1


def test_the_service_without_a_limit_never_submits(
    app: Any, create_employee: Callable[..., Any], fixed_paper: Any
) -> None:
    with app.app_context():
        paper = fixed_paper(1)
        attempt = services.start_attempt(db_session, paper, create_employee(), now=utcnow())
        db_session.commit()
        for n in range(1, 6):
            outcome = services.record_tab_switch(db_session, attempt, max_switches=0, now=utcnow())
            db_session.commit()
            assert outcome == services.TabSwitch(n, 0, False)
        assert attempt.state is AttemptState.in_progress
        outcome = services.record_tab_switch(db_session, attempt, max_switches=6, now=utcnow())
        assert outcome == services.TabSwitch(6, 6, True)
        assert attempt.state is AttemptState.finished
        again = services.record_tab_switch(db_session, attempt, max_switches=6, now=utcnow())
        assert again == services.TabSwitch(6, 6, False)
        db_session.commit()


def test_another_employees_attempt_is_404_and_csrf_is_needed(
    app: Any, client: Any, login: Any, create_employee: Callable[..., Any], fixed_paper: Any
) -> None:
    paper = fixed_paper(1)
    login(create_employee())
    attempt_id, page = start(client, paper)
    assert away(client, attempt_id, None).status_code == 400
    assert away(client, attempt_id, "forged").status_code == 400
    other = app.test_client()
    someone = create_employee()
    login_token = csrf_token(other, "/login")
    other.post(
        "/login",
        data={"emp_no": someone.emp_no, "password": TEST_PASSWORD, "csrf_token": login_token},
    )
    other_token = csrf_token(other, f"/exams/{paper.id}")
    assert away(other, attempt_id, other_token).status_code == 404
    assert away(other, 999999, other_token).status_code == 404
    assert stored(app, attempt_id).tab_switches == 0
    assert away(client, attempt_id, page_token(page)).get_json()["switches"] == 1
