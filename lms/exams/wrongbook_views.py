"""The signed-in employee's wrong-answer book (错题本) and practice built from it.

Only one's own book: the URLs carry no employee id, so there is nobody else's to ask for. Thin
views over :mod:`lms.exams.wrongbook`; the attempt itself runs on the exam pages
(:mod:`lms.exams.views`).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import HiddenField, IntegerField
from wtforms.validators import InputRequired, NumberRange

from lms.db import db_session, utcnow
from lms.exams import services, wrongbook
from lms.i18n import gettext as _
from lms.i18n import lazy_gettext as _l
from lms.i18n import local_date
from lms.questions.models import QuestionBank
from lms.security import current_employee, login_required

bp = Blueprint("wrongbook", __name__)


class PracticeForm(FlaskForm):
    count = IntegerField(
        _l("Number of questions"),
        default=wrongbook.PRACTICE_DEFAULT,
        validators=[
            InputRequired(),
            NumberRange(min=wrongbook.PRACTICE_MIN, max=wrongbook.PRACTICE_MAX),
        ],
    )
    bank = HiddenField()
    point = HiddenField()


def _filters() -> tuple[int | None, str | None, list[QuestionBank], list[str]]:
    """The bank and knowledge point asked for, if they are among the employee's entries, and
    those of the employee's entries."""
    banks, points = wrongbook.filters(db_session, current_employee())
    bank_text = request.values.get("bank", "")
    bank_id = int(bank_text) if bank_text.isdecimal() and len(bank_text) < 10 else None
    if bank_id not in {b.id for b in banks}:
        bank_id = None
    point = request.values.get("point", "")
    return bank_id, point if point in points else None, banks, points


@bp.route("/me/mistakes")
@login_required
def book():
    """The questions the employee got wrong, still to learn (``?mastered=1``: all)."""
    me = current_employee()
    now = utcnow()
    exam = services.exam_under_way(db_session, me.id, now=now)
    if exam is not None:
        return render_template("lms/exams/wrongbook/closed.html", attempt=exam)
    bank_id, point, banks, points = _filters()
    mastered = request.args.get("mastered") == "1"
    page = wrongbook.book(
        db_session,
        me,
        now=now,
        mastered=mastered,
        bank_id=bank_id,
        knowledge_point=point,
        page=request.args.get("page", 1, type=int),
        page_size=current_app.config["LMS_PAGE_SIZE"],
    )
    form = PracticeForm(formdata=None, bank=bank_id or "", point=point or "")
    return render_template(
        "lms/exams/wrongbook/book.html",
        page=page,
        banks=banks,
        points=points,
        bank_id=bank_id,
        point=point or "",
        mastered=mastered,
        form=form,
        available=wrongbook.practice_available(
            db_session, me, now=now, bank_id=bank_id, knowledge_point=point
        ),
        open_practice=wrongbook.open_practice(db_session, me),
    )


@bp.route("/me/mistakes/practice", methods=["POST"])
@login_required
def practice():
    """Practise questions from the book (or resume the open practice) on the attempt page."""
    form = PracticeForm()
    bank_id, point, _banks, _points = _filters()
    back = url_for(".book", bank=bank_id, point=point)
    if not form.validate():
        flash(
            _(
                "Number of questions: enter a whole number from %(low)d to %(high)d.",
                low=wrongbook.PRACTICE_MIN,
                high=wrongbook.PRACTICE_MAX,
            ),
            "error",
        )
        return redirect(back)
    me = current_employee()
    if services.exam_under_way(db_session, me.id, now=utcnow()) is not None:
        return redirect(url_for(".book"))
    try:
        attempt = wrongbook.start_practice(
            db_session,
            me,
            count=form.count.data,
            title=_("Mistake practice %(date)s", date=local_date().isoformat()),
            now=utcnow(),
            bank_id=bank_id,
            knowledge_point=point,
        )
        db_session.commit()
    except IntegrityError:
        # a second practice at the same moment on the same paper: go to the one that won
        db_session.rollback()
        attempt = wrongbook.open_practice(db_session, me)
        if attempt is None:
            raise
    except services.ExamError:
        db_session.rollback()
        flash(_("There is nothing to practise now."), "error")
        return redirect(back)
    return redirect(url_for("lms.exams.attempt", attempt_id=attempt.id))
