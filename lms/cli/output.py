"""What every LMS command shares: a progress bar, failing with a reason, naming a place in a
file, writing a table."""

from __future__ import annotations

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
