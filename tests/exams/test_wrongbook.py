"""The wrong-answer book (错题本): recording wrong answers once per attempt, the book page under
the review policy, practice papers built from it (personal, answers at once, masters entries),
and nobody else's book, practice paper or attempt."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lms.db import utcnow
from lms.exams import services
from lms.exams.models import (
    AttemptAnswer,
    AttemptState,
    ExamAttempt,
    ExamPaper,
    ExamPaperQuestion,
    PaperKind,
    ReviewPolicy,
    WrongAnswer,
)
from lms.questions.data import QuestionData
from lms.questions.models import Question, QuestionVersion
from tests.conftest import count_rows, csrf_token
from tests.exams.conftest import NOW, choice_data, run_threads


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_DEFAULT_LOCALE": "en"}


@pytest.fixture(autouse=True)
def app_context() -> None:
    """No app context held across requests (each test-client request pushes its own, with its
    own ``g`` and database session); direct service calls push one with :func:`ctx`."""


@pytest.fixture
def ctx(app: Any) -> Callable[[], Any]:
    return app.app_context


def sit(
    db: Any, paper: ExamPaper, employee: Any, right: set[int], *, now: Any = NOW
) -> ExamAttempt:
    """Start the paper and answer: the items at the positions in ``right`` (1-based) with their
    right option, the others wrongly, except the last position, left unanswered when not in
    ``right``; then submit. Needs an app context."""
    attempt = services.start_attempt(db, paper, employee, now=now)
    items = services.public_items(db, attempt)
    for item in items:
        options = item["question"]["options"]
        if item["position"] in right:
            choice = next(i for i, t in enumerate(options) if t.startswith("RIGHT"))
        elif item["position"] == len(items):
            continue  # unanswered
        else:
            choice = next(i for i, t in enumerate(options) if t.startswith("wrong"))
        services.save_answer(db, attempt, item["key"], choice, now=now)
    services.submit(db, attempt, now=now + timedelta(minutes=1))
    db.commit()
    return attempt


def entries(db: Any, employee: Any) -> list[WrongAnswer]:
    db.rollback()
    return list(
        db.scalars(
            sa.select(WrongAnswer)
            .where(WrongAnswer.employee_id == employee.id)
            .order_by(WrongAnswer.question_id)
            .execution_options(populate_existing=True)
        )
    )


def question_ids(paper: ExamPaper) -> list[int]:
    return [q.question_id for q in paper.questions]


# -- recording ---------------------------------------------------------------------------------


def test_two_wrong_of_five_go_in_the_book_once_per_attempt(
    db: Any, ctx: Any, create_employee: Callable[..., Any], fixed_paper: Any
) -> None:
    paper = fixed_paper(5, review_policy=ReviewPolicy.answers_at_once)
    employee = create_employee()
    ids = question_ids(paper)
    with ctx():
        attempt = sit(db, paper, employee, right={1, 2, 3})  # 4 wrong, 5 unanswered
    found = entries(db, employee)
    assert [e.question_id for e in found] == ids[3:]
    assert all(e.times_wrong == 1 and e.last_attempt_id == attempt.id for e in found)
    assert all(e.version_number == 1 and e.mastered_at is None for e in found)
    assert {e.last_wrong_at for e in found} == {attempt.finished_at}

    # finalize again (a regrade, a person's grade): nothing counted twice
    with ctx():
        for _ in range(2):
            services.finalize(db, attempt, now=NOW + timedelta(days=1))
            db.commit()
    assert [(e.question_id, e.times_wrong) for e in entries(db, employee)] == [
        (ids[3], 1),
        (ids[4], 1),
    ]

    # a second attempt with one of them wrong again: counted, and the entry follows it
    with ctx():
        second = sit(db, paper, employee, right={1, 2, 3, 5}, now=NOW + timedelta(hours=2))
    found = {e.question_id: e for e in entries(db, employee)}
    assert found[ids[3]].times_wrong == 2 and found[ids[3]].last_attempt_id == second.id
    assert found[ids[4]].times_wrong == 1 and found[ids[4]].last_attempt_id == attempt.id


def test_parallel_finalizes_of_one_employee_count_each_attempt_once(
    app: Any, db: Any, ctx: Any, bank: Any, add_question: Callable[..., Any], create_employee: Any
) -> None:
    questions = [add_question(bank, choice_data(900 + n)) for n in range(3)]
    papers = []
    for n in range(4):
        paper = ExamPaper(code=f"PAR{n}", title=f"并发{n}", kind=PaperKind.fixed)
        paper.questions = [
            ExamPaperQuestion(question_id=q.id, points=Decimal(1), position=p)
            for p, q in enumerate(questions, start=1)
        ]
        db.add(paper)
        papers.append(paper)
    db.commit()
    employee = create_employee()
    with ctx():
        attempts = [services.start_attempt(db, p, employee, now=NOW).id for p in papers]
        db.commit()

    def submit(session: Any, n: int) -> bool:
        return services.submit(session, session.get(ExamAttempt, attempts[n]), now=NOW)

    results = run_threads(app, 4, submit)
    assert results == [True] * 4, results

    def finalize(session: Any, n: int) -> None:
        services.finalize(session, session.get(ExamAttempt, attempts[n % 4]), now=NOW)

    results = run_threads(app, 8, finalize)
    assert results == [None] * 8, results
    found = entries(db, employee)
    assert [(e.question_id, e.times_wrong) for e in found] == [(q.id, 4) for q in questions]


def test_a_regrade_that_makes_an_item_right_takes_the_mistake_back(
    db: Any, ctx: Any, create_employee: Callable[..., Any], fixed_paper: Any
) -> None:
    paper = fixed_paper(3)
    employee = create_employee()

    def correct(attempt: ExamAttempt) -> None:
        """What a regrade does when the key was wrong: the answer earns its points."""
        answer = db.scalars(
            sa.select(AttemptAnswer).where(
                AttemptAnswer.attempt_id == attempt.id, AttemptAnswer.points_awarded == 0
            )
        ).one()
        answer.fraction, answer.points_awarded = 1.0, Decimal(10)
        services.finalize(db, attempt, now=NOW + timedelta(days=1))
        db.commit()

    with ctx():
        first = sit(db, paper, employee, right={1, 3})
        second = sit(db, paper, employee, right={1, 3}, now=NOW + timedelta(hours=1))
        [entry] = entries(db, employee)
        assert (entry.times_wrong, entry.last_attempt_id) == (2, second.id)
        correct(second)
        [entry] = entries(db, employee)
        assert (entry.times_wrong, entry.last_attempt_id) == (1, first.id)
        assert entry.last_wrong_at == first.finished_at
        correct(first)
    assert entries(db, employee) == []


def test_short_answers_count_once_graded_and_below_full_points(
    db: Any,
    ctx: Any,
    bank: Any,
    add_question: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    question = add_question(
        bank, QuestionData(type="short_answer", stem="简述", reference_answer="REF")
    )
    paper = ExamPaper(code="SA1", title="简答", kind=PaperKind.fixed)
    paper.questions = [ExamPaperQuestion(question_id=question.id, points=Decimal(10), position=1)]
    db.add(paper)
    db.commit()
    employee = create_employee()
    with ctx():
        attempt = services.start_attempt(db, paper, employee, now=NOW)
        [item] = services.public_items(db, attempt)
        services.save_answer(db, attempt, item["key"], "我的回答", now=NOW)
        services.submit(db, attempt, now=NOW)
        db.commit()
        assert not attempt.graded
        assert entries(db, employee) == []  # waits for a person
        answer = db.scalars(
            sa.select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id)
        ).one()
        answer.points_awarded = Decimal(6)
        services.finalize(db, attempt, now=NOW + timedelta(hours=1))
        db.commit()
    [entry] = entries(db, employee)
    assert entry.question_id == question.id and entry.times_wrong == 1


def test_practice_papers_master_entries_and_never_add(
    db: Any, ctx: Any, create_employee: Callable[..., Any], fixed_paper: Any
) -> None:
    exam = fixed_paper(3, review_policy=ReviewPolicy.answers_at_once)
    employee = create_employee()
    with ctx():
        sit(db, exam, employee, right=set())  # all three in the book
        shared = ExamPaper(code="PR1", title="练习", kind=PaperKind.fixed, practice=True)
        shared.questions = [
            ExamPaperQuestion(question_id=qid, points=Decimal(1), position=n)
            for n, qid in enumerate(question_ids(exam), start=1)
        ]
        db.add(shared)
        db.commit()
        sit(db, shared, employee, right={1}, now=NOW + timedelta(hours=1))
    found = entries(db, employee)
    assert [e.times_wrong for e in found] == [1, 1, 1]  # practice mistakes are not counted
    assert [e.mastered_at is not None for e in found] == [True, False, False]

    # wrong again in an exam: to learn again, counted; finalizing the practice again changes
    # nothing
    with ctx():
        retake = sit(db, exam, employee, right={2}, now=NOW + timedelta(hours=2))
        for attempt in db.scalars(sa.select(ExamAttempt).where(ExamAttempt.paper_id == shared.id)):
            services.finalize(db, attempt, now=NOW + timedelta(hours=3))
        db.commit()
    found = entries(db, employee)
    assert [e.times_wrong for e in found] == [2, 1, 2]
    assert [e.mastered_at for e in found] == [None, None, None]
    assert found[0].last_attempt_id == retake.id

    # a shared practice paper with new questions adds nothing
    other = create_employee()
    with ctx():
        sit(db, shared, other, right=set())
    assert entries(db, other) == []


def test_answers_shown_follows_the_review_rule(
    db: Any, ctx: Any, create_employee: Callable[..., Any], fixed_paper: Any
) -> None:
    closes = NOW + timedelta(days=1)
    employee = create_employee()
    for policy in ReviewPolicy:
        for closes_at in (None, closes):
            paper = fixed_paper(1, review_policy=policy, closes_at=closes_at)
            with ctx():
                attempt = sit(db, paper, employee, right=set())
                for now in (NOW + timedelta(hours=2), closes + timedelta(seconds=1)):
                    expected = services.review(db, attempt, now).items is not None
                    assert services.answers_shown(paper, now) is expected, (policy, closes_at)


# -- pages -------------------------------------------------------------------------------------


def logout(client: Any) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def page_token(page: str) -> str:
    return re.search(r'data-csrf-token="([^"]+)"', page).group(1)


def mistakes(page: str) -> list[str]:
    return page.split('data-testid="mistake"')[1:]


def test_the_book_shows_answers_only_when_the_review_policy_does(
    client: Any,
    login: Any,
    db: Any,
    ctx: Any,
    create_employee: Callable[..., Any],
    fixed_paper: Any,
) -> None:
    employee = create_employee()
    open_paper = fixed_paper(1, review_policy=ReviewPolicy.answers_at_once)
    score_paper = fixed_paper(1, review_policy=ReviewPolicy.score)
    later = fixed_paper(
        1, review_policy=ReviewPolicy.answers_after_close, closes_at=utcnow() + timedelta(days=3)
    )
    with ctx():
        for paper in (open_paper, score_paper, later):
            sit(db, paper, employee, right=set())
    numbers = {
        p.id: _right_text(db, p).removeprefix("RIGHT-") for p in (open_paper, score_paper, later)
    }
    login(employee)
    page = client.get("/me/mistakes").get_data(as_text=True)
    assert len(mistakes(page)) == 3
    assert f"EXPLANATION-{numbers[open_paper.id]}" in page
    assert f"EXPLANATION-{numbers[score_paper.id]}" not in page
    assert f"EXPLANATION-{numbers[later.id]}" not in page
    assert page.count('class="exam-key"') == 1
    assert page.count('data-testid="answer-hidden"') == 2
    assert "hidden until the exam closes" in page
    assert "FEEDBACK" not in page and "FB-" not in page
    # only the entry whose answers are shown can be practised
    assert "1 questions can be practised now" in page

    # another employee's book is empty: there is no way to ask for someone else's
    logout(client)
    login(create_employee())
    page = client.get("/me/mistakes").get_data(as_text=True)
    assert mistakes(page) == []


def _right_text(db: Any, paper: ExamPaper) -> str:
    qid = question_ids(paper)[0]
    data = db.scalar(sa.select(QuestionVersion.data).where(QuestionVersion.question_id == qid))
    return next(c["text"] for c in data["choices"] if c["text"].startswith("RIGHT"))


def test_the_book_filters_by_bank_and_pages(
    client: Any,
    login: Any,
    db: Any,
    ctx: Any,
    app: Any,
    bank: Any,
    add_question: Callable[..., Any],
    create_employee: Callable[..., Any],
    fixed_paper: Any,
) -> None:
    app.config["LMS_PAGE_SIZE"] = 2
    employee = create_employee()
    paper = fixed_paper(3, review_policy=ReviewPolicy.answers_at_once)
    with ctx():
        sit(db, paper, employee, right=set())
    login(employee)
    first = client.get("/me/mistakes").get_data(as_text=True)
    assert len(mistakes(first)) == 2 and 'rel="next"' in first
    second = client.get("/me/mistakes?page=2").get_data(as_text=True)
    assert len(mistakes(second)) == 1
    assert len(mistakes(client.get(f"/me/mistakes?bank={bank.id}").get_data(as_text=True))) == 2
    assert len(mistakes(client.get("/me/mistakes?point=服务规范").get_data(as_text=True))) == 2
    assert mistakes(client.get("/me/mistakes?point=nosuch&bank=x").get_data(as_text=True))
    assert client.get("/me/mistakes?page=abc").status_code == 200


def test_practice_from_the_book(
    client: Any,
    login: Any,
    db: Any,
    ctx: Any,
    create_employee: Callable[..., Any],
    fixed_paper: Any,
) -> None:
    employee = create_employee()
    exam = fixed_paper(5, review_policy=ReviewPolicy.answers_at_once, title="正式考试")
    with ctx():
        sit(db, exam, employee, right={1, 2, 3})
    wrong_ids = question_ids(exam)[3:]
    exam_question = db.get(ExamPaper, exam.id).questions[3].question_id

    # a disabled question is left out of practice
    extra = fixed_paper(1, review_policy=ReviewPolicy.answers_at_once)
    with ctx():
        sit(db, extra, employee, right=set())
    db.get(Question, question_ids(extra)[0]).enabled = False
    db.commit()

    login(employee)
    token = csrf_token(client, "/me/mistakes")
    response = client.post("/me/mistakes/practice", data={"csrf_token": token, "count": "20"})
    assert response.status_code == 302
    attempt_id = int(re.search(r"/attempts/(\d+)$", response.headers["Location"]).group(1))
    db.rollback()
    attempt = db.get(ExamAttempt, attempt_id)
    paper = attempt.paper
    assert paper.owner_id == employee.id and paper.practice and paper.published
    assert paper.review_policy is ReviewPolicy.answers_at_once and paper.time_limit_minutes == 0
    assert paper.code.startswith(f"practice-{employee.id}-")
    assert sorted(question_ids(paper)) == sorted(wrong_ids) and exam_question in wrong_ids

    # a second practice resumes the open one
    again = client.post("/me/mistakes/practice", data={"csrf_token": token, "count": "20"})
    assert again.headers["Location"] == response.headers["Location"]
    assert count_rows(db, ExamPaper) == 3

    # the exam list leaves the practice paper out
    listing = client.get("/exams").get_data(as_text=True)
    assert "正式考试" in listing and paper.title not in listing

    # nobody else sees the paper or the attempt
    logout(client)
    login(create_employee())
    for url in (
        f"/exams/{paper.id}",
        f"/attempts/{attempt_id}",
        f"/attempts/{attempt_id}/result",
    ):
        assert client.get(url).status_code == 404, url
    token_other = csrf_token(client, "/me/mistakes")
    assert (
        client.post(f"/exams/{paper.id}/start", data={"csrf_token": token_other}).status_code == 404
    )
    logout(client)

    # answer everything right: the result shows the answers, the entries leave the book
    login(employee)
    page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "EXPLANATION" not in page
    save_token = page_token(page)
    for section in page.split("data-exam-item")[1:]:
        url = re.search(r'data-save-url="([^"]+)"', section).group(1)
        options = re.findall(r'<span class="choice-text">(.*?)</span>', section)
        right = next(i for i, t in enumerate(options) if t.startswith("RIGHT"))
        saved = client.post(url, json={"response": right}, headers={"X-CSRFToken": save_token})
        assert saved.status_code == 200
    client.post(f"/attempts/{attempt_id}/submit", data={"csrf_token": save_token})
    result = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert "EXPLANATION" in result
    found = {e.question_id: e for e in entries(db, employee)}
    assert all(found[qid].mastered_at is not None for qid in wrong_ids)
    assert all(found[qid].times_wrong == 1 for qid in wrong_ids)
    assert db.get(ExamAttempt, attempt_id).state is AttemptState.finished

    book = client.get("/me/mistakes").get_data(as_text=True)
    assert len(mistakes(book)) == 1  # only the disabled question is left
    everything = client.get("/me/mistakes?mastered=1").get_data(as_text=True)
    assert len(mistakes(everything)) == 3
    assert everything.count('data-testid="mastered"') == 2


def test_practice_refuses_bad_counts_and_hidden_answers(
    client: Any,
    login: Any,
    db: Any,
    ctx: Any,
    create_employee: Callable[..., Any],
    fixed_paper: Any,
) -> None:
    employee = create_employee()
    paper = fixed_paper(5, review_policy=ReviewPolicy.score)
    with ctx():
        sit(db, paper, employee, right=set())
    login(employee)
    token = csrf_token(client, "/me/mistakes")
    for count in ("4", "51", "abc", ""):
        response = client.post("/me/mistakes/practice", data={"csrf_token": token, "count": count})
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/me/mistakes")
        page = client.get("/me/mistakes").get_data(as_text=True)
        assert "Number of questions: enter a whole number from 5 to 50." in page, count
    # the answers of a score-only paper stay hidden: nothing to practise
    response = client.post("/me/mistakes/practice", data={"csrf_token": token, "count": "5"})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "There is nothing to practise now." in page
    assert count_rows(db, ExamPaper) == 1
    # no CSRF token: refused
    assert client.post("/me/mistakes/practice", data={"count": "5"}).status_code == 400
    # signed out: to the sign-in page
    logout(client)
    assert client.get("/me/mistakes").status_code == 302
