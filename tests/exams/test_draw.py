"""Drawing by rules that overlap: a draw that can meet every rule always does (a rule-by-rule
draw would sometimes let a broad rule take the only question a narrow one needs)."""

from __future__ import annotations

from decimal import Decimal

from lms.exams import services
from lms.exams.models import AttemptItem, ExamDrawRule
from lms.questions.data import QuestionData
from tests.exams.conftest import NOW, choice_data


def test_overlapping_rules_are_met_together(db, bank, add_question, drawn_paper, create_employee):
    narrow = add_question(bank, choice_data(9001))  # the only single choice
    broad = add_question(bank, QuestionData(type="true_false", stem="对吗？", answer_true=True))
    paper = drawn_paper(
        [
            ExamDrawRule(bank_id=bank.id, count=1, points_each=Decimal(5)),  # any type
            ExamDrawRule(bank_id=bank.id, type="single_choice", count=1, points_each=Decimal(5)),
        ]
    )
    for _ in range(12):
        attempt = services.start_attempt(db, paper, create_employee(), now=NOW)
        db.commit()
        drawn = {
            item.question_id: item.points
            for item in db.query(AttemptItem).filter(AttemptItem.attempt_id == attempt.id)
        }
        assert drawn == {broad.id: Decimal(5), narrow.id: Decimal(5)}
