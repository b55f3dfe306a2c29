"""``lms report ledger`` and ``lms report statistics``: the tables HR files, on the command line.

Run by whoever runs the server, so the whole bureau is in scope. The commands are attached to the
``report`` group: ``report_group.add_command(ledger_command)`` and
``report_group.add_command(statistics_command)``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from lms.cli.output import ProgressBar, fail
from lms.org.models import Unit
from lms.reports import tables
from lms.reports.coverage import CoverageSettings
from lms.sheets import parse_date, write_csv, write_xlsx


def _reader() -> Session:
    """A session that only reads: on SQLite a long export holds no write lock."""
    return current_app.extensions["lms"].db.session(write=False)


def _unit(db: Session, code: str | None) -> Unit | None:
    if not code:
        return None
    unit = db.scalar(sa.select(Unit).where(Unit.code == code))
    if unit is None:
        fail(f"no unit with the code {code}")
    return unit


def _format(output: str) -> str:
    fmt = Path(output).suffix.lower().lstrip(".")
    if fmt not in ("xlsx", "csv"):
        fail(f"{output}: the file must end in .xlsx or .csv")
    return fmt


def _day(value: str | None, option: str) -> date | None:
    try:
        return parse_date(value or "")
    except ValueError:
        fail(f"{option}: {value} is not a date like 2026-03-15")
        return None


@click.command("ledger")
@click.option("--year", type=int, required=True, help="The year whose rows to export.")
@click.option("--unit", "unit_code", help="A unit's code: its subtree only (default: all).")
@click.option("--start", help="First end date to include (default: 1 January of the year).")
@click.option("--end", help="Last end date to include (default: 31 December of the year).")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="FILE.xlsx or .csv"
)
@with_appcontext
def ledger_command(
    year: int, unit_code: str | None, start: str | None, end: str | None, output: str
) -> None:
    """Export the training ledger (教育培训台账): one row per ledger entry whose end date is in
    the period, of the people now in the unit's subtree; streamed, with a progress bar."""
    fmt = _format(output)
    if not tables.FIRST_YEAR <= year <= tables.LAST_YEAR:
        fail(f"--year: give a year between {tables.FIRST_YEAR} and {tables.LAST_YEAR}")
    first = _day(start, "--start") or date(year, 1, 1)
    last = _day(end, "--end") or date(year, 12, 31)
    if last < first:
        fail("--end: the end is before the start")
    db = _reader()
    try:
        criteria = tables.LedgerFilter(first, last, _unit(db, unit_code))
        total = tables.ledger_count(db, criteria)
        bar = ProgressBar(f"Writing {Path(output).name}")
        try:
            written = tables.export_ledger(
                db, criteria, output, fmt=fmt, progress=lambda done: bar(min(done, total), total)
            )
        finally:
            bar.close()
    finally:
        db.close()
    click.echo(f"Wrote {written} rows to {output}.")


@click.command("statistics")
@click.option("--year", type=int, required=True)
@click.option(
    "--period",
    default="year",
    show_default=True,
    type=click.Choice(tables.PERIOD_KEYS),
    help="The year, a quarter (q1-q4) or a month (m1-m12).",
)
@click.option("--unit", "unit_code", help="A unit's code: its subtree only (default: all).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="FILE.xlsx or .csv")
@with_appcontext
def statistics_command(year: int, period: str, unit_code: str | None, output: str | None) -> None:
    """The training statistics table (培训统计报表): per unit with its subtree, as of the
    period's last day (today while it runs); tab-separated on stdout without -o."""
    fmt = _format(output) if output else None
    try:
        chosen = tables.parse_period(year, period)
    except ValueError:
        fail(f"--year: give a year between {tables.FIRST_YEAR} and {tables.LAST_YEAR}")
        return
    from lms.i18n import local_date

    db = _reader()
    try:
        result = tables.statistics(
            db,
            period=chosen,
            as_of=tables.period_as_of(chosen, local_date()),
            unit=_unit(db, unit_code),
            settings=CoverageSettings.from_config(current_app.config),
            zone=ZoneInfo(current_app.config["LMS_TIMEZONE"]),
        )
        rows = tables.statistics_rows(result)
    finally:
        db.close()
    headers = tables.STATISTICS_HEADERS
    if output is None:
        for row in [headers, *rows]:
            click.echo("\t".join(_text(value) for value in row))
        return
    title = tables.statistics_title(result)
    body = (
        write_xlsx(headers, rows, title=title, widths=tables.STATISTICS_WIDTHS)
        if fmt == "xlsx"
        else write_csv(headers, rows)
    )
    Path(output).write_bytes(body)
    click.echo(f"Wrote {output}.")


def _text(value: Any) -> str:
    return "" if value is None else str(value).replace("\t", " ")
