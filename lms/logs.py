"""The standalone app's logs: request ids, one line per request, text or JSON.

Standalone only: in plugin mode the host owns logging, and the LMS only logs through
``logging.getLogger("lms...")`` like any library.

Every request gets an id: the incoming ``X-Request-ID`` when it is sane (a proxy or load
balancer made it), else a new one. It is echoed in the response's ``X-Request-ID`` and attached,
by :class:`RequestIdFilter`, to every record the LMS's handlers write during the request, so that
a traceback can be matched to its request line and to the proxy's own log.

Two handlers: the request lines (logger ``lms.request``, the access log) go to standard output,
everything else the LMS logs goes to standard error. Both still propagate, so a test's
``caplog`` (or a root handler someone adds) sees them too.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, g, has_app_context, request
from flask.logging import default_handler

from lms.config import ConfigurationError
from lms.org.models import Employee

REQUEST_ID_HEADER = "X-Request-ID"
#: what an incoming request id may look like; anything else is replaced (it ends up in logs)
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
FORMATS = ("text", "json")
REQUEST_LOGGER = "lms.request"
#: blueprints whose successful requests are logged at debug level only: probes come every few
#: seconds and would drown the access log
QUIET_BLUEPRINTS = frozenset({"lms_health"})

request_log = logging.getLogger(REQUEST_LOGGER)

#: attributes every LogRecord has; the others are a record's ``extra`` fields
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def request_id_from(header: str | None) -> str:
    """The incoming id if it is at most 64 of ``A-Z a-z 0-9 . _ -``, else a new uuid4 (hex)."""
    if header and SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    """The id of the request being handled, or None (a command, a job, or plugin mode)."""
    return g.get("lms_request_id") if has_app_context() else None


class RequestIdFilter(logging.Filter):
    """Gives every record a ``request_id`` attribute (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class TextFormatter(logging.Formatter):
    """``2026-03-15 08:01:02,123 INFO [<request id>] lms.request: GET / 200 12.3 ms from
    10.1.2.3 user 42``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return super().format(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, pid, message, request_id, the
    record's ``extra`` fields, and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_") and value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def make_formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


class _StandardStream(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever ``sys.stdout`` or ``sys.stderr`` is at the time (a test
    runner swaps them; a handler keeping the old object would write to a closed file)."""

    def __init__(self, name: str) -> None:
        self._stream_name = name
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return getattr(sys, self._stream_name)

    @stream.setter
    def stream(self, value: Any) -> None:
        pass  # always the current one


class _NotRequestLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(REQUEST_LOGGER)


def resolve_format(value: str | None, default: str) -> str:
    """``LMS_LOG_FORMAT``'s value checked (empty: ``default``)."""
    log_format = (value or "").strip().lower() or default
    if log_format not in FORMATS:
        raise ConfigurationError(f"LMS_LOG_FORMAT={value!r}: expected text or json.")
    return log_format


def configure_logging(app: Flask, default_format: str = "text") -> str:
    """Install the LMS's handlers on the ``lms`` logger (replacing any earlier ones, and Flask's
    default handler); returns the format used. Level INFO (DEBUG in debug mode)."""
    log_format = resolve_format(app.config.get("LMS_LOG_FORMAT"), default_format)
    formatter = make_formatter(log_format)
    logger = logging.getLogger("lms")  # Flask's app.logger: the app is named "lms"
    for target in (logger, request_log):
        for handler in [h for h in target.handlers if getattr(h, "_lms", False)]:
            target.removeHandler(handler)
    logger.removeHandler(default_handler)

    errors = _StandardStream("stderr")
    errors.addFilter(_NotRequestLines())  # those go to standard output, below
    requests = _StandardStream("stdout")
    for handler, target in ((errors, logger), (requests, request_log)):
        handler._lms = True  # type: ignore[attr-defined]
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(formatter)
        target.addHandler(handler)
    logger.setLevel(logging.DEBUG if app.debug else logging.INFO)
    request_log.setLevel(logging.NOTSET)  # follows the ``lms`` logger
    return log_format


def init_app(app: Flask) -> None:
    """Standalone: logs in ``LMS_LOG_FORMAT`` and a request id and request line per request."""
    configure_logging(app)
    app.before_request(start_request)
    app.after_request(finish_request)


def start_request() -> None:
    """``before_request`` (the app's first): the request's id and start time."""
    g.lms_request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.lms_request_start = time.perf_counter()


def finish_request(response: Any) -> Any:
    """``after_request``: echo the request id and write the request's line."""
    request_id = g.get("lms_request_id")
    if request_id is None:  # ``start_request`` did not run
        return response
    response.headers[REQUEST_ID_HEADER] = request_id
    duration_ms = round((time.perf_counter() - g.lms_request_start) * 1000, 1)
    status = response.status_code
    if request.blueprint in QUIET_BLUEPRINTS:
        level = logging.DEBUG if status < 500 else logging.WARNING
    else:
        level = logging.INFO if status < 500 else logging.ERROR
    if not request_log.isEnabledFor(level):
        return response
    path = _printable(request.path)
    user_id = _signed_in_user_id()
    request_log.log(
        level,
        "%s %s %s %.1f ms from %s%s",
        request.method,
        path,
        status,
        duration_ms,
        request.remote_addr,
        "" if user_id is None else f" user {user_id}",
        extra={
            "request_id": request_id,
            "method": request.method,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "user_id": user_id,
            "remote_addr": request.remote_addr,
        },
    )
    return response


def _printable(text: str) -> str:
    """Control characters escaped: a path must not forge log lines in the text format."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _signed_in_user_id() -> int | None:
    """The employee's id if the request loaded one. Never loads a user for the log: a static
    file or a probe must not cost a database query."""
    employee = g.get("_lms_employee")
    if employee is None:
        user = g.get("_login_user")  # Flask-Login's, once ``current_user`` was used
        employee = user if isinstance(user, Employee) else None
    if employee is None:
        return None
    identity = sa.inspect(employee).identity  # no query, even after a rollback expired it
    return identity[0] if identity else None
