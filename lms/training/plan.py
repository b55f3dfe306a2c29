"""The annual training plan (年度培训计划) and its plan-versus-actual table (完成情况).

A plan item is one line of a year's plan: 项目名称, 类别 (a programme), 培训对象(岗位), 计划期数,
计划人数, 学时 (per person), 形式, 计划时间 (a range of months), 主办部门, 师资, 预算, 考核方式,
备注; optionally the course it is carried out by. HR edits the plan (every change audited as
``plan.*``) or imports it from a file; managers read it.

Actual figures of an item, for the item's year Y, as of a moment ``now``:

* The item's ledger rows are the rows whose ``end_on`` falls in Y and that belong to the item:

  - rows of the classroom sessions linked to the item (``TrainingSession.plan_item_id``): the
    rows with source ``session`` and ``source_ref`` ``session:<session id>:<employee id>``;
  - when the item names a course: every row of that course, whatever its source (online,
    session or imported);
  - only when the item has neither a linked session (of any date) nor a course: the rows of its
    programme with its form whose ``end_on`` is in the item's months of Y.

  A row that belongs to the item in two ways (a linked session teaching the item's course)
  counts once. A row may belong to two items (two items of one programme, form and months; a
  session linked to one item that teaches another item's course): each counts it.
* 实际期数: the linked sessions held in Y (their end, in the bureau's time zone, in Y and before
  ``now``); an item carried out online or by imported records has none.
* 实际人数: the distinct people among the rows; 人次: the rows; 学时: the sum of their hours;
  合格人数: the distinct people with a passed row (a failed row counts in 人次 and 学时, not in
  合格人数).
* The plan's side: 计划期数 and 计划人数 as planned, 计划人次 = 计划人数 (each planned person
  trained once), 计划学时 = 计划人数 x 学时 (the person-hours, comparable with the rows' sum).
* 完成率 = 实际人数 / 计划人数 (none when nothing is planned); 合格率 = 合格人数 / 实际人数 (none
  when nobody attended). Rates are exact fractions, rounded only for display; an item is under
  target when 实际人数 < 计划人数, and only then asks for a 未完成原因.

Everything is counted by the database, one grouped query for the rows and one for the sessions
per year, never by looping over ledger rows.

The plan file (CSV or XLSX, the columns of :data:`PLAN_HEADERS`, plus an optional 课程编码) is
imported into a chosen year all-or-nothing, with every problem named by line and column. A row
is matched with the year's item of the same 项目名称 (titles are unique within a year): a new
title adds an item, a known one updates it, and items not in the file are left alone; so
importing the same file again changes nothing. 计划时间 is written like ``3月``, ``3-5月``,
``3月至5月``, ``全年``, ``上半年``, ``二季度``, ``2026-03`` or ``2026年3-5月``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.courses.models import Course
from lms.i18n import gettext as _
from lms.org.models import Employee
from lms.security import valid_id
from lms.sheets import Column, FileProblem, ImportResult, Problem, Table, read_table
from lms.training.models import (
    LedgerEntry,
    LedgerSource,
    PlanItem,
    TrainingForm,
    TrainingSession,
)
from lms.training.programmes import all_programmes

#: years a plan may be for
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: the largest planned number of sessions or people
MAX_COUNT = 1_000_000
#: the columns' limits: 学时 Numeric(6, 1), 预算 Numeric(12, 2)
MAX_HOURS = Decimal("99999.9")
MAX_BUDGET = Decimal("9999999999.99")
#: text lengths (the model's columns; the notes are text, bounded here)
LIMITS = {
    "title": 300,
    "audience": 300,
    "organiser": 100,
    "trainer": 100,
    "assessment": 100,
    "note": 2000,
    "shortfall_reason": 2000,
}
#: rows one plan file may hold (a bureau's plan has tens of lines)
MAX_PLAN_ROWS = 2000

#: 年度培训计划's columns (DESIGN.md), in order: the export's headers
PLAN_HEADERS = (
    "序号",
    "项目名称",
    "类别",
    "培训对象(岗位)",
    "计划期数",
    "计划人数",
    "学时",
    "形式(面授/网络/实操/以会代训)",
    "计划时间",
    "主办部门",
    "师资",
    "预算",
    "考核方式",
    "备注",
)
#: 完成情况's columns (DESIGN.md: 计划 vs 实际 for 期数, 人数, 人次, 学时; then the rates)
ACTUAL_HEADERS = (
    "序号",
    "项目名称",
    "计划期数",
    "实际期数",
    "计划人数",
    "实际人数",
    "计划人次",
    "实际人次",
    "计划学时",
    "实际学时",
    "完成率",
    "合格人数",
    "合格率",
    "未完成原因",
)
#: the plan file's columns (the DESIGN.md headers first, then English and common aliases)
PLAN_COLUMNS = (
    Column("position", "序号", aliases=("no",)),
    Column("title", "项目名称", required=True, aliases=("培训项目", "项目名", "title")),
    Column("programme", "类别", required=True, aliases=("培训类别", "programme")),
    Column("audience", "培训对象(岗位)", aliases=("培训对象", "audience")),
    Column("sessions", "计划期数", aliases=("期数", "planned_sessions")),
    Column("people", "计划人数", aliases=("人数", "planned_people")),
    Column("hours", "学时", aliases=("hours",)),
    Column("form", "形式(面授/网络/实操/以会代训)", required=True, aliases=("形式", "培训形式")),
    Column("months", "计划时间", required=True, aliases=("时间", "months")),
    Column("organiser", "主办部门", aliases=("organiser",)),
    Column("trainer", "师资", aliases=("trainer",)),
    Column("budget", "预算", aliases=("预算(元)", "budget")),
    Column("assessment", "考核方式", aliases=("assessment",)),
    Column("note", "备注", aliases=("note",)),
    Column("course", "课程编码", aliases=("课程", "course", "course_code")),
)


class PlanError(ValueError):
    """A plan item that cannot be saved; ``field`` names the field at fault (the form's field
    names: ``title``, ``course``, ``months``...), the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# -- values: each parser takes a cell's or a field's text, ValueError says what is wrong ---------

_RANGE = r"(?:-|~|～|—|–|至|到)"
_YEAR = r"(?:(\d{4})(?:年|-|/|\.))"
#: 3, 3月, 3-5月, 3月-5月, 2026-03, 2026年3月, 2026-03至2026-05, 2026年3-5月
_MONTHS = re.compile(rf"^{_YEAR}?(\d{{1,2}})月?(?:{_RANGE}{_YEAR}?(\d{{1,2}})月?)?$")
#: a spreadsheet turns 2026-03 into a date: the month of the date
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00)?)?$")
_QUARTER = re.compile(r"^(?:第?([一二三四1-4])季度?|q([1-4]))$", re.IGNORECASE)
_WORDS = {"全年": (1, 12), "全年度": (1, 12), "上半年": (1, 6), "下半年": (7, 12)}
_QUARTERS = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def _months_problem(text: str) -> ValueError:
    return ValueError(
        _(
            "%(value)s is not a planned time: give a month like 3月, months like 3-5月, 全年, "
            "or a month like 2026-03.",
            value=text,
        )
    )


def parse_months(text: str, year: int) -> tuple[int, int]:
    """计划时间 as (first month, last month) of ``year``; ValueError with a message otherwise
    (also for a month of another year, or a range that ends before it starts)."""
    value = re.sub(r"\s+", "", text)
    if value in _WORDS:
        return _WORDS[value]
    quarter = _QUARTER.match(value)
    if quarter:
        number = _QUARTERS[quarter[1] or quarter[2]]
        return 3 * number - 2, 3 * number
    day = _DATE.match(value)
    match = _MONTHS.match(value)
    if day:
        years, first, last = [day[1]], int(day[2]), int(day[2])
    elif match:
        years = [y for y in (match[1], match[3]) if y]
        first = int(match[2])
        last = int(match[4]) if match[4] else first
    else:
        raise _months_problem(text)
    if not (1 <= first <= 12 and 1 <= last <= 12):
        raise _months_problem(text)
    for written in years:
        if int(written) != year:
            raise ValueError(
                _(
                    "%(value)s is not in %(year)d, the year of the plan.",
                    value=text,
                    year=year,
                )
            )
    if last < first:
        raise ValueError(_("%(value)s ends before it starts.", value=text))
    return first, last


def format_months(first: int, last: int) -> str:
    """计划时间 as the plan writes it (and :func:`parse_months` reads back)."""
    if (first, last) == (1, 12):
        return "全年"
    if first == last:
        return f"{first}月"
    return f"{first}-{last}月"


def _strip_unit(text: str, units: Sequence[str]) -> str:
    value = text.strip().replace(",", "").replace("，", "")
    for unit in units:
        if value.endswith(unit):
            return value[: -len(unit)].strip()
    return value


def parse_count(text: str) -> int:
    """计划期数, 计划人数: a whole number of 0 or more (``60``, ``60人``, ``2期``); empty is 0."""
    value = _strip_unit(text, ("人次", "期", "人", "次"))
    if not value:
        return 0
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_COUNT:
        raise ValueError(
            _("%(value)s is not a whole number of 0 or more, like 2 or 60.", value=text)
        )
    return int(value)


def _decimal(value: str, places: int, maximum: Decimal) -> Decimal:
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(value) from exc
    step = Decimal(1).scaleb(-places)
    if not number.is_finite() or number < 0 or number > maximum or number != number.quantize(step):
        raise ValueError(value)
    return abs(number.quantize(step))  # abs: -0 is 0


def parse_hours(text: str) -> Decimal:
    """学时 per person: 0 or more, at most one decimal (``8``, ``1.5``, ``8学时``); empty is 0."""
    value = _strip_unit(text, ("学时", "课时", "小时"))
    if not value:
        return Decimal("0.0")
    try:
        return _decimal(value, 1, MAX_HOURS)
    except ValueError:
        raise ValueError(
            _(
                "%(value)s is not a number of hours: give 0 or more, with at most one decimal, "
                "like 2 or 1.5.",
                value=text,
            )
        ) from None


def parse_budget(text: str) -> Decimal | None:
    """预算 in yuan: ``50000``, ``50,000``, ``50000元``, ``5万`` or ``5万元``; empty is None."""
    value = _strip_unit(text, ("元",))
    if not value:
        return None
    scale = 1
    if value.endswith("万"):
        value, scale = value[:-1].strip(), 10000
    try:
        number = _decimal(value, 2 if scale == 1 else 6, MAX_BUDGET) * scale
        return _decimal(str(number), 2, MAX_BUDGET)
    except ValueError:
        raise ValueError(
            _(
                "%(value)s is not a budget: give an amount in yuan like 50000 or 5万, with at "
                "most two decimals.",
                value=text,
            )
        ) from None


def parse_form(text: str) -> TrainingForm:
    """形式 by its Chinese word (面授, 网络...) or its English name (classroom, online...)."""
    value = text.strip()
    for form in TrainingForm:
        if value == form.value or value.lower() == form.name:
            return form
    raise ValueError(
        _(
            "%(value)s is not a form of training: give 网络, 面授, 实操, 学习日 or 以会代训.",
            value=text,
        )
    )


def clean_text(value: str | None, *, multiline: bool = False) -> str:
    """A text field: runs of spaces collapsed (line breaks kept in notes)."""
    if multiline:
        return "\n".join(" ".join(line.split()) for line in (value or "").strip().splitlines())
    return " ".join((value or "").split())


# -- the items -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanFields:
    """What HR gives for one plan item (checked values; ``programme`` is a code)."""

    title: str
    programme: str
    form: TrainingForm
    start_month: int = 1
    end_month: int = 12
    course_id: int | None = None
    audience: str = ""
    planned_sessions: int = 0
    planned_people: int = 0
    hours: Decimal = Decimal("0.0")
    organiser: str = ""
    trainer: str = ""
    budget: Decimal | None = None
    assessment: str = ""
    note: str = ""

    @classmethod
    def of(cls, item: PlanItem) -> PlanFields:
        return cls(**{f.name: getattr(item, f.name) for f in dataclasses.fields(cls)})


def _snapshot(item: PlanItem) -> dict[str, Any]:
    """The item's values for the audit log (JSON)."""
    values: dict[str, Any] = {"year": item.year, "position": item.position}
    for name in (f.name for f in dataclasses.fields(PlanFields)):
        value = getattr(item, name)
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, TrainingForm):
            value = value.value
        values[name] = value
    values["shortfall_reason"] = item.shortfall_reason or ""
    return values


def _same(item: PlanItem, wanted: PlanFields) -> bool:
    """Whether ``item`` holds ``wanted`` already (Decimals compared by value)."""
    return PlanFields.of(item) == wanted


def check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PlanError(
            "year",
            _(
                "Year: choose a year between %(first)d and %(last)d.",
                first=FIRST_YEAR,
                last=LAST_YEAR,
            ),
        )


def _check(db: Session, year: int, wanted: PlanFields, *, item_id: int | None = None) -> None:
    """What a form cannot check by itself: the title free in the year, the course, the programme,
    the months, the lengths."""
    check_year(year)
    if not wanted.title:
        raise PlanError("title", _("Give the item's name."))
    for name in ("title", "audience", "organiser", "trainer", "assessment", "note"):
        if len(getattr(wanted, name)) > LIMITS[name]:
            raise PlanError(name, _("At most %(num)d characters.", num=LIMITS[name]))
    if wanted.programme not in all_programmes(db):
        raise PlanError("programme", _("Choose a programme."))
    if not (1 <= wanted.start_month <= wanted.end_month <= 12):
        raise PlanError(
            "months", _("The months must run from 1 to 12, the first not after the last.")
        )
    if wanted.course_id is not None and db.get(Course, wanted.course_id) is None:
        raise PlanError("course", _("Choose a course."))
    taken = db.scalar(
        sa.select(PlanItem.id).where(
            PlanItem.year == year, PlanItem.title == wanted.title, PlanItem.id != (item_id or 0)
        )
    )
    if taken is not None:
        raise PlanError(
            "title",
            _("The %(year)d plan has an item of this name already.", year=year),
        )


def items_of(db: Session, year: int) -> list[PlanItem]:
    """The year's plan, by 序号."""
    return list(
        db.scalars(
            sa.select(PlanItem)
            .where(PlanItem.year == year)
            .order_by(PlanItem.position, PlanItem.id)
        )
    )


def plan_years(db: Session) -> list[int]:
    """The years that have a plan, newest first."""
    return list(db.scalars(sa.select(PlanItem.year).distinct().order_by(PlanItem.year.desc())))


def get_item(db: Session, item_id: int) -> PlanItem | None:
    return db.get(PlanItem, item_id) if valid_id(item_id) else None


def linked_sessions(db: Session, item: PlanItem) -> int:
    """How many sessions carry the item out (of any date)."""
    return (
        db.scalar(
            sa.select(sa.func.count(TrainingSession.id)).where(
                TrainingSession.plan_item_id == item.id
            )
        )
        or 0
    )


def linked_counts(db: Session, year: int) -> dict[int, int]:
    """For each of the year's items, how many sessions carry it out (of any date)."""
    return dict(
        db.execute(
            sa.select(TrainingSession.plan_item_id, sa.func.count(TrainingSession.id))
            .join(PlanItem, PlanItem.id == TrainingSession.plan_item_id)
            .where(PlanItem.year == year)
            .group_by(TrainingSession.plan_item_id)
        ).all()
    )


def course_names(db: Session, items: Sequence[PlanItem]) -> dict[int, str]:
    """``code title`` of the courses the items name, by id."""
    ids = {item.course_id for item in items if item.course_id is not None}
    if not ids:
        return {}
    rows = db.execute(sa.select(Course.id, Course.code, Course.title).where(Course.id.in_(ids)))
    return {id_: f"{code} {title}" for id_, code, title in rows}


def _next_position(db: Session, year: int) -> int:
    return (
        db.scalar(sa.select(sa.func.max(PlanItem.position)).where(PlanItem.year == year)) or 0
    ) + 1


def _apply(item: PlanItem, wanted: PlanFields) -> None:
    for name in (f.name for f in dataclasses.fields(PlanFields)):
        setattr(item, name, getattr(wanted, name))


def create_item(
    db: Session,
    *,
    actor: Employee | None,
    year: int,
    fields: PlanFields,
    position: int | None = None,
) -> PlanItem:
    """Add an item to the year's plan, after the last one unless ``position`` is given;
    audited (``plan.create``). :class:`PlanError` names the field at fault."""
    _check(db, year, fields)
    item = PlanItem(year=year, position=position or _next_position(db, year))
    _apply(item, fields)
    db.add(item)
    db.flush()
    audit(
        db,
        actor=actor,
        action="plan.create",
        object_type="plan_item",
        object_id=item.id,
        summary=f"{year} {item.title}",
        after=_snapshot(item),
    )
    db.flush()
    return item


def update_item(db: Session, *, actor: Employee | None, item: PlanItem, fields: PlanFields) -> bool:
    """Change an item; audited (``plan.update``, before and after). False when nothing
    changed. :class:`PlanError` names the field at fault."""
    _check(db, item.year, fields, item_id=item.id)
    if _same(item, fields):
        return False
    before = _snapshot(item)
    _apply(item, fields)
    db.flush()
    audit(
        db,
        actor=actor,
        action="plan.update",
        object_type="plan_item",
        object_id=item.id,
        summary=f"{item.year} {item.title}",
        before=before,
        after=_snapshot(item),
    )
    db.flush()
    return True


def _renumber(db: Session, year: int) -> None:
    """序号 1, 2, 3... in the plan's order."""
    for number, item in enumerate(items_of(db, year), start=1):
        if item.position != number:
            item.position = number
    db.flush()


def delete_item(db: Session, *, actor: Employee | None, item: PlanItem) -> None:
    """Remove an item from its plan (the sessions that carried it out stay, unlinked); the
    others are numbered again; audited (``plan.delete``)."""
    before = _snapshot(item)
    before["linked_sessions"] = linked_sessions(db, item)
    year, item_id = item.year, item.id
    # the database unlinks them too (ON DELETE SET NULL); said here so that no database's
    # foreign key setting matters
    db.execute(
        sa.update(TrainingSession)
        .where(TrainingSession.plan_item_id == item.id)
        .values(plan_item_id=None)
        .execution_options(synchronize_session=False)
    )
    db.delete(item)
    db.flush()
    _renumber(db, year)
    audit(
        db,
        actor=actor,
        action="plan.delete",
        object_type="plan_item",
        object_id=item_id,
        summary=f"{year} {before['title']}",
        before=before,
    )
    db.flush()


def reorder_items(
    db: Session, *, actor: Employee | None, year: int, item_ids: Sequence[int]
) -> bool:
    """Put the year's items in the order of ``item_ids`` (序号 1, 2, 3...); items not named
    keep their relative order after those named. Audited (``plan.reorder``); False when the
    order is unchanged."""
    items = items_of(db, year)
    before = [item.id for item in items]
    rank = {item_id: number for number, item_id in enumerate(item_ids)}
    ordered = sorted(items, key=lambda item: (rank.get(item.id, len(rank)), before.index(item.id)))
    after = [item.id for item in ordered]
    if after == before and all(item.position == n for n, item in enumerate(items, start=1)):
        return False
    for number, item in enumerate(ordered, start=1):
        item.position = number
    db.flush()
    audit(
        db,
        actor=actor,
        action="plan.reorder",
        object_type="plan",
        object_id=year,
        summary=f"{year}",
        before={"order": before},
        after={"order": after},
    )
    db.flush()
    return True


def move_item(db: Session, *, actor: Employee | None, item: PlanItem, step: int) -> bool:
    """Move an item up (``step`` -1) or down (+1) in its plan; False at either end."""
    order = [other.id for other in items_of(db, item.year)]
    here = order.index(item.id)
    there = here + step
    if not 0 <= there < len(order):
        return False
    order[here], order[there] = order[there], order[here]
    return reorder_items(db, actor=actor, year=item.year, item_ids=order)


def set_shortfall_reason(
    db: Session, *, actor: Employee | None, item: PlanItem, reason: str
) -> bool:
    """Record why an item fell short of its plan (未完成原因); audited (``plan.shortfall``).
    False when unchanged."""
    text = clean_text(reason, multiline=True)
    if len(text) > LIMITS["shortfall_reason"]:
        raise PlanError("reason", _("At most %(num)d characters.", num=LIMITS["shortfall_reason"]))
    if text == (item.shortfall_reason or ""):
        return False
    before = item.shortfall_reason or ""
    item.shortfall_reason = text
    db.flush()
    audit(
        db,
        actor=actor,
        action="plan.shortfall",
        object_type="plan_item",
        object_id=item.id,
        summary=f"{item.year} {item.title}",
        before={"shortfall_reason": before},
        after={"shortfall_reason": text},
    )
    db.flush()
    return True


# -- plan versus actual --------------------------------------------------------------------------


@dataclass(frozen=True)
class Actual:
    """One line of 完成情况: an item and what the ledger shows of it."""

    item: PlanItem
    sessions: int = 0
    people: int = 0
    attendances: int = 0  # 人次
    hours: Decimal = Decimal("0.0")
    passed_people: int = 0

    @property
    def planned_attendances(self) -> int:
        return self.item.planned_people

    @property
    def planned_hours(self) -> Decimal:
        return self.item.planned_people * self.item.hours

    @property
    def completion(self) -> Fraction | None:
        """完成率: people trained of people planned (None when none are planned)."""
        if not self.item.planned_people:
            return None
        return Fraction(self.people, self.item.planned_people)

    @property
    def pass_rate(self) -> Fraction | None:
        """合格率: people who passed of people trained (None when nobody was)."""
        if not self.people:
            return None
        return Fraction(self.passed_people, self.people)

    @property
    def under_target(self) -> bool:
        return self.people < self.item.planned_people


def _session_id_text() -> sa.ColumnElement[str]:
    """The session id in a session row's ``source_ref`` (``session:<id>:<employee id>``): the
    text between the 8 characters of ``session:`` and ``:<employee id>``. Written as an
    expression of the row alone, so that the database can join rows to sessions by hashing
    instead of comparing every row with every session."""
    ref = LedgerEntry.source_ref
    employee = sa.cast(LedgerEntry.employee_id, sa.String)
    length = sa.func.length(ref) - 9 - sa.func.length(employee)
    # a ref of another shape (shorter) must not reach PostgreSQL's substr as a negative length
    return sa.func.substr(ref, 9, sa.case((length > 0, length), else_=0))


def _item_rows(year: int) -> sa.Subquery:
    """(item_id, entry_id): each ledger row of ``year`` with each of the year's items it belongs
    to, once (a UNION, not UNION ALL)."""
    in_year = LedgerEntry.end_on.between(date(year, 1, 1), date(year, 12, 31))
    items = sa.select(PlanItem.id).where(PlanItem.year == year)
    expected_ref = (
        sa.literal("session:", sa.String)
        + sa.cast(TrainingSession.id, sa.String)
        + ":"
        + sa.cast(LedgerEntry.employee_id, sa.String)
    )
    by_session = (
        sa.select(TrainingSession.plan_item_id.label("item_id"), LedgerEntry.id.label("entry_id"))
        .join(TrainingSession, sa.cast(TrainingSession.id, sa.String) == _session_id_text())
        .where(
            LedgerEntry.source == LedgerSource.session,
            LedgerEntry.source_ref == expected_ref,
            TrainingSession.plan_item_id.in_(items),
            in_year,
        )
    )
    by_course = (
        sa.select(PlanItem.id, LedgerEntry.id)
        .join(LedgerEntry, LedgerEntry.course_id == PlanItem.course_id)
        .where(PlanItem.year == year, in_year)
    )
    has_sessions = sa.exists().where(TrainingSession.plan_item_id == PlanItem.id)
    month = sa.extract("month", LedgerEntry.end_on)
    by_programme = (
        sa.select(PlanItem.id, LedgerEntry.id)
        .join(
            LedgerEntry,
            sa.and_(LedgerEntry.programme == PlanItem.programme, LedgerEntry.form == PlanItem.form),
        )
        .where(
            PlanItem.year == year,
            PlanItem.course_id.is_(None),
            ~has_sessions,
            in_year,
            month.between(PlanItem.start_month, PlanItem.end_month),
        )
    )
    return sa.union(by_session, by_course, by_programme).subquery("item_rows")


def plan_versus_actual(db: Session, year: int, *, now: datetime, zone: tzinfo) -> list[Actual]:
    """完成情况 of the year's plan, item by item in the plan's order, as of ``now`` (sessions
    held are those ended before it); ``zone`` is the bureau's, whose calendar year counts."""
    items = items_of(db, year)
    if not items:
        return []
    pairs = _item_rows(year)
    passed_person = sa.case((LedgerEntry.passed.is_(True), LedgerEntry.employee_id), else_=None)
    # hours in tenths, summed as integers: exact on every database (SQLite sums floats)
    tenths = sa.cast(sa.func.round(LedgerEntry.hours * 10), sa.Integer)
    rows = db.execute(
        sa.select(
            pairs.c.item_id,
            sa.func.count(sa.distinct(LedgerEntry.employee_id)),
            sa.func.count(LedgerEntry.id),
            sa.func.coalesce(sa.func.sum(tenths), 0),
            sa.func.count(sa.distinct(passed_person)),
        )
        .join(LedgerEntry, LedgerEntry.id == pairs.c.entry_id)
        .group_by(pairs.c.item_id)
    ).all()
    counted = {row[0]: row[1:] for row in rows}
    start = datetime(year, 1, 1, tzinfo=zone)
    end = datetime(year + 1, 1, 1, tzinfo=zone)
    held = dict(
        db.execute(
            sa.select(TrainingSession.plan_item_id, sa.func.count(TrainingSession.id))
            .where(
                TrainingSession.plan_item_id.in_([item.id for item in items]),
                TrainingSession.ends_at >= start,
                TrainingSession.ends_at < end,
                TrainingSession.ends_at < now,
            )
            .group_by(TrainingSession.plan_item_id)
        ).all()
    )
    result = []
    for item in items:
        people, attendances, hour_tenths, passed = counted.get(item.id, (0, 0, 0, 0))
        result.append(
            Actual(
                item=item,
                sessions=int(held.get(item.id, 0)),
                people=int(people),
                attendances=int(attendances),
                hours=Decimal(int(hour_tenths)).scaleb(-1),
                passed_people=int(passed),
            )
        )
    return result


# -- the files -----------------------------------------------------------------------------------


def percent(rate: Fraction | None) -> str:
    """A rate for people to read: ``87.5%``; empty when there is none."""
    if rate is None:
        return ""
    return f"{float(rate * 100):.1f}%"


def plan_rows(db: Session, year: int) -> list[list[Any]]:
    """年度培训计划 as spreadsheet rows (the columns of :data:`PLAN_HEADERS`)."""
    programmes = all_programmes(db)
    rows = []
    for item in items_of(db, year):
        info = programmes.get(item.programme)
        rows.append(
            [
                item.position,
                item.title,
                info.name if info else item.programme,
                item.audience,
                item.planned_sessions,
                item.planned_people,
                item.hours,
                item.form.value,
                format_months(item.start_month, item.end_month),
                item.organiser,
                item.trainer,
                item.budget if item.budget is not None else "",
                item.assessment,
                item.note,
            ]
        )
    return rows


def actual_rows(actuals: Sequence[Actual]) -> list[list[Any]]:
    """完成情况 as spreadsheet rows (the columns of :data:`ACTUAL_HEADERS`)."""
    return [
        [
            a.item.position,
            a.item.title,
            a.item.planned_sessions,
            a.sessions,
            a.item.planned_people,
            a.people,
            a.planned_attendances,
            a.attendances,
            a.planned_hours,
            a.hours,
            percent(a.completion),
            a.passed_people,
            percent(a.pass_rate),
            a.item.shortfall_reason,
        ]
        for a in actuals
    ]


@dataclass
class _Row:
    """One checked line of a plan file."""

    line: int
    fields: PlanFields
    position: int | None
    course_given: bool


@dataclass
class _Known:
    """What a file's lines are checked against, read once per import."""

    programmes: dict[str, str] = field(default_factory=dict)  # code or name -> code
    courses: dict[str, int] = field(default_factory=dict)  # code -> id
    items: dict[str, PlanItem] = field(default_factory=dict)  # the year's, by title

    @classmethod
    def read(cls, db: Session, year: int) -> _Known:
        programmes: dict[str, str] = {}
        for info in all_programmes(db).values():
            programmes.setdefault(info.code, info.code)
            programmes.setdefault(info.name, info.code)
        courses = dict(db.execute(sa.select(Course.code, Course.id)).all())
        items: dict[str, PlanItem] = {}
        for item in items_of(db, year):
            items.setdefault(item.title, item)
        return cls(programmes=programmes, courses=courses, items=items)


def _check_line(record: dict[str, str], year: int, known: _Known, error: Any) -> _Row | None:
    """One line of the file as checked values, or None after reporting each of its problems
    with its column (``error(column_key, message)``)."""
    ok = True

    def fail(column: str, message: str) -> None:
        nonlocal ok
        ok = False
        error(column, message)

    position = None
    if record.get("position", "").strip():
        text = record["position"].strip()
        if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_COUNT:
            position = int(text)
        else:
            fail("position", _("%(value)s is not a 序号: give a whole number from 1.", value=text))

    title = clean_text(record["title"])
    if not title:
        fail("title", _("A value is needed in this column."))
    elif len(title) > LIMITS["title"]:
        fail("title", _("At most %(num)d characters.", num=LIMITS["title"]))

    programme = known.programmes.get(record["programme"].strip())
    if not record["programme"].strip():
        fail("programme", _("A value is needed in this column."))
    elif programme is None:
        fail(
            "programme",
            _("No programme has the code or name %(value)s.", value=record["programme"]),
        )

    values: dict[str, Any] = {}
    parsers: dict[str, Any] = {
        "sessions": parse_count,
        "people": parse_count,
        "hours": parse_hours,
        "budget": parse_budget,
    }
    for key, parse in parsers.items():
        try:
            values[key] = parse(record.get(key, ""))
        except ValueError as exc:
            fail(key, str(exc))

    form = None
    if not record["form"].strip():
        fail("form", _("A value is needed in this column."))
    else:
        try:
            form = parse_form(record["form"])
        except ValueError as exc:
            fail("form", str(exc))

    months = None
    if not record["months"].strip():
        fail("months", _("A value is needed in this column."))
    else:
        try:
            months = parse_months(record["months"], year)
        except ValueError as exc:
            fail("months", str(exc))

    texts = {}
    for key in ("audience", "organiser", "trainer", "assessment", "note"):
        texts[key] = clean_text(record.get(key, ""), multiline=key == "note")
        if len(texts[key]) > LIMITS[key]:
            fail(key, _("At most %(num)d characters.", num=LIMITS[key]))

    course_code = record.get("course", "").strip()
    course_id = known.courses.get(course_code) if course_code else None
    if course_code and course_id is None:
        fail("course", _("No course has the code %(code)s.", code=course_code))

    if not ok or programme is None or form is None or months is None:
        return None
    return _Row(
        line=0,
        fields=PlanFields(
            title=title,
            programme=programme,
            form=form,
            start_month=months[0],
            end_month=months[1],
            course_id=course_id,
            audience=texts["audience"],
            planned_sessions=values["sessions"],
            planned_people=values["people"],
            hours=values["hours"],
            organiser=texts["organiser"],
            trainer=texts["trainer"],
            budget=values["budget"],
            assessment=texts["assessment"],
            note=texts["note"],
        ),
        position=position,
        course_given="course" in record,
    )


def import_plan(
    db: Session,
    table: Table,
    *,
    year: int,
    actor: Employee | None,
    write: bool = True,
) -> ImportResult:
    """Import a plan file into the ``year``'s plan; all-or-nothing (the caller rolls back on
    errors). Without ``write`` (the preview) nothing is written, the lines are only counted.

    ``imported`` counts the items added, ``details["updated"]`` those changed, ``unchanged`` the
    rest. A line is matched with the year's item of the same 项目名称. Errors name the line and
    column: a missing 项目名称, 类别, 形式 or 计划时间; an unknown 类别 or 课程编码; a number, a
    budget or a 计划时间 that cannot be read (or of another year); a 项目名称 or 序号 twice in the
    file, or a 序号 held by an item of the year that the file does not name. Without a 课程编码
    column, the items keep their course.
    """
    result = ImportResult(details={"updated": 0, "year": year})
    try:
        check_year(year)
    except PlanError as exc:
        result.errors.append(Problem(table.file, None, None, exc.message))
        return result
    known = _Known.read(db, year)
    rows: list[_Row] = []
    titles: dict[str, int] = {}
    positions: dict[int, int] = {}
    for line, record in table.rows:

        def error(column: str, message: str, line: int = line) -> None:
            where = table.headers.get(column, column)
            result.errors.append(Problem(table.file, line, where, message))

        row = _check_line(record, year, known, error)
        if row is None:
            continue
        row.line = line
        title = row.fields.title
        if title in titles:
            error("title", _("The same 项目名称 as line %(line)d.", line=titles[title]))
            continue
        titles[title] = line
        if row.position is not None:
            if row.position in positions:
                message = _("The same 序号 as line %(line)d.", line=positions[row.position])
                error("position", message)
                continue
            positions[row.position] = line
        rows.append(row)
    # a 序号 may move between the file's items, not onto an item the file leaves alone
    for item in known.items.values():
        if item.title not in titles and item.position in positions:
            line = positions[item.position]
            message = _(
                "序号 %(number)d is held by %(title)s in the %(year)d plan.",
                number=item.position,
                title=item.title,
                year=year,
            )
            result.errors.append(
                Problem(table.file, line, table.headers.get("position", "序号"), message)
            )
    if result.errors:
        return result

    taken = [item.position for item in known.items.values()] + list(positions)
    next_position = max(taken, default=0) + 1
    for row in rows:
        existing = known.items.get(row.fields.title)
        if existing is None:
            position = row.position
            if position is None:
                position, next_position = next_position, next_position + 1
            result.imported += 1
            if write:
                _add(db, actor, year, row.fields, position)
            continue
        wanted = (
            row.fields if row.course_given else replace(row.fields, course_id=existing.course_id)
        )
        position = row.position if row.position is not None else existing.position
        if _same(existing, wanted) and existing.position == position:
            result.unchanged += 1
            continue
        result.details["updated"] += 1
        if write:
            _change(db, actor, existing, wanted, position)
    if write and (result.imported or result.details["updated"]):
        audit(
            db,
            actor=actor,
            action="plan.import",
            object_type="plan",
            object_id=year,
            summary=(
                f"{table.file}: {result.imported} added, {result.details['updated']} updated, "
                f"{result.unchanged} unchanged"
            ),
            after={"file": table.file, "year": year, **result.as_dict()},
        )
    db.flush()
    return result


def _add(db: Session, actor: Employee | None, year: int, wanted: PlanFields, position: int) -> None:
    item = PlanItem(year=year, position=position)
    _apply(item, wanted)
    db.add(item)
    db.flush()
    audit(
        db,
        actor=actor,
        action="plan.create",
        object_type="plan_item",
        object_id=item.id,
        summary=f"{year} {item.title}",
        after=_snapshot(item),
    )


def _change(
    db: Session, actor: Employee | None, item: PlanItem, wanted: PlanFields, position: int
) -> None:
    before = _snapshot(item)
    _apply(item, wanted)
    item.position = position
    db.flush()
    audit(
        db,
        actor=actor,
        action="plan.update",
        object_type="plan_item",
        object_id=item.id,
        summary=f"{item.year} {item.title}",
        before=before,
        after=_snapshot(item),
    )


def run_import(
    db: Session,
    data: bytes,
    file: str,
    *,
    year: int,
    actor: Employee | None,
    max_rows: int = MAX_PLAN_ROWS,
    write: bool = True,
) -> ImportResult:
    """Read and import one plan file into ``db`` (not committed: the caller commits or rolls
    back), or only check and count it (``write`` False); a file that cannot be read gives a
    result with its problems as errors."""
    try:
        table = read_table(data, file, PLAN_COLUMNS, max_rows=min(max_rows, MAX_PLAN_ROWS))
    except FileProblem as exc:
        return ImportResult(errors=exc.problems, details={"updated": 0, "year": year})
    return import_plan(db, table, year=year, actor=actor, write=write)
