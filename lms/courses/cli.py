"""``lms courses ...``: the catalogue on the command line (registered by :mod:`lms.cli`)."""

from __future__ import annotations

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
    from lms.cli.output import give_up, report_import
    from lms.courses.catalogue import import_catalogue

    paths = [Path(file) for file in files]
    label = paths[0].name if len(paths) == 1 else f"{len(paths)} files"
    for path in paths:
        if not path.is_file():
            give_up(path.name, "no such file", as_json=as_json)
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
    report_import(output, label, as_json=as_json)
    if not as_json:
        verb = "would import" if dry_run else "imported"
        click.echo(
            f"{label}: {verb} {result.imported} ({output['created']} new, "
            f"{output['new_versions']} new versions), unchanged {result.unchanged}."
        )
        if output["new_posts"]:
            click.echo(f"New posts: {', '.join(output['new_posts'])}")


@courses_group.command("import-packs")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@click.option("--dry-run", is_flag=True, help="Check the files and report, changing nothing.")
@with_appcontext
def courses_import_packs(files: tuple[str, ...], as_json: bool, dry_run: bool) -> None:
    """Import course pack files (YAML, ``packs:`` a list; the shipped ones are in
    ``catalogue/packs/``): all or nothing, upsert by code; the courses must be imported first."""
    from lms.cli.output import give_up, report_import
    from lms.sheets import ImportResult
    from lms.training.packs import load_packs

    paths = [Path(file) for file in files]
    label = paths[0].name if len(paths) == 1 else f"{len(paths)} files"
    for path in paths:
        if not path.is_file():
            give_up(path.name, "no such file", as_json=as_json)
    result = ImportResult(details={"packs": []})
    session = current_app.extensions["lms"].db.session(write=True)
    try:
        for path in paths:
            one = load_packs(session, path, actor=None)
            result.imported += one.imported
            result.unchanged += one.unchanged
            result.errors += one.errors
            result.details["packs"] += one.details.get("packs", [])
        if result.ok and not dry_run:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
    report_import(result.as_dict() | {"dry_run": dry_run}, label, as_json=as_json)
    if not as_json:
        verb = "would import" if dry_run else "imported"
        click.echo(f"{label}: {verb} {result.imported} packs, unchanged {result.unchanged}.")
