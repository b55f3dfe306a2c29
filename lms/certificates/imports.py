"""Certificates held before the system: the certificates file (DESIGN.md: 工号, 证书类型, 证书编号,
发证日期, 有效期至), imported all-or-nothing. Imported certificates count for the targets like
issued ones, carry a verification code like them (so they can be checked), have no PDF, and show
as imported. Importing the same file again changes nothing."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.certificates.designs import Design, shipped_designs
from lms.certificates.models import Certificate, CertificateSource, CertificateStatus
from lms.certificates.numbers import verification_code
from lms.i18n import gettext as _
from lms.jobs.services import JobContext, job
from lms.org.models import Employee
from lms.sheets import Column, FileProblem, ImportResult, Problem, Table, parse_date, read_table

CERTIFICATE_COLUMNS = (
    Column("emp_no", "工号", required=True),
    Column("kind", "证书类型", required=True),
    Column("serial", "证书编号", required=True),
    Column("issued_on", "发证日期", required=True),
    Column("valid_until", "有效期至"),
)
#: a kind given by code: lowercase letters, digits and underscores
KIND_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Kind:
    code: str
    name: str
    design: str


def _kinds(designs: dict[str, Design]) -> dict[str, Kind]:
    """Each design's kind by its code and by its Chinese title."""
    found: dict[str, Kind] = {}
    for design in designs.values():
        kind = Kind(design.kind, design.title, design.name)
        found.setdefault(design.kind, kind)
        found.setdefault(design.title, kind)
    return found


def _kind(text: str, known: dict[str, Kind]) -> Kind:
    """A kind from its code or Chinese name; another kind is kept as given."""
    value = text.strip()
    if value in known:
        return known[value]
    if KIND_CODE.match(value):
        return Kind(value, value, value)
    if 0 < len(value) <= 40:
        return Kind(value, value, "")
    raise ValueError(_("Give the kind as a code (qualification, onboarding) or a name."))


def import_certificates(
    db: Session,
    table: Table,
    *,
    actor: Employee | None,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Add the file's certificates; all-or-nothing (the caller rolls back on errors).

    A serial already held by the same person with the same kind and dates is unchanged; one held
    by another certificate is an error, as is a serial twice in the file, an unknown 工号, a bad
    date or an end before the issue.
    """
    result = ImportResult()
    known = _kinds(shipped_designs())
    people = dict(db.execute(sa.select(Employee.emp_no, Employee.id)).all())
    seen: dict[str, int] = {}
    rows: list[tuple[int, dict[str, Any]]] = []

    def error(line: int, column: str, message: str) -> None:
        result.errors.append(Problem(table.file, line, table.headers.get(column, column), message))

    for line, record in table.rows:
        values: dict[str, Any] = {}
        employee_id = people.get(record["emp_no"].strip())
        if employee_id is None:
            error(
                line, "emp_no", _("No employee has the 工号 %(emp_no)s.", emp_no=record["emp_no"])
            )
        values["employee_id"] = employee_id
        try:
            values["kind"] = _kind(record["kind"], known)
        except ValueError as exc:
            error(line, "kind", str(exc))
        serial = record["serial"].strip()
        if not serial or len(serial) > 64:
            error(line, "serial", _("A serial number of 1 to 64 characters is needed."))
        elif serial in seen:
            error(
                line,
                "serial",
                _(
                    "The serial %(serial)s is on line %(line)d too.",
                    serial=serial,
                    line=seen[serial],
                ),
            )
        seen.setdefault(serial, line)
        values["serial"] = serial
        for key in ("issued_on", "valid_until"):
            try:
                values[key] = parse_date(record.get(key, ""))
            except ValueError as exc:
                error(line, key, str(exc))
        if "issued_on" in values and values["issued_on"] is None:
            error(line, "issued_on", _("The issue date is needed."))
        if (
            values.get("issued_on")
            and values.get("valid_until")
            and values["valid_until"] < values["issued_on"]
        ):
            error(line, "valid_until", _("The certificate ends before it was issued."))
        rows.append((line, values))

    existing = {
        c.serial: c
        for c in db.scalars(sa.select(Certificate).where(Certificate.serial.in_(list(seen))))
    }
    for line, values in rows:
        held = existing.get(values["serial"])
        if held is None:
            continue
        kind = values.get("kind")
        same = (
            held.employee_id == values["employee_id"]
            and kind is not None
            and held.kind == kind.code
            and held.issued_on == values.get("issued_on")
            and held.valid_until == values.get("valid_until")
        )
        if not same:
            error(
                line,
                "serial",
                _("The serial %(serial)s belongs to another certificate.", serial=values["serial"]),
            )
    if result.errors:
        return result

    for done, (_line, values) in enumerate(rows, start=1):
        if values["serial"] in existing:
            result.unchanged += 1
        else:
            kind: Kind = values["kind"]
            db.add(
                Certificate(
                    serial=values["serial"],
                    verification_code=verification_code(),
                    employee_id=values["employee_id"],
                    course_id=None,
                    design=kind.design,
                    kind=kind.code,
                    title=kind.name,
                    issued_on=values["issued_on"],
                    valid_until=values["valid_until"],
                    status=CertificateStatus.valid,
                    source=CertificateSource.imported,
                    created_at=now,
                )
            )
            result.imported += 1
        if progress is not None:
            progress(done, len(rows))
    db.flush()
    if result.imported:
        audit(
            db,
            actor=actor,
            action="certificates.import",
            object_type="certificate",
            summary=f"{table.file}: {result.imported} imported, {result.unchanged} unchanged",
            after={"file": table.file, "imported": result.imported, "unchanged": result.unchanged},
        )
        db.flush()
    return result


@job("certificates.import")
def import_job(
    ctx: JobContext, *, path: str, file: str, dry_run: bool = False, delete: bool = False
) -> dict[str, Any]:
    """Import a stored certificates file; rolled back when there are errors or for a dry run."""
    from lms.db import utcnow

    try:
        data = Path(path).read_bytes()
    finally:
        if delete:
            with contextlib.suppress(OSError):
                Path(path).unlink()
    try:
        table = read_table(
            data, file, CERTIFICATE_COLUMNS, max_rows=ctx.app.config["LMS_IMPORT_MAX_ROWS"]
        )
        result = import_certificates(
            ctx.db, table, actor=ctx.actor, now=utcnow(), progress=lambda d, t: ctx.progress(d, t)
        )
    except FileProblem as exc:
        result = ImportResult(errors=exc.problems)
    if dry_run or not result.ok:
        ctx.db.rollback()
    return {"file": file, "dry_run": dry_run, **result.as_dict()}
