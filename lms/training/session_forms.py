"""Forms of the classroom session pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from lms.i18n import lazy_gettext as _l
from lms.org.forms import choices
from lms.training.models import TrainingForm

FORM_NAMES = {
    TrainingForm.classroom: _l("Classroom (面授)"),
    TrainingForm.practical: _l("Practical (实操)"),
    TrainingForm.study_day: _l("Study day (学习日)"),
    TrainingForm.meeting: _l("Meeting that trains (以会代训)"),
}


class SessionForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    form = SelectField(_l("Form"), choices=choices([(f.value, n) for f, n in FORM_NAMES.items()]))
    programme = SelectField(_l("Programme"), validate_choice=False)
    course = SelectField(_l("Course (optional)"), coerce=int, validate_choice=False)
    starts_at = DateTimeLocalField(_l("Starts"), validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Ends"), validators=[DataRequired()])
    hours = DecimalField(
        _l("Hours (学时)"), places=1, validators=[DataRequired(), NumberRange(0.1, 200)]
    )
    unit = SelectField(_l("Held by"), coerce=int, validate_choice=False)
    place = StringField(_l("Place"), validators=[Length(max=200)])
    trainer = StringField(_l("Trainer"), validators=[Length(max=100)])
    plan_item = SelectField(_l("Annual plan item (optional)"), coerce=int, validate_choice=False)
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class RosterForm(FlaskForm):
    unit = SelectField(_l("Unit"), coerce=int, validate_choice=False)
    post = SelectField(_l("Post (optional)"), coerce=int, validate_choice=False)
    emp_nos = TextAreaField(_l("Or these 工号 (one per line)"), validators=[Length(max=20000)])


class UploadForm(FlaskForm):
    file = FileField(_l("File"), validators=[FileRequired()])


class CheckInForm(FlaskForm):
    code = HiddenField(validators=[DataRequired(), Length(max=100)])
