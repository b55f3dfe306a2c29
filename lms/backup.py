"""Backups: the database and the data folder in one archive, and their restore.

An archive is a tar file (gzip-compressed unless its name ends in ``.tar``) holding:

- ``database.sqlite3`` (SQLite: a copy made with SQLite's online backup API) or
  ``database.pgdump`` (PostgreSQL: ``pg_dump --format=custom``);
- ``data/...``: every file of the data folder (certificate PDFs, lesson attachments, sign-in
  sheets, uploads waiting for confirmation, exports);
- ``manifest.json``, last: the format, when it was made, the LMS's version and Alembic revision,
  the database's kind, the rows of every LMS table, and each file's size and SHA-256.

The database is copied first and the files after: stored files never change once written
(content-addressed) and are written before the rows that name them are committed, so every file
the copied database refers to is in the folder when it is read. Files added after the copy are
harmless extras.

A restore reads the whole archive into a staging folder and checks it against the manifest, and
the backup's kind and revision against this installation, before it changes anything.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from flask import Flask

from lms.db import Database, utcnow
from lms.migrate import TABLE_PREFIX, VERSION_TABLE
from lms.storage import data_dir

FORMAT = "lms-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA = "data"
DUMP_NAMES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
CHUNK = 1 << 20
#: pages copied per step of SQLite's backup (1,024 pages of 4 KiB: 4 MiB)
SQLITE_PAGES_PER_STEP = 1024
#: how long pg_restore waits for a table lock before it gives up (the app should be stopped)
PG_LOCK_TIMEOUT_MS = 60_000

#: ``progress(done, total, phase)``; phases: ``database``, ``files``, ``reading``, ``restoring``
Progress = Callable[[int, int | None, str], None]


class BackupError(Exception):
    """A backup or restore that cannot be made; the message says why, in one line."""


class RestoreRefused(BackupError):
    """A restore refused before it changed anything."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    kind: str
    revision: str
    tables: dict[str, int]
    files: int

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@dataclass(frozen=True)
class RestoreResult:
    kind: str
    #: the backup's revision, and the one the database was upgraded to (None: no upgrade)
    revision: str
    upgraded_to: str | None
    tables: dict[str, int]
    files: int
    #: the database had data, which --force replaced
    replaced: bool

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def default_backup_name(app: Flask, now: datetime | None = None) -> str:
    """``lms-backup-20261129-143005.tar.gz``: the bureau's date and time (``LMS_TIMEZONE``)."""
    moment = (now or utcnow()).astimezone(ZoneInfo(app.config["LMS_TIMEZONE"]))
    return f"lms-backup-{moment:%Y%m%d-%H%M%S}.tar.gz"


def _kind(db: Database) -> str:
    kind = db.url.get_backend_name()
    if kind not in DUMP_NAMES:
        raise BackupError(f"backups of {kind} databases are not supported (SQLite, PostgreSQL)")
    return kind


def _report(progress: Progress | None, done: int, total: int | None, phase: str) -> None:
    if progress is not None:
        progress(done, total, phase)


# -- what a database holds -------------------------------------------------------------------


def table_counts(connection: sa.Connection) -> dict[str, int]:
    """Rows in each of the LMS's tables (the Alembic version table too), by table name."""
    names = sorted(
        name for name in sa.inspect(connection).get_table_names() if name.startswith(TABLE_PREFIX)
    )
    quote = connection.dialect.identifier_preparer.quote
    return {
        name: int(connection.exec_driver_sql(f"SELECT count(*) FROM {quote(name)}").scalar_one())
        for name in names
    }


def _revision(connection: sa.Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def has_data(counts: dict[str, int]) -> bool:
    """Whether a database holds LMS data: rows in an LMS table other than Alembic's."""
    return any(rows for name, rows in counts.items() if name != VERSION_TABLE)


def _current_counts(db: Database) -> dict[str, int]:
    """The configured database's counts, without creating an SQLite file that is not there."""
    if db.is_sqlite and not _sqlite_path(db).exists():
        return {}
    with db.engine.connect() as connection:
        return table_counts(connection)


# -- SQLite ----------------------------------------------------------------------------------


def _sqlite_path(db: Database) -> Path:
    name = db.url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError("the SQLite database is not a plain file: nothing to back up")
    return Path(name).resolve()


def _sqlite_timeout(app: Flask) -> float:
    return app.config["LMS_SQLITE_BUSY_TIMEOUT_MS"] / 1000


def _dump_sqlite(
    app: Flask, db: Database, target: Path, progress: Progress | None, pages_per_step: int
) -> tuple[str | None, dict[str, int]]:
    """Copy the live database into ``target`` with SQLite's online backup API, a few pages a
    step; its revision and counts, read from the copy."""
    path = _sqlite_path(db)
    if not path.is_file():
        raise BackupError(f"there is no database at {path}: run `lms init` first")
    source = sqlite3.connect(path, timeout=_sqlite_timeout(app), isolation_level=None)
    try:
        # One read transaction for the whole copy. In WAL mode it blocks no writer, and every
        # step reads the same snapshot: without it, each commit by another connection between
        # two steps restarts the copy, which under steady writes may never finish.
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        copy = sqlite3.connect(target, isolation_level=None)
        try:
            source.backup(
                copy,
                pages=pages_per_step,
                progress=lambda status, remaining, total: _report(
                    progress, total - remaining, total, "database"
                ),
            )
            # the copy carries the source's WAL flag: make it one self-contained file
            copy.execute("PRAGMA journal_mode=DELETE").fetchone()
        finally:
            copy.close()
        source.execute("COMMIT")
    except sqlite3.Error as error:
        raise BackupError(f"could not copy the database: {error}") from error
    finally:
        source.close()
    engine = sa.create_engine(sa.URL.create("sqlite", database=str(target)), poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return _revision(connection), table_counts(connection)
    finally:
        engine.dispose()


def _restore_sqlite(app: Flask, db: Database, dump: Path) -> None:
    """Write the backup's database into the configured one through the backup API: in one
    step, under the write lock, so that any connection still open sees one commit rather than
    a file replaced under it (its WAL and shared memory belong to the old file)."""
    path = _sqlite_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(dump, isolation_level=None)
    try:
        target = sqlite3.connect(path, timeout=_sqlite_timeout(app), isolation_level=None)
        try:
            source.backup(target)
        finally:
            target.close()
    except sqlite3.Error as error:
        raise BackupError(f"could not write the database {path}: {error}") from error
    finally:
        source.close()


# -- PostgreSQL ------------------------------------------------------------------------------


def _libpq_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pg_connection(url: sa.URL, **extra: str) -> tuple[str, dict[str, str]]:
    """The libpq connection string for ``pg_dump``/``pg_restore`` and their environment. The
    password goes in ``PGPASSWORD``, never in the arguments, which other users can see."""
    params: dict[str, Any] = {
        "dbname": url.database,
        "host": url.host,
        "port": url.port,
        "user": url.username,
    }
    for key, value in url.query.items():
        params[key] = value if isinstance(value, str) else value[-1]
    params.update(extra)
    environment = dict(os.environ)
    password = params.pop("password", None) or url.password
    if password:
        environment["PGPASSWORD"] = str(password)
    conninfo = " ".join(
        f"{key}={_libpq_quote(str(value))}"
        for key, value in params.items()
        if value is not None and value != ""
    )
    return conninfo, environment


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools of the server's "
            "version (Debian: postgresql-client)"
        )
    return path


def _run(command: list[str], environment: dict[str, str], label: str) -> None:
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = lines[0] if lines else f"exit code {done.returncode}"
        raise BackupError(f"{label} failed: {reason}")


def _dump_postgresql(db: Database, target: Path) -> tuple[str | None, dict[str, int]]:
    """``pg_dump --format=custom`` of the configured database into ``target``; the revision
    and counts are read in the very snapshot pg_dump copies (``--snapshot``)."""
    tool = _pg_tool("pg_dump")
    conninfo, environment = pg_connection(db.url)
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        # the transaction stays open until pg_dump has finished: it holds the snapshot
        snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        revision, counts = _revision(connection), table_counts(connection)
        _run(
            [
                tool,
                "--format=custom",
                "--no-password",
                f"--snapshot={snapshot}",
                f"--file={target}",
                f"--dbname={conninfo}",
            ],
            environment,
            "pg_dump",
        )
        connection.rollback()
    return revision, counts


def _restore_postgresql(db: Database, dump: Path, stale: list[str]) -> None:
    """``pg_restore --clean --if-exists --no-owner`` into the configured database, in one
    transaction: it fails whole or succeeds whole. ``stale``: LMS tables of the database that
    the backup lacks (a newer installation's), dropped first so that the upgrade that follows
    can create them."""
    tool = _pg_tool("pg_restore")
    if stale:
        with db.engine.begin() as connection:
            quote = connection.dialect.identifier_preparer.quote
            for name in stale:
                connection.exec_driver_sql(f"DROP TABLE IF EXISTS {quote(name)} CASCADE")
    options = db.url.query.get("options") or ""
    options = options if isinstance(options, str) else options[-1]
    conninfo, environment = pg_connection(
        db.url, options=f"{options} -c lock_timeout={PG_LOCK_TIMEOUT_MS}".strip()
    )
    _run(
        [
            tool,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--no-password",
            f"--dbname={conninfo}",
            str(dump),
        ],
        environment,
        "pg_restore",
    )


# -- backing up ------------------------------------------------------------------------------


def _data_files(folder: Path, exclude: set[Path]) -> list[tuple[str, Path]]:
    """The data folder's files as (archive path under ``data/``, path), sorted. Hidden names
    are temporary files (a blob being written, a restore's staging folder) and are left out,
    as are symbolic links and ``exclude`` (the SQLite database, the archive being written)."""
    found: list[tuple[str, Path]] = []
    if not folder.is_dir():
        return found
    for root, directories, names in os.walk(folder):
        directories[:] = sorted(d for d in directories if not d.startswith("."))
        base = Path(root)
        for name in names:
            path = base / name
            if name.startswith(".") or path.is_symlink() or not path.is_file():
                continue
            if path.resolve() in exclude:
                continue
            found.append((path.relative_to(folder).as_posix(), path))
    return sorted(found)


class _Reader:
    """A file read by tarfile, hashed and counted as it is read."""

    def __init__(self, file: IO[bytes], advance: Callable[[int], None]) -> None:
        self.file = file
        self.sha256 = hashlib.sha256()
        self.advance = advance

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.sha256.update(data)
        self.advance(len(data))
        return data


def _counter(progress: Progress | None, total: int, phase: str) -> Callable[[int], None]:
    """``advance(bytes)`` for a phase of ``total`` bytes, reporting each mebibyte and the end."""
    done = reported = 0

    def advance(count: int) -> None:
        nonlocal done, reported
        done += count
        if done - reported >= CHUNK or done == total:
            reported = done
            _report(progress, done, total, phase)

    return advance


def create_backup(
    app: Flask,
    output: str | Path,
    *,
    progress: Progress | None = None,
    pages_per_step: int = SQLITE_PAGES_PER_STEP,
) -> BackupResult:
    """Write a backup of ``app``'s database and data folder to ``output`` (gzip unless it ends
    in ``.tar``), while the app runs: SQLite is copied a few pages a step from one snapshot,
    PostgreSQL by ``pg_dump``. The archive appears under its name only once complete; it is
    readable by its owner only (it holds password hashes)."""
    db: Database = app.extensions["lms"].db
    kind = _kind(db)
    output = Path(output).resolve()
    if output.is_dir():
        raise BackupError(f"{output} is a folder: name the archive to write")
    if not output.parent.is_dir():
        raise BackupError(f"{output.parent} does not exist")
    folder = data_dir(app)
    exclude = {output}
    if db.is_sqlite:
        database = _sqlite_path(db)
        exclude |= {Path(f"{database}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")}
    # beside the archive: the same file system, and hidden if that is inside the data folder
    with tempfile.TemporaryDirectory(prefix=".lms-backup-", dir=output.parent) as work:
        dump = Path(work) / DUMP_NAMES[kind]
        if db.is_sqlite:
            revision, tables = _dump_sqlite(app, db, dump, progress, pages_per_step)
        else:
            revision, tables = _dump_postgresql(db, dump)
        if revision is None:
            raise BackupError("the database has no LMS tables: run `lms init` first")
        files = _data_files(folder, exclude)
        temporary = output.with_name(f".{output.name}.{secrets.token_hex(6)}.tmp")
        about: dict[str, Any] = {"kind": kind, "revision": revision, "tables": tables}
        if not db.is_sqlite:
            version = db.engine.dialect.server_version_info or ()
            about["server_version"] = ".".join(str(part) for part in version)
        try:
            manifest = _write_archive(
                temporary, dump, about, files, progress, compress=_gzip(output)
            )
            os.replace(temporary, output)
        finally:
            temporary.unlink(missing_ok=True)
    return BackupResult(
        path=output,
        size=output.stat().st_size,
        kind=kind,
        revision=revision,
        tables=tables,
        files=len(manifest["files"]),
    )


def _gzip(output: Path) -> bool:
    return not output.name.lower().endswith(".tar")


def _write_archive(
    temporary: Path,
    dump: Path,
    about: dict[str, Any],
    files: list[tuple[str, Path]],
    progress: Progress | None,
    *,
    compress: bool,
) -> dict[str, Any]:
    """Write the archive: the dump, the files, then the manifest (``about``: the database's
    kind, revision and counts), made of the hashes of what was actually written, so that a
    file that changed or vanished meanwhile cannot disagree with it."""
    from lms import __version__

    total = dump.stat().st_size + sum(_size(path) for _, path in files)
    advance = _counter(progress, total, "files")

    def add(archive: tarfile.TarFile, name: str, path: Path) -> dict[str, Any] | None:
        try:
            source = path.open("rb")
        except FileNotFoundError:  # removed since the listing (an unused attachment)
            return None
        with source:
            status = os.fstat(source.fileno())
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = status.st_size, int(status.st_mtime), 0o600
            reader = _Reader(source, advance)
            archive.addfile(info, reader)  # type: ignore[arg-type]
        return {"size": info.size, "sha256": reader.sha256.hexdigest()}

    def write(stream: IO[bytes]) -> dict[str, Any]:
        with tarfile.open(fileobj=stream, mode="w", format=tarfile.PAX_FORMAT) as archive:
            database = add(archive, dump.name, dump)
            assert database is not None
            listed = []
            for name, path in files:
                entry = add(archive, f"{DATA}/{name}", path)
                if entry is not None:
                    listed.append({"path": name} | entry)
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": utcnow().isoformat(timespec="seconds"),
                "lms_version": __version__,
                "database": {"file": dump.name} | database | about,
                "files": listed,
            }
            body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(utcnow().timestamp()), 0o600
            archive.addfile(info, io.BytesIO(body))
        return manifest

    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(descriptor, "wb") as raw:
        if compress:
            # no file name or time in the gzip header: the tar entries carry them
            with gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=6, mtime=0) as z:
                manifest = write(z)  # type: ignore[arg-type]
        else:
            manifest = write(raw)
        raw.flush()
        os.fsync(raw.fileno())
    return manifest


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


# -- restoring -------------------------------------------------------------------------------


def _member_name(member: tarfile.TarInfo, dump_names: set[str]) -> str:
    """The member's name if it is one a backup holds (never a path leaving the staging
    folder); else the archive is refused."""
    path = PurePosixPath(member.name)
    parts = path.parts
    safe = (
        bool(parts)
        and not path.is_absolute()
        and all(part not in ("", ".", "..") and not part.startswith(".") for part in parts)
        and "\\" not in member.name
    )
    if safe and (member.name in dump_names | {MANIFEST} or (parts[0] == DATA and len(parts) > 1)):
        return path.as_posix()
    raise BackupError(f"unexpected entry {member.name!r}: not an lms backup")


def _unpack(archive: Path, staging: Path, progress: Progress | None) -> dict[str, Any]:
    """Extract ``archive`` into ``staging`` and check every file against the manifest; the
    manifest."""
    found: dict[str, tuple[int, str]] = {}
    advance = _counter(progress, archive.stat().st_size, "reading")
    dump_names = set(DUMP_NAMES.values())
    try:
        with (
            archive.open("rb") as raw,
            tarfile.open(
                fileobj=_Reader(raw, advance),  # type: ignore[arg-type]
                mode="r|*",
            ) as tar,
        ):
            for member in tar:
                if member.isdir():
                    continue
                name = _member_name(member, dump_names)
                if not member.isfile():
                    raise BackupError(f"unexpected entry {member.name!r}: not an lms backup")
                if name in found:
                    raise BackupError(f"{name} is in the archive twice")
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                source = tar.extractfile(member)
                assert source is not None
                with target.open("wb") as copy:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        copy.write(chunk)
                found[name] = (member.size, digest.hexdigest())
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise BackupError(f"{archive.name} is not a readable backup archive ({error})") from error
    if MANIFEST not in found:
        raise BackupError(f"{archive.name} has no {MANIFEST}: not an lms backup")
    manifest = _read_manifest((staging / MANIFEST).read_bytes())
    expected = {manifest["database"]["file"]: manifest["database"]} | {
        f"{DATA}/{entry['path']}": entry for entry in manifest["files"]
    }
    for name, entry in expected.items():
        if name not in found:
            raise BackupError(f"{name} is missing from the archive")
        if found[name] != (entry["size"], entry["sha256"]):
            raise BackupError(f"{name} is damaged: its SHA-256 does not match the manifest")
    extra = sorted(set(found) - set(expected) - {MANIFEST})
    if extra:
        raise BackupError(f"{extra[0]} is in the archive but not in its manifest")
    return manifest


def _read_manifest(body: bytes) -> dict[str, Any]:
    """The manifest, checked to be one this version reads."""
    try:
        manifest = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise BackupError(f"{MANIFEST} is not valid JSON: {error}") from error
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{MANIFEST} is not an lms backup's manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(
            f"the archive's format ({version}) is newer than this lms reads ({FORMAT_VERSION})"
        )
    database, files = manifest.get("database"), manifest.get("files")
    if not (
        isinstance(database, dict)
        and database.get("kind") in DUMP_NAMES
        and database.get("file") == DUMP_NAMES[database["kind"]]
        and isinstance(database.get("revision"), str)
        and isinstance(database.get("tables"), dict)
        and _entry_ok(database)
        and isinstance(files, list)
        and all(isinstance(entry, dict) and _entry_ok(entry) for entry in files)
        and all(_relative_ok(entry.get("path")) for entry in files)
    ):
        raise BackupError(f"{MANIFEST} is incomplete or malformed")
    return manifest


def _entry_ok(entry: dict[str, Any]) -> bool:
    sha256 = entry.get("sha256")
    return (
        isinstance(entry.get("size"), int)
        and isinstance(sha256, str)
        and len(sha256) == 64
        and all(c in "0123456789abcdef" for c in sha256)
    )


def _relative_ok(path: Any) -> bool:
    if not isinstance(path, str) or "\\" in path:
        return False
    parts = PurePosixPath(path).parts
    return bool(parts) and all(p not in ("", ".", "..", "/") and p[0] != "." for p in parts)


def _check_revision(app: Flask, revision: str) -> str:
    """The newest revision, after checking that this installation knows ``revision``: one it
    does not know was made by a newer lms, whose tables this one cannot use."""
    from alembic.script import ScriptDirectory

    from lms.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config(app))
    try:
        known = script.get_revision(revision) is not None
    except Exception:  # alembic's resolution errors: an unknown revision
        known = False
    if not known:
        raise BackupError(
            f"the backup's database is at revision {revision}, which this lms does not know: "
            "it was made by a newer version; upgrade lms before restoring it"
        )
    head = script.get_current_head()
    assert head is not None
    return head


def restore_backup(
    app: Flask,
    archive: str | Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
) -> RestoreResult:
    """Restore an archive made by :func:`create_backup` into ``app``'s database and data folder.

    Refused (:class:`RestoreRefused`, nothing changed) when the archive is damaged or not a
    backup, when it is of the other kind of database, when its revision is newer than this
    lms, or when the database has LMS data and ``force`` is not given (``warn`` is told when it
    is, before anything is replaced). Files of the data folder that the backup lacks are left
    in place. A backup of an older revision is upgraded to the newest. Stop the app and its
    workers first: the database is replaced under them.
    """
    db: Database = app.extensions["lms"].db
    folder = data_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    # inside the data folder (hidden, so never backed up): the files move into place by rename
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=folder))
    try:
        try:
            manifest, head, current = _verify(app, db, Path(archive), staging, progress)
        except BackupError as error:
            raise RestoreRefused(str(error)) from error
        except sa.exc.DBAPIError as error:
            first = (str(error.orig).strip().splitlines() or ["?"])[0]
            raise RestoreRefused(f"cannot read the database: {first}") from error
        replaced = has_data(current)
        if replaced and not force:
            raise RestoreRefused(
                "the database already has data: restore into an empty database, or give "
                "--force to replace everything in it"
            )
        if replaced and warn is not None:
            warn("The database has data: --force given, replacing it with the backup's.")
        restored = _apply(app, db, manifest, staging, folder, current, progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    upgraded = None
    if manifest["database"]["revision"] != head:
        from lms.migrate import upgrade

        upgrade(app)
        db.dispose()
        upgraded = head
    return RestoreResult(
        kind=manifest["database"]["kind"],
        revision=manifest["database"]["revision"],
        upgraded_to=upgraded,
        tables=restored,
        files=len(manifest["files"]),
        replaced=replaced,
    )


def _verify(
    app: Flask, db: Database, archive: Path, staging: Path, progress: Progress | None
) -> tuple[dict[str, Any], str, dict[str, int]]:
    """Everything a restore checks before it changes anything: the archive's files against
    its manifest, its kind and revision against this installation. The manifest, the newest
    revision, and the configured database's counts."""
    kind = _kind(db)
    if not archive.is_file():
        raise BackupError(f"{archive}: no such file")
    manifest = _unpack(archive, staging, progress)
    database = manifest["database"]
    if database["kind"] != kind:
        raise BackupError(
            f"this is a backup of a {database['kind']} database and the configured database "
            f"is {kind}: restore it into a {database['kind']} database"
        )
    head = _check_revision(app, database["revision"])
    return manifest, head, _current_counts(db)


def _apply(
    app: Flask,
    db: Database,
    manifest: dict[str, Any],
    staging: Path,
    folder: Path,
    current: dict[str, int],
    progress: Progress | None,
) -> dict[str, int]:
    """Put the verified files and database in place; the restored database's counts, checked
    against the manifest's."""
    # Files first: extra stored files are harmless if the database then fails, missing ones
    # would not be. Verified and content-addressed, each simply moves into place.
    for entry in manifest["files"]:
        target = folder / entry["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / DATA / entry["path"], target)
    _report(progress, 0, None, "restoring")
    database = manifest["database"]
    dump = staging / database["file"]
    db.dispose()  # no pooled connection keeps the old tables (or plans prepared on them)
    if db.is_sqlite:
        _restore_sqlite(app, db, dump)
    else:
        _restore_postgresql(db, dump, stale=sorted(set(current) - set(database["tables"])))
    db.dispose()
    restored = _current_counts(db)
    if restored != database["tables"]:
        differing = sorted(
            name
            for name in set(restored) | set(database["tables"])
            if restored.get(name) != database["tables"].get(name)
        )
        raise BackupError(f"the restored database does not match the backup ({differing[0]})")
    return restored
