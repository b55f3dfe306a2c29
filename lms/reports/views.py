"""The annual training report (/reports/coverage): the three targets for a year and an as-of
date, every unit's subtree, the breakdowns by post and staff kind, the monthly trend, and the
gap lists, with the report as CSV, XLSX, PDF and JSON and the full gap lists as CSV and XLSX.

Managers see their own unit's subtree (it is where the page opens; another unit is 404); HR
and admins the whole bureau or any unit (``?unit=CODE``); employees get 404. A whole bureau's
gap list as XLSX may take a while: the page offers it as a job with a progress page.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from werkzeug.http import dump_options_header

from lms.db import db_session
from lms.i18n import gettext as _
from lms.i18n import lazy_gettext as _l
from lms.i18n import local_date
from lms.jobs.models import Job, JobState
from lms.jobs.services import enqueue, job_progress
from lms.org.models import Employee, Role, Unit
from lms.reports import gaps, outputs
from lms.reports.coverage import (
    ALL_STAFF,
    ETHICS,
    MANAGEMENT,
    Coverage,
    CoverageSettings,
    coverage,
    default_as_of,
    targets,
)
from lms.reports.trend import trend
from lms.security import current_employee, is_staff, roles_required, unit_scope, valid_id
from lms.sheets import parse_date, write_xlsx

bp = Blueprint("reports", __name__, url_prefix="/reports")

MANAGERS_AND_STAFF = (Role.manager, Role.hr, Role.admin)
#: years the report may name
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: people of each gap list shown on the page
ON_PAGE = 100
#: a gap list longer than this is offered as an XLSX job rather than a direct download
EXPORT_DIRECT_ROWS = 10_000
FILE_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": outputs.XLSX_MIMETYPE,
    "pdf": "application/pdf",
    "json": "application/json",
}
#: the targets' names on pages (files use the fixed Chinese of coverage.LABELS)
TARGET_NAMES = {
    ALL_STAFF: _l("All-staff training rate"),
    MANAGEMENT: _l("Management certification rate"),
    ETHICS: _l("Professional-ethics training rate"),
}
GAP_NAMES = {
    gaps.UNTRAINED: _l("Not yet trained this year"),
    gaps.NO_ETHICS: _l("No professional-ethics training this year"),
    gaps.UNCERTIFIED: _l("Managers without a valid 上岗培训合格证"),
}


@dataclass
class ReportParams:
    """The report's year, as-of date and unit (None: the whole bureau), with the problems of
    what was asked (field name -> message; the defaults stand in for a bad value)."""

    year: int
    as_of: date
    unit: Unit | None
    errors: dict[str, str] = field(default_factory=dict)

    def args(self) -> dict[str, Any]:
        """The query string that asks for this report."""
        values: dict[str, Any] = {"year": self.year, "as_of": self.as_of.isoformat()}
        if self.unit is not None:
            values["unit"] = self.unit.code
        return values


def _unit_or_404(actor: Employee, code: str) -> Unit:
    """The unit with ``code`` in ``actor``'s scope; 404 for an unknown one and one outside."""
    if not code or len(code) > 64:
        abort(404)
    unit = db_session.scalar(sa.select(Unit).where(Unit.code == code, unit_scope(actor)))
    if unit is None:
        abort(404)
    return unit


def read_params(actor: Employee, values: Any, today: date) -> ReportParams:
    """The report asked for in ``values`` (query string or form): ``year`` (default this
    year), ``as_of`` (a date in that year; default 31 December, or today while the year runs)
    and ``unit`` (a unit code; a manager's default is their own unit, HR's the bureau)."""
    errors: dict[str, str] = {}
    year = today.year
    year_text = (values.get("year") or "").strip()
    if year_text:
        if (
            year_text.isascii()
            and year_text.isdigit()
            and FIRST_YEAR <= int(year_text) <= LAST_YEAR
        ):
            year = int(year_text)
        else:
            errors["year"] = _(
                "Year: enter a year between %(first)d and %(last)d.",
                first=FIRST_YEAR,
                last=LAST_YEAR,
            )
    as_of = default_as_of(year, today)
    as_of_text = (values.get("as_of") or "").strip()
    if as_of_text and "year" not in errors:
        try:
            chosen = parse_date(as_of_text)
        except ValueError:
            chosen = None
            errors["as_of"] = _("As of: %(value)s is not a date like 2026-03-15.", value=as_of_text)
        if chosen is not None:
            if chosen.year != year:
                errors["as_of"] = _("As of: choose a date in %(year)d.", year=year)
            else:
                as_of = chosen
    code = (values.get("unit") or "").strip()
    if code:
        unit: Unit | None = _unit_or_404(actor, code)
    else:
        unit = None if is_staff(actor) else actor.unit
    return ReportParams(year, as_of, unit, errors)


def _settings() -> CoverageSettings:
    return CoverageSettings.from_config(current_app.config)


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["LMS_TIMEZONE"])


def _coverage(params: ReportParams, *, breakdowns: bool = True) -> Coverage:
    return coverage(
        db_session,
        year=params.year,
        as_of=params.as_of,
        unit=params.unit,
        settings=_settings(),
        zone=_zone(),
        breakdowns=breakdowns,
    )


def _where(params: ReportParams) -> str:
    return params.unit.name if params.unit is not None else current_app.config["LMS_BUREAU_NAME"]


def _unit_choices(actor: Employee) -> list[tuple[str, str, int]]:
    """The units ``actor`` may report on, in tree order: (code, name, depth)."""
    rows = db_session.execute(
        sa.select(Unit.id, Unit.code, Unit.name, Unit.parent_id, Unit.sort_order).where(
            unit_scope(actor)
        )
    ).all()
    ids = {row.id for row in rows}
    children: dict[int | None, list[Any]] = {}
    for row in rows:
        children.setdefault(row.parent_id if row.parent_id in ids else None, []).append(row)
    choices: list[tuple[str, str, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for row in sorted(children.get(parent, []), key=lambda r: (r.sort_order, r.code)):
            choices.append((row.code, row.name, depth))
            walk(row.id, depth + 1)

    walk(None, 0)
    return choices


def _download(body: bytes | Any, kind: str, name: str) -> Response:
    """A file as an attachment (``name`` without its extension), kept out of shared caches;
    ``body`` may be an iterator of bytes, streamed."""
    safe = re.sub(r"[^\w-]+", "_", name).strip("_") or "report"
    if isinstance(body, bytes | bytearray):
        response = send_file(
            io.BytesIO(body),
            mimetype=FILE_TYPES[kind],
            as_attachment=True,
            download_name=f"{safe}.{kind}",
            max_age=0,
        )
    else:
        response = Response(body, mimetype=FILE_TYPES[kind])
        ascii_name = safe.encode("ascii", "ignore").decode().strip("_") or "report"
        response.headers["Content-Disposition"] = dump_options_header(
            "attachment",
            {"filename": f"{ascii_name}.{kind}", "filename*": f"UTF-8''{quote(safe)}.{kind}"},
        )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/coverage")
@roles_required(*MANAGERS_AND_STAFF)
def coverage_page():
    """The report page: targets, unit tree, breakdowns, charts, trend and gap lists."""
    actor = current_employee()
    today = local_date()
    params = read_params(actor, request.args, today)
    settings = _settings()
    result = _coverage(params)
    points = trend(
        db_session,
        year=params.year,
        as_of=params.as_of,
        unit=params.unit,
        settings=settings,
        zone=_zone(),
    )
    counts = {kind: gaps.gap_count(result, kind) for kind in gaps.KINDS}
    first = gaps.first_gaps(
        db_session,
        [kind for kind in gaps.KINDS if counts[kind]],
        year=params.year,
        as_of=params.as_of,
        unit=params.unit,
        settings=settings,
        zone=_zone(),
        limit=ON_PAGE,
    )
    gap_lists = [
        {"kind": kind, "name": GAP_NAMES[kind], "count": counts[kind], "rows": first.get(kind, [])}
        for kind in gaps.KINDS
    ]
    words = outputs.ChartWords(
        names={key: str(name) for key, name in TARGET_NAMES.items()},
        by_unit=_("%(name)s by unit", name="{name}"),
        by_month=_("%(name)s by month (cumulative)", name="{name}"),
        goal=_("target %(goal)s", goal="{goal}"),
        empty=_("No data"),
    )
    return render_template(
        "lms/reports/coverage.html",
        params=params,
        args=params.args(),
        where=_where(params),
        result=result,
        target_names=TARGET_NAMES,
        unit_targets=lambda counts: targets(counts, settings),
        rate_text=outputs.rate_text,
        goal_text=outputs.goal_text,
        unit_charts=outputs.unit_charts(result, settings, words),
        trend_charts=outputs.trend_charts(points, settings, words),
        points=points,
        gap_lists=gap_lists,
        direct_rows=EXPORT_DIRECT_ROWS,
        units=_unit_choices(actor),
        whole_bureau=is_staff(actor),
    )


@bp.route("/coverage.<kind>")
@roles_required(*MANAGERS_AND_STAFF)
def coverage_file(kind: str):
    """The report as CSV or XLSX (one row per unit subtree), PDF (with the charts) or JSON
    (DESIGN.md's shape), for the same year, date and unit as the page."""
    if kind not in FILE_TYPES:
        abort(404)
    actor = current_employee()
    params = read_params(actor, request.args, local_date())
    if params.errors:
        abort(400)
    settings = _settings()
    result = _coverage(params, breakdowns=kind == "pdf")
    name = f"培训指标-{_where(params)}-{params.as_of.isoformat()}"
    if kind == "csv":
        return _download(outputs.coverage_csv(result, settings), kind, name)
    if kind == "xlsx":
        return _download(outputs.coverage_xlsx(result, settings), kind, name)
    if kind == "json":
        return _download(outputs.coverage_json(result, settings).encode("utf-8"), kind, name)
    points = trend(
        db_session,
        year=params.year,
        as_of=params.as_of,
        unit=params.unit,
        settings=settings,
        zone=_zone(),
    )
    context = outputs.pdf_context(
        result,
        settings,
        points=points,
        gap_counts={k: gaps.gap_count(result, k) for k in gaps.KINDS},
        bureau_name=current_app.config["LMS_BUREAU_NAME"],
        generated_on=local_date(),
    )
    return _download(outputs.coverage_pdf(context), kind, name)


def _gap_kind_or_404(kind: str) -> str:
    if kind not in gaps.KINDS:
        abort(404)
    return kind


@bp.route("/coverage/gaps/<kind>.<file_type>")
@roles_required(*MANAGERS_AND_STAFF)
def gap_file(kind: str, file_type: str):
    """A whole gap list: CSV streamed as it is read, or XLSX (rows streamed into the sheet)."""
    _gap_kind_or_404(kind)
    if file_type not in ("csv", "xlsx"):
        abort(404)
    actor = current_employee()
    params = read_params(actor, request.args, local_date())
    if params.errors:
        abort(400)
    rows = gaps.iter_gaps(
        db_session,
        kind,
        year=params.year,
        as_of=params.as_of,
        unit=params.unit,
        settings=_settings(),
        zone=_zone(),
    )
    name = f"{gaps.TITLES[kind]}-{_where(params)}-{params.as_of.isoformat()}"
    if file_type == "csv":
        body = outputs.iter_csv(gaps.HEADERS, (row.cells() for row in rows))
        return _download(stream_with_context(body), file_type, name)
    body = write_xlsx(
        gaps.HEADERS, (row.cells() for row in rows), title=gaps.TITLES[kind], widths=gaps.WIDTHS
    )
    return _download(body, file_type, name)


@bp.route("/coverage/gaps/<kind>/export", methods=["POST"])
@roles_required(*MANAGERS_AND_STAFF)
def gap_export(kind: str):
    """Make a gap list's XLSX as a job (a whole bureau's takes a while); its progress page
    offers the file when it is ready."""
    _gap_kind_or_404(kind)
    actor = current_employee()
    params = read_params(actor, request.form, local_date())
    if params.errors:
        abort(400)
    total = gaps.gap_count(_coverage(params, breakdowns=False), kind)
    db_session.commit()  # end this request's transaction: the job is stored in its own
    job_id = enqueue(
        current_app._get_current_object(),
        outputs.GAP_EXPORT_JOB,
        {
            "kind": kind,
            "year": params.year,
            "as_of": params.as_of.isoformat(),
            "unit_id": params.unit.id if params.unit is not None else None,
            "total": total,
        },
        actor,
    )
    return redirect(url_for(".export_status", job_id=job_id))


def _export_job_or_404(job_id: int) -> Job:
    """A gap-list export job, for the person who started it only (its rows are their scope)."""
    actor = current_employee()
    job_row = db_session.get(Job, job_id) if valid_id(job_id) else None
    if job_row is None or job_row.kind != outputs.GAP_EXPORT_JOB:
        abort(404)
    if job_row.created_by_id != actor.id:
        abort(404)
    return job_row


@bp.route("/exports/<int:job_id>")
@roles_required(*MANAGERS_AND_STAFF)
def export_status(job_id: int):
    """An export's progress, then its download link (the page reloads itself when done)."""
    job_row = _export_job_or_404(job_id)
    params = job_row.params or {}
    ready = (
        job_row.state is JobState.succeeded
        and outputs.export_path(current_app._get_current_object(), job_row.id).is_file()
    )
    return render_template(
        "lms/reports/export.html",
        job=job_row,
        progress=job_progress(job_row),
        ready=ready,
        list_name=GAP_NAMES.get(params.get("kind"), ""),
    )


@bp.route("/exports/<int:job_id>/file")
@roles_required(*MANAGERS_AND_STAFF)
def export_file(job_id: int):
    """The XLSX an export job made."""
    job_row = _export_job_or_404(job_id)
    path = outputs.export_path(current_app._get_current_object(), job_row.id)
    if job_row.state is not JobState.succeeded or not path.is_file():
        abort(404)
    params = job_row.params or {}
    title = gaps.TITLES.get(params.get("kind"), "名单")
    response = send_file(
        path,
        mimetype=outputs.XLSX_MIMETYPE,
        as_attachment=True,
        download_name=f"{title}-{params.get('as_of', '')}.xlsx",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
