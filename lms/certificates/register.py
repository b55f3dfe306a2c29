"""HR's register of certificates: every certificate, issued here or imported, searched and
filtered in the database one page at a time.

*Expiring* and *expired* are not stored (they depend on the day looked at): the filters turn
:func:`lms.certificates.services.status_on`'s rules into conditions on ``status`` and
``valid_until``, so that a page never loads more than its own rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.certificates.models import Certificate, CertificateStatus
from lms.db import Page
from lms.org.models import Employee, Unit

#: the statuses a register can be filtered by, as :func:`services.status_on` names them
STATUSES = ("valid", "expiring", "expired", "revoked", "replaced")
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class RegisterRow:
    """One certificate with its holder's name, 工号 and unit."""

    certificate: Certificate
    name: str
    emp_no: str
    unit: str


def status_condition(status: str, *, today: date, expiring_days: int) -> sa.ColumnElement[bool]:
    """The condition matching the certificates :func:`services.status_on` calls ``status`` on
    ``today``: ``valid`` (and not ending within ``expiring_days``), ``expiring`` (ends within
    them, today included), ``expired`` (ended before today), ``revoked``, ``replaced``."""
    valid = Certificate.status == CertificateStatus.valid
    soon = today + timedelta(days=expiring_days)
    if status == "valid":
        return sa.and_(
            valid, sa.or_(Certificate.valid_until.is_(None), Certificate.valid_until > soon)
        )
    if status == "expiring":
        return sa.and_(valid, Certificate.valid_until >= today, Certificate.valid_until <= soon)
    if status == "expired":
        return sa.and_(valid, Certificate.valid_until < today)
    if status in {CertificateStatus.revoked.value, CertificateStatus.replaced.value}:
        return Certificate.status == CertificateStatus(status)
    raise ValueError(f"unknown status {status!r}")


def search_certificates(
    db: Session,
    *,
    query: str = "",
    status: str = "",
    kind: str = "",
    today: date,
    expiring_days: int,
    page: int = 1,
    page_size: int = 50,
) -> Page[RegisterRow]:
    """Certificates, newest issue first, filtered by a 工号 prefix, a part of the holder's name
    or of the serial (``query``), a status of :data:`STATUSES` on ``today`` and a kind."""
    conditions: list[sa.ColumnElement[bool]] = []
    query = query.replace("\x00", "").strip()  # PostgreSQL refuses NUL in text
    if query:
        conditions.append(
            sa.or_(
                # a 工号 prefix as a range, so that the unique index serves it on every database
                sa.and_(Employee.emp_no >= query, Employee.emp_no < query + "\uffff"),
                Employee.name.contains(query, autoescape=True),
                Certificate.serial.contains(query, autoescape=True),
            )
        )
    if status:
        conditions.append(status_condition(status, today=today, expiring_days=expiring_days))
    if kind:
        conditions.append(Certificate.kind == kind)
    base = (
        sa.select(Certificate, Employee.name, Employee.emp_no, Unit.name)
        .join(Employee, Employee.id == Certificate.employee_id)
        .outerjoin(Unit, Unit.id == Employee.unit_id)
        .where(*conditions)
    )
    total = db.scalar(
        sa.select(sa.func.count()).select_from(base.with_only_columns(Certificate.id).subquery())
    )
    page = min(max(1, page), MAX_PAGE)
    rows = db.execute(
        base.order_by(Certificate.issued_on.desc(), Certificate.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    items = [RegisterRow(c, name, emp_no, unit or "") for c, name, emp_no, unit in rows]
    return Page(items, total or 0, page, page_size)


def kinds_in_use(db: Session) -> list[str]:
    """The kinds of the certificates held (issued or imported), for the register's filter."""
    return list(db.scalars(sa.select(Certificate.kind).distinct().order_by(Certificate.kind)))
