"""Serving for real: /healthz and /readyz, request ids and request lines, the reverse proxy's
addresses, static files' cache headers, and `lms serve` itself (gunicorn, in a subprocess)."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask, has_app_context, request
from flask.cli import ScriptInfo

from lms import LMS, ConfigurationError, serving
from lms.config import SETTINGS
from lms.health import check_broker
from lms.logs import JsonFormatter, request_id_from
from lms.migrate import downgrade, upgrade
from lms.templating import _static_version
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Flask]]:
    """``build(url=None, **config)``: a standalone test app on its own SQLite file (not
    migrated) unless ``url`` names another database; the environment has no LMS_* settings."""
    for key in SETTINGS:
        monkeypatch.delenv(key, raising=False)
    apps: list[Flask] = []

    def factory(url: str | None = None, **config: Any) -> Flask:
        url = url or "sqlite:///" + str(tmp_path / f"serving-{len(apps)}.db")
        application = make_app(url, tmp_path / f"instance-{len(apps)}", **config)
        apps.append(application)
        return application

    yield factory
    for application in apps:
        application.extensions["lms"].job_runner.shutdown()
        application.extensions["lms"].db.dispose()


def show_address(application: Flask) -> None:
    """A test-only page: the address and scheme the app believes the client has."""
    application.add_url_rule(
        "/_test/address", "test_address", lambda: f"{request.remote_addr} {request.scheme}"
    )


# --- /healthz and /readyz -----------------------------------------------------------------------


def test_healthz_answers_without_the_database(build):
    """/healthz is 200 "ok" even when the database is unreachable, and sets no cookie."""
    application = build("sqlite:////nonexistent-folder/lms.db")
    response = application.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True).strip() == "ok"
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_ok(app, client):
    """On a migrated database with no broker configured: 200 and every part named."""
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"database": "ok", "migrations": "ok", "queue": "not configured"}
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "url",
    ["sqlite:////nonexistent-folder/lms.db", "postgresql+psycopg://postgres@127.0.0.1:1/none"],
)
def test_readyz_database_unreachable(build, url):
    """A database that does not answer: 503 naming it, and no error text for the public."""
    response = build(url).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {
        "database": "unreachable",
        "migrations": "not checked",
        "queue": "not configured",
    }
    assert b"Error" not in response.data and b"nonexistent" not in response.data


def test_readyz_migrations_behind_or_unknown(build):
    """An empty database, one a migration behind, or one at a revision this code does not know:
    503 naming the migrations; at the head again, 200."""
    application = build()
    client = application.test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["database"] == "ok" and response.json["migrations"] == "behind"

    upgrade(application)
    assert client.get("/readyz").status_code == 200
    downgrade(application, "-1")
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["migrations"] == "behind"

    upgrade(application)
    with application.extensions["lms"].db.engine.begin() as connection:
        connection.execute(sa.text("UPDATE lms_alembic_version SET version_num = 'f00dfeed'"))
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["migrations"] == "unknown revision"


class FakeRedis:
    """A Redis stand-in on a free port: answers AUTH (with ``password``) and PING, and records
    the commands it was sent."""

    def __init__(self, password: str | None = None) -> None:
        self.password = password
        self.commands: list[bytes] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                authenticated = self.password is None
                while data := connection.recv(4096):
                    self.commands.append(data)
                    if b"AUTH" in data:
                        authenticated = self.password is not None and self.password.encode() in data
                        connection.sendall(b"+OK\r\n" if authenticated else b"-WRONGPASS\r\n")
                    elif b"PING" in data:
                        connection.sendall(b"+PONG\r\n" if authenticated else b"-NOAUTH\r\n")

    def close(self) -> None:
        self.server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_broker_check_speaks_redis():
    """PING (after AUTH when the URL has a password) is ok; a refused password, a closed port
    and a server that is not Redis are unreachable; no URL is not configured."""
    plain, secret = FakeRedis(), FakeRedis(password="s3cret")
    try:
        assert check_broker("") == "not configured"
        assert check_broker(f"redis://127.0.0.1:{plain.port}/0") == "ok"
        assert plain.commands[-1] == b"*1\r\n$4\r\nPING\r\n"
        assert check_broker(f"redis://:s3cret@127.0.0.1:{secret.port}/0") == "ok"
        assert secret.commands[0] == b"*2\r\n$4\r\nAUTH\r\n$6\r\ns3cret\r\n"
        assert check_broker(f"redis://:wrong@127.0.0.1:{secret.port}/0") == "unreachable"
        assert check_broker(f"redis://127.0.0.1:{secret.port}/0") == "unreachable"  # NOAUTH
        assert check_broker(f"redis://127.0.0.1:{closed_port()}/0", timeout=1) == "unreachable"
        assert check_broker(f"amqp://guest@127.0.0.1:{plain.port}//") == "ok"  # TCP only
        assert check_broker(f"amqp://guest@127.0.0.1:{closed_port()}//") == "unreachable"
        assert check_broker("sqs://") == "not checked"
    finally:
        plain.close()
        secret.close()


def test_broker_check_times_out_quickly():
    """A broker that accepts but never answers costs at most the timeout."""
    silent = socket.create_server(("127.0.0.1", 0))
    try:
        started = time.monotonic()
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        assert check_broker(url, timeout=0.5) == "unreachable"
        assert time.monotonic() - started < 3
    finally:
        silent.close()


def test_broker_check_with_the_machines_redis():
    """The real Redis of the machine, when there is one, answers PING."""
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("no Redis at 127.0.0.1:6379")
    assert check_broker("redis://127.0.0.1:6379/0") == "ok"


def test_readyz_with_a_broker(app, database_url, tmp_path):
    """A configured broker is part of readiness: ok when it answers, 503 when it does not; one
    this check cannot speak to does not hold readiness back."""
    redis = FakeRedis()
    apps = [
        make_app(database_url, tmp_path / "a", LMS_CELERY_BROKER_URL=f"redis://127.0.0.1:{port}")
        for port in (redis.port, closed_port())
    ]
    apps.append(make_app(database_url, tmp_path / "b", LMS_CELERY_BROKER_URL="sqs://"))
    try:
        response = apps[0].test_client().get("/readyz")
        assert response.status_code == 200 and response.json["queue"] == "ok"
        response = apps[1].test_client().get("/readyz")
        assert response.status_code == 503
        assert response.json == {"database": "ok", "migrations": "ok", "queue": "unreachable"}
        response = apps[2].test_client().get("/readyz")  # a transport the check does not speak
        assert response.status_code == 200 and response.json["queue"] == "not checked"
    finally:
        redis.close()
        for application in apps:
            application.extensions["lms"].db.dispose()


# --- request ids and request lines --------------------------------------------------------------


def test_request_id_is_echoed_or_made(build):
    """A sane X-Request-ID comes back as it was; a missing, long or odd one is replaced."""
    client = build().test_client()
    assert client.get("/healthz", headers={"X-Request-ID": "lb-1.a_B"}).headers["X-Request-ID"] == (
        "lb-1.a_B"
    )
    assert client.get("/healthz", headers={"X-Request-ID": "x" * 64}).headers["X-Request-ID"] == (
        "x" * 64
    )
    for bad in ("x" * 65, "two words", "a\tb", "<script>", "名字", ""):
        made = client.get("/healthz", headers={"X-Request-ID": bad}).headers["X-Request-ID"]
        assert made != bad and len(made) == 32 and int(made, 16) >= 0
    first, second = (client.get("/healthz").headers["X-Request-ID"] for _ in range(2))
    assert first != second
    assert request_id_from(None) != request_id_from(None)


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "lms.request"]


def test_request_line_carries_the_request(app, client, create_employee, login, caplog):
    """One record per request with its id, method, path, status, duration, the signed-in
    employee's id and the address; probes stay out of the info-level log."""
    person = create_employee()
    login(person)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="lms"):
        client.get("/", headers={"X-Request-ID": "req-42"})
        client.get("/healthz")
        client.get("/readyz")
    [line] = request_lines(caplog)
    assert line.request_id == "req-42"
    assert (line.method, line.path, line.status) == ("GET", "/", 200)
    assert line.user_id == person.id
    assert line.getMessage().endswith(f"from 127.0.0.1 user {person.id}")
    assert line.remote_addr == "127.0.0.1"
    assert isinstance(line.duration_ms, float) and line.duration_ms >= 0


def test_anonymous_request_line_has_no_user(build, caplog):
    """An anonymous request is logged without a user id (and without loading one)."""
    client = build().test_client()
    with caplog.at_level(logging.INFO, logger="lms"):
        client.get("/login")
    [line] = request_lines(caplog)
    assert line.user_id is None and line.status == 200


def test_records_inside_a_request_carry_its_id(build, caplog):
    """A warning logged while a request is handled names the request's id."""
    application = build()

    @application.route("/_test/warn")
    def warn() -> str:
        logging.getLogger("lms.somewhere").warning("something odd")
        return "warned"

    with caplog.at_level(logging.INFO, logger="lms"):
        application.test_client().get("/_test/warn", headers={"X-Request-ID": "w-1"})
    [record] = [r for r in caplog.records if r.getMessage() == "something odd"]
    # the LMS's handler adds it as the record passes through; the record is shared
    assert record.request_id == "w-1"


def test_json_lines_on_standard_output(build, capsys):
    """With LMS_LOG_FORMAT=json the request line is one JSON object on standard output, other
    records go to standard error."""
    application = build(LMS_LOG_FORMAT="json")

    @application.route("/_test/warn")
    def warn() -> str:
        logging.getLogger("lms.somewhere").warning("路径 odd")
        return "warned"

    capsys.readouterr()
    application.test_client().get("/_test/warn", headers={"X-Request-ID": "j-1"})
    out, err = capsys.readouterr()
    [line] = [json.loads(text) for text in out.splitlines() if text.startswith("{")]
    assert line["request_id"] == "j-1"
    assert {"time", "level", "method", "path", "status", "duration_ms", "remote_addr"} <= set(line)
    assert (line["level"], line["path"], line["status"]) == ("info", "/_test/warn", 200)
    assert line["time"].endswith("Z")
    [warning] = [json.loads(text) for text in err.splitlines() if "odd" in text]
    assert warning["message"] == "路径 odd" and warning["request_id"] == "j-1"
    assert warning["level"] == "warning"


def test_a_crash_is_logged_with_its_request_id(build, caplog):
    """An unhandled error: the 500 page carries the request id, and both the traceback and
    the request line (at error level) name it."""
    application = build(TESTING=False)

    @application.route("/_test/crash")
    def crash() -> str:
        raise RuntimeError("boom")

    with caplog.at_level(logging.INFO, logger="lms"):
        response = application.test_client().get("/_test/crash", headers={"X-Request-ID": "c-1"})
    assert response.status_code == 500 and response.headers["X-Request-ID"] == "c-1"
    [traceback] = [r for r in caplog.records if r.exc_info and r.name == "lms"]
    assert traceback.request_id == "c-1"
    [line] = request_lines(caplog)
    assert line.levelno == logging.ERROR and line.status == 500


def test_json_formatter_keeps_tracebacks():
    """An exception's traceback is one field of the one line."""
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("lms.x").makeRecord(
            "lms.x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "failed" and "ValueError: boom" in entry["exception"]


def test_text_lines_escape_control_characters(build, caplog):
    """A path with a newline cannot forge a second line."""
    with caplog.at_level(logging.INFO, logger="lms"):
        build().test_client().get("/a%0Afake%20line")
    [line] = request_lines(caplog)
    assert "\n" not in line.getMessage() and "\\n" in line.getMessage()


def test_log_format_is_checked(build):
    """LMS_LOG_FORMAT other than text or json stops the start with what to set."""
    with pytest.raises(ConfigurationError, match="LMS_LOG_FORMAT"):
        build(LMS_LOG_FORMAT="xml")


# --- behind a reverse proxy ---------------------------------------------------------------------


def test_no_trusted_proxy_ignores_forwarded_headers(build):
    """By default X-Forwarded-For and -Proto are anyone's say: ignored."""
    application = build()
    show_address(application)
    response = application.test_client().get(
        "/_test/address", headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    )
    assert response.get_data(as_text=True) == "127.0.0.1 http"


@pytest.mark.parametrize(
    ("proxies", "expected"), [(1, "198.51.100.2 https"), (2, "203.0.113.9 https")]
)
def test_trusted_proxies_give_the_client_address(build, proxies, expected):
    """With LMS_TRUSTED_PROXIES=n the client is the n-th address from the right (what the
    outermost trusted proxy saw); a value the client put first is never believed."""
    application = build(LMS_TRUSTED_PROXIES=proxies)
    show_address(application)
    response = application.test_client().get(
        "/_test/address",
        headers={
            "X-Forwarded-For": "10.6.6.6, 203.0.113.9, 198.51.100.2",
            "X-Forwarded-Proto": "https",
        },
    )
    assert response.get_data(as_text=True) == expected


def test_trusted_proxies_from_the_environment(build, monkeypatch):
    """LMS_TRUSTED_PROXIES is read from the environment as a number; a negative one is refused."""
    monkeypatch.setenv("LMS_TRUSTED_PROXIES", "1")
    application = build()
    show_address(application)
    response = application.test_client().get(
        "/_test/address", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert response.get_data(as_text=True).split()[0] == "203.0.113.9"
    with pytest.raises(ConfigurationError, match="LMS_TRUSTED_PROXIES"):
        build(LMS_TRUSTED_PROXIES=-1)


def test_verification_rate_limit_counts_the_client_behind_the_proxy(
    app, client, database_url, tmp_path
):
    """The verification page's per-address limit applies to each client behind the proxy,
    not to the proxy; without a trusted proxy a forged header does not escape the limit."""
    trusting = make_app(
        database_url, tmp_path / "t", LMS_TRUSTED_PROXIES=1, LMS_VERIFY_PER_MINUTE=1
    )
    try:
        proxied = trusting.test_client()
        code = "x" * 22

        def status(c: Any, forwarded: str) -> int:
            return c.get(f"/verify/{code}", headers={"X-Forwarded-For": forwarded}).status_code

        assert status(proxied, "203.0.113.1") == 404  # looked up: no such certificate
        assert status(proxied, "203.0.113.1") == 429
        assert status(proxied, "203.0.113.2") == 404  # another client, its own limit
    finally:
        trusting.extensions["lms"].db.dispose()
    app.config["LMS_VERIFY_PER_MINUTE"] = 1
    assert status(client, "192.0.2.1") == 404
    assert status(client, "192.0.2.2") == 429  # the same peer: the header changes nothing


# --- static files -------------------------------------------------------------------------------


def test_static_files_cache_headers(build):
    """With the file's current hash: a year, immutable (also on a 304); without it, or with an
    old one: five minutes."""
    client = build().test_client()
    version = _static_version("lms.css")
    response = client.get(f"/static/lms/lms.css?v={version}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    again = client.get(
        f"/static/lms/lms.css?v={version}", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    for query in ("", "?v=0123456789", "?v="):
        response = client.get(f"/static/lms/lms.css{query}")
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=300"
    missing = client.get(f"/static/lms/nothing.css?v={version}")
    assert missing.status_code == 404 and "immutable" not in missing.headers.get(
        "Cache-Control", ""
    )


def test_pages_link_static_files_that_cache(build):
    """The URL a page writes for a static file is the one cached for a year."""
    application = build()
    with application.test_request_context("/"):
        url = application.jinja_env.globals["lms_static"]("lms.css")
    response = application.test_client().get(url)
    assert response.headers["Cache-Control"].endswith("immutable")


# --- plugin mode --------------------------------------------------------------------------------


def test_plugin_mode_leaves_the_host_alone(build, tmp_path):
    """Mounted in a host: no ProxyFix, request ids or request lines on the host, even with
    LMS_TRUSTED_PROXIES set; the probes and static caching live under the LMS's prefix."""
    build()  # only for the environment and the clean-up of LMS_* variables
    host = Flask("host", instance_path=str(tmp_path / "host"))
    original = host.wsgi_app
    host.config.update(
        SECRET_KEY="host-secret",
        TESTING=True,
        LMS_DATABASE_URL="sqlite:///" + str(tmp_path / "host.db"),
        LMS_TRUSTED_PROXIES=1,
    )

    @host.route("/")
    def index() -> str:
        return f"host {request.remote_addr}"

    LMS().init_app(host, url_prefix="/training")
    try:
        assert host.wsgi_app == original
        client = host.test_client()
        response = client.get("/", headers={"X-Forwarded-For": "203.0.113.9"})
        assert response.get_data(as_text=True) == "host 127.0.0.1"
        assert "X-Request-ID" not in response.headers
        assert client.get("/healthz").status_code == 404
        assert client.get("/training/healthz").status_code == 200
        assert client.get("/training/readyz").json["migrations"] == "behind"
        version = _static_version("lms.css")
        response = client.get(f"/training/static/lms/lms.css?v={version}")
        assert response.headers["Cache-Control"].endswith("immutable")
    finally:
        host.extensions["lms"].db.dispose()


# --- lms serve ----------------------------------------------------------------------------------


def test_serve_command_options(build, monkeypatch):
    """`lms serve` hands gunicorn sync workers, one per core, the bind from LMS_BIND, a preloaded
    app, and runs it outside any app context."""
    application = build(LMS_BIND="127.0.0.1:9123")
    seen: dict[str, Any] = {}

    def fake_run(served: Flask, options: dict[str, Any]) -> None:
        seen.update(options, app=served, in_context=has_app_context())

    monkeypatch.setattr(serving, "run_gunicorn", fake_run)
    info = ScriptInfo(create_app=lambda: application, set_debug_flag=False)
    result = CliRunner().invoke(serving.serve_command, [], obj=info)
    assert result.exit_code == 0, result.output
    assert seen["app"] is application and seen["in_context"] is False
    assert seen["bind"] == ["127.0.0.1:9123"]
    assert seen["workers"] == (os.cpu_count() or 1)
    assert seen["worker_class"] == "sync" and seen["preload_app"] is True
    assert seen["timeout"] == 60 and seen["max_requests"] > 0 and seen["max_requests_jitter"] > 0
    assert "logger_class" in seen  # JSON logs by default under `lms serve`

    result = CliRunner().invoke(
        serving.serve_command,
        ["--bind", "unix:/tmp/lms.sock", "--workers", "3", "--timeout", "90"],
        obj=info,
    )
    assert result.exit_code == 0, result.output
    assert (seen["bind"], seen["workers"], seen["timeout"]) == (["unix:/tmp/lms.sock"], 3, 90)


def test_serve_command_text_logs_on_request(build, monkeypatch):
    """LMS_LOG_FORMAT=text keeps gunicorn's own format under `lms serve` too."""
    application = build(LMS_LOG_FORMAT="text")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(serving, "run_gunicorn", lambda served, options: seen.update(options))
    info = ScriptInfo(create_app=lambda: application, set_debug_flag=False)
    assert CliRunner().invoke(serving.serve_command, [], obj=info).exit_code == 0
    assert "logger_class" not in seen


def test_serve_command_refuses_plugin_mode(build, tmp_path, monkeypatch):
    """`flask lms serve` in a host app says to serve the host with its own server."""
    build()
    host = Flask("host", instance_path=str(tmp_path / "host"))
    host.config.update(SECRET_KEY="s", LMS_DATABASE_URL="sqlite:///" + str(tmp_path / "h.db"))
    LMS().init_app(host, url_prefix="/training")
    monkeypatch.setattr(serving, "run_gunicorn", lambda *args: pytest.fail("served"))
    info = ScriptInfo(create_app=lambda: host, set_debug_flag=False)
    result = CliRunner().invoke(serving.serve_command, [], obj=info)
    assert result.exit_code == 1 and "host application" in result.output
    host.extensions["lms"].db.dispose()


#: the console script `lms`, with `serve` registered if lms/cli does not register it (yet)
LAUNCH = (
    "from lms.cli import cli, main; from lms.serving import serve_command; "
    "cli.commands.setdefault('serve', serve_command); main()"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request_ = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request_, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_lms_serve_for_real(tmp_path):
    """`lms serve` on a fresh SQLite database: /healthz comes up, /readyz says ready, a page's
    request id comes back and is on its JSON request line, and SIGTERM stops it cleanly."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("LMS_")}
    env.pop("FLASK_DEBUG", None)
    env.update(
        LMS_INSTANCE_PATH=str(tmp_path / "instance"),
        LMS_DATABASE_URL="sqlite:///" + str(tmp_path / "lms.db"),
        LMS_DATA_DIR=str(tmp_path / "data"),
        LMS_SECRET_KEY="serve-test-secret",
    )
    command = [sys.executable, "-c", LAUNCH]
    init = subprocess.run(
        [*command, "init"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert init.returncode == 0, init.stderr

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out.open("w") as stdout, err.open("w") as stderr:
        server = subprocess.Popen(
            [*command, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            env=env,
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, err.read_text()
            try:
                status, _, body = fetch(f"{base}/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no /healthz within 60 s:\n" + err.read_text()
            time.sleep(0.2)
        assert body == b"ok\n"

        status, headers, body = fetch(f"{base}/readyz", {"X-Request-ID": "probe-1"})
        assert status == 200, body
        assert json.loads(body) == {"database": "ok", "migrations": "ok", "queue": "not configured"}
        assert headers["X-Request-ID"] == "probe-1"

        status, headers, _ = fetch(f"{base}/login", {"X-Request-ID": "serve-test-1"})
        assert status == 200 and headers["X-Request-ID"] == "serve-test-1"
        status, headers, _ = fetch(f"{base}/login", {"X-Request-ID": "bad id"})
        made = headers["X-Request-ID"]
        assert made != "bad id" and len(made) == 32
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=45)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            raise
    assert code == 0, err.read_text()

    lines = [json.loads(text) for text in out.read_text().splitlines() if text.startswith("{")]
    [login_line] = [line for line in lines if line.get("request_id") == "serve-test-1"]
    assert (login_line["method"], login_line["path"], login_line["status"]) == (
        "GET",
        "/login",
        200,
    )
    assert login_line["level"] == "info" and login_line["remote_addr"] == "127.0.0.1"
    assert any(line.get("request_id") == made for line in lines)
    assert not any(line.get("path") in ("/healthz", "/readyz") for line in lines)  # quiet probes
    messages = [
        json.loads(text)["message"] for text in err.read_text().splitlines() if text.startswith("{")
    ]
    assert any("Booting worker" in message for message in messages)  # gunicorn's, in JSON too
