"""``lms certificates ...``: certificates on the command line."""

from __future__ import annotations

import json
from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.cli.output import ProgressBar, fail, run_file_import


@click.group("certificates")
def certificates_group() -> None:
    """Certificates: issue them in bulk, import those held before the system."""


@certificates_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@click.option("--dry-run", is_flag=True, help="Check the file and report, changing nothing.")
@with_appcontext
def certificates_import(file: str, as_json: bool, dry_run: bool) -> None:
    """Import certificates held before the system (CSV or XLSX: 工号, 证书类型, 证书编号, 发证日期,
    有效期至), all-or-nothing."""
    run_file_import("certificates.import", file, {}, as_json=as_json, dry_run=dry_run)


@certificates_group.command("issue")
@click.option("--course", "course", required=True, help="The course's code.")
@click.option(
    "--from",
    "start",
    type=click.DateTime(["%Y-%m-%d"]),
    help="First day of the period (default: 1 January of this year).",
)
@click.option(
    "--to",
    "end",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Last day of the period (default: today).",
)
@click.option("--design", default="", help="The design's name (default: the course's own).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@click.option("--dry-run", is_flag=True, help="Count who would get one, issuing nothing.")
@with_appcontext
def certificates_issue(course: str, start, end, design: str, as_json: bool, dry_run: bool) -> None:
    """Bulk issue: everyone who passed COURSE in the period and holds no valid certificate of
    it gets one, dated the day they passed. Running it again issues only to those still
    without one."""
    from lms.i18n import local_date
    from lms.jobs.services import run_now

    today = local_date()
    first = start.date() if start else date(today.year, 1, 1)
    last = end.date() if end else today
    if first > last:
        fail(f"--from {first} is after --to {last}")
    params = {
        "course": course,
        "start": first.isoformat(),
        "end": last.isoformat(),
        "design": design,
        "dry_run": dry_run,
    }
    bar = None if as_json else ProgressBar(f"Issuing {course}")
    try:
        job = run_now(
            current_app._get_current_object(), "certificates.bulk_issue", params, None, bar
        )
    finally:
        if bar is not None:
            bar.close()
    if job.error:
        fail(f"{course}: {job.error.splitlines()[0]}")
    result = dict(job.result or {})
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        for failure in result["failed"]:
            click.echo(f"{failure['emp_no']}: {failure['message']}", err=True)
        verb = "would issue" if dry_run else "issued"
        count = result["candidates"] if dry_run else result["issued"]
        click.echo(
            f"{course} ({result['design']}, {result['start']} to {result['end']}): {verb} "
            f"{count}, skipped {result['skipped']}, failed {len(result['failed'])}."
        )
    if result["failed"]:
        fail(f"{course}: {len(result['failed'])} certificate(s) failed; run again to retry them")
