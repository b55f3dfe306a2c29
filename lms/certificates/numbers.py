"""Certificate numbers: a human-readable serial per bureau prefix, year and design, unique even
when many are issued at once; and a separate unguessable verification code for the QR URL."""

from __future__ import annotations

import re
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.certificates.models import CertificateSequence

#: the parts of a serial prefix: letters and digits (``LCGD``, ``SG``)
PART = re.compile(r"^[A-Z0-9]{1,12}$")


def serial_prefix(bureau: str, year: int, design_code: str) -> str:
    """``LCGD-2026-SG``: the bureau's prefix, the year of issue and the design's code."""
    for part in (bureau, design_code):
        if not PART.match(part):
            raise ValueError(f"{part!r}: a serial part is 1 to 12 capital letters or digits")
    return f"{bureau}-{year:04d}-{design_code}"


def next_serial(db: Session, prefix: str) -> str:
    """The next serial of ``prefix`` (``LCGD-2026-SG-000123``), unique however many transactions
    ask at once (see :func:`reserve_serials`). A rolled-back issue leaves a gap."""
    return reserve_serials(db, prefix, 1)[0]


def reserve_serials(db: Session, prefix: str, count: int) -> list[str]:
    """The next ``count`` serials of ``prefix``, in order, unique however many transactions ask
    at once: the sequence row is created if missing (``ON CONFLICT DO NOTHING``) and bumped by
    ``count`` in one ``UPDATE ... RETURNING``, which waits for any other transaction bumping it
    (a row lock on PostgreSQL, the write lock on SQLite). Serials reserved and not used (a
    rolled-back issue, a bulk issue that skipped someone) leave gaps."""
    if count < 1:
        return []
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    db.execute(
        insert(CertificateSequence)
        .values(prefix=prefix, last_number=0)
        .on_conflict_do_nothing(index_elements=["prefix"])
    )
    last = db.execute(
        sa.update(CertificateSequence)
        .where(CertificateSequence.prefix == prefix)
        .values(last_number=CertificateSequence.last_number + count)
        .returning(CertificateSequence.last_number)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    return [f"{prefix}-{number:06d}" for number in range(last - count + 1, last + 1)]


def verification_code() -> str:
    """128 random bits, URL-safe (22 characters): the code in the QR code's URL."""
    return secrets.token_urlsafe(16)
