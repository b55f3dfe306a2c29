"""Forms of the audit pages."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from lms.audit.ledger import METHODS
from lms.i18n import lazy_gettext as _l
from lms.org.forms import choices


class FindingForm(FlaskForm):
    """An inspection finding (one row of 按月稽查、考核台账)."""

    month = StringField(_l("Month (YYYY-MM)"), validators=[DataRequired(), Length(max=7)])
    unit = SelectField(_l("Unit inspected"), coerce=int, validate_choice=False)
    item = StringField(_l("Item inspected"), validators=[DataRequired(), Length(max=200)])
    method = SelectField(_l("Method"), choices=choices([(m, m) for m in METHODS]))
    problem = TextAreaField(_l("Problem found"), validators=[DataRequired(), Length(max=2000)])
    responsible = StringField(_l("Person responsible"), validators=[Length(max=100)])
    deduction = StringField(_l("Points deducted or amount assessed"), validators=[Length(max=20)])
    requirement = TextAreaField(_l("Rectification required"), validators=[Length(max=2000)])
    deadline = DateField(_l("Deadline"), validators=[Optional()])


class ReviewForm(FlaskForm):
    """The result of a finding's rectification, checked by the signed-in person."""

    result = TextAreaField(
        _l("Rectification result"), validators=[DataRequired(), Length(max=2000)]
    )
