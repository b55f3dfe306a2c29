"""``lms report ...``: the annual training report on the command line.

``lms report coverage --year Y [--as-of D] [--unit CODE] [--format table|json|csv|xlsx|pdf]
[-o FILE]`` prints or writes the three targets for the whole bureau or a unit's subtree;
``lms report gaps`` writes a gap list (who is behind), streamed, however long. Options are
checked here rather than by click, so that every mistake is one line on stderr.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from lms.cli.output import ProgressBar, fail
from lms.reports.table_cli import ledger_command, statistics_command

FORMATS = ("table", "json", "csv", "xlsx", "pdf")
BINARY_FORMATS = ("xlsx", "pdf")
FIRST_YEAR, LAST_YEAR = 2000, 2100


@click.group("report")
def report_group() -> None:
    """The annual training report: the three targets and who is behind."""


def _year(text: str) -> int:
    value = text.strip()
    if not (value.isascii() and value.isdigit() and FIRST_YEAR <= int(value) <= LAST_YEAR):
        fail(f"--year: {text!r} is not a year between {FIRST_YEAR} and {LAST_YEAR}.", 2)
    return int(value)


def _as_of(text: str | None, year: int) -> date:
    from lms.i18n import local_date
    from lms.reports.coverage import default_as_of
    from lms.sheets import parse_date

    if not text:
        return default_as_of(year, local_date())
    try:
        chosen = parse_date(text)
    except ValueError:
        chosen = None
    if chosen is None:
        fail(f"--as-of: {text!r} is not a date like 2026-03-15.", 2)
    if chosen.year != year:
        fail(f"--as-of: {chosen.isoformat()} is not in {year}.", 2)
    return chosen


def _format(file_format: str | None, output: str | None, choices: tuple[str, ...]) -> str:
    """The format asked for, else the output file's extension, else the first choice."""
    if file_format is None and output:
        suffix = Path(output).suffix.lower().lstrip(".")
        file_format = suffix if suffix in choices else None
    file_format = (file_format or choices[0]).lower()
    if file_format not in choices:
        fail(f"--format: {file_format!r} is not one of {', '.join(choices)}.", 2)
    if file_format in BINARY_FORMATS and not output:
        fail(f"--format {file_format} writes a binary file: give one with -o FILE.", 2)
    return file_format


def _unit(session: Any, code: str | None) -> Any:
    from lms.org.models import Unit

    if not code:
        return None
    unit = session.scalar(sa.select(Unit).where(Unit.code == code.strip()))
    if unit is None:
        fail(f"--unit: no unit has the code {code!r}.")
    return unit


def _write(output: str | None, body: bytes) -> None:
    """``body`` into ``output`` (and a line saying so on stderr), or onto stdout."""
    if not output:
        stream = sys.stdout.buffer
        stream.write(body)
        stream.flush()
        return
    path = Path(output)
    try:
        path.write_bytes(body)
    except OSError as exc:
        fail(f"{output}: cannot write the file ({exc.strerror or exc}).")
    click.echo(f"Wrote {path}.", err=True)


def _write_stream(output: str | None, pieces: Any) -> None:
    """Write ``pieces`` (bytes) as they come into ``output``, or onto stdout."""
    if not output:
        for piece in pieces:
            sys.stdout.buffer.write(piece)
        sys.stdout.buffer.flush()
        return
    try:
        with open(output, "wb") as stream:
            for piece in pieces:
                stream.write(piece)
    except OSError as exc:
        fail(f"{output}: cannot write the file ({exc.strerror or exc}).")
    click.echo(f"Wrote {output}.", err=True)


COMMON_OPTIONS = [
    click.option("--year", "year_text", metavar="Y", help="The report's year (required)."),
    click.option(
        "--as-of",
        "as_of_text",
        metavar="D",
        help="The date to count on, in the year (default: 31 December, or today while the "
        "year is running).",
    ),
    click.option(
        "--unit",
        "unit_code",
        metavar="CODE",
        help="A unit's code: its subtree (default: the bureau).",
    ),
]


def common(function: Any) -> Any:
    for option in reversed(COMMON_OPTIONS):
        function = option(function)
    return function


@report_group.command("coverage")
@common
@click.option(
    "--format",
    "file_format",
    metavar="FORMAT",
    help="table (default), json, csv, xlsx or pdf; xlsx and pdf need -o. Without it, the "
    "extension of -o decides.",
)
@click.option("-o", "--output", metavar="FILE", help="Write to this file instead of the terminal.")
@with_appcontext
def coverage_command(
    year_text: str | None,
    as_of_text: str | None,
    unit_code: str | None,
    file_format: str | None,
    output: str | None,
) -> None:
    """The three targets for YEAR as of a date, for the bureau or a unit's subtree, with every
    unit's numbers: a text table, JSON (year, as_of, unit, targets, units), CSV, XLSX or PDF."""
    from lms.reports import gaps, outputs
    from lms.reports.coverage import CoverageSettings, coverage
    from lms.reports.trend import trend

    if not year_text:
        fail("--year is required (for example --year 2026).", 2)
    year = _year(year_text)
    as_of = _as_of(as_of_text, year)
    chosen = _format(file_format, output, FORMATS)
    app = current_app._get_current_object()
    settings = CoverageSettings.from_config(app.config)
    zone = ZoneInfo(app.config["LMS_TIMEZONE"])
    session = app.extensions["lms"].db.session(write=False)
    try:
        unit = _unit(session, unit_code)
        result = coverage(
            session,
            year=year,
            as_of=as_of,
            unit=unit,
            settings=settings,
            zone=zone,
            breakdowns=chosen == "pdf",
        )
        where = unit.name if unit is not None else app.config["LMS_BUREAU_NAME"]
        if chosen == "table":
            body = outputs.coverage_table(result, settings, where=where).encode("utf-8")
        elif chosen == "json":
            body = outputs.coverage_json(result, settings).encode("utf-8")
        elif chosen == "csv":
            body = outputs.coverage_csv(result, settings)
        elif chosen == "xlsx":
            body = outputs.coverage_xlsx(result, settings)
        else:
            points = trend(session, year=year, as_of=as_of, unit=unit, settings=settings, zone=zone)
            from lms.i18n import local_date

            context = outputs.pdf_context(
                result,
                settings,
                points=points,
                gap_counts={k: gaps.gap_count(result, k) for k in gaps.KINDS},
                bureau_name=app.config["LMS_BUREAU_NAME"],
                generated_on=local_date(),
            )
            body = outputs.coverage_pdf(context)
    finally:
        session.close()
    _write(output, body)


@report_group.command("gaps")
@common
@click.option(
    "--list",
    "kind",
    metavar="LIST",
    help="untrained (default), no_ethics, or uncertified (managers without a valid "
    "上岗培训合格证).",
)
@click.option("--format", "file_format", metavar="FORMAT", help="csv (default) or xlsx (needs -o).")
@click.option("-o", "--output", metavar="FILE", help="Write to this file instead of the terminal.")
@with_appcontext
def gaps_command(
    year_text: str | None,
    as_of_text: str | None,
    unit_code: str | None,
    kind: str | None,
    file_format: str | None,
    output: str | None,
) -> None:
    """Who is behind on a target in YEAR (姓名, 工号, 单位, 岗位 on the date), read and written
    in a stream, so the whole bureau's list takes little memory."""
    from lms.reports import gaps, outputs
    from lms.reports.coverage import CoverageSettings, coverage

    if not year_text:
        fail("--year is required (for example --year 2026).", 2)
    year = _year(year_text)
    as_of = _as_of(as_of_text, year)
    kind = kind or gaps.UNTRAINED
    if kind not in gaps.KINDS:
        fail(f"--list: {kind!r} is not one of {', '.join(gaps.KINDS)}.", 2)
    chosen = _format(file_format, output, ("csv", "xlsx"))
    app = current_app._get_current_object()
    settings = CoverageSettings.from_config(app.config)
    zone = ZoneInfo(app.config["LMS_TIMEZONE"])
    session = app.extensions["lms"].db.session(write=False)
    try:
        unit = _unit(session, unit_code)
        rows = gaps.iter_gaps(
            session, kind, year=year, as_of=as_of, unit=unit, settings=settings, zone=zone
        )
        if chosen == "csv":
            _write_stream(output, outputs.iter_csv(gaps.HEADERS, (row.cells() for row in rows)))
            return
        bar: ProgressBar | None = None
        total = 0
        if sys.stderr.isatty():  # the total costs a count of its own: only for a person
            total = gaps.gap_count(
                coverage(
                    session,
                    year=year,
                    as_of=as_of,
                    unit=unit,
                    settings=settings,
                    zone=zone,
                    breakdowns=False,
                ),
                kind,
            )
            bar = ProgressBar(f"Writing {Path(output or '').name}")
        try:
            body = outputs.gap_xlsx(
                rows, kind, (lambda done: bar(done, max(total, done))) if bar else None
            )
        finally:
            if bar is not None:
                bar.close()
    finally:
        session.close()
    _write(output, body)


# HR's tables (lms.reports.tables): the training statistics table and the training ledger
report_group.add_command(ledger_command)
report_group.add_command(statistics_command)
