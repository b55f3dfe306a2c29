"""``lms units ...`` and ``lms users ...``: the org files on the command line."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.cli.output import fail, run_file_import, write_table


def run_import_command(kind: str, file: str, as_json: bool, dry_run: bool) -> None:
    result = run_file_import("org.import", file, {"kind": kind}, as_json=as_json, dry_run=dry_run)
    if not as_json and result.get("new_posts"):
        click.echo(f"New posts: {', '.join(result['new_posts'])}")


@click.group("units")
def units_group() -> None:
    """The unit tree: import and export."""


@units_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@click.option("--dry-run", is_flag=True, help="Check the file and report, changing nothing.")
@with_appcontext
def units_import(file: str, as_json: bool, dry_run: bool) -> None:
    """Import the unit tree from a CSV or XLSX units file (upsert by 单位编码)."""
    run_import_command("units", file, as_json, dry_run)


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
        write_table(output, headers, rows, "units")


@click.group("users")
def users_group() -> None:
    """Employees: import, export, passwords."""


@users_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@click.option("--dry-run", is_flag=True, help="Check the file and report, changing nothing.")
@with_appcontext
def users_import(file: str, as_json: bool, dry_run: bool) -> None:
    """Import employees from a CSV or XLSX employees file (upsert by 工号)."""
    run_import_command("employees", file, as_json, dry_run)


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
        write_table(output, headers, rows, "employees")


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
