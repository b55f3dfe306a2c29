"""Forms of HR's certificate pages, and reading them into checked values.

The fields are plain text read here, so that each problem is a message on its own field that
says what is wrong in the page's language (WTForms' own messages, such as "Not a valid date
value.", do not)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy.orm import Session
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired

from lms.certificates.designs import Design, shipped_designs
from lms.courses.models import Course, CourseStatus
from lms.i18n import gettext as _
from lms.i18n import lazy_gettext as _l
from lms.org.forms import choices
from lms.org.models import Employee, EmploymentStatus
from lms.security import valid_id
from lms.sheets import parse_date

#: the largest score a certificate records (``Numeric(8, 2)``)
MAX_SCORE = Decimal("999999.99")


def course_choices(db: Session) -> list[Any]:
    """Every course that is or was published, by code, its label naming its own design."""
    designs = shipped_designs()
    courses = db.scalars(
        sa.select(Course).where(Course.status != CourseStatus.draft).order_by(Course.code)
    )
    pairs: list[tuple[str, str]] = [("", _("Choose a course"))]
    for course in courses:
        label = f"{course.code} {course.title}"
        design = designs.get(course.certificate_design or "")
        if design is not None:
            label += f" · {design.title}"
        pairs.append((str(course.id), label))
    return choices(pairs)


def design_choices() -> list[Any]:
    """The shipped designs, after "the course's own"."""
    pairs = [("", _("The course's own design"))]
    pairs += [(d.name, f"{d.title} ({d.name})") for d in shipped_designs().values()]
    return choices(pairs)


class IssueForm(FlaskForm):
    emp_no = StringField(_l("工号"))
    course_id = SelectField(_l("Course"), validate_choice=False)
    design = SelectField(_l("Certificate design"), validate_choice=False)
    issued_on = StringField(_l("Issue date"), render_kw={"type": "date"})
    score = StringField(_l("Score (optional)"))


class BulkForm(FlaskForm):
    course_id = SelectField(_l("Course"), validate_choice=False)
    start = StringField(_l("Passed from"), render_kw={"type": "date"})
    end = StringField(_l("Passed until"), render_kw={"type": "date"})
    design = SelectField(_l("Certificate design"), validate_choice=False)


class ImportUploadForm(FlaskForm):
    file = FileField(_l("CSV or XLSX file"), validators=[FileRequired()])


class ImportConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])


# Reading the forms ----------------------------------------------------------------------------


def _error(field: Any, message: str) -> None:
    field.errors = [*field.errors, message]


def read_date(field: Any, *, today: date | None) -> date | None:
    """The field's date (not after ``today``, unless None); None, with a message on the field,
    otherwise."""
    try:
        day = parse_date(field.data or "")
    except ValueError:
        _error(field, _("%(label)s: a date like 2026-03-15.", label=field.label.text))
        return None
    if day is None:
        _error(field, _("%(label)s: a date like 2026-03-15.", label=field.label.text))
        return None
    if today is not None and day > today:
        _error(field, _("%(label)s: the date is in the future.", label=field.label.text))
        return None
    return day


def read_course(db: Session, field: Any) -> Course | None:
    """The chosen course (not a draft); None, with a message on the field, otherwise."""
    value = (field.data or "").strip()
    course = db.get(Course, int(value)) if value.isdecimal() and valid_id(int(value)) else None
    if course is None or course.status is CourseStatus.draft:
        _error(field, _("Course: choose a course."))
        return None
    return course


def read_design(field: Any, course: Course | None) -> Design | None:
    """The chosen design, or the course's own; None, with a message on the field, otherwise."""
    designs = shipped_designs()
    name = (field.data or "").strip()
    if name:
        if name not in designs:
            _error(field, _("Certificate design: choose one of the list."))
            return None
        return designs[name]
    if course is None:
        return None
    own = course.certificate_design or ""
    if not own:
        _error(
            field,
            _("The course %(code)s has no certificate design: choose one.", code=course.code),
        )
        return None
    if own not in designs:
        _error(
            field,
            _(
                "The course %(code)s names the design %(name)s, which does not exist: choose one.",
                code=course.code,
                name=own,
            ),
        )
        return None
    return designs[own]


@dataclass(frozen=True)
class IssueRequest:
    employee: Employee
    course: Course
    design: Design
    issued_on: date
    score: Decimal | None


def read_issue(db: Session, form: IssueForm, *, today: date) -> IssueRequest | None:
    """The issue asked for; None when a field is wrong (each says why)."""
    emp_no = (form.emp_no.data or "").replace("\x00", "").strip()
    employee = None
    if not emp_no:
        _error(form.emp_no, _("工号: give the holder's 工号."))
    else:
        employee = db.scalars(sa.select(Employee).where(Employee.emp_no == emp_no[:64])).first()
        if employee is None:
            _error(form.emp_no, _("No employee has the 工号 %(emp_no)s.", emp_no=emp_no[:64]))
        elif employee.status is EmploymentStatus.left:
            _error(
                form.emp_no,
                _("%(name)s (%(emp_no)s) has left.", name=employee.name, emp_no=employee.emp_no),
            )
            employee = None
    course = read_course(db, form.course_id)
    design = read_design(form.design, course)
    issued_on = read_date(form.issued_on, today=today)
    score = read_score(form.score)
    if employee is None or course is None or design is None or issued_on is None:
        return None
    if form.score.errors:
        return None
    return IssueRequest(employee, course, design, issued_on, score)


def read_score(field: Any) -> Decimal | None:
    """An optional score: a number from 0 with at most two decimals."""
    text = (field.data or "").strip()
    if not text:
        return None
    try:
        score = Decimal(text)
    except InvalidOperation:
        score = None
    if (
        score is None
        or not score.is_finite()
        or not 0 <= score <= MAX_SCORE
        or score != score.quantize(Decimal("0.01"))
    ):
        _error(field, _("Score: a number such as 92.5, or nothing."))
        return None
    return score


@dataclass(frozen=True)
class BulkRequest:
    course: Course
    design: Design
    start: date
    end: date


def read_bulk(db: Session, form: BulkForm) -> BulkRequest | None:
    """The bulk issue asked for; None when a field is wrong (each says why). The period may
    reach into the future (the rest of the year): only passes so far are found."""
    course = read_course(db, form.course_id)
    design = read_design(form.design, course)
    start = read_date(form.start, today=None)
    end = read_date(form.end, today=None)
    if start is not None and end is not None and end < start:
        _error(form.end, _("The period ends before it starts."))
        return None
    if course is None or design is None or start is None or end is None:
        return None
    return BulkRequest(course, design, start, end)
