"""Certificates, their serial number sequences, and the log of verifications.

A certificate's stored status is valid, revoked or replaced; *expiring* and *expired* are not
stored: they follow from ``valid_until`` and the day it is looked at. At most one valid
certificate per person and course: a partial unique index, so that concurrent issues for the
same person and course give one.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, utcnow
from lms.org.models import Employee


class CertificateStatus(enum.StrEnum):
    valid = "valid"
    revoked = "revoked"
    #: reissued or renewed: the certificate that replaced it is ``replaced_by``
    replaced = "replaced"


class CertificateSource(enum.StrEnum):
    #: issued by this system (a PDF is stored)
    issued = "issued"
    #: held before the system, imported from a file (no PDF)
    imported = "imported"


class Certificate(Base):
    __tablename__ = "lms_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: human-readable and unique, e.g. ``LCGD-2026-SG-000123``
    serial: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: unguessable (128 bits), in the QR code's verification URL
    verification_code: Mapped[str] = mapped_column(sa.String(43), unique=True)
    employee_id: Mapped[int] = mapped_column(sa.ForeignKey("lms_employee.id"), index=True)
    course_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_course.id"), index=True)
    #: the design's name (``certificates/<design>/``); imported ones: the kind's design, if any
    design: Mapped[str] = mapped_column(sa.String(64))
    #: what it certifies, as the targets count it: ``qualification`` (合格证),
    #: ``onboarding`` (上岗培训合格证), ...
    kind: Mapped[str] = mapped_column(sa.String(40), index=True)
    #: the course title (or the imported certificate's name) as printed
    title: Mapped[str] = mapped_column(sa.String(200))
    hours: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 1))
    score: Mapped[Decimal | None] = mapped_column(sa.Numeric(8, 2))
    issued_on: Mapped[date]
    #: None: never expires
    valid_until: Mapped[date | None] = mapped_column(index=True)
    status: Mapped[CertificateStatus] = mapped_column(
        sa.Enum(CertificateStatus, native_enum=False, length=20),
        default=CertificateStatus.valid,
        index=True,
    )
    source: Mapped[CertificateSource] = mapped_column(
        sa.Enum(CertificateSource, native_enum=False, length=20), default=CertificateSource.issued
    )
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    #: the certificate this one replaced (reissue or renewal)
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_certificate.id"))
    #: the stored PDF: its SHA-256 and where it lies under the data folder (None: imported)
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    pdf_path: Mapped[str | None] = mapped_column(sa.String(300))
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_employee.id"))
    #: the training-ledger row it was issued for (a course completion), if any
    ledger_entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lms_ledger_entry.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    employee: Mapped[Employee] = relationship(foreign_keys=[employee_id])

    __table_args__ = (
        # one valid certificate per person and course (concurrent issues give one)
        sa.Index(
            "uq_lms_certificate_valid_per_course",
            "employee_id",
            "course_id",
            unique=True,
            sqlite_where=sa.text("status = 'valid' AND course_id IS NOT NULL"),
            postgresql_where=sa.text("status = 'valid' AND course_id IS NOT NULL"),
        ),
    )

    def __repr__(self) -> str:
        return f"<Certificate {self.serial}>"


class CertificateSequence(Base):
    """The last serial number given for a serial prefix (bureau, year and design code)."""

    __tablename__ = "lms_certificate_sequence"

    #: e.g. ``LCGD-2026-SG``
    prefix: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class CertificateVerification(Base):
    """One look-up on the public verification page (found or not), for the record and the
    per-address rate limit."""

    __tablename__ = "lms_certificate_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    certificate_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("lms_certificate.id"), index=True
    )
    address: Mapped[str] = mapped_column(sa.String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
