"""Bulk issue: everyone who passed a course in a period and holds no valid certificate of it gets
one, as a job with progress (on the job's page and on the command line).

Three steps keep the database free while the PDFs render: the serials are reserved in one short
transaction; the PDFs render in parallel in the long-lived render workers with no transaction
open; the certificates are inserted in short transactions of :data:`BATCH`. A job stopped half-way
leaves whole certificates and unused serials (gaps), never half of one, and running it again
issues to the people still without one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from lms import storage
from lms.certificates import services
from lms.certificates.designs import Design
from lms.certificates.models import Certificate, CertificateStatus
from lms.certificates.numbers import reserve_serials, serial_prefix, verification_code
from lms.courses.models import Course
from lms.db import Database, utcnow
from lms.i18n import gettext as _
from lms.jobs.services import JobContext, JobFailed, job
from lms.org.models import Employee, EmploymentStatus, Unit
from lms.training.models import LedgerEntry

#: certificates inserted per write transaction
BATCH = 25


@dataclass(frozen=True)
class Candidate:
    """Someone who passed the course in the period: their latest passing ledger row."""

    employee_id: int
    passed_on: date
    score: Decimal | None
    ledger_entry_id: int


def bulk_candidates(
    db: Session,
    course_id: int,
    start: date,
    end: date,
    scope: sa.ColumnElement[bool] | None = None,
) -> list[Candidate]:
    """Everyone (not a leaver, within ``scope``, a condition on Employee joined to its Unit) with
    a passing ledger row of the course ending between ``start`` and ``end`` who holds no valid
    certificate of it, with their latest such row; by 工号."""
    holds = (
        sa.select(Certificate.id)
        .where(
            Certificate.employee_id == LedgerEntry.employee_id,
            Certificate.course_id == course_id,
            Certificate.status == CertificateStatus.valid,
        )
        .exists()
    )
    latest = sa.func.row_number().over(
        partition_by=LedgerEntry.employee_id,
        order_by=(LedgerEntry.end_on.desc(), LedgerEntry.id.desc()),
    )
    rows = (
        sa.select(
            LedgerEntry.employee_id,
            LedgerEntry.end_on,
            LedgerEntry.score,
            LedgerEntry.id,
            Employee.emp_no,
            latest.label("latest"),
        )
        .join(Employee, Employee.id == LedgerEntry.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .where(
            LedgerEntry.course_id == course_id,
            LedgerEntry.passed.is_(True),
            LedgerEntry.end_on.between(start, end),
            Employee.status != EmploymentStatus.left,
            ~holds,
            scope if scope is not None else sa.true(),
        )
        .subquery()
    )
    found = db.execute(
        sa.select(rows.c.employee_id, rows.c.end_on, rows.c.score, rows.c.id)
        .where(rows.c.latest == 1)
        .order_by(rows.c.emp_no)
    )
    return [Candidate(*row) for row in found]


@dataclass
class BulkResult:
    issued: int = 0
    #: people who got a valid certificate of the course some other way while the job ran
    skipped: int = 0
    #: (工号, reason) of the renders that failed; running the job again retries them
    failed: list[tuple[str, str]] | None = None


def issue_bulk(
    database: Database,
    *,
    course_id: int,
    design: Design,
    candidates: list[Candidate],
    bureau: str,
    serial_bureau: str,
    verify_url: Callable[[str], str],
    data_dir: str | Path,
    actor_id: int | None,
    render: Callable[[Design, dict[str, Any]], tuple[bytes, list[str]]],
    workers: int,
    progress: Callable[[int, int, str], None] = lambda done, total, message: None,
) -> BulkResult:
    """Issue the course's certificate of ``design`` to each candidate, dated the day they passed
    (so the serial carries that year). ``render`` is called from ``workers`` threads at once
    (the render pool's processes do the work); ``progress(done, total, 工号)`` after each."""
    result = BulkResult(failed=[])
    total = len(candidates)
    if not total:
        return result
    with database.transaction() as db:
        course = db.get(Course, course_id)
        if course is None:
            raise services.CertificateError("the course no longer exists")
        people = {
            person.id: person
            for person in db.scalars(
                sa.select(Employee)
                .where(Employee.id.in_([c.employee_id for c in candidates]))
                .options(selectinload(Employee.unit))
            )
        }
        serials: dict[int, str] = {}
        for year in sorted({c.passed_on.year for c in candidates}):
            of_year = [c for c in candidates if c.passed_on.year == year]
            reserved = reserve_serials(
                db, serial_prefix(serial_bureau, year, design.code), len(of_year)
            )
            serials.update(zip((c.employee_id for c in of_year), reserved, strict=True))
        db.expunge_all()

    def prepare(candidate: Candidate) -> tuple[Candidate, Certificate]:
        person = people[candidate.employee_id]
        code = verification_code()
        valid_until = (
            services.add_months(candidate.passed_on, design.validity_months)
            if design.validity_months
            else None
        )
        context = services.certificate_context(
            employee=person,
            course=course,
            serial=serials[person.id],
            code=code,
            issued_on=candidate.passed_on,
            valid_until=valid_until,
            score=candidate.score,
            bureau=bureau,
            verify_url=verify_url,
        )
        sha256 = services.store_pdf(design, render(design, context), data_dir)
        return candidate, services.new_certificate(
            employee=person,
            course=course,
            design=design,
            serial=serials[person.id],
            code=code,
            issued_on=candidate.passed_on,
            valid_until=valid_until,
            score=candidate.score,
            sha256=sha256,
            actor=None,
            now=utcnow(),
            ledger_entry_id=candidate.ledger_entry_id,
        )

    batch: list[Certificate] = []
    progress(0, total, "")
    for done, (candidate, outcome) in enumerate(_in_parallel(prepare, candidates, workers), 1):
        if isinstance(outcome, Exception):
            emp_no = people[candidate.employee_id].emp_no
            result.failed.append((emp_no, str(outcome)[:200] or type(outcome).__name__))
        else:
            batch.append(outcome[1])
        if len(batch) >= BATCH or done == total:
            _insert(database, batch, people, course, actor_id, result)
            batch = []
        progress(done, total, people[candidate.employee_id].emp_no)
    return result


def _in_parallel(
    function: Callable[[Candidate], Any], items: list[Candidate], workers: int
) -> Iterator[tuple[Candidate, Any]]:
    """``function`` of each item on ``workers`` threads, yielding (item, result or exception) in
    the order they finish; at most a few items ahead of the consumer, so memory stays bounded."""
    with ThreadPoolExecutor(max(1, workers)) as pool:
        pending: dict[Any, Candidate] = {}
        queue = iter(items)

        def fill() -> None:
            while len(pending) < workers * 2:
                item = next(queue, None)
                if item is None:
                    return
                pending[pool.submit(function, item)] = item

        fill()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                item = pending.pop(future)
                error = future.exception()
                yield item, error if error is not None else future.result()
            fill()


def _insert(
    database: Database,
    batch: list[Certificate],
    people: dict[int, Employee],
    course: Course,
    actor_id: int | None,
    result: BulkResult,
) -> None:
    """One short write transaction: the batch's certificates, each skipped when the person got a
    valid one of the course meanwhile (a pass, HR, another bulk issue)."""
    if not batch:
        return
    with database.transaction() as db:
        actor = db.get(Employee, actor_id) if actor_id else None
        for certificate in batch:
            certificate.issued_by_id = actor_id
            person = people[certificate.employee_id]
            summary = f"{person.emp_no} {person.name}: {course.title}"
            if services.add_certificate(
                db, certificate, actor=actor, action="certificate.issue", summary=summary
            ):
                result.issued += 1
            else:
                result.skipped += 1


@job("certificates.bulk_issue")
def bulk_issue_job(
    ctx: JobContext,
    course: str,
    start: str,
    end: str,
    design: str = "",
    dry_run: bool = False,
    base_url: str = "",
) -> dict[str, Any]:
    """The job behind the bulk issue page and ``lms certificates issue``: the course by code, the
    period as ISO dates, the design (default: the course's own); ``base_url``: the address the
    QR codes point at when ``LMS_PUBLIC_URL`` is not set (the page passes its own)."""
    from flask import current_app

    from lms.certificates.designs import shipped_designs
    from lms.certificates.issuing import renderer, verify_url_builder
    from lms.security import employee_scope

    database: Database = ctx.app.extensions["lms"].db
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    with contextlib.closing(database.session(write=False)) as db:
        found = db.scalars(sa.select(Course).where(Course.code == course)).first()
        if found is None:
            raise JobFailed(_("No course has the code %(code)s.", code=course))
        name = design or found.certificate_design or ""
        chosen = shipped_designs().get(name)
        if chosen is None:
            raise JobFailed(_("The course %(code)s has no certificate design.", code=course))
        actor = db.get(Employee, ctx.actor_id) if ctx.actor_id else None
        scope = employee_scope(actor) if actor is not None else None
        candidates = bulk_candidates(db, found.id, first, last, scope)
        course_id = found.id
    summary: dict[str, Any] = {
        "course": course,
        "design": chosen.name,
        "start": first.isoformat(),
        "end": last.isoformat(),
        "candidates": len(candidates),
        "issued": 0,
        "skipped": 0,
        "failed": [],
        "dry_run": dry_run,
    }
    if dry_run or not candidates:
        return summary
    config = current_app.config
    pool = renderer()
    outcome = issue_bulk(
        database,
        course_id=course_id,
        design=chosen,
        candidates=candidates,
        bureau=config["LMS_BUREAU_NAME"],
        serial_bureau=config["LMS_CERTIFICATE_SERIAL_PREFIX"],
        verify_url=verify_url_builder(base_url),
        data_dir=storage.data_dir(current_app),
        actor_id=ctx.actor_id,
        render=pool.render,
        workers=pool.workers,
        progress=ctx.progress,
    )
    summary.update(
        issued=outcome.issued,
        skipped=outcome.skipped,
        failed=[{"emp_no": emp_no, "message": message} for emp_no, message in outcome.failed or []],
    )
    return summary
