"""No answer key anywhere while an exam is under way: every page the candidate can reach (found
by following links from the home page, and the exam's own pages and JSON), including the result
of an earlier exam that drew the same questions and the wrong-answer book, which both show
answers at other times."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from lms.exams.models import ExamPaper, ExamPaperQuestion, PaperKind, ReviewPolicy
from tests.exams.test_exam_pages import assert_no_key, items, page_token, save, start


@pytest.fixture(autouse=True)
def app_context() -> None:
    """No app context held across requests (see test_exam_pages)."""


def crawl(client: Any, starts: list[str], limit: int = 80) -> dict[str, str]:
    """GET every same-site page linked from ``starts`` (not sign-out, files or static)."""
    seen: dict[str, str] = {}
    queue = list(starts)
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        response = client.get(url)
        if not response.content_type.startswith(("text/html", "application/json")):
            seen[url] = ""
            continue
        text = response.get_data(as_text=True)
        seen[url] = text
        for link in re.findall(r'href="(/[^"#]*)"', text):
            link = link.replace("&amp;", "&")
            if link.startswith(("/static", "/logout")) or link in seen:
                continue
            queue.append(link)
    return seen


def test_nothing_reachable_during_an_exam_shows_the_key(
    db: Any,
    client: Any,
    login: Any,
    create_employee: Callable[..., Any],
    fixed_paper: Any,
) -> None:
    earlier = fixed_paper(3, review_policy=ReviewPolicy.answers_at_once)
    shared = [q.question_id for q in earlier.questions]
    login(create_employee())

    # An earlier exam, all wrong: its result and the book show the right answers.
    first_id, page = start(client, earlier)
    token = page_token(page)
    for url, options in items(page):
        save(
            client, url, next(i for i, t in enumerate(options) if not t.startswith("RIGHT")), token
        )
    client.post(f"/attempts/{first_id}/submit", data={"csrf_token": token})
    assert "EXPLANATION" in client.get(f"/attempts/{first_id}/result").get_data(as_text=True)
    assert "EXPLANATION" in client.get("/me/mistakes").get_data(as_text=True)

    # Now an exam that draws the same questions, options shuffled.
    paper = ExamPaper(
        code="LEAK-1",
        title="再考一次",
        kind=PaperKind.fixed,
        shuffle_options=True,
        review_policy=ReviewPolicy.answers_at_once,
    )
    paper.questions = [
        ExamPaperQuestion(question_id=qid, points=Decimal(10), position=n)
        for n, qid in enumerate(shared, start=1)
    ]
    db.add(paper)
    db.commit()
    attempt_id, page = start(client, paper)
    token = page_token(page)
    found = items(page)
    responses = [save(client, url, 0, token) for url, _ in found]
    away = client.post(f"/attempts/{attempt_id}/away", headers={"X-CSRFToken": token})

    pages = crawl(client, ["/", f"/attempts/{attempt_id}", f"/attempts/{first_id}/result"])
    for must in (
        "/",
        "/exams",
        f"/exams/{paper.id}",
        f"/attempts/{attempt_id}",
        f"/attempts/{first_id}/result",
        "/me/mistakes",
        "/me/record",
    ):
        assert must in pages, sorted(pages)
    for url, text in pages.items():
        try:
            assert_no_key(text, shared)
        except AssertionError as error:
            raise AssertionError(f"{url} shows the key") from error
    for response in [*responses, away]:
        assert response.status_code == 200
        assert_no_key(response.get_data(as_text=True), shared)
    assert 'data-testid="answers-held-back"' in pages[f"/attempts/{first_id}/result"]
    assert 'data-testid="book-closed"' in pages["/me/mistakes"]

    # Once that exam is submitted, the earlier answers show again.
    client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": token})
    assert "EXPLANATION" in client.get(f"/attempts/{first_id}/result").get_data(as_text=True)
    assert "EXPLANATION" in client.get("/me/mistakes").get_data(as_text=True)
