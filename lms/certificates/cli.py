"""``lms certificates ...``: certificates on the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from lms.cli.output import run_file_import


@click.group("certificates")
def certificates_group() -> None:
    """Certificates: import those held before the system."""


@certificates_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@click.option("--dry-run", is_flag=True, help="Check the file and report, changing nothing.")
@with_appcontext
def certificates_import(file: str, as_json: bool, dry_run: bool) -> None:
    """Import certificates held before the system (CSV or XLSX: 工号, 证书类型, 证书编号, 发证日期,
    有效期至), all-or-nothing."""
    import lms.certificates.imports  # noqa: F401  (registers the job)

    run_file_import("certificates.import", file, {}, as_json=as_json, dry_run=dry_run)
