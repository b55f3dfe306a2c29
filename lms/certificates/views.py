"""The public verification page: anyone (no sign-in) checks a certificate by the code in its
QR code. It shows the holder's name (masked, by default), the course, the dates and the status,
and nothing else about the person; every look-up is recorded and rate-limited per address."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request

from lms.certificates import services
from lms.certificates.designs import shipped_designs
from lms.db import db_session, use_write_session, utcnow

bp = Blueprint("certificates", __name__)


@bp.route("/verify")
@bp.route("/verify/<code>")
def verify(code: str = ""):
    """A certificate's status by its verification code (``?code=`` from the form, too)."""
    code = (code or request.args.get("code", "")).strip()
    if not code:
        return render_template("lms/certificates/verify.html", code="", result=None)
    use_write_session()  # the look-up is recorded
    config = current_app.config
    now = utcnow()
    certificate, allowed = services.verify(
        db_session,
        code,
        address=request.remote_addr or "",
        now=now,
        per_minute=int(config["LMS_VERIFY_PER_MINUTE"]),
    )
    db_session.commit()
    if not allowed:
        return render_template("lms/certificates/verify.html", code=code, limited=True), 429
    if certificate is None:
        return render_template("lms/certificates/verify.html", code=code, result=None), 404
    today = now.astimezone(ZoneInfo(config["LMS_TIMEZONE"])).date()
    design = shipped_designs().get(certificate.design)
    name = certificate.employee.name
    result = {
        "holder": services.mask_name(name) if config["LMS_VERIFY_MASK_NAME"] else name,
        "kind": design.title if design else certificate.kind,
        "title": certificate.title,
        "serial": certificate.serial,
        "issued_on": certificate.issued_on,
        "valid_until": certificate.valid_until,
        "status": services.status_on(
            certificate, today, expiring_days=int(config["LMS_CERTIFICATE_EXPIRING_DAYS"])
        ),
        "imported": certificate.source.value == "imported",
    }
    return render_template("lms/certificates/verify.html", code=code, result=result)
