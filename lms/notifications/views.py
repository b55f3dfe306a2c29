"""A person's notifications (``/notifications``: their own only, newest first, unread marked,
each opening its target) and HR's outbox (``/admin/outbox``: every e-mail queued, with its
status; anyone else gets 404).

The outbox page is there whether or not e-mail is sent: in development (no ``LMS_SMTP_HOST``)
it shows what would have been sent, in production what was sent and what failed.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy.exc import SQLAlchemyError

from lms.db import db_session, use_write_session, utcnow
from lms.notifications import services
from lms.notifications.mail import SmtpSettings
from lms.security import (
    STAFF_ROLES,
    current_employee,
    is_local_path,
    login_required,
    roles_required,
    valid_id,
)

bp = Blueprint("notifications", __name__)

#: the highest page number accepted (beyond any real list; keeps OFFSET sane)
MAX_PAGE = 1_000_000
FOLLOW_ENDPOINT = "lms.notifications.follow"


class MarkAllReadForm(FlaskForm):
    """No fields: the CSRF token only."""


@bp.before_request
def _write_session_for_following() -> None:
    """Opening a notification marks it read: a GET that writes needs a write session."""
    if request.endpoint == FOLLOW_ENDPOINT:
        use_write_session()


def unread_badge() -> int:
    """The header's badge: the signed-in person's unread notifications (for the templates'
    context; 0 for no one, and on an error page whose transaction has failed)."""
    me = current_employee()
    if me is None:
        return 0
    try:
        return services.unread_count(db_session, me.id)
    except SQLAlchemyError:
        return 0


def _page_number() -> int:
    return min(max(1, request.args.get("page", 1, type=int) or 1), MAX_PAGE)


@bp.route("/notifications")
@login_required
def index():
    """The signed-in person's notifications, newest first."""
    me = current_employee()
    page = services.notifications_page(
        db_session,
        me.id,
        page=_page_number(),
        size=int(current_app.config["LMS_PAGE_SIZE"]),
    )
    return render_template(
        "lms/notifications/index.html",
        page=page,
        unread=services.unread_count(db_session, me.id),
        form=MarkAllReadForm(),
    )


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all():
    """Mark every notification of the signed-in person read."""
    form = MarkAllReadForm()
    if not form.validate_on_submit():
        abort(400)
    services.mark_all_read(db_session, current_employee().id, now=utcnow())
    db_session.commit()
    return redirect(url_for("lms.notifications.index"))


@bp.route("/notifications/<int:notification_id>")
@login_required
def follow(notification_id: int):
    """Mark one of the person's own notifications read and go to what it is about (another's,
    or none, is 404)."""
    me = current_employee()
    notification = (
        services.notification_of(db_session, me.id, notification_id)
        if valid_id(notification_id)
        else None
    )
    if notification is None:
        abort(404)
    services.mark_read(db_session, notification, now=utcnow())
    db_session.commit()
    target = request.script_root + notification.link if notification.link else ""
    if not is_local_path(target):
        target = url_for("lms.notifications.index")
    return redirect(target)


OUTBOX_STATUSES = ("unsent", "sent", "failed")


@bp.route("/admin/outbox")
@roles_required(*STAFF_ROLES)
def outbox():
    """Every e-mail queued, newest first, with its status (HR and admins)."""
    status = request.args.get("status", "")
    if status not in OUTBOX_STATUSES:
        status = ""
    page = services.outbox_page(
        db_session,
        status=status or None,
        page=_page_number(),
        size=int(current_app.config["LMS_PAGE_SIZE"]),
    )
    return render_template(
        "lms/notifications/outbox.html",
        page=page,
        status=status,
        statuses=OUTBOX_STATUSES,
        status_of=services.outbox_status,
        sending=SmtpSettings.from_config(current_app.config).enabled,
    )
