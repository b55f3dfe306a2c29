"""Training administration pages: assigning courses and packs (managers within their own
subtree, HR anywhere), the assignments list with closing by hand, the course packs, and the
training matrix as a grid that HR edits.

Employees get 404 on all of them (their own assignments are on their home page); managers see
the matrix read-only. Anything outside the actor's scope answers 404, as anything unknown does.
Thin views over :mod:`lms.training.assignments`, :mod:`.assignment_admin` and
:mod:`.matrix`; the forms are read by :mod:`.assignment_forms`.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from lms.db import db_session
from lms.i18n import gettext as _
from lms.i18n import lazy_gettext as _l
from lms.i18n import local_date
from lms.org.models import Role
from lms.security import (
    STAFF_ROLES,
    current_employee,
    get_unit_or_404,
    is_local_path,
    is_staff,
    roles_required,
    valid_id,
)
from lms.training import assignment_admin as admin
from lms.training.assignment_forms import (
    AssignForm,
    RequirementForm,
    course_choices,
    item_choices,
    post_choices,
    read_assign,
    read_requirement,
    unit_choices,
)
from lms.training.assignments import AssignmentState, OutOfScope, assign
from lms.training.models import MatrixRequirement

bp = Blueprint("assignments", __name__)

MANAGERS_AND_STAFF = (Role.manager, Role.hr, Role.admin)

STATE_LABELS = {
    AssignmentState.not_started: _l("Not started"),
    AssignmentState.in_progress: _l("In progress"),
    AssignmentState.completed: _l("Completed"),
    AssignmentState.overdue: _l("Overdue"),
    AssignmentState.closed: _l("Closed"),
}


# Assigning -------------------------------------------------------------------------------------


@bp.route("/assignments/new", methods=["GET", "POST"])
@roles_required(*MANAGERS_AND_STAFF)
def new():
    """Assign a course or a pack to a unit subtree (optionally one post in it) or to named
    people, due on a date; then the list, with what was made."""
    actor = current_employee()
    today = local_date()
    form = AssignForm()
    form.item.choices = []  # the template lists the groups of item_choices itself
    form.unit_id.choices = unit_choices(db_session, actor)
    form.post_id.choices = post_choices(db_session, empty=_("All posts"))
    if request.method == "GET":
        form.unit_id.data = str(actor.unit_id)
        form.item.data = request.args.get("item", "")[:40]
    elif form.validate_on_submit():
        try:
            wanted = read_assign(db_session, form, actor=actor, today=today)
            result = None
            if wanted is not None:
                result = assign(
                    db_session,
                    actor=actor,
                    courses=wanted.courses,
                    target=wanted.target,
                    due_on=wanted.due_on,
                    note=wanted.note,
                    pack=wanted.pack,
                )
        except OutOfScope:
            db_session.rollback()
            abort(404)
        if result is not None and result.people == 0:
            db_session.rollback()  # not even an audit entry for assigning to nobody
            field = form.unit_id if form.target.data == "unit" else form.emp_nos
            field.errors = [
                *field.errors,
                _("Nobody there to assign to: choose another unit or post."),
            ]
        elif result is not None:
            db_session.commit()
            flash(
                _(
                    "%(created)d assignments made for %(people)d people, "
                    "%(already)d already had it.",
                    created=result.created,
                    people=result.people,
                    already=result.already,
                ),
                "info",
            )
            return redirect(url_for(".assignments"))
    page = render_template(
        "lms/training/assignments/new.html",
        form=form,
        item_groups=item_choices(db_session),
        today=today,
    )
    return page, 400 if request.method == "POST" else 200


# The list --------------------------------------------------------------------------------------


@bp.route("/assignments")
@roles_required(*MANAGERS_AND_STAFF)
def assignments():
    """The assignments in the actor's scope, filtered by course, unit and state."""
    actor = current_employee()
    today = local_date()
    unit = None
    if request.args.get("unit", "").isdecimal():
        unit = get_unit_or_404(db_session, actor, int(request.args["unit"]))
    course_id = request.args.get("course", "")
    course_id = int(course_id) if course_id.isdecimal() and valid_id(int(course_id)) else None
    state = request.args.get("state", "")
    state = AssignmentState(state) if state in AssignmentState.__members__ else None
    page = admin.search_assignments(
        db_session,
        actor,
        today=today,
        course_id=course_id,
        unit=unit,
        state=state,
        page=request.args.get("page", 1, type=int),
        page_size=current_app.config["LMS_PAGE_SIZE"],
    )
    return render_template(
        "lms/training/assignments/list.html",
        page=page,
        unit=unit,
        course_id=course_id,
        state=state,
        units=unit_choices(db_session, actor),
        courses=admin.filter_courses(db_session),
        state_labels=STATE_LABELS,
    )


@bp.route("/assignments/<int:assignment_id>/close", methods=["POST"])
@roles_required(*MANAGERS_AND_STAFF)
def close(assignment_id: int):
    """Close (cancel) an open assignment made by hand or with a pack."""
    actor = current_employee()
    assignment = admin.assignment_in_scope(db_session, actor, assignment_id)
    if assignment is None:
        abort(404)
    if admin.close_assignment(db_session, actor, assignment):
        db_session.commit()
        flash(_("The assignment is closed."), "info")
    else:
        flash(_("Only an open assignment made by hand or with a pack can be closed."), "error")
    target = request.form.get("next", "")
    return redirect(target if is_local_path(target) else url_for(".assignments"))


# Course packs ----------------------------------------------------------------------------------


@bp.route("/packs")
@roles_required(*MANAGERS_AND_STAFF)
def packs():
    """The course packs with their courses (shipped as files: ``lms courses import-packs``)."""
    return render_template("lms/training/assignments/packs.html", packs=admin.all_packs(db_session))


# The training matrix ---------------------------------------------------------------------------


@bp.route("/admin/matrix")
@roles_required(*MANAGERS_AND_STAFF)
def matrix():
    """The training matrix as a grid of posts by courses; HR edits it, managers read it."""
    editable = is_staff(current_employee())
    return _matrix_page(_requirement_form(formdata=None) if editable else None)


def _requirement_form(**kwargs) -> RequirementForm:
    form = RequirementForm(**kwargs)
    form.post_id.choices = post_choices(db_session, empty=_("Choose a post"))
    form.course_id.choices = course_choices(db_session)
    return form


def _matrix_page(form: RequirementForm | None, status: int = 200):
    """The grid, with HR's form (None: read-only, for managers)."""
    page = render_template(
        "lms/training/matrix.html", grid=admin.matrix_grid(db_session), form=form
    )
    return page, status


@bp.route("/admin/matrix", methods=["POST"])
@roles_required(*STAFF_ROLES)
def save_requirement():
    """Add a requirement, or change the renewal and due days of one; the people in the post
    get their assignments at once."""
    actor = current_employee()
    form = _requirement_form()
    if not form.validate():
        abort(400)
    wanted = read_requirement(db_session, form)
    if wanted is None:
        return _matrix_page(form, 400)
    change = admin.set_requirement(
        db_session,
        actor,
        post=wanted.post,
        course=wanted.course,
        renewal_months=wanted.renewal_months,
        due_days=wanted.due_days,
    )
    db_session.commit()
    _flash_change(change)
    return redirect(url_for(".matrix"))


@bp.route("/admin/matrix/<int:requirement_id>/remove", methods=["POST"])
@roles_required(*STAFF_ROLES)
def remove_requirement(requirement_id: int):
    """Remove a requirement; the open assignments it made close."""
    requirement = (
        db_session.get(MatrixRequirement, requirement_id) if valid_id(requirement_id) else None
    )
    if requirement is None:
        abort(404)
    change = admin.remove_requirement(db_session, current_employee(), requirement)
    db_session.commit()
    _flash_change(change)
    return redirect(url_for(".matrix"))


def _flash_change(change: admin.MatrixChange) -> None:
    messages = {
        "created": _("The requirement is added."),
        "updated": _("The requirement is changed."),
        "removed": _("The requirement is removed."),
        "unchanged": _("Nothing changed."),
    }
    message = messages[change.outcome]
    if change.outcome != "unchanged":
        message += " " + _(
            "%(created)d assignments made, %(closed)d closed.",
            created=change.sync.created,
            closed=change.sync.closed,
        )
    flash(message, "info")
