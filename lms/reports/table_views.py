"""The tables HR files, as pages and files: the training statistics table (/reports/statistics,
with .xlsx and .csv) and the training ledger (/reports/ledger, with .xlsx and .csv; a large one
is written by the job ``reports.ledger_export``, whose page /reports/ledger/exports/<job> shows its
progress and then the download).

HR and admins see any unit (the whole bureau by default); managers their own subtree (their
unit by default; another unit is 404); employees get 404.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_wtf import FlaskForm

from lms.db import db_session, reads_first
from lms.i18n import gettext as _
from lms.i18n import local_date
from lms.jobs.models import Job, JobState
from lms.jobs.services import enqueue, job_progress
from lms.org.models import Employee, Role, Unit
from lms.org.services import unit_tree
from lms.reports import tables
from lms.reports.coverage import CoverageSettings
from lms.security import (
    current_employee,
    get_unit_or_404,
    is_staff,
    roles_required,
    unit_scope,
    valid_id,
)
from lms.sheets import parse_date, write_csv, write_xlsx

bp = Blueprint("report_tables", __name__)

MANAGERS_AND_STAFF = (Role.manager, Role.hr, Role.admin)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
#: ledger rows shown on the page
LEDGER_ON_PAGE = 100
#: a ledger export up to this many rows is served at once; a larger one runs as a job
DIRECT_EXPORT_MAX = 20_000
#: the person's recent ledger exports listed on the page
RECENT_EXPORTS = 5


class ExportForm(FlaskForm):
    """The ledger's export buttons: only the CSRF token (the filter is in the query string)."""


def _chosen_unit(actor: Employee) -> Unit | None:
    """``?unit=<id>`` (404 outside the actor's scope, or not an id); else the whole bureau for
    HR and admins, the manager's own unit for a manager."""
    value = request.args.get("unit", "")
    if not value:
        return None if is_staff(actor) else actor.unit
    if not (value.isascii() and value.isdigit()):
        abort(404)
    return get_unit_or_404(db_session, actor, int(value))


def _year(errors: dict[str, str], today: date) -> int:
    value = request.args.get("year", "").strip()
    if not value:
        return today.year
    if value.isascii() and value.isdigit() and tables.FIRST_YEAR <= int(value) <= tables.LAST_YEAR:
        return int(value)
    errors["year"] = _(
        "Year: give a year between %(first)d and %(last)d.",
        first=tables.FIRST_YEAR,
        last=tables.LAST_YEAR,
    )
    return today.year


def _args(unit: Unit | None, **values: Any) -> dict[str, Any]:
    """The query string of a page's links (exports, the form's own values)."""
    args = {key: value for key, value in values.items() if value not in (None, "")}
    if unit is not None:
        args["unit"] = unit.id
    return args


def _unit_choices(actor: Employee) -> list[tuple[Unit, int]]:
    return [(member, depth) for member, depth, _count in unit_tree(db_session, unit_scope(actor))]


def _file(body: bytes, name: str, fmt: str) -> Response:
    response = Response(body, mimetype=XLSX if fmt == "xlsx" else CSV)
    response.headers["Content-Disposition"] = f"attachment; filename={name}.{fmt}"
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the statistics table ------------------------------------------------------------------------


def _statistics(actor: Employee) -> tuple[tables.Statistics | None, dict[str, Any]]:
    """The table the query string asks for (None when it has errors), and the page's context."""
    unit = _chosen_unit(actor)
    today = local_date()
    errors: dict[str, str] = {}
    year = _year(errors, today)
    key = request.args.get("period", "year") or "year"
    if key not in tables.PERIOD_KEYS:
        errors["period"] = _("Period: choose the year, a quarter or a month.")
        key = "year"
    period = tables.parse_period(year, key)
    context: dict[str, Any] = {
        "unit": unit,
        "period": period,
        "errors": errors,
        "args": _args(unit, year=year, period=key),
    }
    if errors:
        return None, context
    as_of = tables.period_as_of(period, today)
    result = tables.statistics(
        db_session,
        period=period,
        as_of=as_of,
        unit=unit,
        settings=CoverageSettings.from_config(current_app.config),
        zone=ZoneInfo(current_app.config["LMS_TIMEZONE"]),
    )
    return result, context


def _statistics_page(actor: Employee, result: tables.Statistics | None, context: dict) -> Any:
    return render_template(
        "lms/reports/statistics.html",
        result=result,
        headers=tables.STATISTICS_HEADERS,
        periods=tables.PERIOD_KEYS,
        units=_unit_choices(actor),
        staff=is_staff(actor),
        **context,
    ), (400 if context["errors"] else 200)


@bp.route("/reports/statistics")
@roles_required(*MANAGERS_AND_STAFF)
def statistics():
    """培训统计报表: per unit (each with its subtree) for a year, a quarter or a month."""
    actor = current_employee()
    result, context = _statistics(actor)
    return _statistics_page(actor, result, context)


@bp.route("/reports/statistics.<any(xlsx, csv):fmt>")
@roles_required(*MANAGERS_AND_STAFF)
def statistics_export(fmt: str):
    actor = current_employee()
    result, context = _statistics(actor)
    if result is None:
        return _statistics_page(actor, result, context)
    rows = tables.statistics_rows(result)
    title = tables.statistics_title(result)
    body = (
        write_xlsx(tables.STATISTICS_HEADERS, rows, title=title, widths=tables.STATISTICS_WIDTHS)
        if fmt == "xlsx"
        else write_csv(tables.STATISTICS_HEADERS, rows)
    )
    where = result.unit.code if result.unit is not None else "all"
    return _file(body, f"statistics-{where}-{result.period.year}-{result.period.key}", fmt)


# -- the training ledger -------------------------------------------------------------------------


def _ledger(actor: Employee) -> tuple[tables.LedgerFilter | None, dict[str, Any]]:
    """The ledger's filter from the query string (None when it has errors): the year's rows,
    or those from ``start`` to ``end``."""
    unit = _chosen_unit(actor)
    today = local_date()
    errors: dict[str, str] = {}
    year = _year(errors, today)
    days: dict[str, date | None] = {}
    for name, message in (
        ("start", _("Start: give a date like 2026-03-15.")),
        ("end", _("End: give a date like 2026-03-15.")),
    ):
        try:
            days[name] = parse_date(request.args.get(name, "")[:20])
        except ValueError:
            errors[name] = message
            days[name] = None
    start = days["start"] or date(year, 1, 1)
    end = days["end"] or date(year, 12, 31)
    if not errors and end < start:
        errors["end"] = _("End: the end is before the start.")
    context: dict[str, Any] = {
        "unit": unit,
        "year": year,
        "start": start,
        "end": end,
        "errors": errors,
        "args": _args(
            unit,
            year=year,
            start=request.args.get("start", "")[:20],
            end=request.args.get("end", "")[:20],
        ),
    }
    if errors:
        return None, context
    return tables.LedgerFilter(start, end, unit), context


def _recent_exports(actor: Employee) -> list[Job]:
    return list(
        db_session.scalars(
            sa.select(Job)
            .where(Job.kind == tables.LEDGER_EXPORT_JOB, Job.created_by_id == actor.id)
            .order_by(Job.id.desc())
            .limit(RECENT_EXPORTS)
        )
    )


def _ledger_page(actor: Employee, criteria: tables.LedgerFilter | None, context: dict) -> Any:
    rows: list[list[Any]] = []
    count = 0
    if criteria is not None:
        count = tables.ledger_count(db_session, criteria)
        rows = list(tables.ledger_rows(db_session, criteria, limit=LEDGER_ON_PAGE))
    return render_template(
        "lms/reports/ledger.html",
        criteria=criteria,
        rows=rows,
        count=count,
        shown=LEDGER_ON_PAGE,
        direct_max=DIRECT_EXPORT_MAX,
        headers=tables.LEDGER_HEADERS,
        units=_unit_choices(actor),
        staff=is_staff(actor),
        exports=_recent_exports(actor),
        export_form=ExportForm(),
        **context,
    ), (400 if context["errors"] else 200)


@bp.route("/reports/ledger")
@roles_required(*MANAGERS_AND_STAFF)
def ledger():
    """教育培训台账: the count and the first rows, with the exports."""
    actor = current_employee()
    criteria, context = _ledger(actor)
    return _ledger_page(actor, criteria, context)


@bp.route("/reports/ledger.<any(xlsx, csv):fmt>", methods=["GET", "POST"])
@reads_first
@roles_required(*MANAGERS_AND_STAFF)
def ledger_export(fmt: str):
    """The ledger as a file: served at once up to ``DIRECT_EXPORT_MAX`` rows; a larger one is
    written by a job (started by the page's button, a POST) whose page offers the download."""
    actor = current_employee()
    criteria, context = _ledger(actor)
    if criteria is None:
        return _ledger_page(actor, criteria, context)
    count = tables.ledger_count(db_session, criteria)
    if count <= DIRECT_EXPORT_MAX:
        rows = tables.ledger_rows(db_session, criteria)
        if fmt == "xlsx":  # the same writer as the job's, so both give the same file
            buffer = io.BytesIO()
            tables.write_xlsx_file(
                buffer,
                tables.LEDGER_HEADERS,
                rows,
                title=tables.ledger_title(criteria),
                widths=tables.LEDGER_WIDTHS,
            )
            body = buffer.getvalue()
        else:
            body = write_csv(tables.LEDGER_HEADERS, rows)
        where = criteria.unit.code if criteria.unit is not None else "all"
        return _file(body, f"ledger-{where}-{criteria.start}-{criteria.end}", fmt)
    if request.method != "POST":  # a link must not start work: the page's button does
        flash(
            _(
                "The ledger has %(count)d rows: export it with the button below. It is written "
                "in the background and offered for download when it is ready.",
                count=count,
            ),
            "info",
        )
        return redirect(url_for(".ledger", **context["args"]))
    params = {
        "start": criteria.start.isoformat(),
        "end": criteria.end.isoformat(),
        "unit_id": criteria.unit.id if criteria.unit is not None else None,
        "fmt": fmt,
    }
    db_session.rollback()  # end this request's transaction: the job is stored in its own
    job_id = enqueue(current_app._get_current_object(), tables.LEDGER_EXPORT_JOB, params, actor)
    return redirect(url_for(".ledger_export_status", job_id=job_id))


def _export_job_or_404(job_id: int) -> Job:
    """A ledger export job, for the person who started it only (its rows are their scope)."""
    actor = current_employee()
    found = db_session.get(Job, job_id) if valid_id(job_id) else None
    if found is None or found.kind != tables.LEDGER_EXPORT_JOB or found.created_by_id != actor.id:
        abort(404)
    return found


@bp.route("/reports/ledger/exports/<int:job_id>")
@roles_required(*MANAGERS_AND_STAFF)
def ledger_export_status(job_id: int):
    """An export's progress, then its download link (the page reloads itself when done)."""
    found = _export_job_or_404(job_id)
    result = found.result or {}
    ready = (
        found.state is JobState.succeeded
        and tables.export_path(current_app._get_current_object(), str(result.get("file", "")))
        is not None
    )
    return render_template(
        "lms/reports/ledger.html",
        export_job=found,
        progress=job_progress(found),
        ready=ready,
        rows_written=int(result.get("rows", 0) or 0),
    )


@bp.route("/reports/ledger/exports/<int:job_id>/file")
@roles_required(*MANAGERS_AND_STAFF)
def ledger_download(job_id: int):
    """The file a finished ledger export wrote."""
    found = _export_job_or_404(job_id)
    result = found.result or {}
    path = tables.export_path(current_app._get_current_object(), str(result.get("file", "")))
    if found.state is not JobState.succeeded or path is None:  # removed after a day
        abort(404)
    response = send_file(
        path,
        mimetype=XLSX if path.suffix == ".xlsx" else CSV,
        as_attachment=True,
        download_name=str(result.get("download_name") or path.name),
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
