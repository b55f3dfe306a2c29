"""Every ``LMS_*`` configuration key, with its default and its meaning.

Keys are read, in increasing priority, from these defaults, ``instance/lms.cfg`` (standalone
only), environment variables of the same name, and the ``config`` mapping given to
``create_app``. A host application sets them in its own ``app.config``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One configuration key: its default, a one-line meaning, and how to parse it from text."""

    default: Any
    doc: str
    kind: type = str


SETTINGS: dict[str, Setting] = {
    "LMS_SECRET_KEY": Setting(
        None,
        "Signs session cookies and CSRF tokens (standalone). Required outside development; "
        "`lms init` and `lms demo` write one to the instance folder's `secret_key` file.",
    ),
    "LMS_DATABASE_URL": Setting(
        None,
        "SQLAlchemy URL. Default: SQLite file `lms.db` in the instance folder. PostgreSQL: "
        "`postgresql+psycopg://user@host/db`.",
    ),
    "LMS_DATABASE_ECHO": Setting(False, "Log every SQL statement.", bool),
    "LMS_DATABASE_POOL_SIZE": Setting(5, "Connections per process (PostgreSQL).", int),
    "LMS_DATABASE_MAX_OVERFLOW": Setting(
        10, "Connections a process may open above the pool in a burst (PostgreSQL).", int
    ),
    "LMS_DATABASE_POOL_TIMEOUT_S": Setting(
        10, "Seconds a request waits for a free connection before it fails (PostgreSQL).", int
    ),
    "LMS_DATABASE_POOL_RECYCLE_S": Setting(
        1800, "Connections older than this many seconds are replaced (PostgreSQL).", int
    ),
    "LMS_DATABASE_CONNECT_TIMEOUT_S": Setting(
        5, "Seconds to wait for the database server to answer a new connection (PostgreSQL).", int
    ),
    "LMS_DATABASE_STATEMENT_TIMEOUT_MS": Setting(
        60000,
        "Longest a single SQL statement may run, in milliseconds (PostgreSQL; 0: no limit). "
        "Migrations run without it.",
        int,
    ),
    "LMS_SQLITE_BUSY_TIMEOUT_MS": Setting(
        15000, "How long an SQLite writer waits for the lock, in milliseconds.", int
    ),
    "LMS_DATA_DIR": Setting(
        None, "Where uploads and stored files go. Default: `data/` in the instance folder."
    ),
    "LMS_BUREAU_NAME": Setting("龙城供电局", "The organisation's name, shown in titles and PDFs."),
    "LMS_DEFAULT_LOCALE": Setting("zh_Hans_CN", "Interface language when the user has no choice."),
    "LMS_LOCALES": Setting("zh_Hans_CN,en", "Languages offered, comma-separated.", list),
    "LMS_TIMEZONE": Setting("Asia/Shanghai", "Time zone for dates shown to users."),
    "LMS_PAGE_SIZE": Setting(50, "Rows per page in lists.", int),
    "LMS_MAX_UPLOAD_MB": Setting(20, "Largest accepted upload, in megabytes.", int),
    "LMS_IMPORT_MAX_ROWS": Setting(200000, "Most rows accepted in one import file.", int),
    "LMS_LOGIN_MAX_FAILURES_PER_ACCOUNT": Setting(
        5, "Failed sign-ins for one 工号 within the window before it is throttled.", int
    ),
    "LMS_LOGIN_MAX_FAILURES_PER_ADDRESS": Setting(
        20, "Failed sign-ins from one address within the window before it is throttled.", int
    ),
    "LMS_LOGIN_THROTTLE_WINDOW_S": Setting(900, "Throttling window, in seconds.", int),
    "LMS_PASSWORD_MIN_LENGTH": Setting(8, "Shortest password an employee may choose.", int),
    "LMS_ARGON2_TIME_COST": Setting(3, "Argon2 time cost (iterations).", int),
    "LMS_ARGON2_MEMORY_KIB": Setting(65536, "Argon2 memory cost, in KiB.", int),
    "LMS_SESSION_COOKIE_SECURE": Setting(
        None, "Send the session cookie over HTTPS only. Default: on outside debug mode.", bool
    ),
    "LMS_USER_ADAPTER": Setting(
        None,
        "Plugin mode: a callable, or `module:attr` path, taking the host's `current_user` and "
        "returning a 工号 (or None). Used when the host has its own login manager.",
    ),
    "LMS_LOGIN_URL": Setting(
        None, "Plugin mode: where to send anonymous users (default: the host's login view)."
    ),
    "LMS_SECURITY_HEADERS": Setting(
        True, "Add CSP, nosniff, frame and referrer headers to the LMS's responses.", bool
    ),
    "LMS_JOB_THREADS": Setting(2, "Threads of the in-process job runner.", int),
    "LMS_CELERY_BROKER_URL": Setting(
        "", "Celery broker URL (redis://...); empty: jobs run in-process."
    ),
    "LMS_BIND": Setting(
        "127.0.0.1:8000", "Where `lms serve` listens: `host:port` or `unix:/path/to.sock`."
    ),
    "LMS_TRUSTED_PROXIES": Setting(
        0,
        "Standalone: reverse proxies in front of the LMS whose `X-Forwarded-For` (and the "
        "nearest one's `X-Forwarded-Proto`) are believed; 0: none, the client is the peer.",
        int,
    ),
    "LMS_LOG_FORMAT": Setting(
        "",
        "Standalone: `text` or `json` (one object per line). Empty: `json` under `lms serve`, "
        "`text` otherwise.",
    ),
    "LMS_HEARTBEAT_SECONDS": Setting(
        15,
        "Seconds between a lesson page's heartbeats while the page is visible; each heartbeat "
        "credits the study time since the previous one, at most 30 s, so values above 30 are "
        "treated as 30.",
        int,
    ),
    "LMS_PUBLIC_URL": Setting(
        None,
        "The address people reach the LMS at (`https://lms.example.cn`): certificates' QR codes "
        "point there. Default: the address of the request that issued the certificate.",
    ),
    "LMS_CERTIFICATE_SERIAL_PREFIX": Setting(
        "LCGD",
        "The bureau's part of certificate serials (`LCGD-2026-SG-000123`): capital letters or "
        "digits.",
    ),
    "LMS_PDF_WORKERS": Setting(
        2, "Long-lived processes that render certificate PDFs (one per core is plenty).", int
    ),
    "LMS_PDF_TIMEOUT_S": Setting(
        30, "Longest a certificate may take to render before it is stopped, in seconds.", int
    ),
    "LMS_CERTIFICATE_EXPIRING_DAYS": Setting(
        90, "A valid certificate within this many days of its end shows as expiring.", int
    ),
    "LMS_VERIFY_MASK_NAME": Setting(
        True, "The public verification page masks the holder's name (张三 → 张*).", bool
    ),
    "LMS_VERIFY_PER_MINUTE": Setting(
        30, "Verifications one address may make per minute on the public page.", int
    ),
    "LMS_TARGET_ALL_STAFF": Setting(
        80, "All-staff training rate target, in percent (met when above it by default).", int
    ),
    "LMS_TARGET_ALL_STAFF_COMPARISON": Setting(">", "How the all-staff rate is compared: > or >=."),
    "LMS_TARGET_MANAGEMENT": Setting(
        40, "Management certification rate target, in percent (met when above it).", int
    ),
    "LMS_TARGET_MANAGEMENT_COMPARISON": Setting(
        ">", "How the management certification rate is compared: > or >=."
    ),
    "LMS_TARGET_ETHICS": Setting(
        20, "Professional-ethics training rate target, in percent (met when at least it).", int
    ),
    "LMS_TARGET_ETHICS_COMPARISON": Setting(">=", "How the ethics rate is compared: > or >=."),
    "LMS_REPORT_INCLUDED_STATUSES": Setting(
        "在岗",
        "Employment statuses in scope for the targets, comma-separated (the others, such as "
        "离岗, 内退, 借调, 长病假, are excluded).",
        list,
    ),
    "LMS_REPORT_MIN_HOURS": Setting(
        0, "Hours of completed training in the year needed to count as trained (0: any).", float
    ),
    "LMS_REPORT_ETHICS_PROGRAMMES": Setting(
        "professional_ethics",
        "Programme codes that count as professional-ethics training, comma-separated.",
        list,
    ),
    "LMS_REPORT_CERTIFICATE_KINDS": Setting(
        "onboarding",
        "Certificate kinds the management certification rate counts, comma-separated.",
        list,
    ),
    "LMS_EXAM_MAX_TAB_SWITCHES": Setting(
        0,
        "Switches away from an exam's page after which the attempt is submitted by itself; "
        "every switch is counted and shown to the candidate. 0: never submitted for it.",
        int,
    ),
    "LMS_REMIND_DUE_DAYS": Setting(
        7,
        "Remind people of an assigned course this many days before its due date (once; "
        "0: no such reminder). The overdue reminder comes the day after the due date.",
        int,
    ),
    "LMS_REMIND_CERTIFICATE_DAYS": Setting(
        "90,30",
        "Remind holders of a certificate this many days before it ends, once per number "
        "(comma-separated; an empty list: no such reminder).",
        list,
    ),
    "LMS_SMTP_HOST": Setting(
        "",
        "SMTP server for e-mail reminders. Empty: nothing is sent and messages stay in the "
        "outbox (/admin/outbox shows them), as in development.",
    ),
    "LMS_SMTP_PORT": Setting(25, "SMTP server port (587 with STARTTLS, 465 with SSL).", int),
    "LMS_SMTP_USER": Setting("", "SMTP user name; empty: no sign-in."),
    "LMS_SMTP_PASSWORD": Setting("", "SMTP password."),
    "LMS_SMTP_STARTTLS": Setting(False, "Switch the SMTP connection to TLS (STARTTLS).", bool),
    "LMS_SMTP_SSL": Setting(False, "Connect to the SMTP server over TLS from the start.", bool),
    "LMS_MAIL_FROM": Setting(
        "",
        "Sender of e-mail reminders (`培训系统 <lms@example.cn>`). Empty: the SMTP user if it "
        "is an address, else `lms@localhost`.",
    ),
    "LMS_MAIL_MAX_ATTEMPTS": Setting(
        5, "Times an e-mail is tried before it is given up (the error stays in the outbox).", int
    ),
}


class ConfigurationError(RuntimeError):
    """The app cannot start as configured (the message says what to set)."""


TRUE_WORDS = frozenset({"1", "true", "yes", "on", "y", "是"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "n", "否"})


def parse_value(key: str, raw: str) -> Any:
    """Parse a setting given as text (an environment variable) into the setting's type."""
    kind = SETTINGS[key].kind
    text = raw.strip()
    if kind is bool:
        if text.lower() in TRUE_WORDS:
            return True
        if text.lower() in FALSE_WORDS:
            return False
        raise ConfigurationError(
            f"{key}={raw!r}: expected a yes/no value such as 1/0 or true/false."
        )
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigurationError(f"{key}={raw!r}: expected a whole number.") from None
    if kind is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigurationError(f"{key}={raw!r}: expected a number.") from None
    if kind is list:
        return [part.strip() for part in text.split(",") if part.strip()]
    return raw


def environment_values(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The settings given as environment variables, parsed. An empty variable counts as unset."""
    environ = os.environ if environ is None else environ
    return {key: parse_value(key, environ[key]) for key in SETTINGS if environ.get(key, "").strip()}


def apply_defaults(config: dict[str, Any], environ: Mapping[str, str] | None = None) -> None:
    """Fill in every LMS_* key that is not set yet: from the environment, else the default.

    Keys already in ``config`` win, so a host's own settings are never overwritten; those given
    as text (``LMS_PAGE_SIZE = "20"`` in a config file) are parsed into the setting's type.
    """
    from_environment = environment_values(environ)
    for key, setting in SETTINGS.items():
        if key not in config:
            config[key] = from_environment.get(key, setting.default)
        if isinstance(config[key], str) and setting.kind is not str:
            config[key] = parse_value(key, config[key])
