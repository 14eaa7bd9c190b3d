"""The pages' charts (mktflow.web.charts): pygal's SVG as the pages' Content-Security-Policy
lets it be inlined (no script, no inline style), named and described for assistive technology,
and the stylesheet served for it is pygal's own for the charts' style."""

from __future__ import annotations

import re
from pathlib import Path

from mktflow.web import charts
from mktflow.web.charts import bar_chart, chart_css


def test_a_chart_is_inline_svg_without_script_or_inline_style_named_and_described() -> None:
    svg = str(bar_chart(chart_id="chart-x", title="Hours <waited>", desc="tech: 3 h",
                        labels=["tech", "sales & co"], series=[("ours", [3.0, None]),
                                                               ("theirs", [1.5, 2.0])]))
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" id="chart-x" role="img" '
                          'aria-labelledby="chart-x-title chart-x-desc" class="pygal-chart"')
    assert '<title id="chart-x-title">Hours &lt;waited&gt;</title>' in svg
    assert '<desc id="chart-x-desc">tech: 3 h</desc>' in svg
    assert not re.search(r"<script|<style|\sstyle=|<!--|<\?xml", svg)
    assert "sales &amp; co" in svg and svg.count("<title>Pygal</title>") == 0


def test_the_served_stylesheet_is_pygals_for_the_charts_style() -> None:
    served = Path(charts.__file__).parent / "static" / "charts.css"
    assert served.read_text("utf-8") == chart_css(), (
        "pygal's stylesheet changed: python -m mktflow.web.charts > "
        "mktflow/web/static/charts.css")
    assert "#chart-" not in chart_css() and ".pygal-chart .axis" in chart_css()


def test_the_value_axis_has_a_few_round_labels_covering_the_largest_bar() -> None:
    from mktflow.web.charts import ticks

    assert ticks(26) == [0, 10, 20, 30]
    assert ticks(120) == [0, 25, 50, 75, 100, 125]
    assert ticks(1000) == [0, 200, 400, 600, 800, 1000]
    assert ticks(0.4) == [0, 0.1, 0.2, 0.3, 0.4]
    assert ticks(0) == [0, 1]  # nothing to show: still an axis


def test_a_horizontal_chart_reads_top_to_bottom_as_its_table() -> None:
    svg = str(bar_chart(chart_id="c", title="t", desc="d", labels=["first", "second"],
                        series=[("a", [1.0, 2.0])]))
    rows = {m.group(2): float(m.group(1)) for m in re.finditer(
        r'<text x="-5" y="([0-9.]+)" class="[a-z]*">(first|second)</text>', svg)}
    assert rows["first"] < rows["second"]  # y grows downwards
