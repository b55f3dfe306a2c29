"""``lms courses ...``: the catalogue on the command line (registered by :mod:`lms.cli`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("courses")
def courses_group() -> None:
    """Courses: import catalogue files."""


@courses_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@click.option("--dry-run", is_flag=True, help="Check the files and report, changing nothing.")
@with_appcontext
def courses_import(files: tuple[str, ...], as_json: bool, dry_run: bool) -> None:
    """Import course catalogue files (YAML, one course each): all or nothing, upsert by code;
    a course whose content changed is published as a new version."""
    from lms.cli.output import fail, where
    from lms.courses.catalogue import import_catalogue

    paths = [Path(file) for file in files]
    label = paths[0].name if len(paths) == 1 else f"{len(paths)} files"
    for path in paths:
        if not path.is_file():
            if as_json:  # still one object on stdout, for scripts that parse it
                problem = {
                    "file": path.name,
                    "line": None,
                    "column": None,
                    "message": "no such file",
                }
                empty = {"imported": 0, "unchanged": 0, "errors": [problem], "warnings": []}
                click.echo(json.dumps(empty, ensure_ascii=False))
            fail(f"{path.name}: no such file")
    session = current_app.extensions["lms"].db.session(write=True)
    try:
        result = import_catalogue(
            session, [(path.name, path.read_bytes()) for path in paths], actor=None
        )
        if result.ok and not dry_run:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
    output = result.as_dict() | {"dry_run": dry_run}
    if as_json:
        click.echo(json.dumps(output, ensure_ascii=False))
    else:
        for warning in output["warnings"]:
            click.echo(f"warning: {where(warning)}: {warning['message']}", err=True)
        for error in output["errors"]:
            click.echo(f"{where(error)}: {error['message']}", err=True)
    if result.errors:
        # A one-line reason on stderr, also with --json (whose object on stdout has the details).
        click.echo(f"{label}: {len(result.errors)} error(s); nothing was imported.", err=True)
        sys.exit(1)
    if not as_json:
        verb = "would import" if dry_run else "imported"
        click.echo(
            f"{label}: {verb} {result.imported} ({output['created']} new, "
            f"{output['new_versions']} new versions), unchanged {result.unchanged}."
        )
        if output["new_posts"]:
            click.echo(f"New posts: {', '.join(output['new_posts'])}")
