"""Small SVG charts for pages and PDFs: a bar chart and a line chart.

Each function returns the SVG element as :class:`markupsafe.Markup`, ready to drop into a
template. The SVG stands on its own: no JavaScript, no CSS classes, no external resources (fonts,
images, links), only presentation attributes, so it renders the same in a browser under the
strict CSP and in WeasyPrint, which fetches nothing. Every text (labels, title, values) is
escaped. ``role="img"`` with an ``aria-label`` and a ``<title>`` make it readable by screen
readers; ``<desc>`` lists the values as text for those who cannot see the bars.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"
#: Colours of the site's palette (lms.css), repeated here because the SVG must stand alone.
BAR_COLOUR = "#2f6f9f"
LINE_COLOUR = "#2f6f9f"
THRESHOLD_COLOUR = "#c0392b"
AXIS_COLOUR = "#8a97a3"
TEXT_COLOUR = "#33414e"
GRID_COLOUR = "#e3e8ec"
FONT = "'Noto Sans CJK SC', 'Noto Sans SC', 'Microsoft YaHei', sans-serif"
FONT_SIZE = 11

# Room around the plot for the value axis (left), the labels (bottom) and the title (top).
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 12, 28, 34


def default_format(value: float) -> str:
    """A value as a short number: 3, 2.5, 0.33."""
    return f"{round(value, 2):g}"


def _attrs(**attributes: Any) -> str:
    """XML attributes, escaped; trailing underscores dropped and underscores as dashes."""
    parts = []
    for name, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = f"{value:.2f}".rstrip("0").rstrip(".")
        parts.append(f'{name.rstrip("_").replace("_", "-")}="{escape(str(value))}"')
    return " ".join(parts)


def _text(x: float, y: float, content: str, **attributes: Any) -> str:
    attributes.setdefault("fill", TEXT_COLOUR)
    attributes.setdefault("font_size", FONT_SIZE)
    return f"<text {_attrs(x=x, y=y, **attributes)}>{escape(content)}</text>"


def _open(width: int, height: int, title: str, summary: str) -> list[str]:
    label = title or summary
    return [
        f"<svg {_attrs(xmlns=SVG_NS, width=width, height=height)} "
        f'viewBox="0 0 {width} {height}" role="img" {_attrs(aria_label=label)} '
        f'font-family="{escape(FONT)}">',
        f"<title>{escape(label)}</title>",
        f"<desc>{escape(summary)}</desc>",
    ]


def _empty(width: int, height: int, title: str, empty_label: str | None) -> Markup:
    if empty_label is None:
        from lms.i18n import gettext

        empty_label = gettext("No data")
    parts = _open(width, height, title, empty_label)
    if title:
        parts.append(_text(width / 2, 16, title, text_anchor="middle", font_weight="bold"))
    parts.append(
        f"<rect {_attrs(x=0.5, y=0.5, width=width - 1, height=height - 1)} "
        f'fill="none" stroke="{GRID_COLOUR}"/>'
    )
    parts.append(_text(width / 2, height / 2, empty_label, text_anchor="middle"))
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice(value: float) -> float:
    """The smallest of 2, 4, 6, 8, 10 times a power of ten that is >= ``value``: a scale top
    whose half (the middle grid line) is a round number too (3 counts: top 4, middle 2; 1
    count: top 2, not 1 with a middle line at 0.5)."""
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 6, 8, 10):
        if step * power >= value - 1e-9 and (step != 1 or power != 1):
            return step * power
    return 10 * power


def _scale_top(values: Sequence[float], max_value: float | None, threshold: float | None) -> float:
    """The value at the top of the plot: ``max_value``, or the largest value (or threshold)
    rounded up to a nice number."""
    if max_value is not None and max_value > 0:
        return float(max_value)
    top = max([0.0, *values, *([threshold] if threshold is not None else [])])
    return _nice(top) if top > 0 else 2.0


def _frame(
    parts: list[str],
    *,
    width: int,
    height: int,
    top: float,
    title: str,
    value_format: Callable[[float], str],
) -> Callable[[float], float]:
    """Title, value axis with three grid lines, and the baseline; returns value -> y."""
    plot_height = height - _TOP - _BOTTOM

    def y_of(value: float) -> float:
        share = max(0.0, min(1.0, value / top))
        return _TOP + plot_height * (1 - share)

    if title:
        parts.append(_text(width / 2, 16, title, text_anchor="middle", font_weight="bold"))
    for step in (0.5, 1.0):
        y = y_of(top * step)
        parts.append(
            f'<line {_attrs(x1=_LEFT, y1=y, x2=width - _RIGHT, y2=y)} stroke="{GRID_COLOUR}"/>'
        )
        parts.append(_text(_LEFT - 4, y + 4, value_format(top * step), text_anchor="end"))
    base = y_of(0)
    parts.append(_text(_LEFT - 4, base + 4, value_format(0), text_anchor="end"))
    parts.append(
        f'<line {_attrs(x1=_LEFT, y1=base, x2=width - _RIGHT, y2=base)} stroke="{AXIS_COLOUR}"/>'
    )
    return y_of


def _threshold(
    parts: list[str],
    *,
    width: int,
    y: float,
    label: str,
) -> None:
    parts.append(
        f"<line {_attrs(x1=_LEFT, y1=y, x2=width - _RIGHT, y2=y)} "
        f'stroke="{THRESHOLD_COLOUR}" stroke-width="1.5" stroke-dasharray="5 3" '
        f'data-threshold="1"/>'
    )
    if label:
        parts.append(_text(width - _RIGHT, y - 4, label, text_anchor="end", fill=THRESHOLD_COLOUR))


def _summary(points: Sequence[tuple[str, float]], value_format: Callable[[float], str]) -> str:
    return "; ".join(f"{label}: {value_format(value)}" for label, value in points)


def bar_chart(
    bars: Sequence[tuple[str, float]],
    *,
    max_value: float | None = None,
    threshold: float | None = None,
    threshold_label: str = "",
    value_format: Callable[[float], str] = default_format,
    width: int = 560,
    height: int = 240,
    title: str = "",
    empty_label: str | None = None,
) -> Markup:
    """Vertical bars, one per ``(label, value)``, each with its value above it and its label
    below; an optional dashed horizontal line at ``threshold`` (a target, a pass mark).

    ``max_value`` fixes the top of the scale (100 for percentages); by default the largest
    value (or the threshold) is the top. No bars: a framed "no data" chart (``empty_label``).
    """
    if not bars:
        return _empty(width, height, title, empty_label)
    values = [float(value) for _label, value in bars]
    top = _scale_top(values, max_value, threshold)
    parts = _open(width, height, title, _summary(bars, value_format))
    y_of = _frame(
        parts, width=width, height=height, top=top, title=title, value_format=value_format
    )
    slot = (width - _LEFT - _RIGHT) / len(bars)
    bar_width = max(2.0, slot * 0.7)
    base = y_of(0)
    for index, (label, value) in enumerate(bars):
        x = _LEFT + slot * index + (slot - bar_width) / 2
        y = y_of(float(value))
        parts.append(
            f"<rect {_attrs(x=x, y=y, width=bar_width, height=max(0.0, base - y))} "
            f'fill="{BAR_COLOUR}"><title>{escape(label)}: {escape(value_format(value))}</title>'
            "</rect>"
        )
        centre = x + bar_width / 2
        parts.append(_text(centre, y - 3, value_format(value), text_anchor="middle"))
        parts.append(_text(centre, base + 14, label, text_anchor="middle"))
    if threshold is not None:
        _threshold(parts, width=width, y=y_of(float(threshold)), label=threshold_label)
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    points: Sequence[tuple[str, float]],
    *,
    max_value: float | None = None,
    threshold: float | None = None,
    threshold_label: str = "",
    value_format: Callable[[float], str] = default_format,
    width: int = 560,
    height: int = 240,
    title: str = "",
    empty_label: str | None = None,
) -> Markup:
    """A line through ``(label, value)`` points in order (a monthly trend: ``("1月", 12.5)``),
    with a dot and the value at each point and the labels below; the same scale, threshold
    line and "no data" chart as :func:`bar_chart`."""
    if not points:
        return _empty(width, height, title, empty_label)
    values = [float(value) for _label, value in points]
    top = _scale_top(values, max_value, threshold)
    parts = _open(width, height, title, _summary(points, value_format))
    y_of = _frame(
        parts, width=width, height=height, top=top, title=title, value_format=value_format
    )
    slot = (width - _LEFT - _RIGHT) / len(points)
    base = y_of(0)
    coordinates = [
        (_LEFT + slot * index + slot / 2, y_of(value)) for index, value in enumerate(values)
    ]
    if threshold is not None:
        _threshold(parts, width=width, y=y_of(float(threshold)), label=threshold_label)
    if len(coordinates) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>'
        )
    for (x, y), (label, value) in zip(coordinates, points, strict=True):
        parts.append(
            f'<circle {_attrs(cx=x, cy=y, r=3)} fill="{LINE_COLOUR}">'
            f"<title>{escape(label)}: {escape(value_format(value))}</title></circle>"
        )
        parts.append(_text(x, y - 6, value_format(value), text_anchor="middle"))
        parts.append(_text(x, base + 14, label, text_anchor="middle"))
    parts.append("</svg>")
    return Markup("".join(parts))


def _text_width(text: str) -> float:
    """About how wide ``text`` is drawn, in pixels: wide (CJK) characters take a whole em."""
    import unicodedata

    return sum(
        FONT_SIZE if unicodedata.east_asian_width(c) in "WF" else FONT_SIZE * 0.6 for c in text
    )


def _fit(text: str, room: float) -> str:
    """``text`` cut with an ellipsis to fit in ``room`` pixels."""
    if _text_width(text) <= room:
        return text
    while text and _text_width(text + "…") > room:
        text = text[:-1]
    return text + "…"


def hbar_chart(
    bars: Sequence[tuple[str, float]],
    *,
    max_value: float | None = None,
    threshold: float | None = None,
    threshold_label: str = "",
    value_format: Callable[[float], str] = default_format,
    width: int = 560,
    row_height: int = 22,
    label_width: int = 130,
    title: str = "",
    empty_label: str | None = None,
    marked: Sequence[bool] = (),
    mark: str = "✗",
) -> Markup:
    """Horizontal bars, one row per ``(label, value)``: the label on the left (cut with an
    ellipsis when too long; the bar's tooltip has it whole), the value after the bar, and an
    optional dashed vertical line at ``threshold``. Suits many bars with long names (units),
    where :func:`bar_chart`'s labels would collide. Same scale rules and "no data" chart.

    ``marked`` flags bars (say, those that miss a target, which only the caller can tell from
    exact counts): they are drawn in the threshold's colour and their value is followed by
    ``mark``, so that the difference is not told by colour alone."""
    if not bars:
        return _empty(width, 2 * _TOP + row_height, title, empty_label)
    values = [float(value) for _label, value in bars]
    top = _scale_top(values, max_value, threshold)
    plot_top = _TOP + (14 if threshold is not None and threshold_label else 0)
    height = plot_top + row_height * len(bars) + 22
    left, right = label_width, width - 52  # room after the bars for their values
    parts = _open(width, height, title, _summary(bars, value_format))

    def x_of(value: float) -> float:
        return left + (right - left) * max(0.0, min(1.0, value / top))

    if title:
        parts.append(_text(width / 2, 16, title, text_anchor="middle", font_weight="bold"))
    bottom = plot_top + row_height * len(bars)
    for step in (0.0, 0.5, 1.0):
        x = x_of(top * step)
        colour = AXIS_COLOUR if step == 0 else GRID_COLOUR
        parts.append(f'<line {_attrs(x1=x, y1=plot_top, x2=x, y2=bottom)} stroke="{colour}"/>')
        parts.append(_text(x, bottom + 14, value_format(top * step), text_anchor="middle"))
    bar_height = max(2.0, row_height * 0.64)
    for index, (label, value) in enumerate(bars):
        y = plot_top + row_height * index + (row_height - bar_height) / 2
        end = x_of(float(value))
        flagged = index < len(marked) and marked[index]
        shown = value_format(value) + (f" {mark}" if flagged else "")
        colour = THRESHOLD_COLOUR if flagged else BAR_COLOUR
        marker = ' data-marked="1"' if flagged else ""
        parts.append(
            f"<rect {_attrs(x=left, y=y, width=max(0.0, end - left), height=bar_height)} "
            f'fill="{colour}"{marker}><title>{escape(label)}: {escape(shown)}</title></rect>'
        )
        middle = y + bar_height / 2 + 4
        parts.append(_text(left - 6, middle, _fit(label, left - 10), text_anchor="end"))
        parts.append(
            _text(end + 4, middle, shown, fill=THRESHOLD_COLOUR if flagged else TEXT_COLOUR)
        )
    if threshold is not None:
        x = x_of(float(threshold))
        parts.append(
            f"<line {_attrs(x1=x, y1=plot_top - 4, x2=x, y2=bottom)} "
            f'stroke="{THRESHOLD_COLOUR}" stroke-width="1.5" stroke-dasharray="5 3" '
            f'data-threshold="1"/>'
        )
        if threshold_label:
            # centred on the line, unless that would run off the right edge
            anchor = "end" if x + _text_width(threshold_label) / 2 > width else "middle"
            parts.append(
                _text(
                    x if anchor == "middle" else width - 2,
                    plot_top - 6,
                    threshold_label,
                    text_anchor=anchor,
                    fill=THRESHOLD_COLOUR,
                )
            )
    parts.append("</svg>")
    return Markup("".join(parts))
