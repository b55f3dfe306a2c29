"""Reading the audit log: HR's searchable log of every sensitive change, and the monthly audit and
assessment ledger (按月稽查、考核台账) read from it.

An inspection finding is recorded as an audit entry (``inspection.record``: the month, the unit
inspected, the item, the method, the problem, who is responsible, the points deducted or amount
assessed, what must be put right and by when), and its follow-up as another
(``inspection.review``: the result of the rectification and who checked it). The ledger of a
month is those entries, each with its latest review: the log keeps who recorded what and when,
and nothing is ever overwritten.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from lms.audit.models import AuditEntry
from lms.audit.services import record
from lms.db import Page
from lms.org.models import Employee, Unit

INSPECTION = "inspection"
RECORD = "inspection.record"
REVIEW = "inspection.review"

#: 方式: how an inspection was made (stored as given; these are offered)
METHODS = ("现场检查", "抽查", "专项检查", "远程检查", "资料检查")

#: the ledger's columns (DESIGN.md), in order
LEDGER_HEADERS = (
    "月份",
    "被查单位",
    "检查项目",
    "方式",
    "问题描述",
    "责任人",
    "扣分/考核金额",
    "整改要求",
    "期限",
    "整改结果",
    "复查人",
)


class InspectionError(ValueError):
    """A finding that cannot be recorded; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# -- the log ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogFilter:
    """What HR searches the log by; empty values do not filter."""

    action: str = ""  # an action ("certificate.revoke") or a domain prefix ("certificate")
    actor_emp_no: str = ""
    object_id: str = ""
    #: from this moment, and before that one (aware datetimes)
    since: datetime | None = None
    before: datetime | None = None


def _log_query(criteria: LogFilter) -> sa.Select[tuple[AuditEntry]]:
    query = sa.select(AuditEntry)
    if criteria.action:
        query = query.where(
            sa.or_(
                AuditEntry.action == criteria.action,
                AuditEntry.action.startswith(criteria.action + ".", autoescape=True),
            )
        )
    if criteria.actor_emp_no:
        query = query.join(Employee, Employee.id == AuditEntry.actor_id).where(
            Employee.emp_no == criteria.actor_emp_no
        )
    if criteria.object_id:
        query = query.where(AuditEntry.object_id == criteria.object_id)
    if criteria.since:
        query = query.where(AuditEntry.at >= criteria.since)
    if criteria.before:
        query = query.where(AuditEntry.at < criteria.before)
    return query


def search_log(db: Session, criteria: LogFilter, *, page: int, page_size: int) -> Page[AuditEntry]:
    """One page of the log, newest first."""
    query = _log_query(criteria)
    total = db.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    page = max(1, min(page, 10_000))
    items = db.scalars(
        query.options(selectinload(AuditEntry.actor))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return Page(items, total, page, page_size)


def log_rows(db: Session, criteria: LogFilter, *, limit: int, zone: tzinfo) -> Iterator[list[Any]]:
    """The log's rows for a spreadsheet, newest first (times in ``zone``), read in batches
    (bounded memory)."""
    query = (
        _log_query(criteria)
        .options(selectinload(AuditEntry.actor))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .execution_options(yield_per=1000)
    )
    for entry in db.scalars(query):
        yield [
            entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            entry.actor.emp_no if entry.actor else "",
            entry.actor.name if entry.actor else "",
            entry.action,
            entry.object_type,
            entry.object_id or "",
            entry.summary,
            _json(entry.before),
            _json(entry.after),
        ]


LOG_HEADERS = (
    "时间(UTC)",
    "操作人工号",
    "操作人",
    "操作",
    "对象类型",
    "对象",
    "摘要",
    "修改前",
    "修改后",
)


def _json(value: dict[str, Any] | None) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def actions(db: Session) -> list[str]:
    """The domains found in the log (``certificate``, ``exam_paper``...), for the filter."""
    names = db.scalars(sa.select(AuditEntry.action).distinct()).all()
    return sorted({name.split(".", 1)[0] for name in names})


# -- inspections: the monthly audit and assessment ledger ---------------------------------------


@dataclass(frozen=True)
class Finding:
    """One row of the monthly ledger: a recorded finding with its latest review."""

    id: str
    month: str
    unit_id: int
    unit: str
    item: str
    method: str
    problem: str
    responsible: str
    deduction: str
    requirement: str
    deadline: str
    result: str
    reviewer: str
    recorded_by: str
    recorded_at: datetime

    def row(self) -> list[str]:
        return [
            self.month,
            self.unit,
            self.item,
            self.method,
            self.problem,
            self.responsible,
            self.deduction,
            self.requirement,
            self.deadline,
            self.result,
            self.reviewer,
        ]


def _text(value: str, field: str, limit: int, *, required: bool = True) -> str:
    value = " ".join((value or "").split()) if field != "problem" else (value or "").strip()
    if required and not value:
        raise InspectionError(field, "required")
    if len(value) > limit:
        raise InspectionError(field, "too long")
    return value


def record_finding(
    db: Session,
    *,
    actor: Employee,
    unit: Unit,
    month: str,
    item: str,
    method: str,
    problem: str,
    responsible: str,
    deduction: str,
    requirement: str,
    deadline: date | None,
) -> str:
    """Record an inspection finding in the audit log; its id. The caller checks that ``actor``
    may inspect ``unit`` (HR anywhere, a manager their subtree). :class:`InspectionError` names
    the field at fault."""
    try:
        month_start = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise InspectionError("month", "not a month") from None
    if deduction.strip():
        try:
            amount = Decimal(deduction.strip())
        except InvalidOperation:
            raise InspectionError("deduction", "not a number") from None
        if amount < 0 or amount > Decimal("1000000"):
            raise InspectionError("deduction", "out of range")
    if deadline is not None and deadline < month_start:
        raise InspectionError("deadline", "before the month")
    finding_id = secrets.token_hex(6)
    fields = {
        "month": month_start.strftime("%Y-%m"),
        "unit_id": unit.id,
        "unit": unit.name,
        "item": _text(item, "item", 200),
        "method": _text(method, "method", 40),
        "problem": _text(problem, "problem", 2000),
        "responsible": _text(responsible, "responsible", 100, required=False),
        "deduction": deduction.strip(),
        "requirement": _text(requirement, "requirement", 2000, required=False),
        "deadline": deadline.isoformat() if deadline else "",
    }
    record(
        db,
        actor=actor,
        action=RECORD,
        object_type=INSPECTION,
        object_id=finding_id,
        summary=f"{fields['month']} {unit.name}: {fields['item']}",
        after=fields,
    )
    db.flush()
    return finding_id


def review_finding(db: Session, *, actor: Employee, finding: Finding, result: str) -> None:
    """Record the result of a finding's rectification, checked by ``actor`` (复查人)."""
    text = _text(result, "result", 2000)
    record(
        db,
        actor=actor,
        action=REVIEW,
        object_type=INSPECTION,
        object_id=finding.id,
        summary=text[:200],
        before={"result": finding.result, "reviewer": finding.reviewer} if finding.result else None,
        after={"result": text, "reviewer": actor.name},
    )
    db.flush()


def findings(
    db: Session,
    *,
    month: str | None = None,
    units: set[int] | None = None,
    finding_id: str | None = None,
) -> list[Finding]:
    """The findings of ``month`` (``YYYY-MM``; every month when None), of ``units`` (ids; all
    when None), in the order recorded, each with its latest review."""
    query = (
        sa.select(AuditEntry)
        .where(AuditEntry.action == RECORD)
        .options(selectinload(AuditEntry.actor))
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    if finding_id is not None:
        query = query.where(AuditEntry.object_id == finding_id)
    entries = [
        e
        for e in db.scalars(query)
        if (month is None or (e.after or {}).get("month") == month)
        and (units is None or (e.after or {}).get("unit_id") in units)
    ]
    reviews: dict[str, dict[str, Any]] = {}
    if entries:
        ids = [e.object_id for e in entries]
        for review in db.scalars(
            sa.select(AuditEntry)
            .where(AuditEntry.action == REVIEW, AuditEntry.object_id.in_(ids))
            .order_by(AuditEntry.at, AuditEntry.id)
        ):
            reviews[review.object_id or ""] = review.after or {}
    result = []
    for entry in entries:
        data, review = entry.after or {}, reviews.get(entry.object_id or "", {})
        result.append(
            Finding(
                id=entry.object_id or "",
                month=data.get("month", ""),
                unit_id=int(data.get("unit_id") or 0),
                unit=data.get("unit", ""),
                item=data.get("item", ""),
                method=data.get("method", ""),
                problem=data.get("problem", ""),
                responsible=data.get("responsible", ""),
                deduction=data.get("deduction", ""),
                requirement=data.get("requirement", ""),
                deadline=data.get("deadline", ""),
                result=review.get("result", ""),
                reviewer=review.get("reviewer", ""),
                recorded_by=entry.actor.name if entry.actor else "",
                recorded_at=entry.at,
            )
        )
    return result
