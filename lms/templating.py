"""What every LMS template gets: the signed-in employee, translations, navigation, static URLs;
and the error pages (also for 404s that hide forbidden objects)."""

from __future__ import annotations

import hashlib
import weakref
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    current_app,
    has_request_context,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError, generate_csrf

from lms.i18n import current_language, gettext, lazy_gettext, ngettext
from lms.org.display import ROLE_NAMES, STAFF_KIND_NAMES, STATUS_NAMES, UNIT_KIND_NAMES
from lms.org.models import Role
from lms.security import current_employee

STATIC_DIR = Path(__file__).parent / "static"


@lru_cache(maxsize=256)
def _static_version(filename: str) -> str:
    path = STATIC_DIR / filename
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.is_file() else "0"


def static_url(filename: str) -> str:
    """URL of an LMS static file, with a content hash so browsers may cache it for long."""
    return _kept_url("lms.static", filename=filename, v=_static_version(filename))


def _l(msgid: str) -> str:
    """Marks a msgid for extraction (``_l`` is one of its keywords); :func:`context` translates
    it with :func:`lms.i18n.gettext` per request, cheaper than a lazy string's translation."""
    return msgid


NAVIGATION = (
    # endpoint, label, roles that see it
    ("lms.core.home", _l("Home"), None),
    ("lms.courses.catalogue", _l("Courses"), None),
    ("lms.exams.papers", _l("Exams"), None),
    ("lms.wrongbook.book", _l("My mistakes"), None),
    ("lms.training.my_record", _l("My record"), None),
    ("lms.certificates.mine", _l("My certificates"), None),
    ("lms.org.units", _l("Units"), {Role.manager, Role.hr, Role.admin}),
    ("lms.org.employees", _l("Employees"), {Role.manager, Role.hr, Role.admin}),
    ("lms.certificates.expiring", _l("Certificates to renew"), {Role.manager, Role.hr, Role.admin}),
    ("lms.org.import_start", _l("Import"), {Role.hr, Role.admin}),
    ("lms.record_admin.import_start", _l("Import training records"), {Role.hr, Role.admin}),
    ("lms.questions.banks", _l("Question banks"), {Role.hr, Role.admin}),
    ("lms.course_admin.courses", _l("Course management"), {Role.hr, Role.admin}),
    ("lms.exam_admin.papers", _l("Exam papers"), {Role.hr, Role.admin}),
    ("lms.grading.queue", _l("Grading"), {Role.manager, Role.hr, Role.admin}),
    ("lms.reports.coverage_page", _l("Annual report"), {Role.manager, Role.hr, Role.admin}),
    (
        "lms.report_tables.statistics",
        _l("Training statistics"),
        {Role.manager, Role.hr, Role.admin},
    ),
    ("lms.report_tables.ledger", _l("Training ledger"), {Role.manager, Role.hr, Role.admin}),
    ("lms.dashboard.show", _l("Training dashboard"), {Role.manager, Role.hr, Role.admin}),
    ("lms.assignments.assignments", _l("Assignments"), {Role.manager, Role.hr, Role.admin}),
    ("lms.assignments.matrix", _l("Training matrix"), {Role.hr, Role.admin}),
    ("lms.plan.show", _l("Annual training plan"), {Role.manager, Role.hr, Role.admin}),
    ("lms.sessions.index", _l("Classroom sessions"), {Role.manager, Role.hr, Role.admin}),
    ("lms.audit.inspections", _l("Inspections"), {Role.manager, Role.hr, Role.admin}),
    ("lms.audit.log", _l("Audit log"), {Role.hr, Role.admin}),
    ("lms.notifications.outbox", _l("Outbox"), {Role.hr, Role.admin}),
)


#: per app: URLs without per-request parts, by (script root, endpoint, values), built once
_URLS: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], str]] = weakref.WeakKeyDictionary()


def _kept_url(endpoint: str, **values: str) -> str:
    """``url_for(endpoint, **values)``, kept per app and script root: the navigation and the
    static files are the same dozen URLs on every page. Not kept outside a request, nor when the
    app has URL defaults functions (which may add values per request)."""
    if not has_request_context():
        return url_for(endpoint, **values)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if any(app.url_default_functions.values()):
        return url_for(endpoint, **values)
    urls = _URLS.setdefault(app, {})
    key = (request.script_root, endpoint, *values.items())
    url = urls.get(key)
    if url is None:
        url = urls[key] = url_for(endpoint, **values)
    return url


def unread_badge() -> int:
    """The header's count of unread notifications (asked for only by the page's header)."""
    from lms.notifications.views import unread_badge as count

    return count()


def context() -> dict[str, Any]:
    employee = current_employee()
    navigation: list[tuple[str, str, str]] = []
    management: list[tuple[str, str, str]] = []
    if employee is not None:
        navigation = [
            (endpoint, _kept_url(endpoint), gettext(label))
            for endpoint, label, roles in NAVIGATION
            if roles is None
        ]
        management = [
            (endpoint, _kept_url(endpoint), gettext(label))
            for endpoint, label, roles in NAVIGATION
            if roles is not None and employee.role in roles
        ]
    return {
        "_": gettext,
        "gettext": gettext,
        "ngettext": ngettext,
        "me": employee,
        "navigation": navigation,
        "management_navigation": management,
        "unread_notifications": unread_badge,
        "html_lang": current_language(),
        "bureau_name": current_app.config["LMS_BUREAU_NAME"],
        "owns_login": current_app.extensions["lms"].owns_login,
        "csrf_token": generate_csrf,
        "lms_static": static_url,
        "role_names": ROLE_NAMES,
        "unit_kind_names": UNIT_KIND_NAMES,
        "staff_kind_names": STAFF_KIND_NAMES,
        "status_names": STATUS_NAMES,
        "current_endpoint": request.endpoint,
    }


def _error_page(code: int, title: Any, message: Any) -> tuple[str, int]:
    return render_template("lms/error.html", code=code, title=title, message=message), code


def register_error_pages(bp: Blueprint, standalone: bool) -> None:
    """Friendly pages for 400/403/404/413/500 and CSRF failures; in standalone mode for the
    whole app, in plugin mode for the LMS's own pages only."""
    register = bp.app_errorhandler if standalone else bp.errorhandler

    @register(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return _error_page(
            400,
            lazy_gettext("The form has expired"),
            lazy_gettext("Please go back, reload the page and submit again."),
        )

    @register(400)
    def bad_request(error: Any) -> tuple[str, int]:
        return _error_page(
            400, lazy_gettext("Bad request"), lazy_gettext("The request could not be understood.")
        )

    @register(403)
    def forbidden(error: Any) -> tuple[str, int]:
        return _error_page(
            403,
            lazy_gettext("No access"),
            lazy_gettext(
                "Your account is not linked to an employee of the training system. "
                "If this is wrong, ask HR to check your employee number."
            ),
        )

    @register(404)
    def not_found(error: Any) -> tuple[str, int]:
        return _error_page(
            404,
            lazy_gettext("Not found"),
            lazy_gettext("There is no such page, or it is not yours to see."),
        )

    @register(413)
    def too_large(error: Any) -> tuple[str, int]:
        return _error_page(
            413,
            lazy_gettext("File too large"),
            lazy_gettext(
                "The file is larger than the limit of %(mb)d MB.",
                mb=current_app.config["LMS_MAX_UPLOAD_MB"],
            ),
        )

    @register(500)
    def server_error(error: Any) -> tuple[str, int]:
        return _error_page(
            500,
            lazy_gettext("Something went wrong"),
            lazy_gettext("The error has been logged. Please try again later."),
        )
