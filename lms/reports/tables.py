"""The tables HR files (DESIGN.md "Tables that HR files"): the training statistics table
(培训统计报表) per unit for a year, a quarter or a month, and the training ledger (教育培训台账),
one row per ledger entry.

The statistics table counts exactly as :mod:`lms.reports.coverage` does: the same people in
scope on the as-of date, in the unit they were in on it, with the same certificates. Each row is a
unit with its whole subtree (the row of the bureau is the bureau's total), as HR files it. A
quarter or a month counts the completed rows dated in it (up to the as-of date) and the people in
scope at its end (or today, while it runs); the year table is coverage's numbers themselves.

The ledger streams: its rows are read in batches (``yield_per``) as plain columns, never as ORM
objects, and written row by row, so that exporting three million rows takes as much memory as
exporting three hundred thousand. A large export runs as the job ``reports.ledger_export``, which
writes the file into the data folder for its page to offer.
"""

from __future__ import annotations

import csv
import os
import re
import secrets
import time as clock
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from lms.certificates.models import Certificate, CertificateStatus
from lms.i18n import gettext as _
from lms.jobs.services import JobContext, JobFailed, job
from lms.org.models import STAFF_KIND_LABELS, Employee, Post, StaffKind, Unit
from lms.reports.coverage import (
    Counts,
    CoverageSettings,
    TargetResult,
    default_as_of,
    in_scope_people,
    targets,
)
from lms.security import is_staff, subtree_condition, unit_scope
from lms.sheets import safe_cell
from lms.training.models import LedgerEntry
from lms.training.services import LEDGER_SHEET_HEADERS, CertificateInfo, ledger_sheet_row

FIRST_YEAR, LAST_YEAR = 2000, 2100
#: year, q1-q4, m1-m12
PERIOD_KEYS = ("year", *(f"q{n}" for n in range(1, 5)), *(f"m{n}" for n in range(1, 13)))

# -- periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A year, one of its quarters or one of its months; both ends included."""

    year: int
    key: str  # "year", "q1".."q4", "m1".."m12"
    start: date
    end: date

    @property
    def label(self) -> str:
        """Chinese, as the filed table's title says it: 2026年, 2026年第1季度, 2026年3月."""
        if self.key == "year":
            return f"{self.year}年"
        if self.key.startswith("q"):
            return f"{self.year}年第{self.key[1:]}季度"
        return f"{self.year}年{self.key[1:]}月"


def parse_period(year: int, key: str = "year") -> Period:
    """The period ``key`` of ``year``; ValueError for a year outside 2000-2100 or an unknown
    key."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError("year")
    if key not in PERIOD_KEYS:
        raise ValueError("period")
    if key == "year":
        return Period(year, key, date(year, 1, 1), date(year, 12, 31))
    number = int(key[1:])
    first, last = (3 * number - 2, 3 * number) if key.startswith("q") else (number, number)
    end = (date(year + 1, 1, 1) if last == 12 else date(year, last + 1, 1)) - timedelta(days=1)
    return Period(year, key, date(year, first, 1), end)


def period_as_of(period: Period, today: date) -> date:
    """The as-of date of a period's table: its last day, or today while it runs (the year: as
    coverage's default)."""
    if period.key == "year":
        return default_as_of(period.year, today)
    return today if period.start <= today < period.end else period.end


# -- the statistics table (培训统计报表) ----------------------------------------------------------

#: the kinds counted in their own columns (管理 / 专业技术 / 技能)
KINDS = (StaffKind.management, StaffKind.professional, StaffKind.skilled)
STATISTICS_HEADERS = (
    "单位",
    "单位编码",
    "在岗人数",
    "参训人数",
    "参训人次",
    "培训率(%)",
    "总学时",
    "人均学时",
    *(f"{STAFF_KIND_LABELS[kind]}类" for kind in KINDS),
    "管理人员数",
    "持证人数",
    "持证率(%)",
    "四职业参训人数",
    "四职业培训率(%)",
    "达标",
)
STATISTICS_WIDTHS = (24, 12, 9, 9, 9, 10, 9, 9, 8, 10, 8, 10, 9, 10, 12, 14, 6)


def period_people(
    *, period: Period, as_of: date, settings: CoverageSettings, zone: tzinfo
) -> sa.Select[Any]:
    """:func:`~lms.reports.coverage.in_scope_people` for a period: the same people (in scope on
    ``as_of``, in their unit and post on it, certified on it), with the completed rows dated in
    the period up to ``as_of``. The year is coverage's own select; a quarter or a month counts
    anyone with a completed row in it as trained (the minimum hours are a yearly setting)."""
    people = in_scope_people(year=period.year, as_of=as_of, settings=settings, zone=zone)
    if period.key == "year":
        return people
    base = people.subquery("in_scope")
    rows = (
        sa.select(
            LedgerEntry.employee_id.label("employee_id"),
            sa.func.count().label("records"),
            sa.func.sum(LedgerEntry.hours).label("hours"),
            sa.func.max(
                sa.case((LedgerEntry.programme.in_(list(settings.ethics_programmes)), 1), else_=0)
            ).label("ethics"),
        )
        .where(
            LedgerEntry.passed.is_(True),
            LedgerEntry.end_on.between(period.start, min(period.end, as_of)),
        )
        .group_by(LedgerEntry.employee_id)
        .subquery("period_rows")
    )
    return sa.select(
        base.c.employee_id,
        base.c.unit_id,
        base.c.post_id,
        base.c.staff_kind,
        base.c.manager,
        sa.case((rows.c.employee_id.is_not(None), 1), else_=0).label("trained"),
        base.c.certified,
        sa.func.coalesce(rows.c.ethics, 0).label("ethics"),
        sa.func.coalesce(rows.c.records, 0).label("records"),
        sa.func.coalesce(rows.c.hours, 0).label("hours"),
    ).outerjoin(rows, rows.c.employee_id == base.c.employee_id)


@dataclass
class StatisticsLine:
    """One row of the table: a unit's subtree (or the total), with its staff-kind head counts
    and its three targets."""

    unit: Unit | None  # None: the total of several top-level units
    depth: int
    counts: Counts
    kinds: dict[StaffKind, int] = field(default_factory=dict)
    targets: list[TargetResult] = field(default_factory=list)

    @property
    def met(self) -> bool:
        """达标: all three targets met."""
        return all(t.met for t in self.targets)

    @property
    def hours_per_head(self) -> float | None:
        """人均学时: hours over the people in post."""
        c = self.counts
        return round(c.hours / c.headcount, 2) if c.headcount else None

    def values(self) -> list[Any]:
        """The columns after 单位 and 单位编码, as the sheet has them (None: no rate)."""
        c = self.counts
        trained, certified, ethics = self.targets
        return [
            c.headcount,
            c.trained,
            c.records,
            trained.rate,
            round(c.hours, 1),
            self.hours_per_head,
            *(self.kinds.get(kind, 0) for kind in KINDS),
            c.managers,
            c.certified,
            certified.rate,
            c.ethics,
            ethics.rate,
            "是" if self.met else "否",
        ]


@dataclass
class Statistics:
    period: Period
    as_of: date
    unit: Unit | None
    lines: list[StatisticsLine]
    total: StatisticsLine

    @property
    def show_total(self) -> bool:
        """A 合计 row only when no single row is the total already."""
        return sum(1 for line in self.lines if line.depth == 0) != 1


def statistics(
    db: Session,
    *,
    period: Period,
    as_of: date,
    unit: Unit | None,
    settings: CoverageSettings,
    zone: tzinfo,
) -> Statistics:
    """The statistics table of ``unit``'s subtree (the whole bureau when None): one line per
    unit in tree order, each counting its whole subtree, in one grouped statement."""
    from lms.org.services import unit_tree

    people = period_people(period=period, as_of=as_of, settings=settings, zone=zone).subquery()
    tree = unit_tree(db, subtree_condition(unit.path) if unit is not None else None)
    by_id = {member.id: member for member, _depth, _count in tree}
    subtree = {uid: Counts() for uid in by_id}
    kinds: dict[int, dict[StaffKind, int]] = {uid: {} for uid in by_id}
    total, total_kinds = Counts(), dict[StaffKind, int]()
    grouped = db.execute(
        sa.select(
            people.c.unit_id,
            people.c.staff_kind,
            sa.func.count(),
            sa.func.sum(people.c.trained),
            sa.func.sum(people.c.manager),
            sa.func.sum(people.c.certified),
            sa.func.sum(people.c.ethics),
            sa.func.sum(people.c.records),
            sa.func.sum(people.c.hours),
        ).group_by(people.c.unit_id, people.c.staff_kind)
    )
    for uid, kind, count, trained, managers, certified, ethics, records, hours in grouped:
        member = by_id.get(uid)
        if member is None:  # outside the subtree asked for
            continue
        counts = Counts(
            headcount=int(count),
            trained=int(trained or 0),
            managers=int(managers or 0),
            certified=int(certified or 0),
            ethics=int(ethics or 0),
            records=int(records or 0),
            hours=float(hours or 0),
        )
        total.add(counts)
        if kind is not None:
            total_kinds[kind] = total_kinds.get(kind, 0) + counts.headcount
        # the unit and each ancestor in the tree (paths are "/1/5/")
        for ancestor in (int(part) for part in member.path.strip("/").split("/") if part):
            if ancestor in subtree:
                subtree[ancestor].add(counts)
                if kind is not None:
                    kinds[ancestor][kind] = kinds[ancestor].get(kind, 0) + counts.headcount
    lines = [
        StatisticsLine(
            member,
            depth,
            subtree[member.id],
            kinds[member.id],
            targets(subtree[member.id], settings),
        )
        for member, depth, _count in tree
    ]
    return Statistics(
        period=period,
        as_of=as_of,
        unit=unit,
        lines=lines,
        total=StatisticsLine(None, 0, total, total_kinds, targets(total, settings)),
    )


def statistics_rows(result: Statistics) -> list[list[Any]]:
    """The table's rows for a spreadsheet: each unit indented by its depth, then 合计 when no
    single row is the total."""
    rows = [
        ["\u3000" * line.depth + line.unit.name, line.unit.code, *line.values()]
        for line in result.lines
        if line.unit is not None
    ]
    if result.show_total:
        rows.append(["合计", "", *result.total.values()])
    return rows


def statistics_title(result: Statistics) -> str:
    return f"培训统计报表{result.period.label}"


# -- the training ledger (教育培训台账) -----------------------------------------------------------

LEDGER_HEADERS = LEDGER_SHEET_HEADERS
LEDGER_WIDTHS = (10, 12, 20, 14, 16, 23, 6, 8, 6, 5, 20, 22, 11, 11, 30)
#: rows read from the database at a time
BATCH = 2000


@dataclass(frozen=True)
class LedgerFilter:
    """Ledger rows whose end date is in ``start``..``end`` (both included), of the people whose
    current unit is in ``unit``'s subtree (the whole bureau when None)."""

    start: date
    end: date
    unit: Unit | None = None


def _ledger_conditions(criteria: LedgerFilter) -> list[sa.ColumnElement[bool]]:
    """The rows in the period, of the people now in the subtree (a subquery, so that counting
    them joins nothing)."""
    conditions = [LedgerEntry.end_on.between(criteria.start, criteria.end)]
    if criteria.unit is not None:
        people = (
            sa.select(Employee.id)
            .join(Unit, Unit.id == Employee.unit_id)
            .where(subtree_condition(criteria.unit.path))
        )
        conditions.append(LedgerEntry.employee_id.in_(people))
    return conditions


def ledger_count(db: Session, criteria: LedgerFilter) -> int:
    query = sa.select(sa.func.count()).select_from(LedgerEntry).where(*_ledger_conditions(criteria))
    return int(db.scalar(query) or 0)


def _newest_certificates() -> sa.Subquery:
    """Per ledger row, the id of the newest certificate that names it (a reissue keeps the row,
    so the replacement stands for it; the join leaves it out when revoked, as the training file
    does). Grouped rather than windowed: PostgreSQL then estimates its size well."""
    return (
        sa.select(Certificate.ledger_entry_id, sa.func.max(Certificate.id).label("id"))
        .where(Certificate.ledger_entry_id.is_not(None))
        .group_by(Certificate.ledger_entry_id)
        .subquery("newest_certificate")
    )


def ledger_rows(
    db: Session, criteria: LedgerFilter, *, limit: int | None = None
) -> Iterator[list[Any]]:
    """The ledger's rows (:data:`LEDGER_HEADERS`), oldest first, read ``BATCH`` at a time as
    plain columns: memory stays flat however many rows there are."""
    from lms.certificates.designs import shipped_designs
    from lms.training.programmes import all_programmes

    programmes = {code: info.name for code, info in all_programmes(db).items()}
    designs = {name: design.title for name, design in shipped_designs().items()}
    newest = _newest_certificates()
    query = (
        sa.select(
            Employee.name.label("person"),
            Employee.emp_no,
            Unit.name.label("unit_name"),
            Post.name.label("post_name"),
            LedgerEntry.programme,
            LedgerEntry.start_on,
            LedgerEntry.end_on,
            LedgerEntry.hours,
            LedgerEntry.form,
            LedgerEntry.score,
            LedgerEntry.passed,
            LedgerEntry.title,
            Certificate.design,
            Certificate.title.label("certificate_title"),
            Certificate.serial,
            Certificate.issued_on,
            Certificate.valid_until,
        )
        .select_from(LedgerEntry)
        .join(Employee, Employee.id == LedgerEntry.employee_id)
        .join(Unit, Unit.id == Employee.unit_id)
        .outerjoin(Post, Post.id == Employee.post_id)
        .outerjoin(newest, newest.c.ledger_entry_id == LedgerEntry.id)
        .outerjoin(
            Certificate,
            sa.and_(Certificate.id == newest.c.id, Certificate.status != CertificateStatus.revoked),
        )
        .where(*_ledger_conditions(criteria))
        .order_by(LedgerEntry.end_on, LedgerEntry.id)
    )
    if limit is not None:
        query = query.limit(limit)
    elif db.get_bind().dialect.name == "postgresql":
        # rows are read through a cursor, which PostgreSQL plans for its first tenth (nested
        # loops: minutes for 300,000 rows); every row will be read, so plan for all of them
        db.execute(sa.text("SET LOCAL cursor_tuple_fraction = 1.0"))
    for row in db.execute(query.execution_options(yield_per=BATCH)):
        held = None
        if row.serial is not None:
            held = CertificateInfo(
                # the design's printed name, as the training file names it
                name=designs.get(row.design, row.certificate_title),
                serial=row.serial,
                issued_on=row.issued_on,
                valid_until=row.valid_until,
            )
        yield ledger_sheet_row(
            (row.person, row.emp_no, row.unit_name, row.post_name or ""),
            programmes.get(row.programme, row.programme),
            start_on=row.start_on,
            end_on=row.end_on,
            hours=row.hours,
            form=row.form,
            score=row.score,
            passed=row.passed,
            title=row.title,
            certificate=held,
        )


def ledger_title(criteria: LedgerFilter) -> str:
    return f"教育培训台账{criteria.start.isoformat()}至{criteria.end.isoformat()}"


def ledger_file_name(criteria: LedgerFilter, fmt: str) -> str:
    """What the downloaded file is called: 教育培训台账-<unit code>-<start>-<end>.xlsx."""
    where = f"-{criteria.unit.code}" if criteria.unit is not None else ""
    return f"教育培训台账{where}-{criteria.start.isoformat()}-{criteria.end.isoformat()}.{fmt}"


# -- writing files with bounded memory -----------------------------------------------------------


#: an XLSX sheet holds at most 1,048,576 rows: a larger ledger goes on further sheets
ROWS_PER_SHEET = 1_000_000
#: ... and a sheet's XML stays below zip's 2 GiB limit without ZIP64 (which some Excels refuse)
BYTES_PER_SHEET = 1_500_000_000
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_STYLES = (
    f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
#: what XML 1.0 cannot hold (as openpyxl's ILLEGAL_CHARACTERS_RE)
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text(value: str) -> str:
    """Escaped for XML text and attributes, without the characters XML cannot hold."""
    value = _ILLEGAL.sub("", value)
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _column(number: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sheet_name(title: str, number: int) -> str:
    name = re.sub(r"[\[\]:*?/\\]", "_", title).strip("'") or "Sheet"
    return name[:31] if number == 1 else f"{name[:25]}({number})"


def write_xlsx_file(
    path: str | Path | BinaryIO,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str,
    widths: Sequence[float] = (),
    rows_per_sheet: int = ROWS_PER_SHEET,
) -> int:
    """Write ``rows`` as XLSX at ``path`` (or into a binary file) with bounded memory; the
    number of rows written.

    What :func:`lms.sheets.write_xlsx` makes (a bold, frozen header; every text cell a text,
    never a formula, so ``=HYPERLINK(...)`` arrives as text), but streamed: each sheet's XML is
    compressed into the archive as the rows come, texts inline (no shared-strings table grows),
    with no temporary file. openpyxl's write-only mode keeps memory flat too, but without lxml
    it writes about 1,500 rows a second: three million rows would take half an hour. Past
    ``rows_per_sheet`` rows the rows go on a further sheet with its own header.
    """
    letters = [_column(n) for n in range(1, max(len(headers), 1) + 1)]
    cols = "".join(
        f'<col min="{n}" max="{n}" width="{width}" customWidth="1"/>'
        for n, width in enumerate(widths, start=1)
    )
    head = (
        f'{_XML}<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + '<sheetData><row r="1">'
        + "".join(
            f'<c r="{letters[i]}1" s="1" t="inlineStr"><is><t>{_text(str(h))}</t></is></c>'
            for i, h in enumerate(headers)
        )
        + "</row>"
    )
    tail = "</sheetData></worksheet>"
    names: list[str] = []
    written = 0
    pending = iter(rows)
    upcoming = next(pending, None)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        while True:
            names.append(_sheet_name(title, len(names) + 1))
            with archive.open(f"xl/worksheets/sheet{len(names)}.xml", "w") as sheet:
                sheet.write(head.encode())
                size, line, buffer = len(head), 1, []
                while upcoming is not None and line <= rows_per_sheet and size < BYTES_PER_SHEET:
                    line += 1
                    cells = []
                    for i, value in enumerate(upcoming):
                        if value is None or value == "":
                            continue
                        if i >= len(letters):
                            letters.append(_column(i + 1))
                        ref = f"{letters[i]}{line}"
                        if isinstance(value, bool):
                            cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
                        elif isinstance(value, (int, float, Decimal)):
                            cells.append(f'<c r="{ref}"><v>{value}</v></c>')
                        else:
                            cells.append(
                                f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">'
                                f"{_text(str(value))}</t></is></c>"
                            )
                    buffer.append(f'<row r="{line}">{"".join(cells)}</row>')
                    written += 1
                    upcoming = next(pending, None)
                    if len(buffer) == 500:
                        chunk = "".join(buffer).encode()
                        sheet.write(chunk)
                        size += len(chunk)
                        buffer = []
                sheet.write(("".join(buffer) + tail).encode())
            if upcoming is None:
                break
        sheets = "".join(
            f'<sheet name="{_text(name)}" sheetId="{n}" r:id="rId{n}"/>'
            for n, name in enumerate(names, start=1)
        )
        archive.writestr(
            "xl/workbook.xml",
            f'{_XML}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}">'
            f"<sheets>{sheets}</sheets></workbook>",
        )
        relations = "".join(
            f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(names) + 1)
        )
        styles = len(names) + 1
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{_XML}<Relationships xmlns="{_PKG}">{relations}'
            f'<Relationship Id="rId{styles}" Type="{_REL}/styles" Target="styles.xml"/>'
            "</Relationships>",
        )
        archive.writestr("xl/styles.xml", _XML + _STYLES)
        archive.writestr(
            "_rels/.rels",
            f'{_XML}<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" '
            f'ContentType="{_TYPE}.worksheet+xml"/>'
            for n in range(1, len(names) + 1)
        )
        archive.writestr(
            "[Content_Types].xml",
            f'{_XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/>'
            f"{overrides}</Types>",
        )
    return written


def write_csv_file(path: str | Path, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write ``rows`` as CSV at ``path`` row by row, as :func:`lms.sheets.write_csv` does (UTF-8
    with a BOM, formula-safe); the number of rows written."""
    written = 0
    with open(path, "w", encoding="utf-8-sig", newline="") as file:
        writer = csv.writer(file, lineterminator="\r\n")
        writer.writerow(headers)
        for row in rows:
            writer.writerow(["" if v is None else safe_cell(v) for v in row])
            written += 1
    return written


def counting(
    rows: Iterable[Sequence[Any]], report: Callable[[int], None], every: int = 5000
) -> Iterator[Sequence[Any]]:
    """``rows`` unchanged, calling ``report(done)`` every ``every`` rows and at the end."""
    done = 0
    for row in rows:
        yield row
        done += 1
        if done % every == 0:
            report(done)
    report(done)


def export_ledger(
    db: Session,
    criteria: LedgerFilter,
    path: str | Path,
    *,
    fmt: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the ledger to ``path`` as ``fmt`` (xlsx or csv), streaming; the rows written. The
    file appears whole or not at all (written beside it, then renamed)."""
    if fmt not in ("xlsx", "csv"):
        raise ValueError(fmt)
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    rows: Iterable[Sequence[Any]] = ledger_rows(db, criteria)
    if progress is not None:
        rows = counting(rows, progress)
    try:
        if fmt == "xlsx":
            written = write_xlsx_file(
                temporary, LEDGER_HEADERS, rows, title=ledger_title(criteria), widths=LEDGER_WIDTHS
            )
        else:
            written = write_csv_file(temporary, LEDGER_HEADERS, rows)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return written


# -- the export job ------------------------------------------------------------------------------

LEDGER_EXPORT_JOB = "reports.ledger_export"
EXPORT_AREA = "exports"
#: exported files older than this are removed when the next export runs (as the gap lists')
EXPORT_KEEP_SECONDS = 24 * 3600


def export_dir(app: Flask) -> Path:
    """Where export jobs leave their files: ``<data folder>/exports``."""
    from lms.storage import data_dir

    return data_dir(app) / EXPORT_AREA


def export_path(app: Flask, name: str) -> Path | None:
    """The export file called ``name`` if it is one of ours and still there."""
    if not name or name != Path(name).name or name.startswith("."):
        return None
    path = export_dir(app) / name
    return path if path.is_file() else None


def _prune_exports(folder: Path, now: float) -> None:
    for old in folder.glob("ledger-*"):
        try:
            if now - old.stat().st_mtime > EXPORT_KEEP_SECONDS:
                old.unlink()
        except OSError:  # another export removed it first
            continue


@job(LEDGER_EXPORT_JOB)
def ledger_export_job(
    ctx: JobContext, *, start: str, end: str, unit_id: int | None, fmt: str
) -> dict[str, Any]:
    """Write the ledger of ``unit_id``'s subtree (None: the whole bureau) into the data folder,
    with progress. It reads through a session of its own that never writes, so that on SQLite a
    long export holds no write lock."""
    if fmt not in ("xlsx", "csv"):
        raise JobFailed(_("Choose XLSX or CSV."))
    reader = ctx.app.extensions["lms"].db.session(write=False)
    try:
        unit = reader.get(Unit, unit_id) if unit_id is not None else None
        actor = reader.get(Employee, ctx.actor_id) if ctx.actor_id is not None else None
        # the scope again: the person may have lost it since they asked
        in_scope = (
            actor is None
            or is_staff(actor)
            or (
                unit is not None
                and reader.scalar(sa.select(Unit.id).where(Unit.id == unit.id, unit_scope(actor)))
                is not None
            )
        )
        if (unit_id is not None and unit is None) or not in_scope:
            raise JobFailed(_("The unit is not in your scope."))
        criteria = LedgerFilter(date.fromisoformat(start), date.fromisoformat(end), unit)
        total = ledger_count(reader, criteria)
        ctx.progress(0, total, _("Writing the ledger"))
        folder = export_dir(ctx.app)
        folder.mkdir(parents=True, exist_ok=True)
        _prune_exports(folder, clock.time())
        name = f"ledger-{ctx.job_id}-{secrets.token_hex(8)}.{fmt}"
        written = export_ledger(
            reader,
            criteria,
            folder / name,
            fmt=fmt,
            progress=lambda done: ctx.progress(min(done, total), total, _("Writing the ledger")),
        )
    finally:
        reader.close()
    return {"rows": written, "file": name, "download_name": ledger_file_name(criteria, fmt)}
