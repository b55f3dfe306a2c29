"""The public verification page: anyone (no sign-in) checks a certificate by the code in its
QR code. It shows the holder's name (masked, by default), the course, the dates and the status,
and nothing else about the person; every look-up is recorded and rate-limited per address."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from lms import storage
from lms.certificates import services
from lms.certificates.designs import shipped_designs
from lms.certificates.models import Certificate
from lms.db import db_session, use_write_session, utcnow
from lms.i18n import gettext as _
from lms.i18n import local_date
from lms.org.models import Role
from lms.security import (
    can_see_employee,
    current_employee,
    is_local_path,
    login_required,
    roles_required,
    valid_id,
)

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
    today = local_date(now)
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


def _certificate_or_404(certificate_id: int) -> Certificate:
    """A certificate the signed-in person may see: their own, their subtree's (managers), any
    (HR); 404 otherwise, exactly as for one that does not exist."""
    certificate = db_session.get(Certificate, certificate_id) if valid_id(certificate_id) else None
    if certificate is None or not can_see_employee(current_employee(), certificate.employee):
        abort(404)
    return certificate


@bp.route("/me/certificates")
@login_required
def mine():
    """The signed-in employee's certificates, with their status and the stored PDFs."""
    rows = services.certificates_of(db_session, current_employee().id)
    return render_template(
        "lms/certificates/mine.html",
        rows=rows,
        today=local_date(),
        designs=shipped_designs(),
        expiring_days=int(current_app.config["LMS_CERTIFICATE_EXPIRING_DAYS"]),
        status_on=services.status_on,
    )


@bp.route("/certificates/<int:certificate_id>.pdf")
@login_required
def download(certificate_id: int):
    """The PDF stored when the certificate was issued (never rendered again)."""
    certificate = _certificate_or_404(certificate_id)
    if not certificate.pdf_sha256:
        abort(404)  # imported: there is no PDF
    path = storage.blob_path(
        storage.data_dir(current_app), services.PDF_AREA, certificate.pdf_sha256
    )
    if not path.is_file():
        abort(404)
    return send_file(
        path,
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"{certificate.serial}.pdf",
        max_age=0,
    )


@bp.route("/certificates/<int:certificate_id>/revoke", methods=["POST"])
@roles_required(Role.hr, Role.admin)
def revoke(certificate_id: int):
    """Revoke a valid certificate with a reason (HR); it verifies as revoked from then on."""
    certificate = _certificate_or_404(certificate_id)
    try:
        services.revoke(
            db_session,
            certificate,
            actor=current_employee(),
            reason=request.form.get("reason", ""),
            now=utcnow(),
        )
        db_session.commit()
        flash(_("The certificate %(serial)s is revoked.", serial=certificate.serial), "success")
    except services.CertificateError as error:
        db_session.rollback()
        messages = {
            "a reason is needed": _("Reason: say why the certificate is revoked."),
            "only a valid certificate can be revoked": _(
                "Only a valid certificate can be revoked."
            ),
        }
        flash(messages.get(str(error), str(error)), "error")
    target = request.form.get("next", "")
    fallback = url_for("lms.training.record", employee_id=certificate.employee_id)
    return redirect(target if is_local_path(target) else fallback)
