"""Writing the training ledger. Every row goes through here, never through view code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.org.models import Employee
from lms.sheets import format_bool
from lms.training.models import LedgerEntry, LedgerSource, TrainingForm


def add_ledger_entry(
    db: Session,
    *,
    employee_id: int,
    programme: str,
    title: str,
    form: TrainingForm,
    start_on: date,
    end_on: date,
    hours: Decimal,
    source: LedgerSource,
    source_ref: str,
    course_id: int | None = None,
    score: Decimal | None = None,
    passed: bool = True,
    recorded_by_id: int | None = None,
) -> LedgerEntry | None:
    """Add one ledger row, unless the row for ``(source, source_ref)`` exists already (then
    None): a completion or an import that runs twice, or two requests that race, write one row.
    A passed row of a course completes the person's open assignments of it.

    The insert skips a conflicting row in the database itself (``ON CONFLICT DO NOTHING``), so
    that a race never surfaces as an error and never aborts the caller's transaction.
    """
    values = {
        "employee_id": employee_id,
        "programme": programme,
        "course_id": course_id,
        "title": title[:300],
        "form": form,
        "start_on": start_on,
        "end_on": end_on,
        "hours": hours,
        "score": score,
        "passed": passed,
        "source": source,
        "source_ref": source_ref[:200],
        "recorded_by_id": recorded_by_id,
    }
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = (
        insert(LedgerEntry)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["source", "source_ref"])
        .returning(LedgerEntry.id)
    )
    entry_id = db.execute(statement).scalar()
    if entry_id is None:
        return None
    if course_id is not None and passed:  # the course is done: so are its assignments
        from lms.training.assignments import complete_assignments

        complete_assignments(db, employee_id, course_id)
    return db.get(LedgerEntry, entry_id)


def entries_of(db: Session, employee_id: int) -> list[LedgerEntry]:
    """One person's ledger rows, newest first (their 一人一档)."""
    return list(
        db.scalars(
            sa.select(LedgerEntry)
            .where(LedgerEntry.employee_id == employee_id)
            .order_by(LedgerEntry.end_on.desc(), LedgerEntry.id.desc())
        )
    )


# The personal training file (一人一档) ------------------------------------------------------

#: The 教育培训台账's columns (DESIGN.md), then what the ledger adds: the activity's own name.
LEDGER_SHEET_HEADERS = (
    "姓名",
    "工号",
    "单位",
    "岗位",
    "项目",
    "起止日期",
    "学时",
    "形式",
    "成绩",
    "合格",
    "证书名称",
    "证书编号",
    "发证日期",
    "有效期至",
    "培训内容",
)


@dataclass(frozen=True)
class Total:
    """Totals of a group of ledger rows: rows, rows passed, and hours of the rows passed (a row
    with 合格 否 is kept in the ledger but earns no hours, as it counts as no training)."""

    key: Any  # the year (int), the programme code (str), or None for all rows
    count: int
    passed: int
    hours: Decimal


@dataclass(frozen=True)
class RecordSummary:
    """A person's totals: per year (newest first), per programme (most hours first), overall."""

    by_year: list[Total]
    by_programme: list[Total]
    overall: Total


@dataclass(frozen=True)
class CertificateInfo:
    """A certificate as the training file shows it (the certificates domain provides them)."""

    name: str  # 证书名称
    serial: str  # 证书编号
    issued_on: date  # 发证日期
    valid_until: date | None  # 有效期至; None: no expiry
    #: the ledger row it was issued for, if any (the XLSX shows it on that row); None for one
    #: reissued, whose replacement stands for that row now
    ledger_entry_id: int | None = None
    #: what the record page shows and acts on
    id: int | None = None
    #: the course title (or the imported certificate's name) as printed
    title: str = ""
    #: on the day asked for: valid, expiring, expired, revoked or replaced
    status: str = "valid"
    #: held before the system and imported (no PDF; cannot be reissued)
    imported: bool = False
    #: a PDF was stored when it was issued
    has_pdf: bool = False
    revoked_on: date | None = None
    revoked_reason: str = ""
    #: the serial of the certificate that replaced this one (reissue or renewal), if any
    replaced_by: str = ""
    #: the serial of the certificate this one replaced, if any
    replaces: str = ""

    @property
    def can_revoke(self) -> bool:
        """Still in force as stored (valid, expiring or past its end): HR may revoke it."""
        return self.status in {"valid", "expiring", "expired"}

    @property
    def can_reissue(self) -> bool:
        """In force, and issued here (an imported one has no design data to print again)."""
        return self.status in {"valid", "expiring"} and not self.imported


def record_summary(db: Session, employee_id: int) -> RecordSummary:
    """One person's totals per year (of the row's end date) and per programme, computed by the
    database."""
    year = sa.cast(sa.extract("year", LedgerEntry.end_on), sa.Integer).label("year")
    measures = (
        sa.func.count().label("count"),
        sa.func.coalesce(sa.func.sum(sa.case((LedgerEntry.passed, 1), else_=0)), 0).label("passed"),
        sa.type_coerce(
            sa.func.coalesce(sa.func.sum(sa.case((LedgerEntry.passed, LedgerEntry.hours))), 0),
            sa.Numeric(14, 1),
        ).label("hours"),
    )
    mine = LedgerEntry.employee_id == employee_id

    def totals(key: Any, order: Any) -> list[Total]:
        rows = db.execute(sa.select(key, *measures).where(mine).group_by(key).order_by(*order))
        return [_total(*row) for row in rows]

    by_year = totals(year, [year.desc()])
    by_programme = totals(
        LedgerEntry.programme,
        [measures[2].desc(), sa.func.count().desc(), LedgerEntry.programme],
    )
    overall = _total(None, *db.execute(sa.select(*measures).where(mine)).one())
    return RecordSummary(by_year=by_year, by_programme=by_programme, overall=overall)


def _total(key: Any, count: Any, passed: Any, hours: Any) -> Total:
    return Total(
        key=key,
        count=int(count or 0),
        passed=int(passed or 0),
        hours=Decimal(hours or 0).quantize(Decimal("0.1")),
    )


def record_certificates(
    db: Session,
    employee_id: int,
    *,
    include_revoked: bool = False,
    today: date | None = None,
    expiring_days: int | None = None,
) -> list[CertificateInfo]:
    """The person's certificates for their training file.

    Every certificate the person holds or held (issued here or imported), newest first, with
    its status on ``today`` (a certificate within ``expiring_days`` of its end is expiring).
    A revoked one is left out of the file (it certifies nothing) unless ``include_revoked``
    (the record page shows it, with its reason); a replaced one stays (it was valid then) and
    names the one that replaced it. ``today`` and ``expiring_days`` default to the bureau's
    date and ``LMS_CERTIFICATE_EXPIRING_DAYS`` when an app is at hand.
    """
    from flask import current_app, has_app_context

    from lms.certificates.designs import shipped_designs
    from lms.certificates.models import Certificate, CertificateSource, CertificateStatus
    from lms.certificates.services import status_on
    from lms.i18n import local_date

    if today is None:
        today = local_date() if has_app_context() else date.today()
    if expiring_days is None:
        expiring_days = (
            int(current_app.config["LMS_CERTIFICATE_EXPIRING_DAYS"]) if has_app_context() else 90
        )

    def day_of(moment: datetime) -> date:
        return local_date(moment) if has_app_context() else moment.date()

    designs = shipped_designs()
    # all of them, revoked too: a listed one may have been replaced by one revoked since
    rows = list(
        db.scalars(
            sa.select(Certificate)
            .where(Certificate.employee_id == employee_id)
            .order_by(Certificate.issued_on.desc(), Certificate.id.desc())
        )
    )
    serials = {c.id: c.serial for c in rows}
    replaced_by = {c.replaces_id: c.serial for c in rows if c.replaces_id}
    # a reissue keeps the ledger row: the new certificate, not the old, goes on it
    entry_of = {c.id: c.ledger_entry_id for c in rows}
    reissued = {
        c.replaces_id
        for c in rows
        if c.replaces_id and c.ledger_entry_id and entry_of.get(c.replaces_id) == c.ledger_entry_id
    }
    return [
        CertificateInfo(
            name=designs[c.design].title if c.design in designs else c.title,
            serial=c.serial,
            issued_on=c.issued_on,
            valid_until=c.valid_until,
            ledger_entry_id=None if c.id in reissued else c.ledger_entry_id,
            id=c.id,
            title=c.title,
            status=status_on(c, today, expiring_days=expiring_days),
            imported=c.source is CertificateSource.imported,
            has_pdf=bool(c.pdf_sha256),
            revoked_on=day_of(c.revoked_at) if c.revoked_at else None,
            revoked_reason=c.revoked_reason or "",
            replaced_by=replaced_by.get(c.id, ""),
            replaces=serials.get(c.replaces_id, "") if c.replaces_id else "",
        )
        for c in rows
        if include_revoked or c.status is not CertificateStatus.revoked
    ]


def format_number(value: Decimal | int | None) -> str:
    """``2.0`` as ``2``, ``85.50`` as ``85.5``; None as an empty text."""
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


def date_range(start_on: date, end_on: date, separator: str = "至") -> str:
    """起止日期: one date when the activity took one day."""
    if start_on == end_on:
        return end_on.isoformat()
    return f"{start_on.isoformat()}{separator}{end_on.isoformat()}"


def ledger_sheet_row(
    person: Sequence[str],
    programme: str,
    *,
    start_on: date,
    end_on: date,
    hours: Decimal | None,
    form: TrainingForm,
    score: Decimal | None,
    passed: bool,
    title: str,
    certificate: CertificateInfo | None,
) -> list[Any]:
    """One row of the 教育培训台账 (:data:`LEDGER_SHEET_HEADERS`): ``person`` is (姓名, 工号,
    单位, 岗位), ``programme`` the programme's Chinese name, ``certificate`` the one issued for
    the row, if any. One person's file and the bureau's ledger (lms.reports.tables) share it."""
    return [
        *person,
        programme,
        date_range(start_on, end_on),
        hours,
        form.value,
        score,
        format_bool(passed),
        certificate.name if certificate else "",
        certificate.serial if certificate else "",
        certificate.issued_on.isoformat() if certificate else "",
        certificate.valid_until.isoformat() if certificate and certificate.valid_until else "",
        title,
    ]


def ledger_sheet(db: Session, employee: Employee) -> tuple[tuple[str, ...], list[list[Any]]]:
    """The person's 教育培训台账 (newest first): headers and rows for a spreadsheet."""
    from lms.training.programmes import all_programmes

    programmes = all_programmes(db)
    by_entry = {
        c.ledger_entry_id: c for c in record_certificates(db, employee.id) if c.ledger_entry_id
    }
    person = (
        employee.name,
        employee.emp_no,
        employee.unit.name,
        employee.post.name if employee.post else "",
    )
    rows = []
    for entry in entries_of(db, employee.id):
        info = programmes.get(entry.programme)
        rows.append(
            ledger_sheet_row(
                person,
                info.name if info else entry.programme,
                start_on=entry.start_on,
                end_on=entry.end_on,
                hours=entry.hours,
                form=entry.form,
                score=entry.score,
                passed=entry.passed,
                title=entry.title,
                certificate=by_entry.get(entry.id),
            )
        )
    return LEDGER_SHEET_HEADERS, rows


def training_file_document(
    db: Session, employee: Employee, *, bureau_name: str, today: date
) -> dict[str, Any]:
    """The plain-data context of the training file's PDF: texts and numbers only, Chinese;
    ``today`` is the bureau's date, printed on the file."""
    from lms.training.programmes import all_programmes

    programmes = all_programmes(db)

    def programme_name(code: str) -> str:
        info = programmes.get(code)
        return info.name if info else code

    def total(item: Total, label: str) -> dict[str, Any]:
        return {
            "label": label,
            "count": item.count,
            "passed": item.passed,
            "hours": format_number(item.hours),
        }

    summary = record_summary(db, employee.id)
    return {
        "bureau_name": bureau_name,
        "generated_on": today.isoformat(),
        "person": {
            "name": employee.name,
            "emp_no": employee.emp_no,
            "unit": employee.unit.name,
            "post": employee.post.name if employee.post else "",
        },
        "rows": [
            {
                "dates": date_range(entry.start_on, entry.end_on),
                "programme": programme_name(entry.programme),
                "title": entry.title,
                "form": entry.form.value,
                "hours": format_number(entry.hours),
                "score": format_number(entry.score),
                "passed": format_bool(entry.passed),
            }
            for entry in entries_of(db, employee.id)
        ],
        "by_year": [total(t, f"{t.key}年") for t in summary.by_year],
        "by_programme": [total(t, programme_name(t.key)) for t in summary.by_programme],
        "overall": total(summary.overall, "合计"),
        "certificates": [
            {
                "name": c.name,
                "serial": c.serial,
                "issued_on": c.issued_on.isoformat(),
                "valid_until": c.valid_until.isoformat() if c.valid_until else "",
            }
            for c in record_certificates(db, employee.id)
        ],
    }
