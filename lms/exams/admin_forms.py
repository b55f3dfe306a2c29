"""Forms of HR's exam paper pages: a paper's settings, a draw rule, adding questions, and the
buttons that only post.

The fields are read as typed and checked by :mod:`lms.exams.admin`, whose messages name the
field (WTForms' own messages, such as "Not a valid integer value.", do not)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import AnyOf

from lms.exams.admin import PaperFields, RuleFields
from lms.exams.models import ExamDrawRule, ExamPaper, PaperKind, ReviewPolicy
from lms.i18n import lazy_gettext as _l
from lms.org.forms import choices

KIND_NAMES = {
    PaperKind.fixed.value: _l("Fixed (the same questions for everyone)"),
    PaperKind.drawn.value: _l("Drawn (questions drawn for each candidate by rules)"),
}
REVIEW_NAMES = {
    ReviewPolicy.none.value: _l("Nothing"),
    ReviewPolicy.score.value: _l("The score only"),
    ReviewPolicy.answers_after_close.value: _l("Answers after the exam closes"),
    ReviewPolicy.answers_at_once.value: _l("Answers at once"),
}
PASS_UNITS = {"percent": _l("percent of the total"), "points": _l("points")}


class PaperForm(FlaskForm):
    code = StringField(_l("Code"))
    title = StringField(_l("Title"))
    kind = SelectField(_l("Kind"), choices=choices(list(KIND_NAMES.items())), validate_choice=False)
    course_id = SelectField(_l("Course"), validate_choice=False)
    opens_at = StringField(_l("Opens at"))
    closes_at = StringField(_l("Closes at"))
    time_limit_minutes = StringField(_l("Time limit (minutes)"), default="60")
    pass_mark = StringField(_l("Pass mark"), default="60")
    pass_mark_unit = SelectField(
        _l("Pass mark in"), choices=choices(list(PASS_UNITS.items())), validate_choice=False
    )
    max_attempts = StringField(_l("Attempts allowed"), default="1")
    retake_wait_hours = StringField(_l("Retake wait (hours)"), default="0")
    grace_seconds = StringField(_l("Grace period (seconds)"), default="60")
    review_policy = SelectField(
        _l("Review after the exam"),
        choices=choices(list(REVIEW_NAMES.items())),
        default=ReviewPolicy.score.value,
        validate_choice=False,
    )
    shuffle_questions = BooleanField(_l("Shuffle the questions"))
    shuffle_options = BooleanField(_l("Shuffle the options"))
    multiple_choice_partial = BooleanField(
        _l("Multiple choice: proportional credit, wrong picks subtract")
    )
    practice = BooleanField(_l("Practice (not recorded as an exam)"))

    def fill(self, paper: ExamPaper, local_time: Any) -> None:
        """The paper's settings, times in the bureau's zone (``local_time(moment)``)."""
        self.code.data = paper.code
        self.title.data = paper.title
        self.kind.data = paper.kind.value
        self.course_id.data = str(paper.course_id or "")
        self.opens_at.data = local_time(paper.opens_at)
        self.closes_at.data = local_time(paper.closes_at)
        self.time_limit_minutes.data = str(paper.time_limit_minutes)
        self.pass_mark.data = f"{paper.pass_mark.normalize():f}"
        self.pass_mark_unit.data = "percent" if paper.pass_mark_percent else "points"
        self.max_attempts.data = str(paper.max_attempts)
        self.retake_wait_hours.data = str(paper.retake_wait_hours)
        self.grace_seconds.data = str(paper.grace_seconds)
        self.review_policy.data = paper.review_policy.value
        self.shuffle_questions.data = paper.shuffle_questions
        self.shuffle_options.data = paper.shuffle_options
        self.multiple_choice_partial.data = paper.multiple_choice_partial
        self.practice.data = paper.practice

    def fields(self) -> PaperFields:
        return PaperFields(
            code=self.code.data or "",
            title=self.title.data or "",
            kind=self.kind.data or "",
            course_id=self.course_id.data or None,
            opens_at=self.opens_at.data or "",
            closes_at=self.closes_at.data or "",
            time_limit_minutes=self.time_limit_minutes.data or "",
            pass_mark=self.pass_mark.data or "",
            pass_mark_percent=self.pass_mark_unit.data != "points",
            max_attempts=self.max_attempts.data or "",
            retake_wait_hours=self.retake_wait_hours.data or "",
            shuffle_questions=bool(self.shuffle_questions.data),
            shuffle_options=bool(self.shuffle_options.data),
            review_policy=self.review_policy.data or "",
            multiple_choice_partial=bool(self.multiple_choice_partial.data),
            grace_seconds=self.grace_seconds.data or "",
            practice=bool(self.practice.data),
        )


class RuleForm(FlaskForm):
    bank_code = SelectField(_l("Question bank"), validate_choice=False)
    type = SelectField(_l("Question type"), validate_choice=False)
    knowledge_point = StringField(_l("Knowledge point"))
    difficulty = SelectField(
        _l("Difficulty"),
        choices=choices([("", _l("Any")), *[(str(n), str(n)) for n in range(1, 6)]]),
        validate_choice=False,
    )
    count = StringField(_l("Number of questions"), default="1")
    points_each = StringField(_l("Points each"), default="1")

    def fill(self, rule: ExamDrawRule, bank_code: str) -> None:
        self.bank_code.data = bank_code
        self.type.data = rule.type or ""
        self.knowledge_point.data = rule.knowledge_point or ""
        self.difficulty.data = str(rule.difficulty) if rule.difficulty is not None else ""
        self.count.data = str(rule.count)
        self.points_each.data = f"{rule.points_each.normalize():f}"

    def fields(self) -> RuleFields:
        return RuleFields(
            bank_code=self.bank_code.data or "",
            type=self.type.data or "",
            knowledge_point=self.knowledge_point.data or "",
            difficulty=self.difficulty.data or None,
            count=self.count.data or "",
            points_each=self.points_each.data or "",
        )


class AddQuestionsForm(FlaskForm):
    """The ticked questions come as repeated ``question`` values (read by the view)."""

    points = StringField(_l("Points each"), default="1")


class QuestionRowForm(FlaskForm):
    """One question of a fixed paper: its points, and the button pressed."""

    points = StringField(_l("Points"))
    action = HiddenField(validators=[AnyOf(["save", "up", "down", "remove"])])


class ActionForm(FlaskForm):
    """A button that posts (publish, unpublish, delete...): only the CSRF token."""
