"""``/healthz`` (the process answers) and ``/readyz`` (it can serve: database, schema, queue).

For load balancers and orchestrators: no sign-in, no session, no CSRF, nothing rendered. The
blueprint is registered beside the ``lms`` blueprint, under the same prefix: at the root of the
standalone app, and at ``<prefix>/healthz`` in a host app (the host's own root stays the host's,
and its probes can still ask whether the LMS part is ready). Neither answer says more than
which part failed; the reason goes to the log.
"""

from __future__ import annotations

import logging
import socket
import ssl
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask import Blueprint, Flask, Response, current_app, jsonify

from lms.db import Database

if TYPE_CHECKING:  # Alembic is imported on the first probe, not with every app
    from alembic.script import ScriptDirectory

log = logging.getLogger(__name__)

bp = Blueprint("lms_health", __name__)

#: seconds a readiness probe waits for the broker: a probe must answer quickly
BROKER_TIMEOUT_S = 2.0
NO_STORE = {"Cache-Control": "no-store"}
OK = "ok"
QUEUE_NOT_CONFIGURED = "not configured"
QUEUE_NOT_CHECKED = "not checked"


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and answering; touches nothing else."""
    return Response("ok\n", mimetype="text/plain", headers=NO_STORE)


@bp.get("/readyz")
def readyz() -> tuple[Response, int, dict[str, str]]:
    """200 when the database answers, its LMS tables are at the newest migration and the queue
    (if one is configured) answers; otherwise 503. The JSON names each part's state."""
    readiness = check_readiness(current_app._get_current_object())  # type: ignore[attr-defined]
    return jsonify(readiness.checks), 200 if readiness.ready else 503, NO_STORE


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return (
            self.checks["database"] == OK
            and self.checks["migrations"] == OK
            and self.checks["queue"] in (OK, QUEUE_NOT_CONFIGURED, QUEUE_NOT_CHECKED)
        )


def check_readiness(app: Flask) -> Readiness:
    database, migrations = check_database(app.extensions["lms"].db, script_directory(app))
    queue = check_broker(app.config.get("LMS_CELERY_BROKER_URL") or "")
    return Readiness({"database": database, "migrations": migrations, "queue": queue})


@lru_cache(maxsize=4)
def _script_directory(location: str) -> ScriptDirectory:
    """Reading the migration scripts takes a while and they do not change while the process
    runs: they are read once."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", location)
    return ScriptDirectory.from_config(config)


def script_directory(app: Flask) -> ScriptDirectory:
    """The LMS's migration scripts (read once per process)."""
    from lms.migrate import alembic_config, shipped_dir

    location = alembic_config(app).get_main_option("script_location")
    return _script_directory(location or str(shipped_dir("migrations")))


def check_database(database: Database, script: ScriptDirectory) -> tuple[str, str]:
    """``(database, migrations)``. Database: ``ok`` or ``unreachable``. Migrations: ``ok``,
    ``behind`` (older, or none: run ``lms init``), ``unknown revision`` (migrated by newer
    code) or ``not checked``."""
    from alembic.runtime.migration import MigrationContext

    from lms.migrate import VERSION_TABLE

    try:
        with database.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            try:
                context = MigrationContext.configure(
                    connection, opts={"version_table": VERSION_TABLE}
                )
                current = set(context.get_current_heads())
            except Exception:
                log.exception("readiness: the migration state could not be read")
                return OK, "not checked"
    except Exception as exc:
        log.warning("readiness: the database is unreachable: %s", _first_line(exc))
        return "unreachable", "not checked"
    heads = set(script.get_heads())
    if current == heads:
        return OK, OK
    log.warning(
        "readiness: the database is at %s, this code's newest is %s",
        ", ".join(sorted(current)) or "no revision",
        ", ".join(sorted(heads)),
    )
    return OK, "behind" if all(_known(script, rev) for rev in current) else "unknown revision"


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:  # alembic: "Can't locate revision identified by ..."
        return False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


# --- the queue's broker -------------------------------------------------------------------------


def check_broker(url: str, timeout: float = BROKER_TIMEOUT_S) -> str:
    """``not configured`` (no URL), ``ok`` (it answered), ``unreachable``, or ``not checked``
    (a transport this check does not speak, such as SQS: it does not hold readiness back).

    Redis (``redis://``, ``rediss://``, ``redis+socket://``): connect, ``AUTH`` if the URL has a
    password, ``PING``, expect ``+PONG``. AMQP (``amqp://``, ``amqps://``, ``pyamqp://``): a TCP
    (or TLS) connection. No client library needed; ``timeout`` bounds every step.
    """
    if not url.strip():
        return QUEUE_NOT_CONFIGURED
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        if scheme in ("redis", "rediss", "redis+socket"):
            _redis_ping(parts, timeout)
        elif scheme in ("amqp", "amqps", "pyamqp"):
            with _connect(parts, 5671 if scheme == "amqps" else 5672, timeout, scheme == "amqps"):
                pass
        else:
            return QUEUE_NOT_CHECKED
    except (OSError, ValueError, BrokerError) as exc:
        log.warning("readiness: the queue's broker does not answer: %s", _first_line(exc))
        return "unreachable"
    return OK


class BrokerError(RuntimeError):
    """The broker answered, but not as expected (a refused password, an error)."""


def _connect(parts: SplitResult, default_port: int, timeout: float, tls: bool) -> socket.socket:
    if parts.scheme == "redis+socket":
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(unquote(parts.path))
        except OSError:
            sock.close()
            raise
        return sock
    sock = socket.create_connection(
        (parts.hostname or "localhost", parts.port or default_port), timeout
    )
    if not tls:
        return sock
    query = parse_qs(parts.query)
    context = ssl.create_default_context(cafile=(query.get("ssl_ca_certs") or [None])[0])
    if (query.get("ssl_cert_reqs") or [""])[0].lower() in ("none", "cert_none"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        return context.wrap_socket(sock, server_hostname=parts.hostname or "localhost")
    except OSError:
        sock.close()
        raise


def _redis_command(*words: str) -> bytes:
    encoded = [word.encode() for word in words]
    return b"*%d\r\n" % len(encoded) + b"".join(
        b"$%d\r\n%s\r\n" % (len(word), word) for word in encoded
    )


def _redis_reply(sock: socket.socket) -> bytes:
    """One simple reply line (``+OK``, ``+PONG``, ``-ERR ...``), at most 512 bytes."""
    line = b""
    while not line.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk or len(line) > 512:
            raise BrokerError("the connection closed before a reply")
        line += chunk
    return line[:-2]


def _redis_ping(parts: SplitResult, timeout: float) -> None:
    with _connect(parts, 6379, timeout, parts.scheme == "rediss") as sock:
        if parts.password:
            words = [unquote(parts.username)] if parts.username else []
            sock.sendall(_redis_command("AUTH", *words, unquote(parts.password)))
            reply = _redis_reply(sock)
            if not reply.startswith(b"+"):
                raise BrokerError(f"AUTH refused: {reply[:80].decode(errors='replace')}")
        sock.sendall(_redis_command("PING"))
        reply = _redis_reply(sock)
        if reply != b"+PONG":
            raise BrokerError(f"PING answered {reply[:80].decode(errors='replace')}")
