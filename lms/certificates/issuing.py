"""Issuing from the app: the settings a certificate needs (bureau, serial prefix, data folder,
the public URL its QR code points at) read from the app's configuration, for the hooks that
issue by themselves (a passed course with a certificate design)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import current_app, has_request_context, request, url_for
from sqlalchemy.orm import Session

from lms import storage
from lms.certificates.designs import shipped_designs
from lms.certificates.models import Certificate
from lms.certificates.rendering import RenderPool, shared_pool
from lms.certificates.services import issue_certificate
from lms.courses.models import Course, CourseRun
from lms.i18n import local_date
from lms.org.models import Employee

log = logging.getLogger(__name__)


def verify_url(code: str) -> str:
    """The public verification URL of a code: under ``LMS_PUBLIC_URL`` when set, else under
    the address the current request came to."""
    return verify_url_builder()(code)


def verify_url_builder(base_url: str = "") -> Callable[[str], str]:
    """A function making verification URLs without the app (for threads and jobs): under
    ``LMS_PUBLIC_URL`` when set, else ``base_url``, else the current request's address."""
    base = current_app.config["LMS_PUBLIC_URL"] or base_url
    if has_request_context():
        base = base or request.host_url
        path = url_for("lms.certificates.verify", code="0")
    else:
        with current_app.test_request_context():
            path = url_for("lms.certificates.verify", code="0")
    prefix = (base or "http://localhost/").rstrip("/") + path[:-1]
    return lambda code: prefix + code


def issue_for_run(
    db: Session,
    run: CourseRun,
    snapshot: dict[str, Any],
    *,
    score: Any,
    ledger_entry_id: int | None,
    now: datetime,
) -> Certificate | None:
    """The certificate a completed run earns, when its course version names a design (a
    renewal when the person holds a valid one for the course); None without a design. An
    unknown design is logged and issues nothing (the completion stands)."""
    name = snapshot.get("certificate_design")
    if not name:
        return None
    design = shipped_designs().get(name)
    if design is None:
        log.warning("course %s names the unknown certificate design %r", snapshot.get("code"), name)
        return None
    config = current_app.config
    return issue_certificate(
        db,
        employee=db.get(Employee, run.employee_id),
        course=db.get(Course, run.course_id),
        design=design,
        issued_on=local_date(now),
        score=score,
        bureau=config["LMS_BUREAU_NAME"],
        serial_bureau=config["LMS_CERTIFICATE_SERIAL_PREFIX"],
        verify_url=verify_url,
        data_dir=storage.data_dir(current_app),
        actor=None,
        now=now,
        renew=True,
        ledger_entry_id=ledger_entry_id,
        renderer=renderer().render,
    )


def renderer() -> RenderPool:
    """The app's certificate renderer: the process's pool of long-lived render workers."""
    config = current_app.config
    return shared_pool(int(config["LMS_PDF_WORKERS"]), float(config["LMS_PDF_TIMEOUT_S"]))
