"""The SVG charts: well-formed XML, escaped text, the threshold line, a chart for no data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from lms.charts import bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"
CHARTS = [bar_chart, line_chart]


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))


def texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("chart", CHARTS)
def test_a_chart_is_valid_svg_with_a_title_and_its_labels(chart) -> None:
    """The markup parses as SVG, names itself for screen readers and shows every label."""
    root = parse(chart([("一月", 3), ("二月", 7.5), ("三月", 0)], title="每月参训"))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("aria-label") == "每月参训"
    assert root.find(f"{SVG}title").text == "每月参训"
    assert {"一月", "二月", "三月", "7.5"} <= set(texts(root))
    assert "script" not in str(chart([("a", 1)])).lower()


def test_bars_are_drawn_to_scale() -> None:
    """Each bar is a rect, the tallest reaching the top of a fixed scale."""
    root = parse(bar_chart([("a", 50), ("b", 100)], max_value=100))
    heights = [float(r.get("height")) for r in root.iter(f"{SVG}rect")]
    assert len(heights) == 2 and heights[1] == pytest.approx(2 * heights[0])


@pytest.mark.parametrize("chart", CHARTS)
def test_labels_and_titles_are_escaped(chart) -> None:
    """A label "<script>" arrives as text, never as an element."""
    root = parse(
        chart([("<script>alert(1)</script>", 1)], title='"&<b>', threshold=1, threshold_label="<i>")
    )
    assert not list(root.iter("script")) and not list(root.iter(f"{SVG}script"))
    assert "<script>alert(1)</script>" in texts(root)
    assert "<i>" in texts(root)
    assert root.get("aria-label") == '"&<b>'


@pytest.mark.parametrize("chart", CHARTS)
def test_a_threshold_draws_a_horizontal_line_with_its_label(chart) -> None:
    """The threshold is a dashed horizontal line at its value, labelled."""
    root = parse(
        chart([("a", 40), ("b", 90)], max_value=100, threshold=80, threshold_label="目标 80%")
    )
    lines = [line for line in root.iter(f"{SVG}line") if line.get("data-threshold")]
    assert len(lines) == 1
    assert lines[0].get("y1") == lines[0].get("y2")
    assert "目标 80%" in texts(root)
    assert not [
        line for line in parse(chart([("a", 1)])).iter(f"{SVG}line") if line.get("data-threshold")
    ]


@pytest.mark.parametrize("chart", CHARTS)
def test_no_data_gives_a_valid_chart_saying_so(chart) -> None:
    """An empty series still gives well-formed SVG, with the "no data" text."""
    root = parse(chart([], title="分数分布", empty_label="暂无数据"))
    assert root.tag == f"{SVG}svg"
    assert "暂无数据" in texts(root)
    assert root.find(f"{SVG}title").text == "分数分布"
    assert "No data" in texts(parse(chart([])))


def test_values_are_formatted_by_the_caller() -> None:
    """``value_format`` writes the values (here as percentages)."""
    root = parse(line_chart([("1月", 12.345), ("2月", 50)], value_format=lambda v: f"{v:.1f}%"))
    assert {"12.3%", "50.0%"} <= set(texts(root))


def test_the_scale_rounds_up_to_a_number_with_a_round_half() -> None:
    """Without ``max_value`` the top is a nice number: 3 counts give grid lines at 2 and 4."""
    labels = set(texts(parse(bar_chart([("a", 3), ("b", 1)], value_format=lambda v: f"{v:g}"))))
    assert {"0", "2", "4"} <= labels
    assert {"50", "100"} <= set(texts(parse(line_chart([("1月", 90.0)]))))


# -- horizontal bars -----------------------------------------------------------------------


def test_horizontal_bars_are_valid_svg_drawn_to_scale() -> None:
    """One rect per row, as long as its value on a fixed scale, with labels and values."""
    from lms.charts import hbar_chart

    root = parse(hbar_chart([("城区中心", 50), ("湖塘供电所", 100)], max_value=100, title="各单位"))
    assert root.tag == f"{SVG}svg" and root.get("aria-label") == "各单位"
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect")]
    assert len(widths) == 2 and widths[1] == pytest.approx(2 * widths[0])
    assert {"城区中心", "湖塘供电所", "50", "100"} <= set(texts(root))


def test_horizontal_bars_threshold_escaping_and_long_labels() -> None:
    """The threshold is a dashed vertical line with its label; texts are escaped; a long
    label is cut with an ellipsis and kept whole in the bar's tooltip."""
    from lms.charts import hbar_chart

    long = "国网龙城供电公司农村供电所第一营业班"
    root = parse(
        hbar_chart(
            [("<script>", 30), (long, 90)],
            max_value=100,
            threshold=80,
            threshold_label="目标 > 80%",
            label_width=100,
        )
    )
    lines = [line for line in root.iter(f"{SVG}line") if line.get("data-threshold")]
    assert len(lines) == 1 and lines[0].get("x1") == lines[0].get("x2")
    assert "目标 > 80%" in texts(root) and "<script>" in texts(root)
    assert not list(root.iter(f"{SVG}script"))
    cut = next(t for t in texts(root) if t.startswith("国网"))
    assert cut.endswith("…") and len(cut) < len(long)
    tooltips = [t.text for t in root.iter(f"{SVG}title")]
    assert f"{long}: 90" in tooltips


def test_horizontal_bars_without_data() -> None:
    from lms.charts import hbar_chart

    root = parse(hbar_chart([], title="各单位", empty_label="暂无数据"))
    assert "暂无数据" in texts(root)


def test_marked_bars_differ_by_more_than_colour() -> None:
    """A marked bar (missing its target) has the mark after its value and another colour."""
    from lms.charts import THRESHOLD_COLOUR, hbar_chart

    root = parse(hbar_chart([("甲", 90), ("乙", 40)], max_value=100, marked=[False, True]))
    rects = list(root.iter(f"{SVG}rect"))
    assert [r.get("data-marked") for r in rects] == [None, "1"]
    assert rects[1].get("fill") == THRESHOLD_COLOUR != rects[0].get("fill")
    assert "40 ✗" in texts(root) and "90" in texts(root)
