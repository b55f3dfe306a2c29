"""``lms jobs ...``: the periodic tasks on the command line (for cron)."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.cli.output import fail


@click.group("jobs")
def jobs_group() -> None:
    """Background work: the periodic tasks."""


@jobs_group.command("run-due")
@click.option(
    "--task", "names", multiple=True, help="Only this task (repeatable); see `lms jobs tasks`."
)
@click.option("--force", is_flag=True, help="Run the tasks even if their interval has not passed.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the outcomes.")
@with_appcontext
def run_due_command(names: tuple[str, ...], force: bool, as_json: bool) -> None:
    """Run the periodic tasks that are due (from cron, every minute). Running it twice at once
    or twice within a task's interval runs nothing the second time. Exit 1 if a task failed."""
    from lms.jobs.schedule import run_due

    app = current_app._get_current_object()
    try:
        outcomes = run_due(app, names=list(names) or None, force=force)
    except KeyError as error:
        fail(f"{error.args[0]} (see `lms jobs tasks`)", 2)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "tasks": [
                        {"name": o.name, "ran": o.ran, "result": o.result, "error": o.error}
                        for o in outcomes
                    ]
                },
                ensure_ascii=False,
            )
        )
    else:
        for o in outcomes:
            if not o.ran:
                click.echo(f"{o.name}: not due")
            elif o.error:
                click.echo(f"{o.name}: failed: {o.error.splitlines()[0]}", err=True)
            else:
                details = ", ".join(f"{k} {v}" for k, v in (o.result or {}).items())
                click.echo(f"{o.name}: done{': ' + details if details else ''}")
    if any(o.error for o in outcomes):
        raise SystemExit(1)


@jobs_group.command("tasks")
@with_appcontext
def tasks_command() -> None:
    """List the periodic tasks, their intervals and last runs."""
    from lms.db import get_session
    from lms.jobs.schedule import last_runs, tasks

    runs = last_runs(get_session())
    for task in tasks():
        run = runs.get(task.name)
        if run is None:
            last = "never ran"
        else:
            outcome = "failed" if run.last_error else "ok" if run.last_finished_at else "running"
            last = f"last started {run.last_started_at:%Y-%m-%d %H:%M:%S} UTC, {outcome}"
        click.echo(f"{task.name}\tevery {task.every}\t{last}\t{task.description}")
