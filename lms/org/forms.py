"""Forms of the org pages."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from lms.i18n import lazy_gettext as _l
from lms.org.display import ROLE_NAMES, STAFF_KIND_NAMES, STATUS_NAMES
from lms.org.models import EmploymentStatus, Role, StaffKind

try:  # WTForms 3.3 deprecates (value, label) tuples in favour of SelectChoice
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms
    SelectChoice = None


def choices(pairs: list[tuple[Any, Any]]) -> list[Any]:
    """Select options from ``(value, label)`` pairs, in the form this WTForms version wants."""
    if SelectChoice is None:
        return pairs
    return [SelectChoice(value, label) for value, label in pairs]


class EmployeeForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    status = SelectField(
        _l("Employment status"),
        choices=choices([(s.value, STATUS_NAMES[s]) for s in EmploymentStatus]),
    )
    hired_on = DateField(_l("Hired on"), validators=[Optional()])
    left_on = DateField(_l("Left on"), validators=[Optional()])
    is_manager = BooleanField(_l("Management staff (管理人员)"))
    staff_kind = SelectField(
        _l("Staff category"),
        choices=choices([("", "—")] + [(k.value, STAFF_KIND_NAMES[k]) for k in StaffKind]),
    )
    role = SelectField(_l("Role"), choices=choices([(r.value, ROLE_NAMES[r]) for r in Role]))


class MoveForm(FlaskForm):
    unit_id = SelectField(_l("New unit"), coerce=int)
    post = StringField(_l("New post"), validators=[Length(max=100)])
    effective_on = DateField(_l("Effective on"), validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Length(max=500)])


class ImportUploadForm(FlaskForm):
    kind = SelectField(
        _l("What the file holds"),
        choices=choices([("employees", _l("Employees")), ("units", _l("Units"))]),
    )
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])


class ImportConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])
