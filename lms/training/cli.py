"""``lms records ...``: training records on the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from lms.cli.output import run_file_import


@click.group("records")
def records_group() -> None:
    """Training records: import those kept elsewhere into the ledger."""


@records_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@click.option("--dry-run", is_flag=True, help="Check the file and report, changing nothing.")
@with_appcontext
def records_import(file: str, as_json: bool, dry_run: bool) -> None:
    """Import training records (CSV or XLSX: 工号, 项目, 课程, 形式, 开始日期, 结束日期, 学时,
    成绩, 合格) into the ledger, all-or-nothing; importing the same records again changes
    nothing."""
    run_file_import("training.records_import", file, {}, as_json=as_json, dry_run=dry_run)
