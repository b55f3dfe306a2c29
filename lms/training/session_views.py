"""Classroom sessions and study days: managers (their subtree's units) and HR plan them, build
the roster, and record attendance by ticking, by the QR check-in screen, or by importing a
sheet; the scanned sign-in sheet is kept with the session. Employees only ever see the check-in
page of a code they scanned."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from lms import storage
from lms.courses.models import Course, CourseStatus
from lms.db import Page, db_session, utcnow
from lms.i18n import gettext as _
from lms.i18n import local_date
from lms.org.models import Employee, Role
from lms.org.services import all_posts, unit_tree
from lms.security import current_employee, login_required, roles_required, unit_scope, valid_id
from lms.sheets import FileProblem
from lms.training import sessions
from lms.training.assignments import OutOfScope, Target
from lms.training.models import PlanItem, SessionAttendee, TrainingForm, TrainingSession
from lms.training.programmes import all_programmes
from lms.training.session_forms import CheckInForm, RosterForm, SessionForm, UploadForm

bp = Blueprint("sessions", __name__)

MANAGING = (Role.manager, Role.hr, Role.admin)
SHEET_AREA = "sign-in-sheets"
#: what a scanned sign-in sheet may be: (magic bytes, MIME type)
SHEET_TYPES = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG", "image/png"),
)

REFUSALS = {
    "invalid": lambda: _("This is not a valid check-in code. Scan the code on the screen again."),
    "expired": lambda: _("This code has expired: scan the code on the screen now."),
    "other_session": lambda: _("This code is for another session."),
    "not_on_roster": lambda: _("You are not on this session's roster: ask the trainer."),
    "not_open": lambda: _("Check-in is open from half an hour before the session to its end."),
}


def _session_or_404(session_id: int) -> TrainingSession:
    found = (
        sessions.get_session(db_session, current_employee(), session_id)
        if valid_id(session_id)
        else None
    )
    if found is None:
        abort(404)
    return found


def _days(session: TrainingSession) -> dict:
    return {"local_day": local_date(session.starts_at), "end_day": local_date(session.ends_at)}


def _aware(moment: datetime) -> datetime:
    """A time typed on the form, in the bureau's time zone."""
    return moment.replace(tzinfo=ZoneInfo(current_app.config["LMS_TIMEZONE"]))


@bp.route("/sessions")
@roles_required(*MANAGING)
def index():
    """The sessions held by the units in the actor's scope, newest first."""
    select = sessions.visible_sessions(current_employee())
    total = db_session.scalar(
        sa.select(sa.func.count()).select_from(
            select.with_only_columns(TrainingSession.id).subquery()
        )
    )
    size = int(current_app.config["LMS_PAGE_SIZE"])
    number = min(max(1, request.args.get("page", 1, type=int)), 10_000)
    items = db_session.scalars(select.limit(size).offset((number - 1) * size)).all()
    return render_template(
        "lms/training/sessions/index.html", page=Page(items, total or 0, number, size)
    )


def _session_form() -> SessionForm:
    actor = current_employee()
    form = SessionForm()
    form.programme.choices = [(p.code, p.name) for p in all_programmes(db_session).values()]
    courses = db_session.scalars(
        sa.select(Course).where(Course.status != CourseStatus.draft).order_by(Course.code)
    ).all()
    form.course.choices = [(0, "—")] + [(c.id, f"{c.code} {c.title}") for c in courses]
    form.unit.choices = [
        (u.id, "　" * depth + u.name) for u, depth, _c in unit_tree(db_session, unit_scope(actor))
    ]
    year = local_date().year
    items = db_session.scalars(
        sa.select(PlanItem).where(PlanItem.year.in_((year, year + 1))).order_by(PlanItem.position)
    ).all()
    form.plan_item.choices = [(0, "—")] + [(i.id, f"{i.year} {i.title}") for i in items]
    return form


@bp.route("/sessions/new", methods=["GET", "POST"])
@roles_required(*MANAGING)
def new():
    """Plan a session held by a unit in the actor's scope."""
    actor = current_employee()
    form = _session_form()
    if request.method == "GET" and actor.unit_id:
        form.unit.data = actor.unit_id
    if form.validate_on_submit():
        programmes = all_programmes(db_session)
        if form.programme.data not in programmes:
            form.programme.errors = [_("Choose a programme from the list.")]
        else:
            fields = sessions.SessionFields(
                title=form.title.data,
                programme=form.programme.data,
                form=TrainingForm(form.form.data),
                starts_at=_aware(form.starts_at.data),
                ends_at=_aware(form.ends_at.data),
                hours=Decimal(form.hours.data),
                unit_id=form.unit.data,
                place=form.place.data or "",
                trainer=form.trainer.data or "",
                note=form.note.data or "",
                course_id=form.course.data or None,
                plan_item_id=form.plan_item.data or None,
            )
            try:
                session = sessions.create_session(db_session, actor=actor, fields=fields)
            except sessions.SessionError as error:
                db_session.rollback()
                messages = {
                    "ends_at": _("The session must end after it starts, within a week."),
                    "unit_id": _("Choose a unit from the list."),
                    "hours": _("Hours are above 0 and at most 200."),
                }
                field = {"unit_id": "unit", "course_id": "course", "plan_item_id": "plan_item"}
                getattr(form, field.get(error.field, error.field)).errors = [
                    messages.get(error.field, _("Check this field."))
                ]
            else:
                db_session.commit()
                flash(_("The session is saved: now add its roster."), "success")
                return redirect(url_for("lms.sessions.show", session_id=session.id))
    return render_template("lms/training/sessions/new.html", form=form)


def _roster_form() -> RosterForm:
    form = RosterForm()
    form.unit.choices = [(0, "—")] + [
        (u.id, "　" * depth + u.name)
        for u, depth, _c in unit_tree(db_session, unit_scope(current_employee()))
    ]
    form.post.choices = [(0, "—")] + [(p.id, p.name) for p in all_posts(db_session)]
    return form


@bp.route("/sessions/<int:session_id>")
@roles_required(*MANAGING)
def show(session_id: int):
    """The session, its roster with attendance to tick, and the ways to fill both."""
    session = _session_or_404(session_id)
    people = sessions.roster(db_session, session)
    return render_template(
        "lms/training/sessions/show.html",
        session=session,
        roster=people,
        present=sum(1 for a in people if a.present),
        roster_form=_roster_form(),
        upload_form=UploadForm(),
        course=db_session.get(Course, session.course_id) if session.course_id else None,
        open_now=sessions.checkin_open(session, utcnow()),
    )


@bp.route("/sessions/<int:session_id>/roster", methods=["POST"])
@roles_required(*MANAGING)
def add_roster(session_id: int):
    """Add a unit's people (of a post, optionally) or named 工号 to the roster."""
    session = _session_or_404(session_id)
    form = _roster_form()
    if not form.validate_on_submit():
        abort(400)
    actor = current_employee()
    emp_nos = [t for t in form.emp_nos.data.replace(",", "\n").split() if t]
    if emp_nos:
        found = dict(
            db_session.execute(
                sa.select(Employee.emp_no, Employee.id).where(Employee.emp_no.in_(emp_nos))
            ).all()
        )
        unknown = [e for e in emp_nos if e not in found]
        if unknown:
            flash(_("Unknown 工号: %(list)s", list=", ".join(unknown[:20])), "error")
            return redirect(url_for("lms.sessions.show", session_id=session.id))
        target = Target(employee_ids=tuple(found[e] for e in emp_nos))
    elif form.unit.data:
        target = Target(unit_id=form.unit.data, post_id=form.post.data or None)
    else:
        flash(_("Choose a unit or give 工号."), "error")
        return redirect(url_for("lms.sessions.show", session_id=session.id))
    try:
        added = sessions.add_to_roster(db_session, session, actor=actor, target=target)
    except OutOfScope:
        db_session.rollback()
        abort(404)
    db_session.commit()
    flash(_("%(num)d added to the roster.", num=added), "success")
    return redirect(url_for("lms.sessions.show", session_id=session.id))


@bp.route("/sessions/<int:session_id>/attendance", methods=["POST"])
@roles_required(*MANAGING)
def attendance(session_id: int):
    """Save the ticked roster: the ticked are present, the others absent (their ledger rows
    written or removed)."""
    session = _session_or_404(session_id)  # (the CSRF token is checked for every POST)
    ticked = {int(v) for v in request.form.getlist("present") if v.isdecimal()}
    actor, now = current_employee(), utcnow()
    changed = 0
    for attendee in sessions.roster(db_session, session):
        changed += sessions.mark(
            db_session,
            session,
            attendee,
            present=attendee.employee_id in ticked,
            method="tick",
            actor=actor,
            now=now,
            **_days(session),
        )
    db_session.commit()
    flash(_("Attendance saved: %(num)d changed.", num=changed), "success")
    return redirect(url_for("lms.sessions.show", session_id=session.id))


@bp.route("/sessions/<int:session_id>/attendance/import", methods=["POST"])
@roles_required(*MANAGING)
def import_attendance(session_id: int):
    """Mark attendance from a sheet (工号, 出勤), all-or-nothing."""
    session = _session_or_404(session_id)
    form = UploadForm()
    if not form.validate_on_submit():
        flash(_("Choose a CSV or XLSX file."), "error")
        return redirect(url_for("lms.sessions.show", session_id=session.id))
    upload = form.file.data
    file = Path(upload.filename or "upload").name[:200] or "upload"
    try:
        table = sessions.read_attendance(upload.read(), file)
        result = sessions.import_attendance(
            db_session, session, table, actor=current_employee(), now=utcnow(), **_days(session)
        )
    except FileProblem as problem:
        db_session.rollback()
        errors = problem.problems
    else:
        errors = result.errors
    if errors:
        db_session.rollback()
        for error in errors[:20]:
            flash(str(error), "error")
        flash(_("Nothing was imported."), "error")
    else:
        db_session.commit()
        flash(
            _(
                "Attendance imported: %(num)d changed, %(same)d unchanged.",
                num=result.imported,
                same=result.unchanged,
            ),
            "success",
        )
    return redirect(url_for("lms.sessions.show", session_id=session.id))


@bp.route("/sessions/<int:session_id>/sheet", methods=["POST"])
@roles_required(*MANAGING)
def upload_sheet(session_id: int):
    """Keep the scanned sign-in sheet (PDF, JPEG or PNG) with the session."""
    session = _session_or_404(session_id)
    form = UploadForm()
    data = form.file.data.read() if form.validate_on_submit() else b""
    if not any(data.startswith(magic) for magic, _type in SHEET_TYPES):
        flash(_("The sign-in sheet must be a PDF, JPEG or PNG file."), "error")
        return redirect(url_for("lms.sessions.show", session_id=session.id))
    sha256 = hashlib.sha256(data).hexdigest()
    storage.write_blob(storage.blob_path(storage.data_dir(current_app), SHEET_AREA, sha256), data)
    name = Path(form.file.data.filename or "sheet").name[:200]
    sessions.attach_sheet(db_session, session, name=name, sha256=sha256, actor=current_employee())
    db_session.commit()
    flash(_("The sign-in sheet is attached."), "success")
    return redirect(url_for("lms.sessions.show", session_id=session.id))


@bp.route("/sessions/<int:session_id>/sheet")
@roles_required(*MANAGING)
def sheet(session_id: int):
    session = _session_or_404(session_id)
    if not session.sheet_sha256:
        abort(404)
    path = storage.blob_path(storage.data_dir(current_app), SHEET_AREA, session.sheet_sha256)
    if not path.is_file():
        abort(404)
    head = path.open("rb").read(8)
    mimetype = next((t for magic, t in SHEET_TYPES if head.startswith(magic)), "application/pdf")
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=session.sheet_name)


# -- QR check-in --------------------------------------------------------------------------------


def _checkin_url(session: TrainingSession, code: str) -> str:
    base = current_app.config["LMS_PUBLIC_URL"] or request.host_url
    return base.rstrip("/") + url_for("lms.sessions.checkin", session_id=session.id, c=code)


def _qr(url: str) -> str:
    import segno

    return segno.make(url, error="m").svg_inline(scale=8, border=2, omitsize=True)


@bp.route("/sessions/<int:session_id>/qr")
@roles_required(*MANAGING)
def qr_screen(session_id: int):
    """The trainer's screen: the check-in QR code, which changes every minute (the page
    fetches the new one by itself)."""
    session = _session_or_404(session_id)
    url = _checkin_url(session, sessions.checkin_code(session, utcnow()))
    return render_template(
        "lms/training/sessions/qr.html",
        session=session,
        qr=_qr(url),
        open_now=sessions.checkin_open(session, utcnow()),
    )


@bp.route("/sessions/<int:session_id>/qr.json")
@roles_required(*MANAGING)
def qr_json(session_id: int):
    session = _session_or_404(session_id)
    now = utcnow()
    present = db_session.scalar(
        sa.select(sa.func.count()).where(
            SessionAttendee.session_id == session.id, SessionAttendee.present.is_(True)
        )
    )
    response = jsonify(
        svg=_qr(_checkin_url(session, sessions.checkin_code(session, now))),
        open=sessions.checkin_open(session, now),
        present=present,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/checkin/<int:session_id>", methods=["GET", "POST"])
@login_required
def checkin(session_id: int):
    """Self check-in with the scanned code: a page to confirm (GET changes nothing), then the
    check-in (POST)."""
    session = db_session.get(TrainingSession, session_id) if valid_id(session_id) else None
    if session is None:
        abort(404)
    form = CheckInForm()
    if request.method == "GET":
        form.code.data = request.args.get("c", "")[:100]
    message, done = None, False
    if form.validate_on_submit():
        try:
            sessions.check_in(
                db_session,
                session,
                current_employee(),
                form.code.data,
                now=utcnow(),
                **_days(session),
            )
        except sessions.CheckInRefused as refused:
            db_session.rollback()
            message = REFUSALS[refused.reason]()
        else:
            db_session.commit()
            done = True
    elif request.method == "GET":
        try:
            sessions.verify_code(session, form.code.data, utcnow())
        except sessions.CheckInRefused as refused:
            message = REFUSALS[refused.reason]()
    status = 200 if message is None else 400 if request.method == "POST" else 200
    return (
        render_template(
            "lms/training/sessions/checkin.html",
            session=session,
            form=form,
            message=message,
            done=done,
        ),
        status,
    )
