"""Serving the standalone app for real: ``lms serve`` (gunicorn), the reverse proxy, static files.

``lms serve`` runs gunicorn in the same process as the command (no second configuration file):
sync workers, one per core, forked from a master that has built the app once (``preload_app``).
What must not cross a fork is taken care of: the master closes its database connections before
the workers start, and each worker forgets the engine's pool it inherited; the certificate
render pool and the job runner's threads are started lazily, by each worker on first use.

The master never serves inside an app context: Flask would reuse a pushed context for every
request, and ``g`` (the signed-in employee, the request id) would leak from one to the next.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import click
from flask import Flask, has_app_context, request
from flask.cli import ScriptInfo
from werkzeug.middleware.proxy_fix import ProxyFix

from lms import logs
from lms.config import ConfigurationError

log = logging.getLogger(__name__)

STATIC_ENDPOINT = "lms.static"
#: a URL with the file's content hash (``?v=``) never changes content: cache it for a year
CACHE_VERSIONED = "public, max-age=31536000, immutable"
#: without it (or with an out-of-date one), the file may change with the next upgrade
CACHE_UNVERSIONED = "public, max-age=300"

DEFAULT_TIMEOUT_S = 60
GRACEFUL_TIMEOUT_S = 30
KEEPALIVE_S = 5
#: each worker is replaced after about this many requests (bounds slow memory growth); high
#: enough that a busy morning does not spend its time warming up new workers
DEFAULT_MAX_REQUESTS = 10000
#: settings that older gunicorn releases lack: left out there
OPTIONAL_SETTINGS = frozenset({"control_socket_disable"})


# --- the standalone app's set-up (called by LMS.init_app) -----------------------------------------


def init_standalone(app: Flask) -> None:
    """Standalone only (a host keeps its own logging and WSGI middleware): the addresses of
    clients behind ``LMS_TRUSTED_PROXIES`` proxies, then logs with request ids."""
    trust_proxies(app)
    logs.init_app(app)


def trust_proxies(app: Flask) -> None:
    """Behind ``n`` reverse proxies, ``request.remote_addr`` (sign-in throttling, the
    verification page's rate limit, the logs) is the ``n``-th address from the right of
    ``X-Forwarded-For``: the one the outermost trusted proxy saw. The scheme comes from the
    nearest proxy's ``X-Forwarded-Proto`` (``https`` links and QR codes behind a TLS proxy).
    With 0, both headers are ignored: anyone could send them."""
    try:
        count = int(app.config["LMS_TRUSTED_PROXIES"])
    except (TypeError, ValueError):
        count = -1
    if count < 0:
        raise ConfigurationError(
            f"LMS_TRUSTED_PROXIES={app.config['LMS_TRUSTED_PROXIES']!r}: expected 0 or more."
        )
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=1)  # type: ignore[method-assign]


def cache_static_files(response: Any) -> Any:
    """``after_request`` of the ``lms`` blueprint: cache headers for its static files. A
    ``?v=`` that matches the file's content hash (what ``lms_static()`` writes) is cached for a
    year; anything else for five minutes. An out-of-date hash (a page from the previous release,
    or a server not yet upgraded during a rolling deploy) is not frozen for a year."""
    if request.endpoint != STATIC_ENDPOINT or response.status_code not in (200, 304):
        return response
    from lms.templating import _static_version

    filename = (request.view_args or {}).get("filename", "")
    version = request.args.get("v")
    current = version is not None and version == _static_version(filename)
    response.headers["Cache-Control"] = CACHE_VERSIONED if current else CACHE_UNVERSIONED
    return response


# --- lms serve ----------------------------------------------------------------------------------


def gunicorn_options(
    *, bind: str, workers: int, timeout: int, max_requests: int, json_logs: bool
) -> dict[str, Any]:
    """gunicorn's settings for ``lms serve``."""
    options: dict[str, Any] = {
        "bind": [bind],
        "workers": workers,
        "worker_class": "sync",
        "timeout": timeout,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        # sync workers close the connection after each response whatever this says; it matters
        # only if the worker class is ever changed
        "keepalive": KEEPALIVE_S,
        "max_requests": max_requests,
        "max_requests_jitter": max_requests // 10,  # workers are not all replaced at once
        "preload_app": True,
        # the LMS writes the access log itself (logger ``lms.request``, standard output): one
        # line per request with its id, the signed-in employee and the time taken
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "lms",
        # LMS_TRUSTED_PROXIES alone decides which forwarded headers are believed
        "secure_scheme_headers": {},
        "forwarded_allow_ips": "",
        # newer gunicorn: no control socket (one fixed path per user: two servers would clash)
        "control_socket_disable": True,
    }
    if os.path.isdir("/dev/shm"):
        # the workers' heartbeat files: a disk-backed /tmp can stall them (and get them killed)
        options["worker_tmp_dir"] = "/dev/shm"
    if json_logs:
        options["logger_class"] = _json_gunicorn_logger()
    return options


def _json_gunicorn_logger() -> type:
    """gunicorn's own messages (workers booting, timeouts) in the same JSON as the LMS's."""
    from gunicorn.glogging import Logger

    class JsonGunicornLogger(Logger):  # type: ignore[misc]
        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for handler in self.error_log.handlers:
                handler.setFormatter(logs.JsonFormatter())

    return JsonGunicornLogger


def run_gunicorn(app: Flask, options: dict[str, Any]) -> None:
    """Serve ``app`` with gunicorn until it is stopped (SIGTERM, SIGINT: gracefully)."""
    from gunicorn.app.base import BaseApplication

    def post_fork(arbiter: Any, worker: Any) -> None:
        # A worker must not use the connections of the pool it inherited (the master's, or
        # another worker's): forget them without closing them (close=False).
        app.extensions["lms"].db.engine.dispose(close=False)

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {**options, "post_fork": post_fork}.items():
                if key in self.cfg.settings or key not in OPTIONAL_SETTINGS:
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return app

    Server().run()


def check_before_serving(app: Flask) -> None:
    """Warn (not stop: migrations may be run by another machine) when the database does not
    answer or is not at the newest migration; then close the master's connections."""
    from lms.health import check_database, script_directory

    database, migrations = check_database(app.extensions["lms"].db, script_directory(app))
    if database != "ok":
        log.warning("The database does not answer; /readyz will say 503 until it does.")
    elif migrations != "ok":
        log.warning("The database is not at the newest migration (%s): run `lms init`.", migrations)
    if app.debug:
        log.warning("Debug mode is on (FLASK_DEBUG): never serve it to users like this.")
    app.extensions["lms"].db.dispose()  # before the fork: no connection to inherit


@click.command("serve")
@click.option(
    "--bind",
    "-b",
    default=None,
    help="Where to listen: HOST:PORT or unix:PATH. Default: LMS_BIND (127.0.0.1:8000).",
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(min=1),
    default=None,
    help=f"Worker processes. Default: one per core ({os.cpu_count() or 1} here).",
)
@click.option(
    "--timeout",
    type=click.IntRange(min=1),
    default=DEFAULT_TIMEOUT_S,
    show_default=True,
    help="Seconds a request may take before its worker is killed and replaced.",
)
@click.option(
    "--max-requests",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_REQUESTS,
    show_default=True,
    help="Replace a worker after about this many requests (0: never).",
)
@click.pass_context
def serve_command(
    ctx: click.Context, bind: str | None, workers: int | None, timeout: int, max_requests: int
) -> None:
    """Serve the LMS with gunicorn (production): sync workers, logs in JSON by default."""
    from lms.cli.output import fail

    app = ctx.ensure_object(ScriptInfo).load_app()  # no app context pushed: see the module
    if has_app_context():
        fail("`lms serve` cannot run inside an app context (requests would share `g`).")
    state = app.extensions.get("lms")
    if state is None or not state.standalone:
        fail("`lms serve` serves the standalone LMS; serve a host application with its own server.")
    log_format = logs.configure_logging(app, default_format="json")
    check_before_serving(app)
    options = gunicorn_options(
        bind=bind or app.config["LMS_BIND"],
        workers=workers or os.cpu_count() or 1,
        timeout=timeout,
        max_requests=max_requests,
        json_logs=log_format == "json",
    )
    run_gunicorn(app, options)
