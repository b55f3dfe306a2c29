"""The ``lms`` command: a Flask CLI group (so ``lms run`` and ``lms routes`` work too).

Commands are thin wrappers over services. Exit code 0 on success; otherwise non-zero with the
reason on stderr. Import commands take ``--json`` and then print one JSON object.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from lms.certificates.cli import certificates_group
from lms.cli.backup import backup_command, restore_command
from lms.cli.output import ProgressBar, fail
from lms.courses.cli import courses_group
from lms.jobs.cli import jobs_group
from lms.org.cli import units_group, users_group
from lms.questions.cli import banks_group
from lms.reports.cli import report_group
from lms.serving import serve_command
from lms.training.cli import records_group


@click.group("lms", help="The LMS's own commands.")
def lms_commands() -> None:
    """Commands of the LMS (standalone: ``lms ...``; as a plugin: ``flask lms ...``)."""


for group in (units_group, users_group, banks_group, courses_group, certificates_group, jobs_group):
    lms_commands.add_command(group)
lms_commands.add_command(records_group)
lms_commands.add_command(backup_command)
lms_commands.add_command(restore_command)
lms_commands.add_command(report_group)


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
@click.option(
    "--history/--no-history",
    default=True,
    show_default=True,
    help="Add three years of training history (records, study days, certificates, moves).",
)
@with_appcontext
def demo_command(seed: int, employees: int, reset: bool, history: bool) -> None:
    """Build the fictional 龙城供电局 with its people, the shipped question banks and course
    catalogue, three years of training history, and print the demo sign-ins."""
    from lms.courses.catalogue import import_shipped_catalogue
    from lms.demo import build_demo, has_data, reset_data
    from lms.migrate import upgrade
    from lms.questions.shipped import import_shipped_banks
    from lms.training.packs import load_shipped_packs

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
        packs = load_shipped_packs(session)  # after the courses they name
        if not packs.ok:
            fail(f"The shipped course packs did not load: {packs.errors[0]}")
    if history:
        _demo_history(app, seed, [login.emp_no for login in logins if login.role == "employee"])
    click.echo("")
    click.echo(
        f"Question banks: {banks.imported} questions in {len(banks.details['banks'])} banks."
    )
    click.echo(f"Courses: {courses.imported} courses.")
    click.echo(f"Course packs: {len(packs.details['packs'])} packs.")
    click.echo(f"Demo bureau ready: {app.config['LMS_BUREAU_NAME']}. Sign in with:")
    for login in logins:
        credentials = f"工号 {login.emp_no:<10} password {login.password:<12}"
        click.echo(f"  {login.role:<9} {credentials} {login.name} ({login.unit})")


def _demo_history(app: Any, seed: int, employees: list[str]) -> None:
    """Three years of history (lms.demo.history), then a real certificate with its PDF for each
    demo employee, so that they can download it and check it at /verify."""
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from lms.certificates.designs import shipped_designs
    from lms.certificates.issuing import renderer, verify_url_builder
    from lms.certificates.services import issue_certificate
    from lms.courses.models import Course
    from lms.db import utcnow
    from lms.demo.history import build_history
    from lms.i18n import local_date
    from lms.org.models import Employee
    from lms.storage import data_dir

    database = app.extensions["lms"].db
    zone = ZoneInfo(app.config["LMS_TIMEZONE"])
    bar = ProgressBar("Adding three years of history")
    try:
        with database.transaction() as session:
            summary = build_history(session, seed=seed, today=local_date(), zone=zone, progress=bar)
    finally:
        bar.close()
    with database.transaction() as session:
        course = session.scalars(sa.select(Course).where(Course.code == "SS-101")).first()
        for emp_no in employees if course is not None else []:
            person = session.scalars(sa.select(Employee).where(Employee.emp_no == emp_no)).one()
            issue_certificate(
                session,
                employee=person,
                course=course,
                design=shipped_designs()["qualification"],
                issued_on=local_date(),
                score=None,
                bureau=app.config["LMS_BUREAU_NAME"],
                serial_bureau=app.config["LMS_CERTIFICATE_SERIAL_PREFIX"],
                verify_url=verify_url_builder(),
                data_dir=data_dir(app),
                actor=None,
                now=utcnow(),
                renew=True,
                renderer=renderer().render,
            )
    click.echo(
        f"History: {summary.records} training records, {summary.sessions} study days, "
        f"{summary.certificates} certificates, {summary.moves} moves, "
        f"{summary.assignments} pack assignments."
    )


def _make_app() -> Any:
    """The standalone app. A configuration problem becomes Flask's NoAppException: the reason is
    shown without a traceback, and ``lms --help`` still lists the commands."""
    from flask.cli import NoAppException

    from lms import create_app
    from lms.config import ConfigurationError

    try:
        return create_app()
    except ConfigurationError as exc:
        raise NoAppException(str(exc)) from exc


class LMSGroup(FlaskGroup):
    """``lms``: Flask's own commands (run, routes, shell) plus the LMS's."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(create_app=_make_app, **kwargs)
        for name, command in lms_commands.commands.items():
            self.add_command(command, name)


cli = LMSGroup(name="lms", help="Training and certification for a power-supply bureau.")
cli.add_command(serve_command)

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
