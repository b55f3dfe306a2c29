"""Issuing certificates: a serial and a verification code, the PDF rendered once and stored by
its hash, and the row; at most one valid certificate per person and course.

Services take explicit arguments and only flush; the caller commits. The PDF is written to the
data folder before the row is committed (content-addressed and atomic, so a rolled-back issue
leaves at most an unreferenced file, never a row without its PDF).
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from lms import storage
from lms.audit.services import record as audit
from lms.certificates.designs import Design, qr_data_uri, render_pdf
from lms.certificates.models import (
    Certificate,
    CertificateSource,
    CertificateStatus,
    CertificateVerification,
)
from lms.certificates.numbers import next_serial, serial_prefix, verification_code
from lms.courses.models import Course
from lms.org.models import Employee, Unit

PDF_AREA = "certificates"


class CertificateError(ValueError):
    """An issue that cannot be made (the message says why)."""


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _number(value: Decimal | None) -> str:
    if value is None:
        return ""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def valid_certificate(db: Session, employee_id: int, course_id: int) -> Certificate | None:
    """The person's valid certificate for the course, if any."""
    return db.scalars(
        sa.select(Certificate).where(
            Certificate.employee_id == employee_id,
            Certificate.course_id == course_id,
            Certificate.status == CertificateStatus.valid,
        )
    ).first()


Renderer = Callable[[Design, dict[str, Any]], tuple[bytes, list[str]]]


def certificate_context(
    *,
    employee: Employee,
    course: Course,
    serial: str,
    code: str,
    issued_on: date,
    valid_until: date | None,
    score: Decimal | None,
    bureau: str,
    verify_url: Callable[[str], str],
) -> dict[str, Any]:
    """The plain data a design's template is rendered with (strings only: it goes to a render
    worker and into a sandboxed, escaping template)."""
    url = verify_url(code)
    return {
        "bureau": bureau,
        "holder_name": employee.name,
        "emp_no": employee.emp_no,
        "unit": employee.unit.name if employee.unit else "",
        "course_title": course.title,
        "hours": _number(course.hours),
        "score": _number(score),
        "issued_on": issued_on.isoformat(),
        "valid_until": valid_until.isoformat() if valid_until else "",
        "serial": serial,
        "verify_url": url,
        "qr": qr_data_uri(url),
    }


def store_pdf(design: Design, rendered: tuple[bytes, list[str]], data_dir: str | Path) -> str:
    """Store a rendered PDF under its hash (atomic, so never half a file) and return the hash;
    :class:`CertificateError` when the design tried to load something outside itself."""
    pdf, refused = rendered
    if refused:  # a design asked for something outside itself: refuse to issue it
        raise CertificateError(f"the design {design.name} tried to load {refused[0][:100]}")
    sha256 = hashlib.sha256(pdf).hexdigest()
    storage.write_blob(storage.blob_path(data_dir, PDF_AREA, sha256), pdf)
    return sha256


def add_certificate(
    db: Session, certificate: Certificate, *, actor: Employee | None, action: str, summary: str
) -> bool:
    """Insert an issued certificate (its PDF already stored) and audit it; False, with nothing
    written, when a concurrent issue gave the person a valid certificate of the course first."""
    try:
        with db.begin_nested():
            db.add(certificate)
    except IntegrityError:
        if valid_certificate(db, certificate.employee_id, certificate.course_id) is None:
            raise
        return False
    audit(
        db,
        actor=actor,
        action=action,
        object_type="certificate",
        object_id=certificate.serial,
        summary=summary,
        after={
            "serial": certificate.serial,
            "valid_until": certificate.valid_until.isoformat() if certificate.valid_until else None,
            "sha256": certificate.pdf_sha256,
            "replaces_id": certificate.replaces_id,
        },
    )
    db.flush()
    return True


def new_certificate(
    *,
    employee: Employee,
    course: Course,
    design: Design,
    serial: str,
    code: str,
    issued_on: date,
    valid_until: date | None,
    score: Decimal | None,
    sha256: str,
    actor: Employee | None,
    now: datetime,
    replaces_id: int | None = None,
    ledger_entry_id: int | None = None,
) -> Certificate:
    """The row of a certificate issued by this system (not yet added to a session)."""
    return Certificate(
        serial=serial,
        verification_code=code,
        employee_id=employee.id,
        course_id=course.id,
        design=design.name,
        kind=design.kind,
        title=course.title,
        hours=course.hours,
        score=score,
        issued_on=issued_on,
        valid_until=valid_until,
        status=CertificateStatus.valid,
        source=CertificateSource.issued,
        pdf_sha256=sha256,
        pdf_path=storage.blob_path("", PDF_AREA, sha256).as_posix(),  # under the data folder
        issued_by_id=actor.id if actor else None,
        replaces_id=replaces_id,
        ledger_entry_id=ledger_entry_id,
        created_at=now,
    )


def issue_certificate(
    db: Session,
    *,
    employee: Employee,
    course: Course,
    design: Design,
    issued_on: date,
    score: Decimal | None,
    bureau: str,
    serial_bureau: str,
    verify_url: Callable[[str], str],
    data_dir: str | Path,
    actor: Employee | None,
    now: datetime,
    renew: bool = False,
    valid_until: date | None = None,
    ledger_entry_id: int | None = None,
    renderer: Renderer = render_pdf,
    action: str = "certificate.issue",
) -> Certificate:
    """The person's valid certificate for the course: the one they hold, or a new one.

    A new one gets the next serial of its bureau prefix, year and design, a 128-bit
    verification code, and its PDF rendered once and stored with its hash. Valid until
    ``valid_until`` when given, else ``issued_on`` plus the design's validity (none: never
    expires). Two issues at once for the same person and course give one certificate: the
    loser finds the winner's (``verify_url(code)`` makes the QR code's URL; ``renderer``
    renders the PDF: the app passes its long-lived worker processes,
    :mod:`lms.certificates.rendering`). ``renew``: a valid certificate held is replaced by the
    new one, which names it (the course was passed again, or HR reissues it).
    """
    held = valid_certificate(db, employee.id, course.id)
    if held is not None and not renew:
        return held
    if held is not None:
        held.status = CertificateStatus.replaced
        db.flush()
    serial = next_serial(db, serial_prefix(serial_bureau, issued_on.year, design.code))
    code = verification_code()
    if valid_until is None and design.validity_months:
        valid_until = add_months(issued_on, design.validity_months)
    context = certificate_context(
        employee=employee,
        course=course,
        serial=serial,
        code=code,
        issued_on=issued_on,
        valid_until=valid_until,
        score=score,
        bureau=bureau,
        verify_url=verify_url,
    )
    sha256 = store_pdf(design, renderer(design, context), data_dir)
    certificate = new_certificate(
        employee=employee,
        course=course,
        design=design,
        serial=serial,
        code=code,
        issued_on=issued_on,
        valid_until=valid_until,
        score=score,
        sha256=sha256,
        actor=actor,
        now=now,
        replaces_id=held.id if held is not None else None,
        ledger_entry_id=ledger_entry_id,
    )
    summary = f"{employee.emp_no} {employee.name}: {course.title}"
    if not add_certificate(db, certificate, actor=actor, action=action, summary=summary):
        return valid_certificate(db, employee.id, course.id)  # type: ignore[return-value]
    return certificate


def reissue_certificate(
    db: Session,
    certificate: Certificate,
    *,
    reason: str,
    design: Design,
    bureau: str,
    serial_bureau: str,
    verify_url: Callable[[str], str],
    data_dir: str | Path,
    actor: Employee,
    now: datetime,
    issued_on: date,
    renderer: Renderer = render_pdf,
) -> Certificate:
    """Reissue a valid certificate (a lost paper, a corrected name): a new serial, code and PDF
    with the same course, score and end of validity, naming the old one, which is marked
    replaced. Audited with the reason. :class:`CertificateError` for an imported certificate,
    one not valid any more, or no reason."""
    reason = " ".join(reason.split())
    if not reason:
        raise CertificateError("a reason is needed")
    if certificate.status is not CertificateStatus.valid:
        raise CertificateError("only a valid certificate can be reissued")
    if certificate.source is not CertificateSource.issued or certificate.course_id is None:
        raise CertificateError("an imported certificate cannot be reissued")
    course = db.get(Course, certificate.course_id)
    new = issue_certificate(
        db,
        employee=certificate.employee,
        course=course,  # type: ignore[arg-type]
        design=design,
        issued_on=issued_on,
        score=certificate.score,
        bureau=bureau,
        serial_bureau=serial_bureau,
        verify_url=verify_url,
        data_dir=data_dir,
        actor=actor,
        now=now,
        renew=True,
        valid_until=certificate.valid_until,
        ledger_entry_id=certificate.ledger_entry_id,
        renderer=renderer,
        action="certificate.reissue",
    )
    audit(
        db,
        actor=actor,
        action="certificate.replace",
        object_type="certificate",
        object_id=certificate.serial,
        summary=reason[:200],
        before={"status": "valid"},
        after={"status": "replaced", "by": new.serial, "reason": reason[:500]},
    )
    db.flush()
    return new


# -- status and verification -------------------------------------------------------------------


def status_on(certificate: Certificate, day: date, *, expiring_days: int) -> str:
    """``valid``, ``expiring`` (within ``expiring_days`` of its end), ``expired``, ``revoked``
    or ``replaced``, on ``day``."""
    if certificate.status is not CertificateStatus.valid:
        return certificate.status.value
    if certificate.valid_until is None:
        return "valid"
    if day > certificate.valid_until:
        return "expired"
    if (certificate.valid_until - day).days <= expiring_days:
        return "expiring"
    return "valid"


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳晓燕 → 欧***, John Smith → J*********: the first character only."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""


def verify(
    db: Session, code: str, *, address: str, now: datetime, per_minute: int
) -> tuple[Certificate | None, bool]:
    """Look a verification code up and record the look-up; ``(certificate or None, allowed)``.

    More than ``per_minute`` look-ups from one address within a minute are refused (and not
    looked up), found or not, so that codes cannot be guessed by trying.
    """
    since = now - timedelta(minutes=1)
    recent = db.scalar(
        sa.select(sa.func.count(CertificateVerification.id)).where(
            CertificateVerification.address == address, CertificateVerification.at > since
        )
    )
    if per_minute and (recent or 0) >= per_minute:
        return None, False
    found = None
    if 16 <= len(code) <= 43:
        found = db.scalars(
            sa.select(Certificate).where(Certificate.verification_code == code)
        ).first()
    db.add(
        CertificateVerification(
            certificate_id=found.id if found else None, address=address[:64], at=now
        )
    )
    db.flush()
    return found, True


def revoke(
    db: Session, certificate: Certificate, *, actor: Employee, reason: str, now: datetime
) -> None:
    """Revoke a valid certificate with a reason (audited); it then verifies as revoked.

    Raises :class:`CertificateError` without a reason or for one not valid any more.
    """
    reason = " ".join(reason.split())
    if not reason:
        raise CertificateError("a reason is needed")
    if certificate.status is not CertificateStatus.valid:
        raise CertificateError("only a valid certificate can be revoked")
    certificate.status = CertificateStatus.revoked
    certificate.revoked_at = now
    certificate.revoked_reason = reason[:500]
    audit(
        db,
        actor=actor,
        action="certificate.revoke",
        object_type="certificate",
        object_id=certificate.serial,
        summary=reason[:200],
        before={"status": "valid"},
        after={"status": "revoked", "reason": reason[:500]},
    )
    db.flush()


def certificates_of(db: Session, employee_id: int) -> list[Certificate]:
    """A person's certificates, newest first."""
    return list(
        db.scalars(
            sa.select(Certificate)
            .where(Certificate.employee_id == employee_id)
            .order_by(Certificate.issued_on.desc(), Certificate.id.desc())
        )
    )


def to_renew(
    scope: sa.ColumnElement[bool], *, today: date, days: int
) -> sa.Select[tuple[Certificate]]:
    """Valid certificates of the employees matching ``scope`` (a condition on Employee joined to
    its Unit, as :func:`lms.security.employee_scope` gives) whose end falls within ``days`` from
    ``today`` or has passed (renewal due), soonest first, with their holders loaded."""
    return (
        sa.select(Certificate)
        .join(Employee, Employee.id == Certificate.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(
            scope,
            Certificate.status == CertificateStatus.valid,
            Certificate.valid_until.is_not(None),
            Certificate.valid_until <= today + timedelta(days=days),
        )
        .order_by(Certificate.valid_until, Certificate.id)
        .options(selectinload(Certificate.employee))
    )


def expiring(
    db: Session, scope: sa.ColumnElement[bool], *, today: date, days: int, limit: int = 50
) -> list[Certificate]:
    """The first ``limit`` of :func:`to_renew` (the home page's list)."""
    return list(db.scalars(to_renew(scope, today=today, days=days).limit(limit)))
