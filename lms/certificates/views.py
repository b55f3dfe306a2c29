"""The public verification page: anyone (no sign-in) checks a certificate by the code in its
QR code. It shows the holder's name (masked, by default), the course, the dates and the status,
and nothing else about the person; every look-up is recorded and rate-limited per address.

Signed in: a person's own certificates and their stored PDFs; HR revoking and reissuing one
(the forms are on the person's training record page); and the certificates to renew (valid
ones ending soon or already past), for managers (their subtree) and HR (everyone), on a page
and as XLSX.
"""

from __future__ import annotations

import io

import sqlalchemy as sa
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
from lms.certificates.issuing import renderer, verify_url
from lms.certificates.models import Certificate, CertificateSource
from lms.certificates.rendering import RenderTimeout
from lms.db import Page, db_session, use_write_session, utcnow
from lms.i18n import gettext as _
from lms.i18n import local_date
from lms.org.models import Role
from lms.security import (
    can_see_employee,
    current_employee,
    employee_scope,
    is_local_path,
    login_required,
    roles_required,
    valid_id,
)
from lms.sheets import write_xlsx

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
    """The signed-in employee's certificates, with their status and the stored PDFs; a
    replaced one names the certificate that replaced it, and that one the one it replaced."""
    rows = services.certificates_of(db_session, current_employee().id)
    # a replacement (reissue or renewal) is always the same person's: all are in ``rows``
    serials = {c.id: c.serial for c in rows}
    return render_template(
        "lms/certificates/mine.html",
        rows=rows,
        today=local_date(),
        designs=shipped_designs(),
        expiring_days=int(current_app.config["LMS_CERTIFICATE_EXPIRING_DAYS"]),
        status_on=services.status_on,
        replaced_by={c.replaces_id: c.serial for c in rows if c.replaces_id},
        replaces={c.id: serials.get(c.replaces_id, "") for c in rows if c.replaces_id},
        revoked_on={c.id: local_date(c.revoked_at) for c in rows if c.revoked_at},
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
    return _back_to_record(certificate)


@bp.route("/certificates/<int:certificate_id>/reissue", methods=["POST"])
@roles_required(Role.hr, Role.admin)
def reissue(certificate_id: int):
    """Reissue a valid certificate with a reason (HR): a lost paper, a corrected name. A new
    serial, code and PDF with the same course, score and end of validity; the old one is
    marked replaced (its QR code then says so) and names the new one."""
    certificate = _certificate_or_404(certificate_id)
    design = shipped_designs().get(certificate.design)
    if certificate.source is CertificateSource.imported:
        flash(_("A certificate held before the system cannot be reissued."), "error")
        return _back_to_record(certificate)
    if design is None:  # the design was removed since: printing it again is impossible
        flash(
            _(
                "The certificate's design %(design)s is not installed any more, so it cannot "
                "be printed again. Install the design, or issue a new certificate.",
                design=certificate.design,
            ),
            "error",
        )
        return _back_to_record(certificate)
    config = current_app.config
    now = utcnow()
    old_serial = certificate.serial
    try:
        new = services.reissue_certificate(
            db_session,
            certificate,
            reason=request.form.get("reason", ""),
            design=design,
            bureau=config["LMS_BUREAU_NAME"],
            serial_bureau=config["LMS_CERTIFICATE_SERIAL_PREFIX"],
            verify_url=verify_url,
            data_dir=storage.data_dir(current_app),
            actor=current_employee(),
            now=now,
            issued_on=local_date(now),
            renderer=renderer().render,
        )
        db_session.commit()
    except services.CertificateError as error:
        db_session.rollback()
        messages = {
            "a reason is needed": _("Reason: say why the certificate is reissued."),
            "only a valid certificate can be reissued": _(
                "Only a valid certificate can be reissued."
            ),
            "an imported certificate cannot be reissued": _(
                "A certificate held before the system cannot be reissued."
            ),
        }
        flash(
            messages.get(
                str(error),
                _("The new certificate could not be made: %(error)s", error=str(error)),
            ),
            "error",
        )
        return _back_to_record(certificate)
    except RenderTimeout:
        db_session.rollback()
        flash(
            _("Printing the new certificate took too long; nothing was changed. Try again."),
            "error",
        )
        return _back_to_record(certificate)
    flash(
        _(
            "The certificate %(old)s is reissued as %(new)s; the old one now verifies as replaced.",
            old=old_serial,
            new=new.serial,
        ),
        "success",
    )
    return _back_to_record(certificate)


def _back_to_record(certificate: Certificate):
    """Back where the form was (``next``, a path on this site), else the holder's record."""
    target = request.form.get("next", "")
    fallback = url_for("lms.training.record", employee_id=certificate.employee_id)
    return redirect(target if is_local_path(target) else fallback)


# -- certificates to renew ---------------------------------------------------------------------

#: the spreadsheet's columns (Chinese, as the bureau's sheets are)
EXPIRING_HEADERS = (
    "姓名",
    "工号",
    "单位",
    "岗位",
    "证书名称",
    "课程",
    "证书编号",
    "有效期至",
    "剩余天数",
    "状态",
)
#: column widths of the spreadsheet, in characters
EXPIRING_WIDTHS = (10, 12, 20, 14, 16, 30, 22, 12, 10, 10)
#: the most rows an export holds (the page itself is paginated)
EXPORT_MAX_ROWS = 100_000
MAX_PAGE = 1_000_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/certificates/expiring")
@roles_required(Role.manager, Role.hr, Role.admin)
def expiring():
    """Certificates to renew: a manager's subtree's, everyone's for HR; one page at a time."""
    today = local_date()
    days = int(current_app.config["LMS_CERTIFICATE_EXPIRING_DAYS"])
    select = services.to_renew(employee_scope(current_employee()), today=today, days=days)
    total = db_session.scalar(
        sa.select(sa.func.count()).select_from(select.with_only_columns(Certificate.id).subquery())
    )
    size = int(current_app.config["LMS_PAGE_SIZE"])
    number = min(max(1, request.args.get("page", 1, type=int)), MAX_PAGE)
    items = db_session.scalars(select.limit(size).offset((number - 1) * size)).all()
    return render_template(
        "lms/certificates/expiring.html",
        page=Page(items, total or 0, number, size),
        today=today,
        days=days,
        designs=shipped_designs(),
    )


@bp.route("/certificates/expiring.xlsx")
@roles_required(Role.manager, Role.hr, Role.admin)
def expiring_xlsx():
    """The same list as a spreadsheet (every row, up to :data:`EXPORT_MAX_ROWS`)."""
    today = local_date()
    days = int(current_app.config["LMS_CERTIFICATE_EXPIRING_DAYS"])
    designs = shipped_designs()
    rows = []
    for c in db_session.scalars(
        services.to_renew(employee_scope(current_employee()), today=today, days=days).limit(
            EXPORT_MAX_ROWS
        )
    ):
        left = (c.valid_until - today).days  # type: ignore[operator]
        person = c.employee
        rows.append(
            [
                person.name,
                person.emp_no,
                person.unit.name,
                person.post.name if person.post else "",
                designs[c.design].title if c.design in designs else c.kind,
                c.title,
                c.serial,
                c.valid_until.isoformat(),  # type: ignore[union-attr]
                left,
                "已过期" if left < 0 else "即将到期",
            ]
        )
    body = write_xlsx(EXPIRING_HEADERS, rows, title="到期证书", widths=EXPIRING_WIDTHS)
    response = send_file(
        io.BytesIO(body),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"到期证书-{today.isoformat()}.xlsx",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
