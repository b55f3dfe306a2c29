"""Forms of HR's catalogue pages: a course, a lesson, a file, and the buttons that only post."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange

from lms.courses.admin import CourseFields, LessonFields
from lms.courses.models import CompletionRule, Course, Lesson
from lms.i18n import lazy_gettext as _l
from lms.org.forms import choices
from lms.questions.forms import split_list

RULE_NAMES = {
    CompletionRule.viewed: _l("A lesson is done once opened"),
    CompletionRule.min_time: _l("A lesson is done after its minimum study time"),
}
STATUS_NAMES = {
    "draft": _l("Draft"),
    "published": _l("Published"),
    "retired": _l("Retired"),
}


class CourseForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=64)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    programme = SelectField(_l("Programme"))
    hours = DecimalField(_l("Hours (学时)"), places=1, validators=[InputRequired()])
    completion_rule = SelectField(
        _l("Completion rule"), choices=choices([(r.value, n) for r, n in RULE_NAMES.items()])
    )
    summary = TextAreaField(_l("Summary"), validators=[Length(max=5000)])
    audience = StringField(_l("Audience posts (岗位)"), validators=[Length(max=2000)])
    prerequisites = StringField(_l("Prerequisites (course codes)"), validators=[Length(max=2000)])
    bank_codes = StringField(_l("Question banks (codes)"), validators=[Length(max=2000)])
    certificate_design = StringField(_l("Certificate design"), validators=[Length(max=64)])

    def fill(self, course: Course) -> None:
        self.code.data = course.code
        self.title.data = course.title
        self.programme.data = course.programme
        self.hours.data = course.hours
        self.completion_rule.data = course.completion_rule.value
        self.summary.data = course.summary
        self.audience.data = "、".join(p.name for p in course.audience)
        self.prerequisites.data = ", ".join(c.code for c in course.prerequisites)
        self.bank_codes.data = ", ".join(course.bank_codes or [])
        self.certificate_design.data = course.certificate_design or ""

    def fields(self) -> CourseFields:
        return CourseFields(
            code=self.code.data or "",
            title=self.title.data or "",
            programme=self.programme.data or "",
            hours=self.hours.data if self.hours.data is not None else "",
            completion_rule=self.completion_rule.data or "",
            summary=self.summary.data or "",
            audience=split_list(self.audience.data),
            prerequisites=split_list(self.prerequisites.data),
            bank_codes=split_list(self.bank_codes.data),
            certificate_design=self.certificate_design.data or "",
        )


class LessonForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    body = TextAreaField(_l("Text (Markdown)"), validators=[Length(max=200_000)])
    video_url = StringField(_l("Video link"), validators=[Length(max=500)])
    min_seconds = IntegerField(
        _l("Minimum study time (seconds)"),
        default=0,
        validators=[InputRequired(), NumberRange(min=0, max=86_400)],
    )

    def fill(self, lesson: Lesson) -> None:
        self.title.data = lesson.title
        self.body.data = lesson.body
        self.video_url.data = lesson.video_url
        self.min_seconds.data = lesson.min_seconds

    def fields(self) -> LessonFields:
        return LessonFields(
            title=self.title.data or "",
            body=self.body.data or "",
            video_url=self.video_url.data or "",
            min_seconds=self.min_seconds.data or 0,
        )


class AttachmentForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired()])


class ActionForm(FlaskForm):
    """A button that posts (publish, retire, delete...): only the CSRF token."""


class MoveForm(FlaskForm):
    direction = HiddenField(validators=[AnyOf(["up", "down"])])
