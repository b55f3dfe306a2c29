"""What every LMS command shares: a progress bar, failing with a reason, naming a place in a
file, reporting an import, writing a table."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click


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


def where(problem: dict[str, Any]) -> str:
    where = problem["file"]
    if problem.get("line"):
        where += f":{problem['line']}"
    if problem.get("column"):
        where += f" [{problem['column']}]"
    return where


def write_table(output: str, headers: list[str], rows: Any, title: str) -> None:
    from lms.sheets import write_csv, write_xlsx

    path = Path(output)
    body = (
        write_xlsx(headers, rows, title)
        if path.suffix.lower() == ".xlsx"
        else write_csv(headers, rows)
    )
    path.write_bytes(body)
    click.echo(f"Wrote {path}.")


IMPORT_KEYS = ("imported", "unchanged", "errors", "warnings")


def give_up(file: str, message: str, *, as_json: bool) -> None:
    """Stop an import command on a problem found before any reading (a missing file, a bad
    option); with ``--json`` there is still one object on stdout, for scripts that parse it."""
    if as_json:
        problem = {"file": file, "line": None, "column": None, "message": message}
        empty = {"imported": 0, "unchanged": 0, "errors": [problem], "warnings": []}
        click.echo(json.dumps(empty, ensure_ascii=False))
    fail(f"{file}: {message}")


def report_import(result: dict[str, Any], label: str, *, as_json: bool) -> None:
    """Print an import's result: with ``--json`` one object (the four keys of DESIGN.md first),
    otherwise every warning and error on stderr. With errors, a one-line reason on stderr and
    exit code 1; the caller prints its own summary of a success."""
    if as_json:
        rest = {k: v for k, v in result.items() if k not in IMPORT_KEYS}
        click.echo(json.dumps({k: result[k] for k in IMPORT_KEYS} | rest, ensure_ascii=False))
    else:
        for warning in result["warnings"]:
            click.echo(f"warning: {where(warning)}: {warning['message']}", err=True)
        for error in result["errors"]:
            click.echo(f"{where(error)}: {error['message']}", err=True)
    if result["errors"]:
        click.echo(f"{label}: {len(result['errors'])} error(s); nothing was imported.", err=True)
        sys.exit(1)


def run_file_import(
    job_kind: str, file: str, params: dict[str, Any], *, as_json: bool, dry_run: bool
) -> dict[str, Any]:
    """Run the import job ``job_kind`` on one file here, with a progress bar (none with
    ``--json``), report it (:func:`report_import`) and print the summary line of a success;
    the job's result, for any extra lines the caller prints."""
    from flask import current_app

    from lms.jobs.services import run_now

    path = Path(file)
    if not path.is_file():
        give_up(path.name, "no such file", as_json=as_json)
    bar = None if as_json else ProgressBar(f"Importing {path.name}")
    try:
        job = run_now(
            current_app._get_current_object(),
            job_kind,
            {**params, "path": str(path.resolve()), "file": path.name, "dry_run": dry_run},
            listener=bar,
        )
    finally:
        if bar is not None:
            bar.close()
    if job.error:
        give_up(path.name, f"import failed: {job.error.splitlines()[0]}", as_json=as_json)
    result = {k: v for k, v in (job.result or {}).items() if k not in ("kind", "file")}
    report_import(result, path.name, as_json=as_json)
    if not as_json:
        verb = "would import" if dry_run else "imported"
        click.echo(f"{path.name}: {verb} {result['imported']}, unchanged {result['unchanged']}.")
    return result
