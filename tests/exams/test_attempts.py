"""Drawing, freezing, the public payload, saving and the deadline, grading and review."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lms.exams import services
from lms.exams.models import AttemptItem, AttemptState, ExamDrawRule, ReviewPolicy
from lms.questions.data import QuestionData
from lms.questions.services import edit_question
from lms.questions.types import registry
from tests.exams.conftest import NOW, choice_data


def right_index(item: dict[str, Any]) -> int:
    """The shown position of the right option of a single-choice item."""
    return next(i for i, text in enumerate(item["question"]["options"]) if text.startswith("RIGHT"))


def wrong_index(item: dict[str, Any]) -> int:
    return next(i for i, text in enumerate(item["question"]["options"]) if text.startswith("wrong"))


def test_draw_meets_every_rule_without_duplicates(
    db: Any,
    bank: Any,
    add_question: Callable[..., Any],
    drawn_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    for n in range(6):
        add_question(bank, choice_data(100 + n, difficulty=2, point="抢修"))
    for n in range(4):
        add_question(bank, choice_data(200 + n, kind="multiple_choice", difficulty=4))
    add_question(bank, choice_data(300, difficulty=2, point="抢修"), enabled=False)
    paper = drawn_paper(
        [
            ExamDrawRule(
                bank_id=bank.id,
                type="single_choice",
                knowledge_point="抢修",
                difficulty=2,
                count=5,
                points_each=Decimal(2),
            ),
            ExamDrawRule(bank_id=bank.id, type="multiple_choice", count=3, points_each=Decimal(5)),
        ],
        shuffle_questions=True,
        shuffle_options=True,
    )
    preview = services.preview_draw(db, paper)
    assert [(available, needed) for _rule, available, needed in preview] == [(6, 5), (4, 3)]

    attempt = services.start_attempt(db, paper, create_employee(), now=NOW)
    db.commit()
    items = db.scalars(sa.select(AttemptItem).where(AttemptItem.attempt_id == attempt.id)).all()
    assert len(items) == 8 and len({i.question_id for i in items}) == 8
    assert attempt.max_score == Decimal(25)
    assert attempt.deadline_at == NOW + timedelta(minutes=60)
    assert all(sorted(i.option_order) == list(range(len(i.option_order))) for i in items)
    assert sorted(len(i.option_order) for i in items) == [4] * 5 + [5] * 3
    types = sorted(i["question"]["type"] for i in services.public_items(db, attempt))
    assert types == ["multiple_choice"] * 3 + ["single_choice"] * 5


def test_a_rule_that_cannot_be_met_refuses_the_start(
    db: Any,
    bank: Any,
    add_question: Callable[..., Any],
    drawn_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    add_question(bank, choice_data(1))
    paper = drawn_paper([ExamDrawRule(bank_id=bank.id, count=2)])
    assert services.preview_draw(db, paper)[0][1:] == (1, 2)
    with pytest.raises(services.ExamError):
        services.start_attempt(db, paper, create_employee(), now=NOW)


def test_editing_a_question_after_the_start_changes_nothing_in_the_attempt(
    db: Any,
    fixed_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    paper = fixed_paper(1)
    employee = create_employee()
    attempt = services.start_attempt(db, paper, employee, now=NOW)
    db.commit()
    before = services.public_items(db, attempt)
    question = paper.questions[0]
    from lms.questions.models import Question

    edited = choice_data(999)
    edited.stem = "改过的题目"
    edit_question(db, employee, db.get(Question, question.question_id), edited, types=registry())
    db.commit()
    assert services.public_items(db, attempt) == before
    # Answering the frozen version's right option still earns the points.
    services.save_answer(db, attempt, before[0]["key"], right_index(before[0]), now=NOW)
    assert services.submit(db, attempt, now=NOW)
    assert attempt.score == Decimal(10) and attempt.passed


def test_public_items_carry_no_answers(
    db: Any,
    fixed_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    paper = fixed_paper(4, shuffle_options=True, shuffle_questions=True)
    attempt = services.start_attempt(db, paper, create_employee(), now=NOW)
    db.commit()
    items = services.public_items(db, attempt)
    services.save_answer(db, attempt, items[0]["key"], right_index(items[0]), now=NOW)
    payload = json.dumps(services.public_items(db, attempt), ensure_ascii=False)
    for marker in ("FEEDBACK", "EXPLANATION", "FB-", "fraction", "feedback", "explanation"):
        assert marker not in payload
    question_ids = {str(q.question_id) for q in paper.questions}
    assert not question_ids & set(re.findall(r'"(?:id|question_id)": *"?(\d+)', payload))
    assert "question_id" not in payload and '"id"' not in payload
    # The right option is shown (it must be), but nothing marks it as right.
    for item in json.loads(payload):
        assert set(item) == {"key", "position", "points", "question", "response"}
        assert set(item["question"]) == {"type", "stem", "options"}


def test_saved_answers_come_back_after_a_reload_and_the_last_save_wins(
    db: Any,
    app: Any,
    fixed_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    paper = fixed_paper(3, shuffle_options=True)
    employee = create_employee()
    attempt = services.start_attempt(db, paper, employee, now=NOW)
    db.commit()
    items = services.public_items(db, attempt)
    services.save_answer(db, attempt, items[0]["key"], wrong_index(items[0]), now=NOW)
    services.save_answer(db, attempt, items[0]["key"], right_index(items[0]), now=NOW)
    services.save_answer(db, attempt, items[1]["key"], wrong_index(items[1]), now=NOW)
    db.commit()
    # A new session (a reload) resumes the same attempt with the same answers.
    with app.extensions["lms"].db.transaction() as other:
        again = services.start_attempt(other, other.merge(paper), other.merge(employee), now=NOW)
        assert again.id == attempt.id
        reloaded = services.public_items(other, again)
    assert [i["response"] for i in reloaded] == [right_index(items[0]), wrong_index(items[1]), None]
    with pytest.raises(services.ExamError):
        services.save_answer(db, attempt, items[2]["key"], 7, now=NOW)
    with pytest.raises(services.ExamError):
        services.save_answer(db, attempt, "no-such-key", 0, now=NOW)


def test_the_deadline_and_its_grace(
    db: Any,
    fixed_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    paper = fixed_paper(
        2, time_limit_minutes=30, grace_seconds=60, closes_at=NOW + timedelta(minutes=20)
    )
    attempt = services.start_attempt(db, paper, create_employee(), now=NOW)
    db.commit()
    assert attempt.deadline_at == NOW + timedelta(minutes=20)  # the closing time comes first
    items = services.public_items(db, attempt)
    deadline = attempt.deadline_at
    services.save_answer(
        db, attempt, items[0]["key"], right_index(items[0]), now=deadline - timedelta(seconds=1)
    )
    with pytest.raises(services.AttemptClosed):
        services.save_answer(
            db,
            attempt,
            items[1]["key"],
            right_index(items[1]),
            now=deadline + timedelta(seconds=61),
        )
    # Within the grace the periodic job marks it overdue; after it, the job finishes it.
    assert services.finish_overdue(db, now=deadline + timedelta(seconds=30)) == 0
    assert attempt.state is AttemptState.overdue
    assert services.finish_overdue(db, now=deadline + timedelta(seconds=61)) == 1
    db.commit()
    assert attempt.state is AttemptState.finished
    assert attempt.score == Decimal(10) and attempt.passed is False
    with pytest.raises(services.AttemptClosed):
        services.save_answer(db, attempt, items[1]["key"], 0, now=deadline)


def test_attempt_limits_and_retake_wait(
    db: Any,
    fixed_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    paper = fixed_paper(1, max_attempts=2, retake_wait_hours=24)
    employee = create_employee()
    first = services.start_attempt(db, paper, employee, now=NOW)
    services.submit(db, first, now=NOW)
    with pytest.raises(services.ExamError, match="retake"):
        services.start_attempt(db, paper, employee, now=NOW + timedelta(hours=1))
    second = services.start_attempt(db, paper, employee, now=NOW + timedelta(hours=25))
    assert second.number == 2
    services.submit(db, second, now=NOW + timedelta(hours=26))
    with pytest.raises(services.ExamError, match="no attempts"):
        services.start_attempt(db, paper, employee, now=NOW + timedelta(days=5))


def test_multiple_choice_partial_credit_and_short_answers(
    db: Any,
    bank: Any,
    add_question: Callable[..., Any],
    drawn_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    add_question(bank, choice_data(1, kind="multiple_choice"))
    add_question(bank, QuestionData(type="short_answer", stem="简述", reference_answer="REF"))
    rules = [
        ExamDrawRule(bank_id=bank.id, type="multiple_choice", count=1, points_each=Decimal(4)),
        ExamDrawRule(bank_id=bank.id, type="short_answer", count=1, points_each=Decimal(6)),
    ]
    for partial, expected in ((False, Decimal(0)), (True, Decimal(2))):
        paper = drawn_paper(
            rules=[
                ExamDrawRule(
                    **{c: getattr(r, c) for c in ("bank_id", "type", "count", "points_each")}
                )
                for r in rules
            ],
            multiple_choice_partial=partial,
            shuffle_options=True,
        )
        attempt = services.start_attempt(db, paper, create_employee(), now=NOW)
        items = {i["question"]["type"]: i for i in services.public_items(db, attempt)}
        choice = items["multiple_choice"]
        picks = [i for i, t in enumerate(choice["question"]["options"]) if t == "RIGHT-1-a"]
        services.save_answer(db, attempt, choice["key"], picks, now=NOW)
        services.save_answer(db, attempt, items["short_answer"]["key"], "我的回答", now=NOW)
        services.submit(db, attempt, now=NOW)
        assert attempt.score == expected
        assert attempt.graded is False and attempt.passed is None


def test_review_follows_the_policy(
    db: Any,
    fixed_paper: Callable[..., Any],
    create_employee: Callable[..., Any],
) -> None:
    closes = NOW + timedelta(hours=2)
    expected = {
        ReviewPolicy.none: (None, False, False),
        ReviewPolicy.score: (Decimal(10), False, False),
        ReviewPolicy.answers_after_close: (Decimal(10), False, True),
        ReviewPolicy.answers_at_once: (Decimal(10), True, True),
    }
    for policy, (score, answers_now, answers_later) in expected.items():
        paper = fixed_paper(1, review_policy=policy, closes_at=closes, shuffle_options=True)
        attempt = services.start_attempt(db, paper, create_employee(), now=NOW)
        item = services.public_items(db, attempt)[0]
        services.save_answer(db, attempt, item["key"], right_index(item), now=NOW)
        services.submit(db, attempt, now=NOW)
        now_view = services.review(db, attempt, NOW)
        later_view = services.review(db, attempt, closes)
        assert now_view.score == score
        assert (now_view.items is not None) is answers_now
        assert (later_view.items is not None) is answers_later
        if later_view.items:
            shown = later_view.items[0]
            assert shown["key"] == [shown["response"]]
            assert shown["explanation"].startswith("EXPLANATION")


def test_a_paper_starts_only_while_it_is_open(
    db: Any, fixed_paper: Callable[..., Any], create_employee: Callable[..., Any]
) -> None:
    paper = fixed_paper(1, opens_at=NOW, closes_at=NOW + timedelta(hours=1))
    employee = create_employee()
    with pytest.raises(services.ExamError, match="not open"):
        services.start_attempt(db, paper, employee, now=NOW - timedelta(seconds=1))
    with pytest.raises(services.ExamError, match="closed"):
        services.start_attempt(db, paper, employee, now=NOW + timedelta(hours=1))
    attempt = services.start_attempt(db, paper, employee, now=NOW + timedelta(minutes=30))
    assert attempt.deadline_at == NOW + timedelta(hours=1)
