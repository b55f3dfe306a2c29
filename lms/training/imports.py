"""Training records from elsewhere: the training records file (DESIGN.md: 工号, 项目, 课程, 形式,
开始日期, 结束日期, 学时, 成绩, 合格), imported all-or-nothing into the ledger.

Each row becomes one ledger row with the import source. Its ``source_ref`` is a digest of the
row's normalised values (工号, programme code, course code, form, dates, hours, score, passed), so
that importing the same file again, or another file holding the same records, writes nothing
twice; the line number cannot serve, since the same record moves when a file is re-sorted.

Two rows of one file with the same normalised values are the same record (the same person, the
same training on the same days, with the same hours and result): it is imported once, and the
repeated line is reported as a warning. A retake (合格 否, then 是) or a correction of the hours
differs, so it is a record of its own; a wrong row already imported stays until it is removed.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lms.audit.services import record as audit
from lms.courses.models import Course
from lms.i18n import gettext as _
from lms.jobs.services import JobContext, job
from lms.org.models import Employee
from lms.sheets import (
    Column,
    FileProblem,
    ImportResult,
    Problem,
    Table,
    parse_bool,
    parse_date,
    read_table,
)
from lms.training.models import LedgerEntry, LedgerSource, TrainingForm
from lms.training.programmes import ProgrammeInfo, all_programmes
from lms.training.services import add_ledger_entry

RECORD_COLUMNS = (
    Column("emp_no", "工号", required=True),
    Column("programme", "项目", required=True),
    Column("course", "课程", aliases=("课程编码", "course_code")),
    Column("form", "形式", required=True),
    Column("start", "开始日期", required=True, aliases=("start_on",)),
    Column("end", "结束日期", required=True, aliases=("end_on",)),
    Column("hours", "学时", required=True),
    Column("score", "成绩"),
    Column("passed", "合格"),
)
#: what starts every ``source_ref`` this import writes (the rest is the row's digest)
REF_PREFIX = "records:"
#: the ledger's columns: 学时 Numeric(6, 1), 成绩 Numeric(6, 2)
MAX_HOURS = Decimal("99999.9")
MAX_SCORE = Decimal("9999.99")
#: source_refs looked up per query (well below every database's limit on parameters)
LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class RecordRow:
    """One checked row of the file, ready for the ledger."""

    employee_id: int
    emp_no: str
    programme: str  # the programme's code
    course_id: int | None
    course_code: str
    title: str
    form: TrainingForm
    start_on: date
    end_on: date
    hours: Decimal
    score: Decimal | None
    passed: bool

    @property
    def source_ref(self) -> str:
        """The digest of the normalised values: the same record gives the same ref, however
        the file spelt it (项目 by code or by name, ``2`` or ``2.0`` hours, 是 or Y)."""
        parts = (
            self.emp_no,
            self.programme,
            self.course_code,
            self.form.value,
            self.start_on.isoformat(),
            self.end_on.isoformat(),
            str(self.hours),
            "" if self.score is None else str(self.score),
            "1" if self.passed else "0",
        )
        digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
        return REF_PREFIX + digest


def _programmes(db: Session) -> dict[str, ProgrammeInfo]:
    """Every programme by its code and by its Chinese name."""
    found: dict[str, ProgrammeInfo] = {}
    for info in all_programmes(db).values():
        found.setdefault(info.code, info)
        found.setdefault(info.name, info)
    return found


def _form(text: str) -> TrainingForm:
    """形式 by its Chinese word (网络, 面授 ...) or its English name (online, classroom ...)."""
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


def _decimal(text: str, places: int, maximum: Decimal) -> Decimal:
    """A number of 0 up to ``maximum`` with at most ``places`` decimals (ValueError otherwise),
    quantized to ``places`` so that ``2`` and ``2.0`` are the same value."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    step = Decimal(1).scaleb(-places)
    if not value.is_finite() or value < 0 or value > maximum or value != value.quantize(step):
        raise ValueError(text)
    return abs(value.quantize(step))  # abs: -0 is 0, in the ledger and in the digest


def _existing(db: Session, refs: Iterable[str]) -> set[str]:
    """The refs among ``refs`` that the ledger holds already (from the import source)."""
    wanted = list(refs)
    found: set[str] = set()
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start : start + LOOKUP_CHUNK]
        found.update(
            db.scalars(
                sa.select(LedgerEntry.source_ref).where(
                    LedgerEntry.source == LedgerSource.imported,
                    LedgerEntry.source_ref.in_(chunk),
                )
            )
        )
    return found


@dataclass(frozen=True)
class Known:
    """What a file's rows are checked against, read once per import."""

    people: dict[str, int]  # 工号 -> employee id
    programmes: dict[str, ProgrammeInfo]  # by code and by Chinese name
    courses: dict[str, tuple[int, str]]  # code -> (id, title)

    @classmethod
    def read(cls, db: Session) -> Known:
        people = dict(db.execute(sa.select(Employee.emp_no, Employee.id)).all())
        courses = {
            code: (id_, title)
            for code, id_, title in db.execute(sa.select(Course.code, Course.id, Course.title))
        }
        return cls(people=people, programmes=_programmes(db), courses=courses)


Report = Callable[[str, str], None]


def _needed(text: str, column: str, error: Report) -> bool:
    """Whether a required cell has a value (an error names it otherwise)."""
    if text.strip():
        return True
    error(column, _("A value is needed in this column."))
    return False


def _check_row(record: dict[str, str], known: Known, error: Report) -> RecordRow | None:
    """One row as a record, or None after reporting every problem of the row with its column
    (``error(column_key, message)``)."""
    emp_no = record["emp_no"].strip()
    employee_id = known.people.get(emp_no)
    if _needed(emp_no, "emp_no", error) and employee_id is None:
        error("emp_no", _("No employee has the 工号 %(emp_no)s.", emp_no=emp_no))

    programme = known.programmes.get(record["programme"].strip())
    if _needed(record["programme"], "programme", error) and programme is None:
        message = _("No programme has the code or name %(value)s.", value=record["programme"])
        error("programme", message)

    course_code = record.get("course", "").strip()
    course = known.courses.get(course_code) if course_code else None
    if course_code and course is None:
        error("course", _("No course has the code %(code)s.", code=course_code))

    form = None
    if _needed(record["form"], "form", error):
        try:
            form = _form(record["form"])
        except ValueError as exc:
            error("form", str(exc))

    dates: dict[str, date | None] = {}
    for key in ("start", "end"):
        if _needed(record[key], key, error):
            try:
                dates[key] = parse_date(record[key])
            except ValueError as exc:
                error(key, str(exc))
    start_on, end_on = dates.get("start"), dates.get("end")
    if start_on and end_on and end_on < start_on:
        error("end", _("The training ends before it starts."))

    hours = None
    if _needed(record["hours"], "hours", error):
        try:
            hours = _decimal(record["hours"], 1, MAX_HOURS)
        except ValueError:
            message = _(
                "%(value)s is not a number of hours: give 0 or more, with at most one decimal, "
                "like 2 or 1.5.",
                value=record["hours"],
            )
            error("hours", message)

    score, score_ok = None, True
    if record.get("score", "").strip():
        try:
            score = _decimal(record["score"], 2, MAX_SCORE)
        except ValueError:
            score_ok = False
            message = _(
                "%(value)s is not a score: give a number of 0 or more, with at most two "
                "decimals, like 85 or 92.5; or leave it empty.",
                value=record["score"],
            )
            error("score", message)

    passed = None
    try:
        passed = parse_bool(record.get("passed", ""), default=True)
    except ValueError as exc:
        error("passed", str(exc))

    if (
        employee_id is None
        or programme is None
        or (course_code and course is None)
        or form is None
        or start_on is None
        or end_on is None
        or end_on < start_on
        or hours is None
        or not score_ok
        or passed is None
    ):
        return None
    return RecordRow(
        employee_id=employee_id,
        emp_no=emp_no,
        programme=programme.code,
        course_id=course[0] if course else None,
        course_code=course_code,
        # the course's title when there is one, otherwise the 项目 as the bureau names it
        title=course[1] if course else programme.name,
        form=form,
        start_on=start_on,
        end_on=end_on,
        hours=hours,
        score=score,
        passed=passed,
    )


def import_records(
    db: Session,
    table: Table,
    *,
    actor: Employee | None,
    progress: Callable[[int, int], None] | None = None,
    write: bool = True,
) -> ImportResult:
    """Add the file's training records to the ledger; all-or-nothing (the caller rolls back on
    errors). Without ``write`` (a preview, a dry run) nothing is written: the records are only
    counted, new or unchanged, which is much quicker than writing them and rolling back.

    Errors name the line and column: an unknown 工号 (a leaver is fine: these are records of the
    past), programme or course code, a form not in the list, a missing or bad date, an end
    before the start, hours or a score that are not a number of 0 or more (hours with at most
    one decimal, a score with two), a 合格 that is not yes or no. A record the ledger holds
    already is unchanged; a record repeated in the file is imported once, with a warning.
    """
    result = ImportResult()
    known = Known.read(db)
    rows: list[RecordRow] = []
    first_line: dict[str, int] = {}
    for line, record in table.rows:

        def error(column: str, message: str, line: int = line) -> None:
            where = table.headers.get(column, column)
            result.errors.append(Problem(table.file, line, where, message))

        row = _check_row(record, known, error)
        if row is None or result.errors:
            continue  # once the file has an error, only more errors are of use
        ref = row.source_ref
        if ref in first_line:
            message = _(
                "The same record as line %(line)d: it is imported once.", line=first_line[ref]
            )
            result.warnings.append(Problem(table.file, line, None, message))
            continue
        first_line[ref] = line
        rows.append(row)
    if result.errors:
        return result

    held = _existing(db, first_line)
    recorded_by_id = actor.id if actor is not None else None
    for done, row in enumerate(rows, start=1):
        if row.source_ref in held:
            result.unchanged += 1
        elif not write:
            result.imported += 1
        elif _write(db, row, recorded_by_id) is None:
            result.unchanged += 1  # written meanwhile by an import running at the same time
        else:
            result.imported += 1
        if progress is not None:
            progress(done, len(rows))
    db.flush()
    if result.imported and write:
        audit(
            db,
            actor=actor,
            action="records.import",
            object_type="ledger_entry",
            summary=f"{table.file}: {result.imported} imported, {result.unchanged} unchanged",
            after={"file": table.file, "imported": result.imported, "unchanged": result.unchanged},
        )
        db.flush()
    return result


def _write(db: Session, row: RecordRow, recorded_by_id: int | None) -> LedgerEntry | None:
    """The row's ledger entry, through the ledger's one writer (None: it was there already)."""
    return add_ledger_entry(
        db,
        employee_id=row.employee_id,
        programme=row.programme,
        title=row.title,
        form=row.form,
        start_on=row.start_on,
        end_on=row.end_on,
        hours=row.hours,
        source=LedgerSource.imported,
        source_ref=row.source_ref,
        course_id=row.course_id,
        score=row.score,
        passed=row.passed,
        recorded_by_id=recorded_by_id,
    )


def run_import(
    db: Session,
    data: bytes,
    file: str,
    *,
    actor: Employee | None,
    max_rows: int,
    progress: Callable[[int, int], None] | None = None,
    write: bool = True,
) -> ImportResult:
    """Read and import one file into ``db`` (not committed: the caller commits or rolls back),
    or only check and count it (``write`` False); a file that cannot be read gives a result
    with its problems as errors."""
    try:
        table = read_table(data, file, RECORD_COLUMNS, max_rows=max_rows)
    except FileProblem as exc:
        return ImportResult(errors=exc.problems)
    return import_records(db, table, actor=actor, progress=progress, write=write)


@job("training.records_import")
def import_job(
    ctx: JobContext, *, path: str, file: str, dry_run: bool = False, delete: bool = False
) -> dict[str, Any]:
    """Import a stored training records file; rolled back when there are errors or for a dry
    run. ``delete`` removes the file afterwards (web uploads; never a file named on the command
    line)."""
    try:
        data = Path(path).read_bytes()
    finally:
        if delete:
            with contextlib.suppress(OSError):
                Path(path).unlink()
    result = run_import(
        ctx.db,
        data,
        file,
        actor=ctx.actor,
        max_rows=ctx.app.config["LMS_IMPORT_MAX_ROWS"],
        progress=lambda done, total: ctx.progress(done, total),
        write=not dry_run,
    )
    if dry_run or not result.ok:
        ctx.db.rollback()
    return {"file": file, "dry_run": dry_run, **result.as_dict()}
