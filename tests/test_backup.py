"""Backup and restore (lms.backup, ``lms backup``/``lms restore``) on SQLite and PostgreSQL: a
round trip into an empty database and data folder gives the same coverage report, the same
certificate hashes and PDF files and the same table counts; a restore into a database with data
(without --force), of a damaged archive, of a newer or other-kind backup is refused and changes
nothing; an older backup is upgraded; a backup taken while another thread writes is consistent.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.backup import (
    BackupError,
    RestoreRefused,
    create_backup,
    default_backup_name,
    pg_connection,
    restore_backup,
    table_counts,
)
from lms.certificates.designs import shipped_designs
from lms.certificates.models import Certificate
from lms.certificates.services import issue_certificate
from lms.cli.backup import PHASES, backup_command, restore_command
from lms.migrate import current_revision, head_revision, upgrade
from lms.org.models import Employee, Role, UnitKind
from lms.reports.coverage import CoverageSettings, as_json, coverage
from lms.storage import data_dir
from lms.training.models import LedgerEntry, LedgerSource, TrainingForm
from tests.conftest import _create_postgres_database, _drop_postgres_database, make_app

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


@pytest.fixture
def blank_app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable]:
    """``blank_app()``: an app on a new database with no tables at all (SQLite: no file yet)
    and an empty data folder; dropped at the end."""
    made: list[tuple[Any, str]] = []

    def factory() -> Any:
        folder = tmp_path_factory.mktemp("blank")
        if backend == "sqlite":
            url = "sqlite:///" + str(folder / "lms.db")
        else:
            url = _create_postgres_database("backup")
        application = make_app(url, folder / "instance")
        made.append((application, url))
        return application

    yield factory
    for application, url in made:
        application.extensions["lms"].job_runner.shutdown()
        application.extensions["lms"].db.dispose()
        if backend == "postgresql":
            _drop_postgres_database(url)


@pytest.fixture
def archives(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for archives, outside every data folder."""
    return tmp_path_factory.mktemp("archives")


def build(app: Any, db: Any, create_unit: Any, create_employee: Any, create_course: Any) -> None:
    """A small bureau: a rural office, people, two courses, ledger rows, two issued
    certificates with their stored PDFs."""
    root = create_unit("龙城供电局", kind=UnitKind.bureau)
    office = create_unit("湖塘供电所", parent=root, kind=UnitKind.rural_office, rural=True)
    people = [create_employee(unit=office) for _ in range(5)]
    head = create_employee("欧阳晓燕", unit=office, role=Role.manager, is_manager=True)
    safety = create_course(title="电力安全工作规程")
    ethics = create_course(title="职业道德", programme="professional_ethics")
    for n, (person, course) in enumerate(
        [(people[0], safety), (people[1], safety), (people[1], ethics), (head, ethics)]
    ):
        db.add(
            LedgerEntry(
                employee_id=person.id,
                programme=course.programme,
                course_id=course.id,
                title=course.title,
                form=TrainingForm.online,
                start_on=date(2026, 3, 1 + n),
                end_on=date(2026, 3, 1 + n),
                hours=Decimal("2.0"),
                passed=True,
                source=LedgerSource.online,
                source_ref=f"backup-test:{n}",
            )
        )
    db.commit()
    designs = shipped_designs()
    with app.app_context():
        for person, course, design in [
            (head, safety, "onboarding"),
            (people[0], safety, "qualification"),
        ]:
            issue_certificate(
                db,
                employee=db.get(Employee, person.id),
                course=course,
                design=designs[design],
                issued_on=date(2026, 6, 1),
                score=Decimal("90"),
                bureau="龙城供电局",
                serial_bureau="LCGD",
                verify_url=lambda code: f"https://lms.example.cn/verify/{code}",
                data_dir=data_dir(app),
                actor=None,
                now=NOW,
            )
    db.commit()


def report(app: Any) -> dict[str, Any]:
    """The coverage report of 2026 as JSON."""
    settings = CoverageSettings()
    with app.app_context():
        session = app.extensions["lms"].db.session(write=False)
        try:
            result = coverage(
                session,
                year=2026,
                as_of=date(2026, 12, 31),
                unit=None,
                settings=settings,
                zone=ZONE,
            )
            return as_json(result, settings)
        finally:
            session.close()


def certificates(app: Any) -> list[tuple[str, str, str]]:
    with app.extensions["lms"].db.engine.connect() as connection:
        rows = connection.execute(
            sa.select(Certificate.serial, Certificate.pdf_sha256, Certificate.pdf_path).order_by(
                Certificate.serial
            )
        )
        return [tuple(row) for row in rows]


def counts(app: Any) -> dict[str, int]:
    with app.extensions["lms"].db.engine.connect() as connection:
        return table_counts(connection)


def files(app: Any) -> dict[str, str]:
    """The data folder's files and their SHA-256."""
    folder = data_dir(app)
    if not folder.is_dir():
        return {}
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def backup(app: Any, archive: Path) -> None:
    result = app.test_cli_runner().invoke(backup_command, ["-o", str(archive)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {archive}" in result.stdout


def reason(result: Any) -> str:
    """The one line a failed command printed (besides its progress bars' labels)."""
    lines = result.stderr.strip().splitlines()
    assert result.exit_code != 0 and set(lines[:-1]) <= set(PHASES.values()), lines
    return lines[-1]


def rewrite(archive: Path, out: Path, change: Callable[[dict], None], rename: dict) -> None:
    """Copy an uncompressed archive with its manifest changed and members renamed."""
    with tarfile.open(archive) as source, tarfile.open(out, "w") as target:
        for member in source.getmembers():
            body = source.extractfile(member).read()
            if member.name == "manifest.json":
                manifest = json.loads(body)
                change(manifest)
                body = json.dumps(manifest).encode()
            member.name = rename.get(member.name, member.name)
            member.size = len(body)
            target.addfile(member, io.BytesIO(body))


def test_round_trip_gives_the_same_report_certificates_and_counts(
    app, db, blank_app, archives, create_unit, create_employee, create_course
) -> None:
    """Backup, then restore into an empty database and data folder: same report, same
    certificate hashes (and PDFs that hash to them), same counts; new rows go on from there."""
    build(app, db, create_unit, create_employee, create_course)
    db.rollback()
    archive = archives / "lms.tar.gz"
    backup(app, archive)
    target = blank_app()
    result = target.test_cli_runner().invoke(restore_command, [str(archive)])
    assert result.exit_code == 0, result.output
    assert "Restored lms.tar.gz" in result.stdout

    expected = report(app)
    assert expected["targets"][0]["numerator"] > 0
    assert report(target) == expected
    issued = certificates(app)
    assert len(issued) == 2 and certificates(target) == issued
    for _, sha256, pdf_path in issued:
        stored = (data_dir(target) / pdf_path).read_bytes()
        assert hashlib.sha256(stored).hexdigest() == sha256
    assert counts(target) == counts(app)
    assert files(target) == files(app)
    with target.extensions["lms"].db.transaction() as session:  # sequences carried over
        unit_id = session.scalars(sa.select(Employee.unit_id)).first()
        session.add(Employee(emp_no="NEW0001", name="新人", unit_id=unit_id))


def test_a_database_with_data_is_refused_without_force(
    app, db, archives, create_unit, create_employee, create_course
) -> None:
    """A restore into a database with data is refused and changes nothing; --force replaces
    it, saying so."""
    build(app, db, create_unit, create_employee, create_course)
    db.rollback()
    archive = archives / "lms.tar.gz"
    backup(app, archive)
    with app.extensions["lms"].db.transaction() as session:
        session.add(AuditEntry(action="test.after", object_type="test"))
    before, stored = counts(app), files(app)

    result = app.test_cli_runner().invoke(restore_command, [str(archive)])
    assert reason(result) == (
        "restore refused (nothing was changed): the database already has data: restore into "
        "an empty database, or give --force to replace everything in it"
    )
    assert counts(app) == before and files(app) == stored

    result = app.test_cli_runner().invoke(restore_command, [str(archive), "--force"])
    assert result.exit_code == 0, result.output
    assert "--force given, replacing it" in result.stderr
    after = counts(app)
    assert after["lms_audit_entry"] == before["lms_audit_entry"] - 1
    assert files(app) == stored


def test_a_damaged_archive_is_refused_before_anything_changes(
    app, db, blank_app, archives, create_unit, create_employee, create_course
) -> None:
    """A flipped byte in a stored PDF, or a truncated archive, is refused before the database
    or the data folder changes."""
    build(app, db, create_unit, create_employee, create_course)
    db.rollback()
    archive = archives / "lms.tar"
    backup(app, archive)
    with tarfile.open(archive) as tar:
        pdf = next(m for m in tar.getmembers() if m.name.startswith("data/certificates/"))
    body = bytearray(archive.read_bytes())
    body[pdf.offset_data + 100] ^= 0xFF
    flipped = archives / "flipped.tar"
    flipped.write_bytes(bytes(body))
    compressed = archives / "lms.tar.gz"
    backup(app, compressed)
    truncated = archives / "truncated.tar.gz"
    truncated.write_bytes(compressed.read_bytes()[: compressed.stat().st_size // 2])

    target = blank_app()
    for damaged, why in [(flipped, f"{pdf.name} is damaged"), (truncated, "not a readable")]:
        result = target.test_cli_runner().invoke(restore_command, [str(damaged)])
        assert why in reason(result)
        assert counts(target) == {}
        assert files(target) == {}
        assert list(data_dir(target).iterdir()) == []  # no staging folder left behind


def test_newer_and_other_kind_backups_are_refused(app, archives, backend) -> None:
    """A backup of a revision this lms does not know, or of the other kind of database, is
    refused with its reason."""
    archive = archives / "lms.tar"
    backup(app, archive)
    newer = archives / "newer.tar"
    rewrite(archive, newer, lambda m: m["database"].update(revision="ffffffffffff"), {})
    other = "postgresql" if backend == "sqlite" else "sqlite"
    dumps = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}

    def to_other(manifest: dict) -> None:
        manifest["database"].update(kind=other, file=dumps[other])

    crossed = archives / "crossed.tar"
    rewrite(archive, crossed, to_other, {dumps[backend]: dumps[other]})

    before = counts(app)
    with pytest.raises(RestoreRefused, match="does not know: it was made by a newer version"):
        restore_backup(app, newer)
    with pytest.raises(RestoreRefused, match=f"restore it into a {other} database"):
        restore_backup(app, crossed)
    assert counts(app) == before


def test_an_older_backup_is_upgraded(app, blank_app, archives) -> None:
    """A backup made at the first revision, restored into a database that `lms init` made
    (empty, at the newest revision, with tables the backup lacks), is upgraded to the newest."""
    from alembic.script import ScriptDirectory

    from lms.migrate import alembic_config

    source = blank_app()
    (first,) = ScriptDirectory.from_config(alembic_config(source)).get_bases()
    upgrade(source, first)
    archive = archives / "old.tar.gz"
    result = create_backup(source, archive)
    assert result.revision == first and "lms_certificate" not in result.tables

    restored = restore_backup(app, archive)
    assert restored.upgraded_to == head_revision(app)
    assert current_revision(app) == head_revision(app)
    assert "lms_certificate" in counts(app)


def test_a_backup_while_another_thread_writes_is_consistent(app, blank_app, archives) -> None:
    """A backup taken while another thread commits rows holds one consistent state: the
    manifest's counts are the dumped database's, and the writer was never held up for the
    length of the copy."""
    database = app.extensions["lms"].db
    with database.transaction() as session:
        session.execute(
            sa.insert(AuditEntry),
            [{"action": "bulk", "object_type": "x", "summary": "填充" * 100}] * 20_000,
        )
    stop = threading.Event()
    commits: list[float] = []

    def writer() -> None:
        while not stop.is_set():
            with database.transaction() as session:
                session.add(AuditEntry(action="write", object_type="x"))
            commits.append(time.monotonic())

    def slowly(done: int, total: int | None, phase: str) -> None:
        time.sleep(0.002)  # leave the writer room between the copy's steps

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while not commits:
            time.sleep(0.01)
        started = time.monotonic()
        result = create_backup(app, archives / "busy.tar", progress=slowly, pages_per_step=16)
        finished = time.monotonic()
    finally:
        stop.set()
        thread.join()
    assert any(started < moment < finished for moment in commits)
    rows = result.tables["lms_audit_entry"]
    assert 20_000 < rows < 20_000 + len(commits) + 1

    if database.is_sqlite:  # the dumped file itself
        with tarfile.open(archives / "busy.tar") as tar:
            dumped = archives / "dumped.sqlite3"
            dumped.write_bytes(tar.extractfile("database.sqlite3").read())
        connection = sqlite3.connect(dumped)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("SELECT count(*) FROM lms_audit_entry").fetchone() == (rows,)
        connection.close()
    # the restore checks the restored counts against the manifest's
    restored = restore_backup(blank_app(), archives / "busy.tar")
    assert restored.tables == result.tables


def test_pg_tools_get_the_password_in_the_environment() -> None:
    """pg_dump and pg_restore get the connection in one quoted argument, without the
    password, which goes in PGPASSWORD."""
    url = sa.make_url("postgresql+psycopg://lms:s3cr'et@db.example:5433/lms db?sslmode=require")
    conninfo, environment = pg_connection(url)
    assert "s3cr" not in conninfo
    assert environment["PGPASSWORD"] == "s3cr'et"
    assert conninfo == (
        "dbname='lms db' host='db.example' port='5433' user='lms' sslmode='require'"
    )


def test_backup_refuses_a_folder_and_names_by_date(app, tmp_path) -> None:
    """``-o`` naming a folder is refused in one line; the default name is the bureau's date
    and time."""
    result = app.test_cli_runner().invoke(backup_command, ["-o", str(tmp_path)])
    assert reason(result) == f"backup failed: {tmp_path} is a folder: name the archive to write"
    assert default_backup_name(app, NOW) == "lms-backup-20261129-100000.tar.gz"
    with pytest.raises(BackupError):
        restore_backup(app, tmp_path / "missing.tar.gz")
