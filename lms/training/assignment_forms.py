"""Forms of the assignment and matrix pages, and reading them into checked values.

The fields are plain text read here, so that each problem is a message on its own field in the
page's language. What the actor may not touch is not a field error: a unit outside their scope
raises :class:`~lms.training.assignments.OutOfScope` and the page answers 404, as for any id
that does not exist. Named people are given by 工号; one that is unknown or outside the actor's
units gets the same message, so that 工号 cannot be probed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from wtforms import RadioField, SelectField, StringField, TextAreaField

from lms.courses.models import Course, CourseStatus
from lms.i18n import gettext as _
from lms.i18n import lazy_gettext as _l
from lms.org.forms import choices
from lms.org.models import Employee, EmploymentStatus, Post, Unit
from lms.org.services import all_posts, unit_tree
from lms.security import employee_scope, unit_scope, valid_id
from lms.sheets import parse_date
from lms.training.assignment_admin import pack_courses
from lms.training.assignments import OutOfScope, Target
from lms.training.models import CoursePack

#: 工号 one form may name (a larger group is a unit or a post)
MAX_PEOPLE = 500
#: 工号 errors listed one by one before "and N more"
MAX_LISTED = 20
MAX_NOTE = 500
MAX_RENEWAL_MONTHS = 120
MAX_DUE_DAYS = 3650
#: a 工号 list: one per line, or separated by commas (also Chinese ones), semicolons or spaces
SEPARATORS = re.compile(r"[\s,，、;；]+")


class AssignForm(FlaskForm):
    item = SelectField(_l("Course or pack"), validate_choice=False)
    target = RadioField(
        _l("Assign to"),
        choices=choices(
            [("unit", _l("A unit and its sub-units")), ("people", _l("Named people (工号)"))]
        ),
        default="unit",
        validate_choice=False,
    )
    unit_id = SelectField(_l("Unit"), validate_choice=False)
    post_id = SelectField(_l("Only the post"), validate_choice=False)
    emp_nos = TextAreaField(_l("工号"))
    due_on = StringField(_l("Due date"), render_kw={"type": "date"})
    note = TextAreaField(_l("Note (optional)"))


class RequirementForm(FlaskForm):
    post_id = SelectField(_l("Post"), validate_choice=False)
    course_id = SelectField(_l("Course"), validate_choice=False)
    renewal_months = StringField(_l("Renew every (months, 0 = once)"), default="0")
    due_days = StringField(_l("Days to complete"), default="30")


# Choices ---------------------------------------------------------------------------------------


def item_choices(db: Session) -> dict[str, list[Any]]:
    """Published courses and the packs, in two groups."""
    courses = db.scalars(
        sa.select(Course).where(Course.status == CourseStatus.published).order_by(Course.code)
    )
    packs = db.scalars(sa.select(CoursePack).order_by(CoursePack.name, CoursePack.code))
    groups = {
        _("Course packs"): choices([(f"pack:{p.id}", p.name) for p in packs]),
        _("Courses"): choices([(f"course:{c.id}", f"{c.code} {c.title}") for c in courses]),
    }
    return {label: group for label, group in groups.items() if group}


def unit_choices(db: Session, actor: Employee) -> list[Any]:
    """The units in ``actor``'s scope in tree order, indented by depth."""
    return choices(
        [
            (str(u.id), "\u3000" * depth + u.name)
            for u, depth, _count in unit_tree(db, unit_scope(actor))
        ]
    )


def post_choices(db: Session, *, empty: str) -> list[Any]:
    return choices([("", empty)] + [(str(p.id), p.name) for p in all_posts(db)])


def course_choices(db: Session) -> list[Any]:
    courses = db.scalars(
        sa.select(Course).where(Course.status == CourseStatus.published).order_by(Course.code)
    )
    return choices(
        [("", _("Choose a course"))] + [(str(c.id), f"{c.code} {c.title}") for c in courses]
    )


# Reading the forms -----------------------------------------------------------------------------


def _error(field: Any, message: str) -> None:
    field.errors = [*field.errors, message]


def _id(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdecimal() and valid_id(int(text)) else None


@dataclass(frozen=True)
class AssignRequest:
    courses: list[Course]
    pack: CoursePack | None
    target: Target
    due_on: date
    note: str


def read_assign(
    db: Session, form: AssignForm, *, actor: Employee, today: date
) -> AssignRequest | None:
    """The assignment asked for; None when a field is wrong (each says why). A unit outside
    ``actor``'s scope raises :class:`OutOfScope`, whatever else the form says."""
    target = _read_target(db, form, actor)
    courses, pack = _read_item(db, form.item)
    due_on = _read_due(form.due_on, today)
    note = (form.note.data or "").replace("\x00", "").strip()
    if len(note) > MAX_NOTE:
        _error(form.note, _("Note: at most %(max)d characters.", max=MAX_NOTE))
    if target is None or not courses or due_on is None or form.note.errors:
        return None
    return AssignRequest(courses, pack, target, due_on, note)


def _read_item(db: Session, field: Any) -> tuple[list[Course], CoursePack | None]:
    kind, _sep, value = (field.data or "").partition(":")
    item_id = _id(value)
    if kind == "course" and item_id is not None:
        course = db.get(Course, item_id)
        if course is not None and course.status is CourseStatus.published:
            return [course], None
    elif kind == "pack" and item_id is not None:
        pack = db.get(CoursePack, item_id)
        if pack is not None:
            courses = pack_courses(db, pack)
            if courses:
                return courses, pack
            _error(field, _("The pack %(name)s has no published course.", name=pack.name))
            return [], None
    _error(field, _("Course or pack: choose one of the list."))
    return [], None


def _read_due(field: Any, today: date) -> date | None:
    try:
        day = parse_date(field.data or "")
    except ValueError:
        day = None
    if day is None:
        _error(field, _("%(label)s: a date like 2026-03-15.", label=field.label.text))
        return None
    if day < today:
        _error(field, _("%(label)s: the date is in the past.", label=field.label.text))
        return None
    return day


def _read_target(db: Session, form: AssignForm, actor: Employee) -> Target | None:
    if form.target.data == "people":
        ids = _read_people(db, form.emp_nos, actor)
        return Target(employee_ids=tuple(ids)) if ids else None
    if form.target.data != "unit":
        _error(form.target, _("Assign to: choose a unit or named people."))
        return None
    unit_id = _id(form.unit_id.data)
    if unit_id is None:
        _error(form.unit_id, _("Unit: choose a unit."))
        return None
    if db.scalar(sa.select(Unit.id).where(Unit.id == unit_id, unit_scope(actor))) is None:
        raise OutOfScope("unit")
    post_id = None
    if (form.post_id.data or "").strip():
        post_id = _id(form.post_id.data)
        if post_id is None or db.get(Post, post_id) is None:
            _error(form.post_id, _("Post: choose one of the list."))
            return None
    return Target(unit_id=unit_id, post_id=post_id)


def _read_people(db: Session, field: Any, actor: Employee) -> list[int]:
    """The ids of the people named by 工号, in the order given; [] with one message per 工号
    that is unknown, outside ``actor``'s units, or of someone who has left."""
    wanted = list(dict.fromkeys(t for t in SEPARATORS.split(field.data or "") if t))
    wanted = [t.replace("\x00", "") for t in wanted]
    if not wanted:
        _error(field, _("工号: give at least one 工号."))
        return []
    if len(wanted) > MAX_PEOPLE:
        _error(
            field,
            _(
                "工号: at most %(max)d people at once; assign a unit or a post instead.",
                max=MAX_PEOPLE,
            ),
        )
        return []
    found = {
        emp_no: (person_id, status, name)
        for emp_no, person_id, status, name in db.execute(
            sa.select(Employee.emp_no, Employee.id, Employee.status, Employee.name)
            .join(Unit, Unit.id == Employee.unit_id)
            .where(Employee.emp_no.in_([t[:32] for t in wanted]), employee_scope(actor))
        )
    }
    problems = []
    for emp_no in wanted:
        person = found.get(emp_no)
        if person is None:
            problems.append(
                _(
                    "%(emp_no)s: no employee with this 工号 in the units you may assign to.",
                    emp_no=emp_no[:32],
                )
            )
        elif person[1] is EmploymentStatus.left:
            problems.append(_("%(name)s (%(emp_no)s) has left.", name=person[2], emp_no=emp_no))
    for message in problems[:MAX_LISTED]:
        _error(field, message)
    if len(problems) > MAX_LISTED:
        _error(field, _("… and %(num)d more.", num=len(problems) - MAX_LISTED))
    if problems:
        return []
    return [found[emp_no][0] for emp_no in wanted]


@dataclass(frozen=True)
class RequirementRequest:
    post: Post
    course: Course
    renewal_months: int
    due_days: int


def read_requirement(db: Session, form: RequirementForm) -> RequirementRequest | None:
    """The requirement asked for; None when a field is wrong (each says why)."""
    post_id = _id(form.post_id.data)
    post = db.get(Post, post_id) if post_id is not None else None
    if post is None:
        _error(form.post_id, _("Post: choose one of the list."))
    course_id = _id(form.course_id.data)
    course = db.get(Course, course_id) if course_id is not None else None
    if course is None or course.status is not CourseStatus.published:
        _error(form.course_id, _("Course: choose a course."))
        course = None
    renewal = _whole(form.renewal_months, 0, MAX_RENEWAL_MONTHS)
    due_days = _whole(form.due_days, 0, MAX_DUE_DAYS)
    if post is None or course is None or renewal is None or due_days is None:
        return None
    return RequirementRequest(post, course, renewal, due_days)


def _whole(field: Any, lowest: int, highest: int) -> int | None:
    text = (field.data or "").strip()
    if text.isascii() and text.isdecimal() and lowest <= int(text) <= highest:
        return int(text)
    _error(
        field,
        _(
            "%(label)s: a whole number from %(low)d to %(high)d.",
            label=field.label.text,
            low=lowest,
            high=highest,
        ),
    )
    return None
