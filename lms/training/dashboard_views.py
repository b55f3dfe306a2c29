"""The manager dashboard (/dashboard) and its XLSX exports: completion by unit and by rural
office, the overdue list, the certificates to renew, and a drill-down to units and people.

Managers see their own unit's subtree (another unit's dashboard is 404); HR and admins the whole
bureau, or any unit with ``?unit=``; employees get 404.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, send_file, url_for
from werkzeug.exceptions import HTTPException

from lms.charts import bar_chart
from lms.db import db_session
from lms.i18n import gettext as _
from lms.i18n import local_date
from lms.org.models import Employee, Role, Unit
from lms.security import current_employee, employee_scope, get_unit_or_404, roles_required
from lms.sheets import write_xlsx
from lms.training import dashboard as service

bp = Blueprint("dashboard", __name__)

MANAGERS_AND_STAFF = (Role.manager, Role.hr, Role.admin)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: rows of the overdue list on the page, certificates to renew on the page
OVERDUE_ON_PAGE, CERTIFICATES_ON_PAGE = 50, 10
#: people listed in the drill-down to a unit's own people
PEOPLE_ON_PAGE = 500
#: most rows in an exported overdue list
EXPORT_MAX_ROWS = 100_000
#: a chart with more bars than this would be unreadable: the tables say it all
CHART_MAX_BARS = 24

COUNT_HEADERS = ["人数", "任务数", "已完成", "进行中", "未开始", "已逾期", "完成率(%)"]
SHEETS: dict[str, tuple[str, list[str], tuple[int, ...]]] = {
    # table -> sheet title, headers, column widths
    "units": ("单位完成情况", ["单位", "单位编码", *COUNT_HEADERS], (24, 12)),
    "rural": (
        "农村供电所完成情况",
        ["供电所", "单位编码", "上级单位", *COUNT_HEADERS],
        (24, 12, 20),
    ),
    "overdue": (
        "逾期名单",
        ["姓名", "工号", "单位", "岗位", "课程编号", "课程", "截止日期", "逾期天数"],
        (10, 12, 20, 14, 12, 30, 12, 8),
    ),
}


def _chosen_unit(actor: Employee) -> Unit | None:
    """``?unit=`` (404 outside the actor's scope, or not a unit id), else the default unit."""
    value = request.args.get("unit", "")
    if not value:
        return service.default_unit(db_session, actor)
    if not (value.isascii() and value.isdigit()):
        abort(404)
    return get_unit_or_404(db_session, actor, int(value))


def _query_args(unit: Unit | None, period: service.Period) -> dict[str, Any]:
    args: dict[str, Any] = {"year": period.year if period.year is not None else "all"}
    if unit is not None:
        args["unit"] = unit.id
    return args


def _overdue_list_url(unit: Unit | None) -> str:
    """The full overdue list: the assignments page (``/assignments?state=overdue``) by its
    endpoint when the app has one, else by its path next to this page's."""
    here = url_for(".show")
    base = here[: -len("/dashboard")]
    path = base[len(request.script_root) :] + "/assignments"
    values: dict[str, Any] = {"state": "overdue"}
    if unit is not None:
        values["unit"] = unit.id
    try:
        endpoint, _args = current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        endpoint = None
    # only the LMS's own page (a host app's catch-all route is not it)
    if endpoint and endpoint.startswith("lms."):
        return url_for(endpoint, **values)
    query = "&".join(f"{key}={value}" for key, value in values.items())
    return f"{base}/assignments?{query}"


def _year_choices(today: date, period: service.Period) -> list[int]:
    years = list(range(today.year + 1, today.year - 6, -1))
    if period.year is not None and period.year not in years:
        years.append(period.year)
    return sorted(years, reverse=True)


@bp.route("/dashboard")
@roles_required(*MANAGERS_AND_STAFF)
def show():
    """Completion by unit (each row a child unit's subtree) and by rural office, the overdue
    list, the certificates to renew, and the people directly in the unit."""
    actor = current_employee()
    unit = _chosen_unit(actor)
    today = local_date()
    year_error = None
    try:
        period = service.parse_period(request.args.get("year"), today=today)
    except ValueError:
        year_error = _("Year: choose a year between %(first)d and %(last)d, or all.",
                       first=service.FIRST_YEAR, last=service.LAST_YEAR)  # fmt: skip
        period = service.Period(today.year)
    actor_scope = employee_scope(actor)
    scope = service.scope_condition(actor_scope, unit)
    summary = service.summary(
        db_session, actor_scope=actor_scope, unit=unit, period=period, today=today
    )
    days = int(current_app.config["LMS_CERTIFICATE_EXPIRING_DAYS"])
    certificates, certificates_total = service.expiring_certificates(
        db_session, scope, today=today, days=days, limit=CERTIFICATES_ON_PAGE
    )
    # the overdue list is cut at the page's length: one more row says whether there are more
    overdue = list(
        service.overdue(db_session, scope, period=period, today=today, limit=OVERDUE_ON_PAGE + 1)
    )
    people = (
        service.counts_by_person(
            db_session, actor_scope, unit, period=period, today=today, limit=PEOPLE_ON_PAGE
        )
        if unit is not None
        else []
    )
    direct = next((row for row in summary.rows if row.direct), None)
    chart = None
    bars = [(row.unit.name, row.counts.percent) for row in summary.rows if row.counts.assignments]
    if 1 < len(bars) <= CHART_MAX_BARS:
        chart = bar_chart(
            bars,
            max_value=100,
            value_format=lambda value: f"{value:g}%",
            title=_("Completion rate by unit"),
        )
    return render_template(
        "lms/training/dashboard.html",
        unit=unit,
        summary=summary,
        crumbs=service.breadcrumbs(db_session, actor, unit),
        period=period,
        year_error=year_error,
        years=_year_choices(today, period),
        args=_query_args(unit, period),
        overdue=overdue[:OVERDUE_ON_PAGE],
        overdue_more=len(overdue) > OVERDUE_ON_PAGE,
        overdue_before=service.overdue_before(db_session, scope, period=period, today=today),
        overdue_list_url=_overdue_list_url(unit),
        certificates=certificates,
        certificates_total=certificates_total,
        days=days,
        today=today,
        people=people,
        people_total=direct.counts.people if direct is not None else 0,
        people_limit=PEOPLE_ON_PAGE,
        chart=chart,
    )


@bp.route("/dashboard.xlsx")
@roles_required(*MANAGERS_AND_STAFF)
def export():
    """One table of the dashboard as a spreadsheet (``?table=units|rural|overdue``), for the
    same unit and period; Chinese headers, every text cell stored as text."""
    actor = current_employee()
    unit = _chosen_unit(actor)
    table = request.args.get("table", "units")
    if table not in SHEETS:
        abort(404)
    today = local_date()
    try:
        period = service.parse_period(request.args.get("year"), today=today)
    except ValueError:
        abort(400)
    actor_scope = employee_scope(actor)
    title, headers, widths = SHEETS[table]
    if table == "overdue":
        rows = [
            [
                r.name,
                r.emp_no,
                r.unit_name,
                r.post_name,
                r.course_code,
                r.course_title,
                r.due_on.isoformat(),
                r.days,
            ]
            for r in service.overdue(
                db_session,
                service.scope_condition(actor_scope, unit),
                period=period,
                today=today,
                limit=EXPORT_MAX_ROWS,
            )
        ]
    else:
        summary = service.summary(
            db_session, actor_scope=actor_scope, unit=unit, period=period, today=today
        )
        if table == "units":
            rows = [
                [_row_name(row), row.unit.code, *_count_cells(row.counts)] for row in summary.rows
            ]
            rows.append(["合计", "", *_count_cells(summary.total)])
        else:
            rows = [
                [row.unit.name, row.unit.code, row.parent_name, *_count_cells(row.counts)]
                for row in summary.rural
            ]
    body = write_xlsx(headers, rows, title=title, widths=widths)
    where = unit.name if unit is not None else current_app.config["LMS_BUREAU_NAME"]
    year = str(period.year) if period.year is not None else "全部"
    name = re.sub(r"[^\w-]+", "_", f"{title}-{where}-{year}").strip("_")
    response = send_file(
        io.BytesIO(body),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"{name}-{today.isoformat()}.xlsx",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _row_name(row: service.UnitRow) -> str:
    return f"{row.unit.name}(本单位)" if row.direct else row.unit.name


def _count_cells(counts: service.Counts) -> list[Any]:
    return [
        counts.people,
        counts.assignments,
        counts.completed,
        counts.in_progress,
        counts.not_started,
        counts.overdue,
        counts.percent if counts.percent is not None else "",
    ]
