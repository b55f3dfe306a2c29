"""The standalone app: secret key, configuration sources and types, cookies, error pages, the
SQLite engine's locking, and UTC timestamps."""

from __future__ import annotations

import stat
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

import lms
from lms import ConfigurationError, create_app, ensure_secret_file
from lms.config import SETTINGS, apply_defaults, environment_values, parse_value
from lms.db import UTCDateTime
from lms.jobs.models import Job


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Flask]]:
    """``build(**config)``: a standalone app with its instance folder in ``tmp_path/instance``,
    a clean environment (no LMS_* variables, no debug), and its own SQLite database there."""
    for key in [*SETTINGS, "FLASK_DEBUG"]:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path / "instance"))
    apps: list[Flask] = []

    def factory(**config: Any) -> Flask:
        application = create_app(config)
        apps.append(application)
        return application

    yield factory
    for application in apps:
        application.extensions["lms"].job_runner.shutdown()
        application.extensions["lms"].db.dispose()


# --- secret key ---------------------------------------------------------------------------------


def test_missing_secret_key_is_a_clear_error(build, tmp_path):
    """Outside debug and testing, no secret key stops the start with what to set."""
    with pytest.raises(ConfigurationError) as error:
        build()
    message = str(error.value)
    assert "LMS_SECRET_KEY" in message
    assert "lms init" in message
    assert str(tmp_path / "instance" / "secret_key") in message


def test_debug_and_testing_start_without_secret_key(build):
    """In development a throwaway key is made, so that `lms run --debug` just works."""
    assert build(TESTING=True).secret_key
    assert build(DEBUG=True).secret_key


def test_secret_file_is_private_and_used(build, tmp_path):
    """ensure_secret_file writes a random key readable by its owner only; create_app uses it."""
    path = ensure_secret_file(tmp_path / "instance")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text()
    assert len(key) >= 32
    assert build().config["SECRET_KEY"] == key


def test_secret_file_is_never_replaced(tmp_path):
    """A second call keeps the existing key: replacing it would sign everybody out."""
    path = ensure_secret_file(tmp_path)
    key = path.read_text()
    assert ensure_secret_file(tmp_path) == path
    assert path.read_text() == key


def test_relative_instance_path(build, tmp_path, monkeypatch):
    """LMS_INSTANCE_PATH may be relative (to the working directory)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LMS_INSTANCE_PATH", "relative-instance")
    assert build(TESTING=True).instance_path == str(tmp_path / "relative-instance")


def test_secret_key_from_environment_beats_file(build, tmp_path, monkeypatch):
    """LMS_SECRET_KEY in the environment wins over the instance file."""
    ensure_secret_file(tmp_path / "instance")
    monkeypatch.setenv("LMS_SECRET_KEY", "from-the-environment")
    assert build().config["SECRET_KEY"] == "from-the-environment"


# --- configuration ------------------------------------------------------------------------------


def test_every_setting_is_documented_and_defaulted(build):
    """Each LMS_* key has a meaning and lands in app.config with its (typed) default."""
    app = build(TESTING=True)
    for key, setting in SETTINGS.items():
        assert key.startswith("LMS_"), key
        assert setting.doc.strip(), f"{key} has no documentation"
        assert key in app.config, key
        expected = setting.default
        if isinstance(expected, str) and setting.kind is not str:
            expected = parse_value(key, expected)
        if key != "LMS_SECRET_KEY":
            assert app.config[key] == expected, key
    assert app.config["LMS_LOCALES"] == ["zh_Hans_CN", "en"]


def test_environment_beats_instance_file_and_config_beats_both(build, tmp_path, monkeypatch):
    """Sources, later winning: defaults, instance/lms.cfg, environment, create_app(config)."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "lms.cfg").write_text(
        'LMS_PAGE_SIZE = 30\nLMS_BUREAU_NAME = "文件里的局"\nLMS_JOB_THREADS = 3\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("LMS_PAGE_SIZE", "40")
    monkeypatch.setenv("LMS_JOB_THREADS", "4")
    app = build(TESTING=True, LMS_JOB_THREADS=5)
    assert app.config["LMS_BUREAU_NAME"] == "文件里的局"  # file over default
    assert app.config["LMS_PAGE_SIZE"] == 40  # environment over file, parsed as int
    assert app.config["LMS_JOB_THREADS"] == 5  # config over environment


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [
        ("LMS_PAGE_SIZE", " 25 ", 25),
        ("LMS_DATABASE_ECHO", "1", True),
        ("LMS_DATABASE_ECHO", "true", True),
        ("LMS_DATABASE_ECHO", "是", True),
        ("LMS_DATABASE_ECHO", "off", False),
        ("LMS_DATABASE_ECHO", "否", False),
        ("LMS_SESSION_COOKIE_SECURE", "0", False),
        ("LMS_LOCALES", "zh_Hans_CN, en ,", ["zh_Hans_CN", "en"]),
        ("LMS_BUREAU_NAME", "龙城供电局", "龙城供电局"),
    ],
)
def test_typed_parsing(key, raw, value):
    """Environment text becomes an int, a bool (1/0, true/false, 是/否...) or a list."""
    assert parse_value(key, raw) == value


@pytest.mark.parametrize(("key", "raw"), [("LMS_PAGE_SIZE", "fifty"), ("LMS_DATABASE_ECHO", "2")])
def test_bad_typed_value_names_the_key(key, raw):
    """A value of the wrong type is an error that names the variable, not a silent default."""
    with pytest.raises(ConfigurationError, match=key):
        parse_value(key, raw)


def test_empty_variable_counts_as_unset():
    """LMS_PAGE_SIZE= (empty) leaves the default instead of failing."""
    assert environment_values({"LMS_PAGE_SIZE": "", "LMS_JOB_THREADS": "3"}) == {
        "LMS_JOB_THREADS": 3
    }


def test_host_settings_win_and_text_is_parsed():
    """apply_defaults (plugin mode) keeps a host's own values, parsing those given as text."""
    config = {"LMS_PAGE_SIZE": "20", "LMS_BUREAU_NAME": "主机局"}
    apply_defaults(config, environ={"LMS_PAGE_SIZE": "99", "LMS_JOB_THREADS": "7"})
    assert config["LMS_PAGE_SIZE"] == 20
    assert config["LMS_BUREAU_NAME"] == "主机局"
    assert config["LMS_JOB_THREADS"] == 7


def test_package_exports():
    """The public names: create_app, LMS, ConfigurationError, ensure_secret_file."""
    assert {"create_app", "LMS", "ConfigurationError", "ensure_secret_file"} <= set(lms.__all__)


# --- cookies, uploads, error pages --------------------------------------------------------------


def test_session_cookie_is_hardened(build, tmp_path):
    """Standalone: the LMS's own HttpOnly, SameSite=Lax cookie, Secure outside development."""
    ensure_secret_file(tmp_path / "instance")
    config = build().config
    assert config["SESSION_COOKIE_NAME"] == "lms_session"
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["REMEMBER_COOKIE_SECURE"] is True


def test_cookie_settings_can_be_changed(build):
    """LMS_SESSION_COOKIE_SECURE=0 allows plain HTTP; a cookie name set on purpose is kept."""
    config = build(
        TESTING=True, LMS_SESSION_COOKIE_SECURE=False, SESSION_COOKIE_NAME="bureau"
    ).config
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_NAME"] == "bureau"


def test_unknown_page_is_the_lms_404_with_headers(client):
    """Any unknown URL gets the LMS's own 404 page and its security headers."""
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "lms.css" in response.get_data(as_text=True)
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"LMS_MAX_UPLOAD_MB": 1}


def test_upload_limit(client):
    """A request body over LMS_MAX_UPLOAD_MB is refused with 413 and a friendly page."""
    response = client.post("/language", data={"locale": "en", "blob": "x" * (2 * 1024 * 1024)})
    assert response.status_code == 413
    assert "lms.css" in response.get_data(as_text=True)


# --- SQLite: WAL, busy timeout, foreign keys, BEGIN IMMEDIATE -----------------------------------


def migrated_sqlite_app(build: Callable[..., Flask], **config: Any) -> Flask:
    from lms.migrate import upgrade

    app = build(TESTING=True, **config)
    upgrade(app)
    return app


def test_sqlite_pragmas(build):
    """Every SQLite connection is in WAL mode, with the busy timeout and foreign keys on."""
    app = migrated_sqlite_app(build, LMS_SQLITE_BUSY_TIMEOUT_MS=1234)
    with app.extensions["lms"].db.engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("busy_timeout") == 1234
        assert pragma("foreign_keys") == 1


def test_write_sessions_begin_immediate_and_read_sessions_do_not(build):
    """Write sessions start with BEGIN IMMEDIATE (the write lock up front), read ones with BEGIN."""
    database = migrated_sqlite_app(build).extensions["lms"].db
    begins: list[str] = []
    sa.event.listen(
        database.engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *args: (
            begins.append(statement) if statement.startswith("BEGIN") else None
        ),
    )
    with database.session(write=True) as session:
        session.execute(sa.select(1))
    with database.session(write=False) as session:
        session.execute(sa.select(1))
    assert begins == ["BEGIN IMMEDIATE", "BEGIN"]


def add_job(session: Any, kind: str) -> None:
    session.add(Job(kind=kind))
    session.flush()


def test_second_writer_waits_for_the_first(build):
    """Two write sessions: the second waits at BEGIN until the first commits, then succeeds."""
    database = migrated_sqlite_app(build).extensions["lms"].db
    first = database.session(write=True)
    add_job(first, "first")  # holds the write lock from here
    outcome: dict[str, Any] = {}

    def second_writer() -> None:
        started = time.monotonic()
        try:
            with database.transaction() as session:
                add_job(session, "second")
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            outcome["error"] = exc
        outcome["waited"] = time.monotonic() - started

    thread = threading.Thread(target=second_writer)
    thread.start()
    time.sleep(0.4)
    assert thread.is_alive()  # still waiting for the lock
    first.commit()
    first.close()
    thread.join(10)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["waited"] >= 0.3
    with database.session(write=False) as session:
        assert session.scalars(sa.select(Job.kind).order_by(Job.id)).all() == ["first", "second"]


def test_reader_is_not_blocked_by_writer(build):
    """In WAL a reader reads the last committed state while a writer holds the lock; another
    writer, with a short busy timeout, fails at BEGIN, before it has done any work."""
    database = migrated_sqlite_app(build, LMS_SQLITE_BUSY_TIMEOUT_MS=100).extensions["lms"].db
    with database.transaction() as session:
        add_job(session, "committed")
    writer = database.session(write=True)
    add_job(writer, "uncommitted")
    try:
        started = time.monotonic()
        with database.session(write=False) as reader:
            assert reader.scalars(sa.select(Job.kind)).all() == ["committed"]
        assert time.monotonic() - started < 0.09
        other = database.session(write=True)
        with pytest.raises(sa.exc.OperationalError, match="locked"):
            other.execute(sa.select(1))
        other.close()
    finally:
        writer.rollback()
        writer.close()


# --- UTC timestamps -----------------------------------------------------------------------------


def test_utc_datetime_refuses_naive():
    """A naive datetime cannot be stored: its time zone would be a guess."""
    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 3, 15, 8, 0), None)


def test_utc_datetime_round_trip(app, db):
    """A Beijing-time timestamp is stored as UTC and read back aware, in UTC, on both databases."""
    beijing = timezone(timedelta(hours=8))
    db.add(Job(kind="utc", started_at=datetime(2026, 3, 15, 8, 30, tzinfo=beijing)))
    db.commit()
    db.expunge_all()
    job = db.scalar(sa.select(Job).where(Job.kind == "utc"))
    assert job.started_at == datetime(2026, 3, 15, 0, 30, tzinfo=UTC)
    assert job.started_at.tzinfo is UTC
    assert job.created_at.tzinfo is UTC
    raw = db.execute(sa.text("SELECT started_at FROM lms_job")).scalar()
    if isinstance(raw, datetime):
        assert raw.replace(tzinfo=None) == datetime(2026, 3, 15, 0, 30)
    else:  # SQLite keeps text
        assert str(raw).startswith("2026-03-15 00:30")


def test_lms_command_without_secret_says_so_plainly(tmp_path):
    """The lms command in an unconfigured instance fails with the reason, not a traceback."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "LMS_INSTANCE_PATH": str(tmp_path / "none")}
    env.pop("LMS_SECRET_KEY", None)
    script = "import sys; sys.argv = ['lms', 'routes']; from lms.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode != 0
    assert "lms init" in done.stderr and "Traceback" not in done.stderr
