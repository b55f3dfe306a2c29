"""The ``lms`` command: a Flask CLI group (so ``lms run`` and ``lms routes`` work too).

Commands are thin wrappers over services. Exit code 0 on success; otherwise non-zero with the
reason on stderr. Import commands take ``--json`` and then print one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from lms.courses.cli import courses_group


class ProgressBar:
    """A click progress bar that appears on the first report (when the total is known)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._bar: Any = None
        self._shown = 0

    def __call__(self, done: int, total: int | None, message: str = "") -> None:
        if total is None:
            return
        if self._bar is None:
            self._bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self._bar.__enter__()
        self._bar.update(done - self._shown)
        self._shown = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


@click.group("lms", help="The LMS's own commands.")
def lms_commands() -> None:
    """Commands of the LMS (standalone: ``lms ...``; as a plugin: ``flask lms ...``)."""


lms_commands.add_command(courses_group)


@lms_commands.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database tables to the newest version."""
    from lms.migrate import current_revision, upgrade

    upgrade(current_app._get_current_object())
    click.echo(f"Database at revision {current_revision(current_app._get_current_object())}.")


@lms_commands.command("demo")
@click.option(
    "--seed",
    default=1,
    show_default=True,
    help="Random seed: the same seed builds the same bureau.",
)
@click.option(
    "--employees", default=1800, show_default=True, help="About how many employees to create."
)
@click.option("--reset", is_flag=True, help="Delete all existing LMS data first.")
@with_appcontext
def demo_command(seed: int, employees: int, reset: bool) -> None:
    """Build the fictional 龙城供电局 with its people, the shipped question banks and course
    catalogue, and print the demo sign-ins."""
    from lms.courses.catalogue import import_shipped_catalogue
    from lms.demo import build_demo, has_data, reset_data
    from lms.migrate import upgrade
    from lms.questions.shipped import import_shipped_banks

    app = current_app._get_current_object()
    upgrade(app)
    database = app.extensions["lms"].db
    with database.transaction() as session:
        if has_data(session):
            if not reset:
                fail("The database already has data: use `lms demo --reset` to replace it.", 2)
            reset_data(session)
    bar = ProgressBar("Building the demo bureau")
    try:
        with database.transaction() as session:
            logins = build_demo(session, seed=seed, employees=employees, progress=bar)
    finally:
        bar.close()
    with database.transaction() as session:
        banks = import_shipped_banks(session, types=app.extensions["lms"].question_types)
        if not banks.ok:
            fail(f"The shipped question banks did not import: {banks.errors[0]}")
    with database.transaction() as session:
        courses = import_shipped_catalogue(session)
        if not courses.ok:
            fail(f"The shipped course catalogue did not import: {courses.errors[0]}")
    click.echo("")
    click.echo(
        f"Question banks: {banks.imported} questions in {len(banks.details['banks'])} banks."
    )
    click.echo(f"Courses: {courses.imported} courses.")
    click.echo(f"Demo bureau ready: {app.config['LMS_BUREAU_NAME']}. Sign in with:")
    for login in logins:
        credentials = f"工号 {login.emp_no:<10} password {login.password:<12}"
        click.echo(f"  {login.role:<9} {credentials} {login.name} ({login.unit})")


def _import(kind: str, file: str, as_json: bool, dry_run: bool) -> None:
    from lms.jobs.services import run_now

    app = current_app._get_current_object()
    path = Path(file)

    def give_up(message: str) -> None:
        if as_json:  # still one object on stdout, for scripts that parse it
            problem = {"file": path.name, "line": None, "column": None, "message": message}
            click.echo(
                json.dumps(
                    {"imported": 0, "unchanged": 0, "errors": [problem], "warnings": []},
                    ensure_ascii=False,
                )
            )
        fail(f"{path.name}: {message}")

    if not path.is_file():
        give_up("no such file")
    bar = None if as_json else ProgressBar(f"Importing {path.name}")
    try:
        job = run_now(
            app,
            "org.import",
            {"kind": kind, "path": str(path.resolve()), "file": path.name, "dry_run": dry_run},
            listener=bar,
        )
    finally:
        if bar is not None:
            bar.close()
    if job.error:
        give_up(f"import failed: {job.error.splitlines()[0]}")
    result = job.result or {}
    keys = ("imported", "unchanged", "errors", "warnings")
    if as_json:
        click.echo(
            json.dumps(
                {k: result[k] for k in keys}
                | {k: v for k, v in result.items() if k not in keys and k not in ("kind", "file")},
                ensure_ascii=False,
            )
        )
    else:
        for warning in result["warnings"]:
            click.echo(f"warning: {_where(warning)}: {warning['message']}", err=True)
        for error in result["errors"]:
            click.echo(f"{_where(error)}: {error['message']}", err=True)
    if result["errors"]:
        # A one-line reason on stderr, also with --json (whose object on stdout has the details).
        click.echo(
            f"{path.name}: {len(result['errors'])} error(s); nothing was imported.", err=True
        )
        sys.exit(1)
    if not as_json:
        verb = "would import" if dry_run else "imported"
        click.echo(f"{path.name}: {verb} {result['imported']}, unchanged {result['unchanged']}.")
        if result.get("new_posts"):
            click.echo(f"New posts: {', '.join(result['new_posts'])}")


def _where(problem: dict[str, Any]) -> str:
    where = problem["file"]
    if problem.get("line"):
        where += f":{problem['line']}"
    if problem.get("column"):
        where += f" [{problem['column']}]"
    return where


@lms_commands.group("units")
def units_group() -> None:
    """The unit tree: import and export."""


@units_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@click.option("--dry-run", is_flag=True, help="Check the file and report, changing nothing.")
@with_appcontext
def units_import(file: str, as_json: bool, dry_run: bool) -> None:
    """Import the unit tree from a CSV or XLSX units file (upsert by 单位编码)."""
    _import("units", file, as_json, dry_run)


@units_group.command("export")
@click.option(
    "-o",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV or XLSX file to write.",
)
@with_appcontext
def units_export(output: str) -> None:
    """Export the unit tree in the units file format."""
    from lms.org.services import export_units

    with current_app.extensions["lms"].db.transaction() as session:
        headers, rows = export_units(session)
        _write_table(output, headers, rows, "units")


@lms_commands.group("users")
def users_group() -> None:
    """Employees: import, export, passwords."""


@users_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@click.option("--dry-run", is_flag=True, help="Check the file and report, changing nothing.")
@with_appcontext
def users_import(file: str, as_json: bool, dry_run: bool) -> None:
    """Import employees from a CSV or XLSX employees file (upsert by 工号)."""
    _import("employees", file, as_json, dry_run)


@users_group.command("export")
@click.option(
    "-o",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    help="CSV or XLSX file to write.",
)
@with_appcontext
def users_export(output: str) -> None:
    """Export all employees in the employees file format."""
    from lms.org.services import export_employees

    with current_app.extensions["lms"].db.transaction() as session:
        headers, rows = export_employees(session)
        _write_table(output, headers, rows, "employees")


@users_group.command("set-password")
@click.argument("emp_no")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option(
    "--must-change/--no-must-change",
    default=True,
    show_default=True,
    help="Make the employee choose a new password at the next sign-in.",
)
@with_appcontext
def users_set_password(emp_no: str, password: str, must_change: bool) -> None:
    """Set an employee's password (for the first administrator, or a forgotten password)."""
    import sqlalchemy as sa

    from lms.auth.services import set_password
    from lms.org.models import Employee

    with current_app.extensions["lms"].db.transaction() as session:
        employee = session.scalar(sa.select(Employee).where(Employee.emp_no == emp_no))
        if employee is None:
            fail(f"No employee with 工号 {emp_no}.")
        set_password(session, employee, password, must_change=must_change)
    click.echo(f"Password set for {emp_no}.")


@lms_commands.group("banks")
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

    def give_up(file: str, message: str) -> None:
        if as_json:  # still one object on stdout, for scripts that parse it
            problem = {"file": file, "line": None, "column": None, "message": message}
            click.echo(
                json.dumps(
                    {"imported": 0, "unchanged": 0, "errors": [problem], "warnings": []},
                    ensure_ascii=False,
                )
            )
        fail(f"{file}: {message}")

    for path in paths:
        if not path.is_file():
            give_up(path.name, "no such file")
    if format_name and format_name not in formats():
        give_up("--format", f"unknown format; choose from {', '.join(sorted(formats()))}")
    bank_code = bank_code.strip()
    if bank_code and (problem := bank_code_problem(bank_code)):
        give_up("--bank", problem)
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
        give_up(label, f"import failed: {job.error.splitlines()[0]}")
    result = job.result or {}
    keys = ("imported", "unchanged", "errors", "warnings")
    if as_json:
        click.echo(
            json.dumps(
                {k: result[k] for k in keys} | {k: v for k, v in result.items() if k not in keys},
                ensure_ascii=False,
            )
        )
    else:
        for warning in result["warnings"]:
            click.echo(f"warning: {_where(warning)}: {warning['message']}", err=True)
        for error in result["errors"]:
            click.echo(f"{_where(error)}: {error['message']}", err=True)
    if result["errors"]:
        # A one-line reason on stderr, also with --json (whose object on stdout has the details).
        click.echo(f"{label}: {len(result['errors'])} error(s); nothing was imported.", err=True)
        sys.exit(1)
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


def _write_table(output: str, headers: list[str], rows: Any, title: str) -> None:
    from lms.sheets import write_csv, write_xlsx

    path = Path(output)
    body = (
        write_xlsx(headers, rows, title)
        if path.suffix.lower() == ".xlsx"
        else write_csv(headers, rows)
    )
    path.write_bytes(body)
    click.echo(f"Wrote {path}.")


def _make_app() -> Any:
    from lms import create_app

    return create_app()


class LMSGroup(FlaskGroup):
    """``lms``: Flask's own commands (run, routes, shell) plus the LMS's."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(create_app=_make_app, **kwargs)
        for name, command in lms_commands.commands.items():
            self.add_command(command, name)


cli = LMSGroup(name="lms", help="Training and certification for a power-supply bureau.")

SETUP_COMMANDS = {"init", "demo"}


def main() -> None:
    """Console script entry point. ``init`` and ``demo`` create the instance secret key first, so
    that a fresh installation starts without any configuration."""
    args = sys.argv[1:]
    if args and args[0] in SETUP_COMMANDS and not os.environ.get("LMS_SECRET_KEY"):
        from flask import Flask

        from lms import ensure_secret_file, instance_path

        ensure_secret_file(Flask("lms", instance_path=instance_path()).instance_path)
    cli.main(prog_name="lms")
