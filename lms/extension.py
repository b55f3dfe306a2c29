"""``LMS.init_app``: configuration defaults, database, sign-in, translations, blueprints, CLI."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, current_app, request

from lms.config import ConfigurationError, apply_defaults
from lms.db import Database, close_session
from lms.jobs.services import InProcessRunner
from lms.questions.types import TypeRegistry, load_types


def _import_string(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass
class LMSState:
    """Per-app state, kept in ``app.extensions["lms"]`` (the extension object stores no app)."""

    db: Database
    url_prefix: str
    owns_login: bool
    standalone: bool
    user_adapter: Callable[[Any], str | None] | None
    job_runner: InProcessRunner
    #: question types by name, from the ``lms.question_types`` entry points
    question_types: TypeRegistry


class LMS:
    """The LMS as a Flask extension: ``LMS().init_app(app, url_prefix="/training")``.

    It keeps its own database engine and session, reuses the host's ``login_manager`` when the
    host has one (mapping host users to 工号 through ``LMS_USER_ADAPTER``), and registers its
    pages under ``url_prefix``.
    """

    def __init__(self, app: Flask | None = None, **kwargs: Any) -> None:
        if app is not None:
            self.init_app(app, **kwargs)

    def init_app(self, app: Flask, url_prefix: str = "", *, standalone: bool = False) -> None:
        """Mount the LMS on ``app`` under ``url_prefix``; ``standalone`` only for ``create_app``
        (the LMS is then the whole app: its error pages and headers apply to every response)."""
        if "lms" in app.extensions:
            raise RuntimeError("The LMS is already registered on this app.")
        from lms import serving
        from lms.health import bp as health_bp

        apply_defaults(app.config)

        database = Database(
            app.config["LMS_DATABASE_URL"] or default_sqlite_url(app),
            echo=app.config["LMS_DATABASE_ECHO"],
            pool_size=app.config["LMS_DATABASE_POOL_SIZE"],
            busy_timeout_ms=app.config["LMS_SQLITE_BUSY_TIMEOUT_MS"],
            max_overflow=app.config["LMS_DATABASE_MAX_OVERFLOW"],
            pool_timeout_s=app.config["LMS_DATABASE_POOL_TIMEOUT_S"],
            pool_recycle_s=app.config["LMS_DATABASE_POOL_RECYCLE_S"],
            connect_timeout_s=app.config["LMS_DATABASE_CONNECT_TIMEOUT_S"],
            statement_timeout_ms=app.config["LMS_DATABASE_STATEMENT_TIMEOUT_MS"],
        )
        owns_login = not hasattr(app, "login_manager")
        adapter = app.config["LMS_USER_ADAPTER"]
        if isinstance(adapter, str):
            adapter = _import_string(adapter)
        if not owns_login and adapter is None:
            raise ConfigurationError(
                "The host app has a login manager: set LMS_USER_ADAPTER to a callable that maps "
                "the host's current_user to a 工号."
            )
        app.extensions["lms"] = LMSState(
            db=database,
            url_prefix=url_prefix.rstrip("/"),
            owns_login=owns_login,
            standalone=standalone,
            user_adapter=adapter,
            job_runner=InProcessRunner(app.config["LMS_JOB_THREADS"]),
            question_types=load_types(),
        )
        app.teardown_appcontext(close_session)
        _warn_about_pdf_environment(app)

        self._init_login(app, owns_login)
        if standalone:
            self._harden_session_cookie(app)
            serving.init_standalone(app)  # behind proxies; logs with request ids
        self._init_babel(app)
        self._init_templates(app)
        blueprint = make_blueprint(standalone)
        blueprint.after_request(serving.cache_static_files)
        app.register_blueprint(blueprint, url_prefix=url_prefix.rstrip("/") or None)
        app.register_blueprint(health_bp, url_prefix=url_prefix.rstrip("/") or None)

        import lms.org.jobs  # noqa: F401  (registers the import jobs)

        importlib.import_module("lms.questions.jobs")  # registers the question import job
        importlib.import_module("lms.exams.periodic")  # registers the exams' periodic tasks
        importlib.import_module("lms.training.periodic")  # the training matrix's daily run
        importlib.import_module("lms.notifications.periodic")  # reminders and the e-mail sender
        importlib.import_module("lms.certificates.imports")  # the certificates import job
        importlib.import_module("lms.certificates.bulk")  # the bulk issue job
        importlib.import_module("lms.training.imports")  # the training records import job
        from lms.cli import lms_commands

        if not standalone:
            app.cli.add_command(lms_commands, "lms")

    @staticmethod
    def _init_login(app: Flask, owns_login: bool) -> None:
        if not owns_login:
            return
        from flask_login import LoginManager

        from lms.auth.services import load_user_from_session_id

        manager = LoginManager(app)
        manager.login_view = "lms.auth.login"
        manager.session_protection = "strong"
        manager.user_loader(load_user_from_session_id)

    @staticmethod
    def _harden_session_cookie(app: Flask) -> None:
        """Standalone: the session cookie is the LMS's own, so harden it. Flask's config already
        holds defaults for these keys (``setdefault`` would change nothing): a key still at
        Flask's default is replaced, one set on purpose is kept. ``Secure`` follows
        ``LMS_SESSION_COOKIE_SECURE`` (default: on outside debug and testing)."""
        secure = app.config["LMS_SESSION_COOKIE_SECURE"]
        if secure is None:
            secure = not (app.debug or app.testing)
        hardened = {
            "SESSION_COOKIE_NAME": "lms_session",
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
        }
        for key, value in hardened.items():
            if app.config.get(key, Flask.default_config.get(key)) == Flask.default_config.get(key):
                app.config[key] = value
        app.config["SESSION_COOKIE_SECURE"] = secure
        app.config["REMEMBER_COOKIE_SECURE"] = secure

    @staticmethod
    def _init_babel(app: Flask) -> None:
        if "babel" in app.extensions:
            return  # the host chooses the locale; the LMS keeps its own gettext domain
        from flask_babel import Babel

        from lms.i18n import select_locale, select_timezone

        Babel(
            app,
            locale_selector=select_locale,
            timezone_selector=select_timezone,
            default_locale=app.config["LMS_DEFAULT_LOCALE"],
            default_timezone=app.config["LMS_TIMEZONE"],
        )

    @staticmethod
    def _init_templates(app: Flask) -> None:
        from lms import templating

        app.jinja_env.globals.setdefault("lms_static", templating.static_url)


def _warn_about_pdf_environment(app: Flask) -> None:
    """Say at start-up, as a warning, what PDF rendering lacks (the app runs without it)."""
    from lms.pdf import pdf_environment_problems

    for problem in pdf_environment_problems():
        app.logger.warning("PDF rendering: %s", problem)


def default_sqlite_url(app: Flask) -> str:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    return "sqlite:///" + str(Path(app.instance_path) / "lms.db")


def limit_upload_size() -> None:
    """``before_request``: the LMS's own upload limit, for its requests only (a host's
    ``MAX_CONTENT_LENGTH`` is left alone)."""
    request.max_content_length = current_app.config["LMS_MAX_UPLOAD_MB"] * 1024 * 1024


def make_blueprint(standalone: bool) -> Blueprint:
    """The ``lms`` blueprint, parent of one blueprint per domain."""
    from lms import templating
    from lms.audit.views import bp as audit_bp
    from lms.auth.views import bp as auth_bp
    from lms.certificates.admin_views import bp as certificate_admin_bp
    from lms.certificates.views import bp as certificates_bp
    from lms.core_views import bp as core_bp
    from lms.courses.admin_views import bp as course_admin_bp
    from lms.courses.admin_views import files_bp as course_files_bp
    from lms.courses.views import bp as courses_bp
    from lms.exams.admin_views import bp as exam_admin_bp
    from lms.exams.grading_views import bp as grading_bp
    from lms.exams.statistics_views import bp as exam_statistics_bp
    from lms.exams.views import bp as exams_bp
    from lms.exams.wrongbook_views import bp as wrongbook_bp
    from lms.jobs.views import bp as jobs_bp
    from lms.notifications.views import bp as notifications_bp
    from lms.org.views import bp as org_bp
    from lms.questions.views import bp as questions_bp
    from lms.reports.table_views import bp as report_tables_bp
    from lms.reports.views import bp as reports_bp
    from lms.security import add_security_headers, check_csrf
    from lms.training.assignment_views import bp as assignments_bp
    from lms.training.dashboard_views import bp as dashboard_bp
    from lms.training.import_views import bp as record_admin_bp
    from lms.training.plan_views import bp as plan_bp
    from lms.training.session_views import bp as sessions_bp
    from lms.training.views import bp as training_bp

    bp = Blueprint(
        "lms",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/static/lms",
    )
    bp.before_request(limit_upload_size)
    bp.before_request(check_csrf)
    if standalone:  # also for responses outside the blueprint, such as a 404 for any URL
        bp.after_app_request(add_security_headers)
        bp.app_context_processor(templating.context)
    else:
        bp.after_request(add_security_headers)
        bp.context_processor(templating.context)
    for child in (core_bp, auth_bp, org_bp, jobs_bp, questions_bp, courses_bp, training_bp):
        bp.register_blueprint(child)
    for child in (course_admin_bp, course_files_bp, exams_bp, exam_admin_bp, grading_bp):
        bp.register_blueprint(child)
    for child in (wrongbook_bp, exam_statistics_bp, certificates_bp, certificate_admin_bp):
        bp.register_blueprint(child)
    bp.register_blueprint(record_admin_bp)
    bp.register_blueprint(audit_bp)
    bp.register_blueprint(sessions_bp)
    bp.register_blueprint(assignments_bp)
    bp.register_blueprint(notifications_bp)
    bp.register_blueprint(plan_bp)
    bp.register_blueprint(dashboard_bp)
    bp.register_blueprint(reports_bp)
    bp.register_blueprint(report_tables_bp)
    templating.register_error_pages(bp, standalone)
    return bp
