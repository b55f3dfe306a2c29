"""Imports of the units and employees files, run as jobs (web: background; CLI: progress bar)."""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path
from typing import Any

from lms.jobs.services import JobContext, job
from lms.org import services
from lms.sheets import FileProblem, ImportResult, read_table

IMPORTS = {
    "units": (services.UNIT_COLUMNS, services.import_units),
    "employees": (services.EMPLOYEE_COLUMNS, services.import_employees),
}


def run_import(
    ctx_db: Any,
    kind: str,
    data: bytes,
    file: str,
    *,
    actor: Any,
    max_rows: int,
    progress: Any = None,
    effective_on: date | None = None,
) -> ImportResult:
    """Read and import one file into ``ctx_db`` (not committed). A file that cannot be read gives
    a result with its problems as errors."""
    columns, importer = IMPORTS[kind]
    try:
        table = read_table(data, file, columns, max_rows=max_rows)
    except FileProblem as exc:
        return ImportResult(errors=exc.problems)
    kwargs: dict[str, Any] = {"actor": actor}
    if kind == "employees":
        kwargs.update(progress=progress, effective_on=effective_on)
    return importer(ctx_db, table, **kwargs)


@job("org.import")
def import_job(
    ctx: JobContext,
    *,
    kind: str,
    path: str,
    file: str,
    dry_run: bool = False,
    delete: bool = False,
) -> dict[str, Any]:
    """Import a stored file; rolled back when there are errors or for a dry run. ``delete``
    removes the file afterwards (web uploads; never a file named on the command line)."""
    try:
        data = Path(path).read_bytes()
    finally:
        if delete:
            with contextlib.suppress(OSError):
                Path(path).unlink()
    result = run_import(
        ctx.db,
        kind,
        data,
        file,
        actor=ctx.actor,
        max_rows=ctx.app.config["LMS_IMPORT_MAX_ROWS"],
        progress=lambda done, total: ctx.progress(done, total),
    )
    if dry_run or not result.ok:
        ctx.db.rollback()
    return {"kind": kind, "file": file, "dry_run": dry_run, **result.as_dict()}
