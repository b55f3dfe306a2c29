"""``lms banks ...``: question banks on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.cli.output import ProgressBar, fail, give_up, report_import


@click.group("banks")
def banks_group() -> None:
    """Question banks: import, export, list."""


@banks_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--bank",
    "bank_code",
    default="",
    help="Import every file into this bank (created if missing). "
    "Without it, each file goes into the bank it names.",
)
@click.option("--title", default="", help="Title of the bank, when --bank creates it.")
@click.option(
    "--format",
    "format_name",
    default=None,
    help="The files' format (gift, aiken, moodlexml, qti, xlsx, csv, yaml); "
    "detected from the content when left out.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@click.option("--dry-run", is_flag=True, help="Check the files and report, changing nothing.")
@with_appcontext
def banks_import(
    files: tuple[str, ...],
    bank_code: str,
    title: str,
    format_name: str | None,
    as_json: bool,
    dry_run: bool,
) -> None:
    """Import question files (GIFT, Aiken, Moodle XML, QTI, CSV/XLSX, YAML): all or nothing."""
    from lms.jobs.services import run_now
    from lms.questions.formats import formats
    from lms.questions.jobs import bank_code_problem

    app = current_app._get_current_object()
    paths = [Path(file) for file in files]

    for path in paths:
        if not path.is_file():
            give_up(path.name, "no such file", as_json=as_json)
    if format_name and format_name not in formats():
        give_up(
            "--format",
            f"unknown format; choose from {', '.join(sorted(formats()))}",
            as_json=as_json,
        )
    bank_code = bank_code.strip()
    if bank_code and (problem := bank_code_problem(bank_code)):
        give_up("--bank", problem, as_json=as_json)
    label = paths[0].name if len(paths) == 1 else f"{len(paths)} files"
    bar = None if as_json else ProgressBar(f"Importing {label}")
    params = {
        "files": [{"file": p.name, "path": str(p.resolve())} for p in paths],
        "bank_code": bank_code,
        "bank_title": title.strip(),
        "format": format_name,
        "dry_run": dry_run,
    }
    try:
        job = run_now(app, "questions.import", params, listener=bar)
    finally:
        if bar is not None:
            bar.close()
    if job.error:
        give_up(label, f"import failed: {job.error.splitlines()[0]}", as_json=as_json)
    result = job.result or {}
    report_import(result, label, as_json=as_json)
    if not as_json:
        verb = "would import" if dry_run else "imported"
        click.echo(
            f"{label}: {verb} {result['imported']} ({result.get('created', 0)} new, "
            f"{result.get('new_versions', 0)} new versions), unchanged {result['unchanged']}; "
            f"banks: {', '.join(result.get('banks', []))}."
        )


@banks_group.command("export")
@click.argument("code")
@click.option(
    "--format",
    "format_name",
    required=True,
    help="gift, moodlexml, xlsx or yaml.",
)
@click.option("-o", "output", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option(
    "--skip-unsupported",
    is_flag=True,
    help="Leave out the questions whose type the format cannot carry (else: an error).",
)
@click.option("--enabled-only", is_flag=True, help="Leave out disabled questions.")
@with_appcontext
def banks_export(
    code: str, format_name: str, output: str, skip_unsupported: bool, enabled_only: bool
) -> None:
    """Write a bank's current questions to a file in a writable format."""
    from lms.questions.exports import export_bank
    from lms.questions.formats import writable_formats
    from lms.questions.services import get_bank

    names = writable_formats()
    if format_name not in names:
        fail(f"--format: choose one of {', '.join(sorted(names))}.")
    state = current_app.extensions["lms"]
    with state.db.transaction() as session:
        bank = get_bank(session, code)
        if bank is None:
            fail(f"No question bank with code {code}.")
        export = export_bank(
            session,
            bank,
            names[format_name],
            types=state.question_types,
            enabled_only=enabled_only,
        )
    left_out = sum(export.left_out.values())
    if left_out and not skip_unsupported:
        fail(
            f"{format_name} cannot hold {left_out} question(s) ({export.left_out_text()}): "
            "nothing was written (--skip-unsupported writes the rest)."
        )
    if left_out:
        click.echo(
            f"warning: left out {left_out} question(s) ({export.left_out_text()}).", err=True
        )
    Path(output).write_bytes(export.body)
    click.echo(f"Wrote {export.count} questions of {code} to {output}.")


@banks_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@with_appcontext
def banks_list(as_json: bool) -> None:
    """The question banks with their numbers of questions (all, and enabled)."""
    from lms.questions.services import banks_with_counts

    with current_app.extensions["lms"].db.transaction() as session:
        rows = [
            {
                "code": bank.code,
                "title": bank.title,
                "programme": bank.programme,
                "questions": total,
                "enabled": enabled,
            }
            for bank, total, enabled in banks_with_counts(session)
        ]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        click.echo("No question banks yet: `lms banks import FILE...` brings some in.")
    for row in rows:
        click.echo(
            f"{row['code']:<28} {row['questions']:>6} ({row['enabled']} enabled)  "
            f"{row['programme'] or '-':<24} {row['title']}"
        )
