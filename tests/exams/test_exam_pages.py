"""Candidate exam pages: start, autosave, reload, the deadline, submit, the result under the
review policy, 404 for anyone else's attempt, and no answer key anywhere during the attempt."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lms.db import utcnow
from lms.exams.models import AttemptState, ExamAttempt, ReviewPolicy
from tests.conftest import TEST_PASSWORD, csrf_token


@pytest.fixture(autouse=True)
def app_context() -> None:
    """No app context held across requests here: each test-client request pushes its own
    (a shared one would share ``g``, and so the request's database session)."""


def start(client: Any, paper: Any) -> tuple[int, str]:
    """Start the paper through its page; the attempt id and the attempt page's HTML."""
    token = csrf_token(client, f"/exams/{paper.id}")
    response = client.post(f"/exams/{paper.id}/start", data={"csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/attempts/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return int(match.group(1)), page.get_data(as_text=True)


def items(page: str) -> list[tuple[str, list[str]]]:
    """Each item's save URL and its option texts, in page order."""
    found = []
    for section in page.split("data-exam-item")[1:]:
        url = re.search(r'data-save-url="([^"]+)"', section).group(1)
        options = re.findall(r'<span class="choice-text">(.*?)</span>', section)
        found.append((url, options))
    return found


def save(client: Any, url: str, response: Any, token: str) -> Any:
    return client.post(url, json={"response": response}, headers={"X-CSRFToken": token})


def page_token(page: str) -> str:
    return re.search(r'data-csrf-token="([^"]+)"', page).group(1)


def assert_no_key(text: str, question_ids: list[int]) -> None:
    """Nothing that tells the right options: their texts (``RIGHT-n``) appear only as option
    texts, marked up like every other option; no feedback, explanation, fraction or id."""
    assert "RIGHT" not in re.sub(r'<span class="choice-text">[^<]*</span>', "", text)
    assert "FEEDBACK" not in text and "FB-" not in text
    assert "EXPLANATION" not in text
    assert "fraction" not in text
    assert "question_id" not in text
    assert "data-question" not in text
    for qid in question_ids:
        assert f"/questions/{qid}" not in text and f'"question": {qid}' not in text
    for key in re.findall(r"/answers/([^\"/]+)", text):
        assert len(key) >= 16 and not key.isdecimal()  # an opaque key, not an id or position


def test_attempt_pages_save_reload_submit_and_no_key(
    client: Any, login: Any, create_employee: Callable[..., Any], fixed_paper: Any, db: Any
) -> None:
    paper = fixed_paper(3, review_policy=ReviewPolicy.score, shuffle_options=True)
    question_ids = [q.question_id for q in paper.questions]
    login(create_employee())
    page = client.get(f"/exams/{paper.id}").get_data(as_text=True)
    assert paper.title in page
    attempt_id, page = start(client, paper)
    assert_no_key(page, question_ids)
    found = items(page)
    assert len(found) == 3
    assert all(len(options) == 4 for _, options in found)
    token = page_token(page)
    chosen = []
    for n, (url, _options) in enumerate(found):
        response = save(client, url, n, token)
        assert response.status_code == 200
        assert "saved_at" in response.get_json()
        assert_no_key(response.get_data(as_text=True), question_ids)
        chosen.append(n)

    reload = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert_no_key(reload, question_ids)
    for section, n in zip(reload.split("data-exam-item")[1:], chosen, strict=True):
        assert re.search(rf'value="{n}" checked', section), section

    # A bad option and an unknown item are refused without saving.
    assert save(client, found[0][0], 9, token).status_code == 400
    bad = found[0][0].rsplit("/", 1)[0] + "/nosuchkey"
    assert save(client, bad, 0, token).status_code == 400

    # Submit twice: one finished attempt; the second POST goes to the result too.
    for _ in range(2):
        response = client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": token})
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/attempts/{attempt_id}/result")
    db.rollback()
    attempts = db.scalars(sa.select(ExamAttempt).where(ExamAttempt.paper_id == paper.id)).all()
    assert [a.state for a in attempts] == [AttemptState.finished]
    result = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert 'data-testid="score"' in result
    assert "RIGHT" not in result and "EXPLANATION" not in result  # score only
    # After submitting, saves are refused and the attempt page shows the result.
    assert save(client, found[0][0], 0, token).status_code == 409
    assert client.get(f"/attempts/{attempt_id}").status_code == 302


def test_save_after_deadline_and_grace_is_refused(
    client: Any, login: Any, create_employee: Callable[..., Any], fixed_paper: Any, db: Any
) -> None:
    paper = fixed_paper(1, grace_seconds=30)
    login(create_employee())
    attempt_id, page = start(client, paper)
    (url, _), token = items(page)[0], page_token(page)
    assert save(client, url, 0, token).status_code == 200
    attempt = db.get(ExamAttempt, attempt_id)
    attempt.deadline_at = utcnow() - timedelta(seconds=31)
    db.commit()
    response = save(client, url, 1, token)
    assert response.status_code == 409
    assert response.get_json()["error"]
    # Opening the page now finishes it.
    opened = client.get(f"/attempts/{attempt_id}")
    assert opened.status_code == 302, opened.get_data(as_text=True)
    assert opened.headers["Location"].endswith("/result")
    db.rollback()
    db.expire_all()
    assert db.get(ExamAttempt, attempt_id).state is AttemptState.finished


def test_result_follows_the_review_policy(
    client: Any, login: Any, create_employee: Callable[..., Any], fixed_paper: Any
) -> None:
    login(create_employee())
    shown = {}
    for policy in (ReviewPolicy.none, ReviewPolicy.score, ReviewPolicy.answers_at_once):
        paper = fixed_paper(1, review_policy=policy)
        attempt_id, page = start(client, paper)
        token = page_token(page)
        client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": token})
        shown[policy] = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert 'data-testid="score"' not in shown[ReviewPolicy.none]
    assert 'data-testid="score"' in shown[ReviewPolicy.score]
    assert "EXPLANATION" not in shown[ReviewPolicy.score]
    assert 'data-testid="score"' in shown[ReviewPolicy.answers_at_once]
    assert "EXPLANATION" in shown[ReviewPolicy.answers_at_once]
    assert "RIGHT" in shown[ReviewPolicy.answers_at_once]


def test_another_employees_attempt_is_404(
    app: Any, client: Any, login: Any, create_employee: Callable[..., Any], fixed_paper: Any
) -> None:
    paper = fixed_paper(1)
    login(create_employee())
    attempt_id, page = start(client, paper)
    url = items(page)[0][0]
    other = app.test_client()
    someone = create_employee()
    login_token = csrf_token(other, "/login")
    other.post(
        "/login",
        data={"emp_no": someone.emp_no, "password": TEST_PASSWORD, "csrf_token": login_token},
    )
    assert other.get(f"/attempts/{attempt_id}").status_code == 404
    assert other.get(f"/attempts/{attempt_id}/result").status_code == 404
    assert other.get("/attempts/999999").status_code == 404
    assert other.get("/exams/999999").status_code == 404
    other_token = csrf_token(other, f"/exams/{paper.id}")
    assert save(other, url, 0, other_token).status_code == 404
    response = other.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": other_token})
    assert response.status_code == 404


def test_posts_need_csrf(
    client: Any, login: Any, create_employee: Callable[..., Any], fixed_paper: Any
) -> None:
    paper = fixed_paper(1)
    login(create_employee())
    attempt_id, page = start(client, paper)
    url = items(page)[0][0]
    assert client.post(f"/exams/{paper.id}/start").status_code == 400
    assert client.post(url, json={"response": 0}).status_code == 400
    assert client.post(f"/attempts/{attempt_id}/submit").status_code == 400


def test_start_refused_with_a_message(
    client: Any, login: Any, create_employee: Callable[..., Any], fixed_paper: Any
) -> None:
    paper = fixed_paper(1, max_attempts=1)
    login(create_employee())
    attempt_id, page = start(client, paper)
    client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": page_token(page)})
    token = csrf_token(client, f"/exams/{paper.id}")
    response = client.post(
        f"/exams/{paper.id}/start", data={"csrf_token": token}, follow_redirects=True
    )
    assert 'class="flash flash-error"' in response.get_data(as_text=True)


def test_start_retries_once_after_a_simultaneous_first_start(
    client: Any, login: Any, create_employee: Callable[..., Any], fixed_paper: Any, monkeypatch: Any
) -> None:
    """Two first starts at once: the loser's insert fails on the unique attempt number; the
    view retries once and resumes the winner's attempt."""
    from sqlalchemy.exc import IntegrityError

    from lms.exams import services

    real = services.start_attempt
    calls = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("INSERT", {}, Exception("uq_lms_exam_attempt_number"))
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "start_attempt", racing)
    paper = fixed_paper(1)
    login(create_employee())
    _attempt_id, page = start(client, paper)
    assert len(calls) == 2
    assert len(items(page)) == 1
