"""The annual report's files: the coverage as CSV, XLSX, JSON, PDF and a text table; the gap
lists as streamed CSV and XLSX (also as a job, for the whole bureau's); the SVG charts that the
page and the PDF share.

Files use the fixed Chinese words HR files reports with (the target names of
:data:`lms.reports.coverage.LABELS`, 单位, 在岗人数...); every text cell is formula-safe
(:mod:`lms.sheets`), so a unit named ``=HYPERLINK("x")`` arrives as text.
"""

from __future__ import annotations

import csv
import io
import json
import time as clock
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from markupsafe import Markup

from lms.charts import hbar_chart, line_chart
from lms.jobs.services import JobContext, JobFailed, job
from lms.org.models import STAFF_KIND_LABELS, Employee, Unit
from lms.reports import gaps
from lms.reports.coverage import (
    ALL_STAFF,
    ETHICS,
    LABELS,
    MANAGEMENT,
    Counts,
    Coverage,
    CoverageSettings,
    TargetResult,
    UnitRow,
    as_json,
    targets,
)
from lms.reports.trend import TrendPoint
from lms.sheets import format_bool, safe_cell, write_csv, write_xlsx

TARGET_KEYS = (ALL_STAFF, MANAGEMENT, ETHICS)
COMPARISON_SIGNS = {">": ">", ">=": "≥"}
#: a bar chart shows at most this many units (the table lists every one)
CHART_MAX_BARS = 30
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GAP_EXPORT_JOB = "reports.gap_export"
#: finished gap exports are kept this long for their download link
EXPORT_KEEP_SECONDS = 24 * 3600


# -- display helpers -----------------------------------------------------------------------


def rate_text(target: TargetResult) -> str:
    """``80.06%``, or ``—`` when nobody is counted."""
    return "—" if target.rate is None else f"{target.rate:.2f}%"


def goal_text(target: TargetResult) -> str:
    """``> 80%`` or ``≥ 20%``."""
    return f"{COMPARISON_SIGNS.get(target.comparison, target.comparison)} {target.threshold}%"


def _percent(target: TargetResult) -> float | None:
    return None if target.denominator <= 0 else target.numerator * 100 / target.denominator


# -- the coverage as a table ------------------------------------------------------------------


def coverage_headers() -> list[str]:
    """The columns of the coverage CSV and XLSX: the unit, then each target's numerator,
    denominator, rate and whether it is met."""
    headers = [
        "单位编码",
        "单位名称",
        "上级单位编码",
        "层级",
        "农村供电所",
        "在岗人数",
        "管理人员数",
    ]
    for key in TARGET_KEYS:
        headers += [f"{LABELS[key]}-分子", f"{LABELS[key]}-分母", f"{LABELS[key]}(%)"]
        headers.append(f"{LABELS[key]}-达标")
    return headers


COVERAGE_WIDTHS = (14, 28, 14, 6, 10, 10, 10)


def _target_cells(counts: Counts, settings: CoverageSettings) -> list[Any]:
    cells: list[Any] = []
    for target in targets(counts, settings):
        cells += [
            target.numerator,
            target.denominator,
            "" if target.rate is None else target.rate,
            format_bool(target.met),
        ]
    return cells


def coverage_rows(result: Coverage, settings: CoverageSettings) -> list[list[Any]]:
    """One row per unit subtree in tree order; a 合计 row first when the report covers several
    trees (otherwise the top unit's row is the total)."""
    codes = {row.unit.id: row.unit.code for row in result.units}
    rows: list[list[Any]] = []
    if sum(1 for row in result.units if row.depth == 0) != 1:
        rows.append(
            [
                "",
                "合计",
                "",
                "",
                "",
                result.total.headcount,
                result.total.managers,
                *_target_cells(result.total, settings),
            ]
        )
    for row in result.units:
        rows.append(
            [
                row.unit.code,
                row.unit.name,
                codes.get(row.unit.parent_id, "") if row.unit.parent_id else "",
                row.depth,
                format_bool(row.unit.is_rural),
                row.counts.headcount,
                row.counts.managers,
                *_target_cells(row.counts, settings),
            ]
        )
    return rows


def coverage_csv(result: Coverage, settings: CoverageSettings) -> bytes:
    """The coverage as CSV (UTF-8 with a BOM, for Excel), one row per unit subtree."""
    return write_csv(coverage_headers(), coverage_rows(result, settings))


def coverage_xlsx(result: Coverage, settings: CoverageSettings) -> bytes:
    """The coverage as XLSX: bold frozen header, every text cell stored as text."""
    title = f"{result.year}年培训指标"
    return write_xlsx(
        coverage_headers(), coverage_rows(result, settings), title=title, widths=COVERAGE_WIDTHS
    )


def coverage_json(result: Coverage, settings: CoverageSettings) -> str:
    """The coverage JSON of DESIGN.md (:func:`lms.reports.coverage.as_json`), indented."""
    return json.dumps(as_json(result, settings), ensure_ascii=False, indent=2) + "\n"


# -- text table (the command line) ----------------------------------------------------------


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: two for each wide (CJK) character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, *, right: bool = False) -> str:
    space = " " * max(0, width - _width(text))
    return space + text if right else text + space


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right_from: int) -> str:
    widths = [
        max(_width(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)
    ]
    lines = []
    for line in (headers, *rows):
        cells = [_pad(str(cell), widths[n], right=n >= right_from) for n, cell in enumerate(line)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def coverage_table(result: Coverage, settings: CoverageSettings, *, where: str) -> str:
    """The coverage as a text table for a terminal: the three targets, then every unit's
    subtree (indented by depth) with its head count and three rates."""
    title = f"{where} · {result.year}年 · 截至 {result.as_of.isoformat()}"
    target_rows = [
        [
            t.label,
            str(t.numerator),
            str(t.denominator),
            rate_text(t),
            goal_text(t),
            "达标" if t.met else "未达标",
        ]
        for t in result.targets
    ]
    first = _text_table(["指标", "分子", "分母", "比率", "目标", "结果"], target_rows, 1)
    unit_rows = []
    for row in result.units:
        rates = [
            rate_text(t) + (" ✗" if t.denominator and not t.met else "")
            for t in targets(row.counts, settings)
        ]
        name = "  " * row.depth + row.unit.name + (" (农村)" if row.unit.is_rural else "")
        unit_rows.append([name, row.unit.code, str(row.counts.headcount), *rates])
    headers = ["单位", "编码", "在岗人数", *(LABELS[key] for key in TARGET_KEYS)]
    second = _text_table(headers, unit_rows, 2) if unit_rows else "(无单位)"
    note = "✗: 未达标"
    return f"{title}\n\n{first}\n\n{second}\n\n{note}\n"


# -- charts -----------------------------------------------------------------------------------


def chart_rows(result: Coverage) -> list[UnitRow]:
    """The units a bar chart compares: the top unit's children (or the tops themselves when
    there are several, or the unit alone when it has none), at most :data:`CHART_MAX_BARS`."""
    tops = [row for row in result.units if row.depth == 0]
    rows = [row for row in result.units if row.depth == 1] if len(tops) == 1 else tops
    return (rows or tops)[:CHART_MAX_BARS]


def _percent_format(value: float) -> str:
    return f"{value:.1f}%"


@dataclass(frozen=True)
class ChartWords:
    """The words the charts show (translated on the page, fixed Chinese in the PDF)."""

    names: dict[str, str]  # target key -> name
    by_unit: str  # caption of a unit chart, with "{name}" for the target's name
    by_month: str  # caption of a trend chart, with "{name}"
    goal: str  # the threshold line's label, with "{goal}" (such as "> 80%")
    empty: str


PDF_WORDS = ChartWords(
    names=dict(LABELS),
    by_unit="各单位{name}",
    by_month="{name}逐月累计",
    goal="目标 {goal}",
    empty="暂无数据",
)


@dataclass(frozen=True)
class Chart:
    """A chart's caption (shown above it, outside the SVG, where it cannot collide with the
    values drawn near the top) and its SVG."""

    caption: str
    svg: Markup


def unit_charts(result: Coverage, settings: CoverageSettings, words: ChartWords) -> list[Chart]:
    """One bar chart per target: each compared unit's rate, with the target as a line; units
    that miss it are marked (decided on the exact counts, not on the drawn rates)."""
    rows = chart_rows(result)
    charts = []
    for index, key in enumerate(TARGET_KEYS):
        bars: list[tuple[str, float]] = []
        marked: list[bool] = []
        for row in rows:
            target = targets(row.counts, settings)[index]
            value = _percent(target)
            if value is not None:
                bars.append((row.unit.name, value))
                marked.append(not target.met)
        rule = targets(Counts(), settings)[index]
        charts.append(
            Chart(
                words.by_unit.format(name=words.names[key]),
                hbar_chart(
                    bars,
                    max_value=100,
                    threshold=rule.threshold,
                    threshold_label=words.goal.format(goal=goal_text(rule)),
                    value_format=_percent_format,
                    width=640,
                    row_height=20,
                    label_width=150,
                    empty_label=words.empty,
                    marked=marked,
                ),
            )
        )
    return charts


def trend_charts(
    points: Sequence[TrendPoint], settings: CoverageSettings, words: ChartWords
) -> list[Chart]:
    """One line chart per target: its rate at each month-end, with the target as a line."""
    charts = []
    for index, key in enumerate(TARGET_KEYS):
        line = []
        for point in points:
            value = _percent(point.targets[index])
            if value is not None:
                line.append((point.label, value))
        rule = targets(Counts(), settings)[index]
        charts.append(
            Chart(
                words.by_month.format(name=words.names[key]),
                line_chart(
                    line,
                    max_value=100,
                    threshold=rule.threshold,
                    threshold_label=words.goal.format(goal=goal_text(rule)),
                    value_format=_percent_format,
                    width=640,
                    empty_label=words.empty,
                ),
            )
        )
    return charts


# -- PDF ---------------------------------------------------------------------------------------


def _target_dict(target: TargetResult) -> dict[str, Any]:
    return {
        "label": target.label,
        "numerator": target.numerator,
        "denominator": target.denominator,
        "rate": rate_text(target),
        "goal": goal_text(target),
        "met": target.met,
    }


def _counts_dict(name: str, counts: Counts, settings: CoverageSettings) -> dict[str, Any]:
    return {
        "name": name,
        "headcount": counts.headcount,
        "managers": counts.managers,
        "records": counts.records,
        "hours": f"{counts.hours:g}",
        "targets": [_target_dict(t) for t in targets(counts, settings)],
    }


def pdf_context(
    result: Coverage,
    settings: CoverageSettings,
    *,
    points: Sequence[TrendPoint],
    gap_counts: dict[str, int],
    bureau_name: str,
    generated_on: date,
) -> dict[str, Any]:
    """Plain data for ``lms/reports/coverage_pdf.html`` (the charts as inline SVG)."""
    where = result.unit.name if result.unit is not None else bureau_name
    return {
        "bureau_name": bureau_name,
        "where": where,
        "year": result.year,
        "as_of": result.as_of.isoformat(),
        "generated_on": generated_on.isoformat(),
        "targets": [_target_dict(t) for t in result.targets],
        "unit_charts": [
            {"caption": c.caption, "svg": c.svg} for c in unit_charts(result, settings, PDF_WORDS)
        ],
        "trend_charts": [
            {"caption": c.caption, "svg": c.svg} for c in trend_charts(points, settings, PDF_WORDS)
        ],
        "trend": [
            {"label": p.label, "on": p.on.isoformat(), "rates": [rate_text(t) for t in p.targets]}
            for p in points
        ],
        "units": [
            {
                "depth": row.depth,
                "rural": row.unit.is_rural,
                "code": row.unit.code,
                **_counts_dict(row.unit.name, row.counts, settings),
            }
            for row in result.units
        ],
        "by_post": [
            _counts_dict(name or "未设岗位", counts, settings) for name, counts in result.by_post
        ],
        "by_staff_kind": [
            _counts_dict(STAFF_KIND_LABELS.get(kind, "未分类") if kind else "未分类", c, settings)
            for kind, c in result.by_staff_kind
        ],
        "gaps": [{"title": gaps.TITLES[kind], "count": gap_counts[kind]} for kind in gaps.KINDS],
        "target_names": [LABELS[key] for key in TARGET_KEYS],
    }


def coverage_pdf(context: dict[str, Any]) -> bytes:
    """The report as a PDF (Chinese, with the charts), from :func:`pdf_context`. Needs an app
    context (the template comes from the app's loader)."""
    from lms.pdf import render_pdf

    return render_pdf("lms/reports/coverage_pdf.html", context)


# -- gap lists ---------------------------------------------------------------------------------


def iter_csv(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], chunk: int = 500
) -> Iterator[bytes]:
    """CSV as :func:`lms.sheets.write_csv` writes it (BOM, formula-safe), in pieces of
    ``chunk`` rows, for a streamed response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(headers)
    for count, row in enumerate(rows, start=1):
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
        if count % chunk == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def gap_xlsx(
    rows: Iterable[gaps.GapRow],
    kind: str,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """A gap list as XLSX; ``rows`` are consumed one by one (openpyxl's write-only sheet writes
    them out as it goes), so a whole bureau's list never sits in memory as rows."""

    def cells() -> Iterator[list[Any]]:
        for count, row in enumerate(rows, start=1):
            if progress is not None and count % 1000 == 0:
                progress(count)
            yield row.cells()

    return write_xlsx(gaps.HEADERS, cells(), title=gaps.TITLES[kind], widths=gaps.WIDTHS)


def exports_dir(app: Any) -> Path:
    """Where gap-list exports made by jobs wait for their download (``LMS_DATA_DIR/exports``)."""
    from lms.storage import data_dir

    return data_dir(app) / "exports"


def export_path(app: Any, job_id: int) -> Path:
    return exports_dir(app) / f"gaps-{int(job_id)}.xlsx"


def _forget_old_exports(folder: Path) -> None:
    """Exports are fetched soon after they are made: drop those older than a day."""
    if not folder.is_dir():
        return
    limit = clock.time() - EXPORT_KEEP_SECONDS
    for path in folder.glob("gaps-*.xlsx"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            continue


@job(GAP_EXPORT_JOB)
def gap_export_job(
    ctx: JobContext,
    *,
    kind: str,
    year: int,
    as_of: str,
    unit_id: int | None,
    total: int = 0,
) -> dict[str, Any]:
    """A gap list as XLSX into the exports folder, with progress (rows written of ``total``).
    The list is read in its own read-only session: it writes nothing, and on SQLite a write
    transaction would hold the database's only write lock for the whole export."""
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from lms.i18n import gettext as _
    from lms.security import is_staff, unit_scope
    from lms.storage import write_blob

    if kind not in gaps.KINDS:
        raise JobFailed(_("Unknown list."))
    app = ctx.app
    settings = CoverageSettings.from_config(app.config)
    zone = ZoneInfo(app.config["LMS_TIMEZONE"])
    session = app.extensions["lms"].db.session(write=False)
    try:
        # the scope is checked again: the role or the unit may have changed since the request
        actor = session.get(Employee, ctx.actor_id) if ctx.actor_id is not None else None
        unit = None
        if unit_id is not None:
            query = sa.select(Unit).where(Unit.id == unit_id)
            if actor is not None:
                query = query.where(unit_scope(actor))
            unit = session.scalar(query)
            if unit is None:
                raise JobFailed(_("The unit is not in your scope."))
        elif actor is not None and not is_staff(actor):
            raise JobFailed(_("The unit is not in your scope."))
        title = gaps.TITLES[kind]
        ctx.progress(0, total or None, title)
        rows = _Counted(
            gaps.iter_gaps(
                session,
                kind,
                year=year,
                as_of=date.fromisoformat(as_of),
                unit=unit,
                settings=settings,
                zone=zone,
            )
        )
        body = gap_xlsx(
            rows, kind, lambda count: ctx.progress(count, max(total, count) or None, title)
        )
    finally:
        session.close()
    folder = exports_dir(app)
    _forget_old_exports(folder)
    write_blob(export_path(app, ctx.job_id), body)
    ctx.progress(rows.count, rows.count or 1, title)
    return {"rows": rows.count, "list": kind, "bytes": len(body)}


class _Counted:
    """An iterable that counts what went through it."""

    def __init__(self, rows: Iterable[gaps.GapRow]) -> None:
        self._rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[gaps.GapRow]:
        for row in self._rows:
            self.count += 1
            yield row
