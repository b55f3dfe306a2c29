"""``lms backup`` and ``lms restore``: the database and the data folder in one archive
(:mod:`lms.backup`)."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from lms.cli.output import ProgressBar, fail

PHASES = {
    "database": "Copying the database",
    "files": "Writing the archive",
    "reading": "Checking the archive",
    "restoring": "Restoring the database",
}


class PhaseBars:
    """One progress bar per phase of a backup or restore, each closed when the next begins."""

    def __init__(self) -> None:
        self.phase = ""
        self.bar: ProgressBar | None = None

    def __call__(self, done: int, total: int | None, phase: str) -> None:
        if phase != self.phase:
            self.close()
            self.phase, self.bar = phase, ProgressBar(PHASES.get(phase, phase))
        assert self.bar is not None
        self.bar(done, total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _reason(error: Exception) -> str:
    """One line: a database error's own first line (not SQLAlchemy's SQL and links)."""
    if isinstance(error, sa.exc.DBAPIError):
        return "database error: " + (str(error.orig).strip().splitlines() or ["?"])[0]
    return str(error)


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MB" if count >= 2**20 else f"{count / 1024:.1f} KB"


@click.command("backup")
@click.option(
    "-o",
    "--output",
    help="The archive to write: .tar.gz (or .tar, uncompressed). "
    "Default: lms-backup-<date>-<time>.tar.gz in the current folder.",
)
@with_appcontext
def backup_command(output: str | None) -> None:
    """Back up the database and the data folder (certificate PDFs, attachments, sign-in
    sheets...) into one archive, while the LMS runs."""
    from lms.backup import BackupError, create_backup, default_backup_name

    app = current_app._get_current_object()
    path = Path(output or default_backup_name(app))
    bars = PhaseBars()
    try:
        result = create_backup(app, path, progress=bars)
    except (BackupError, OSError, sa.exc.DBAPIError) as error:
        bars.close()
        fail(f"backup failed: {_reason(error)}")
    finally:
        bars.close()
    click.echo(
        f"Wrote {path} ({_size(result.size)}): the {result.kind} database at revision "
        f"{result.revision} ({result.rows} rows in {len(result.tables)} tables) and "
        f"{_files(result.files)}."
    )


@click.command("restore")
@click.argument("file")
@click.option(
    "--force",
    is_flag=True,
    help="Replace a database that already has data (everything in it is lost).",
)
@with_appcontext
def restore_command(file: str, force: bool) -> None:
    """Restore an archive made by `lms backup` into the configured database, which must be
    empty unless --force is given, and the data folder. The archive is checked whole before
    anything changes; an older backup is upgraded. Stop the app and its workers first."""
    from lms.backup import BackupError, RestoreRefused, restore_backup

    bars = PhaseBars()

    def warn(message: str) -> None:
        bars.close()
        click.echo(message, err=True)

    try:
        result = restore_backup(
            current_app._get_current_object(), file, force=force, progress=bars, warn=warn
        )
    except (BackupError, OSError, sa.exc.DBAPIError) as error:
        bars.close()
        verb = "refused (nothing was changed)" if isinstance(error, RestoreRefused) else "failed"
        fail(f"restore {verb}: {_reason(error)}")
    finally:
        bars.close()
    upgraded = f", upgraded to {result.upgraded_to}" if result.upgraded_to else ""
    click.echo(
        f"Restored {Path(file).name}: the {result.kind} database at revision {result.revision}"
        f"{upgraded} ({result.rows} rows in {len(result.tables)} tables) and "
        f"{_files(result.files)}."
    )
