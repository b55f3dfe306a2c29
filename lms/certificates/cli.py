"""``lms certificates ...``: certificates on the command line."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.cli.output import ProgressBar, give_up, report_import


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
    from lms.jobs.services import run_now

    path = Path(file)
    if not path.is_file():
        give_up(path.name, "no such file", as_json=as_json)
    bar = None if as_json else ProgressBar(f"Importing {path.name}")
    try:
        job = run_now(
            current_app._get_current_object(),
            "certificates.import",
            {"path": str(path.resolve()), "file": path.name, "dry_run": dry_run},
            listener=bar,
        )
    finally:
        if bar is not None:
            bar.close()
    if job.error:
        give_up(path.name, f"import failed: {job.error.splitlines()[0]}", as_json=as_json)
    result = {k: v for k, v in (job.result or {}).items() if k != "file"}
    report_import(result, path.name, as_json=as_json)
    if not as_json:
        verb = "would import" if dry_run else "imported"
        click.echo(f"{path.name}: {verb} {result['imported']}, unchanged {result['unchanged']}.")
