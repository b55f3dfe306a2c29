"""An exam in a real browser: a candidate starts a paper, answers (each answer autosaved by the
page's script), reloads and finds the answers still there, submits, and sees the result under
the paper's review policy (answers at once)."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from .browser import sign_in

pytestmark = pytest.mark.e2e
_numbers = itertools.count(1)


def _paper(site) -> int:
    """A fixed paper of a single-choice, a multiple-choice and a fill-in question."""
    from lms.exams.models import ExamPaper, ExamPaperQuestion, PaperKind, ReviewPolicy
    from lms.questions.data import Choice, QuestionData
    from lms.questions.models import Question, QuestionBank
    from lms.questions.services import add_version

    n = next(_numbers)
    questions = [
        QuestionData(
            type="single_choice",
            stem="安全电压的上限是多少？",
            choices=[Choice("36V", 1.0), Choice("110V", 0.0), Choice("220V", 0.0)],
        ),
        QuestionData(
            type="multiple_choice",
            stem="哪些是绝缘工具？",
            choices=[Choice("绝缘手套", 0.5), Choice("绝缘靴", 0.5), Choice("铁锤", -0.5)],
        ),
        QuestionData(type="fill_in", stem="触电急救首先要___。", blanks=[[Choice("断电", 1.0)]]),
    ]
    with site.app.app_context(), site.app.extensions["lms"].db.transaction() as session:
        bank = QuestionBank(code=f"E2E-EXAM-{n}", title="考试题库")
        session.add(bank)
        session.flush()
        paper = ExamPaper(
            code=f"E2E-P{n}",
            title=f"安全规程考试{n}",
            kind=PaperKind.fixed,
            time_limit_minutes=30,
            review_policy=ReviewPolicy.answers_at_once,
        )
        for position, data in enumerate(questions, start=1):
            question = Question(bank_id=bank.id, key=f"e2e-{n}-{position}", type=data.type)
            session.add(question)
            session.flush()
            add_version(session, question, data, actor=None, origin="test")
            paper.questions.append(
                ExamPaperQuestion(question_id=question.id, points=Decimal(10), position=position)
            )
        session.add(paper)
        session.flush()
        return paper.id


def _wait_saved(item) -> None:
    expect(item.locator("[data-save-state]")).to_have_text("已保存")


def test_candidate_answers_reloads_submits_and_sees_the_result(page, site, console):
    paper_id = _paper(site)
    sign_in(page, site.accounts["employee"])
    page.goto(f"/exams/{paper_id}")
    with page.expect_navigation():
        page.get_by_test_id("start-exam").click()
    expect(page.get_by_test_id("countdown")).to_contain_text(":")
    items = page.get_by_test_id("exam-item")
    expect(items).to_have_count(3)

    items.nth(0).get_by_label("36V").check()
    _wait_saved(items.nth(0))
    items.nth(1).get_by_label("绝缘手套").check()
    items.nth(1).get_by_label("绝缘靴").check()
    _wait_saved(items.nth(1))
    items.nth(2).locator("input[type=text]").fill("断电")
    _wait_saved(items.nth(2))

    page.reload()
    items = page.get_by_test_id("exam-item")
    expect(items.nth(0).get_by_label("36V")).to_be_checked()
    expect(items.nth(1).get_by_label("绝缘手套")).to_be_checked()
    expect(items.nth(1).get_by_label("绝缘靴")).to_be_checked()
    expect(items.nth(1).get_by_label("铁锤")).not_to_be_checked()
    expect(items.nth(2).locator("input[type=text]")).to_have_value("断电")

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.get_by_test_id("submit-exam").click()
    expect(page.get_by_test_id("score")).to_have_text("30")
    expect(page.get_by_test_id("outcome")).to_have_text("合格")
    expect(page.get_by_test_id("review-items").locator(".exam-item")).to_have_count(3)
    assert console.problems() == []


def test_an_answer_given_offline_is_saved_when_the_connection_returns(page, site):
    """A dropped connection loses nothing: the page says the answer is not saved, sends it again
    when the browser is back online, and a submit sends what is still unsaved first."""
    paper_id = _paper(site)
    sign_in(page, site.accounts["employee"])
    page.goto(f"/exams/{paper_id}")
    with page.expect_navigation():
        page.get_by_test_id("start-exam").click()
    items = page.get_by_test_id("exam-item")

    page.context.set_offline(True)
    items.nth(0).get_by_label("36V").check()
    expect(page.locator("[data-exam-error]")).to_contain_text("未保存")
    page.context.set_offline(False)
    _wait_saved(items.nth(0))
    expect(page.locator("[data-exam-error]")).to_be_hidden()

    page.context.set_offline(True)
    items.nth(2).locator("input[type=text]").fill("断电")
    expect(page.locator("[data-exam-error]")).to_contain_text("未保存")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("submit-exam").click()
    expect(page.get_by_test_id("exam-form")).to_be_visible()  # still here: nothing was lost
    page.context.set_offline(False)
    _wait_saved(items.nth(2))
    page.reload()
    expect(page.get_by_test_id("exam-item").nth(2).locator("input[type=text]")).to_have_value(
        "断电"
    )
    expect(page.get_by_test_id("exam-item").nth(0).get_by_label("36V")).to_be_checked()
