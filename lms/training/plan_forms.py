"""Forms of the annual plan pages, and reading the item form into checked values.

The numbers and 计划时间 are plain text read with the same parsers as the plan file
(:mod:`lms.training.plan`), so that the page and the import accept the same things and say the
same when they cannot; each problem is a message on its own field.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy.orm import Session
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange

from lms.courses.models import Course, CourseStatus
from lms.i18n import gettext as _
from lms.i18n import lazy_gettext as _l
from lms.org.forms import choices
from lms.security import valid_id
from lms.training import plan
from lms.training.models import PlanItem, TrainingForm
from lms.training.programmes import all_programmes


class PlanItemForm(FlaskForm):
    """One line of the annual plan (年度培训计划)."""

    title = StringField(
        _l("Item (项目名称)"), validators=[DataRequired(), Length(max=plan.LIMITS["title"])]
    )
    programme = SelectField(_l("Category (类别)"), validate_choice=False)
    course = SelectField(_l("Course it is carried out by (optional)"), validate_choice=False)
    audience = StringField(
        _l("Audience: posts (培训对象)"), validators=[Length(max=plan.LIMITS["audience"])]
    )
    planned_sessions = StringField(_l("Planned sessions (计划期数)"), default="0")
    planned_people = StringField(_l("Planned people (计划人数)"), default="0")
    hours = StringField(_l("Hours per person (学时)"), default="0")
    form = SelectField(
        _l("Form (形式)"),
        choices=choices([(f.value, f.value) for f in TrainingForm]),
        validate_choice=False,
    )
    months = StringField(_l("Planned time (计划时间)"), validators=[DataRequired()])
    organiser = StringField(
        _l("Organising department (主办部门)"), validators=[Length(max=plan.LIMITS["organiser"])]
    )
    trainer = StringField(_l("Trainers (师资)"), validators=[Length(max=plan.LIMITS["trainer"])])
    budget = StringField(_l("Budget in yuan (预算)"))
    assessment = StringField(
        _l("Assessment (考核方式)"), validators=[Length(max=plan.LIMITS["assessment"])]
    )
    note = TextAreaField(_l("Note (备注)"), validators=[Length(max=plan.LIMITS["note"])])


class ShortfallForm(FlaskForm):
    reason = TextAreaField(
        _l("Why it fell short (未完成原因)"),
        validators=[Length(max=plan.LIMITS["shortfall_reason"])],
    )


class PlanUploadForm(FlaskForm):
    year = IntegerField(
        _l("Year of the plan"),
        validators=[DataRequired(), NumberRange(plan.FIRST_YEAR, plan.LAST_YEAR)],
    )
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])


class PlanConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


# Choices ---------------------------------------------------------------------------------------


def set_choices(db: Session, form: PlanItemForm, item: PlanItem | None = None) -> None:
    """The programmes, and the published courses (with the item's own, whatever its state)."""
    form.programme.choices = choices(
        [(code, str(info.label)) for code, info in all_programmes(db).items()]
    )
    wanted = Course.status == CourseStatus.published
    if item is not None and item.course_id is not None:
        wanted = sa.or_(wanted, Course.id == item.course_id)
    courses = db.scalars(sa.select(Course).where(wanted).order_by(Course.code))
    form.course.choices = choices(
        [("", "—")] + [(str(c.id), f"{c.code} {c.title}") for c in courses]
    )


def fill(form: PlanItemForm, item: PlanItem) -> None:
    """The item's values in the form (for editing)."""
    form.title.data = item.title
    form.programme.data = item.programme
    form.course.data = str(item.course_id) if item.course_id else ""
    form.audience.data = item.audience
    form.planned_sessions.data = str(item.planned_sessions)
    form.planned_people.data = str(item.planned_people)
    form.hours.data = str(item.hours)
    form.form.data = item.form.value
    form.months.data = plan.format_months(item.start_month, item.end_month)
    form.organiser.data = item.organiser
    form.trainer.data = item.trainer
    form.budget.data = "" if item.budget is None else str(item.budget)
    form.assessment.data = item.assessment
    form.note.data = item.note


# Reading the form ------------------------------------------------------------------------------


def _error(field: Any, message: str) -> None:
    field.errors = [*field.errors, message]


def read_item_form(db: Session, form: PlanItemForm, year: int) -> plan.PlanFields | None:
    """The form's checked values, or None with each problem on its field (the lengths and
    required fields are the form's own validators)."""
    ok = True

    def parsed(field: Any, parse: Any, *args: Any) -> Any:
        nonlocal ok
        if field.errors:  # already said (a required field left empty)
            ok = False
            return None
        try:
            return parse(field.data or "", *args)
        except ValueError as exc:
            ok = False
            _error(field, str(exc))
            return None

    sessions = parsed(form.planned_sessions, plan.parse_count)
    people = parsed(form.planned_people, plan.parse_count)
    hours = parsed(form.hours, plan.parse_hours)
    budget = parsed(form.budget, plan.parse_budget)
    months = parsed(form.months, plan.parse_months, year)
    training_form = parsed(form.form, plan.parse_form)

    programme = form.programme.data or ""
    if programme not in all_programmes(db):
        ok = False
        _error(form.programme, _("Choose a programme."))
    course_id = None
    text = (form.course.data or "").strip()
    if text:
        if text.isascii() and text.isdecimal() and valid_id(int(text)):
            course_id = int(text)
        else:
            ok = False
            _error(form.course, _("Choose a course."))
    if not ok:
        return None
    return plan.PlanFields(
        title=plan.clean_text(form.title.data),
        programme=programme,
        form=training_form,
        start_month=months[0],
        end_month=months[1],
        course_id=course_id,
        audience=plan.clean_text(form.audience.data),
        planned_sessions=sessions,
        planned_people=people,
        hours=hours,
        organiser=plan.clean_text(form.organiser.data),
        trainer=plan.clean_text(form.trainer.data),
        budget=budget,
        assessment=plan.clean_text(form.assessment.data),
        note=plan.clean_text(form.note.data, multiline=True),
    )
