"""The pages' charts: pygal's server-rendered SVG, inlined in the page, readable without
JavaScript (issue 24, items 3 and 5).

pygal draws the chart (``js=[]``: no script is linked); what the page's Content-Security-Policy
would refuse is taken out of its SVG here: the inline ``<script>`` holding pygal's tooltip
configuration, the inline ``<style>`` and ``style`` attributes, and the comments. The chart's
stylesheet is pygal's own for ``STYLE``, with its per-chart selector made ``.pygal-chart``, and
served as ``/static/charts.css`` (``chart_css()`` writes it; a unit test holds the file to it).
Each chart is an image to assistive technology (``role="img"``) named by its ``<title>`` and
described by its ``<desc>``; the page puts a table with the same figures beside it.

    python -m mktflow.web.charts > mktflow/web/static/charts.css   # after upgrading pygal
"""

from __future__ import annotations

import html
import math
import re
import sys
from collections.abc import Sequence
from typing import Any

import pygal
from markupsafe import Markup, escape
from pygal.style import Style

__all__ = ["STYLE", "bar_chart", "chart_css", "ticks"]

#: The charts' colours: dark enough on white to tell apart (and as the page's text).
STYLE = Style(
    background="transparent", plot_background="transparent",
    foreground="#1f2933", foreground_strong="#1f2933", foreground_subtle="#52606d",
    opacity="1", opacity_hover="1", transition="none",
    colors=("#b42318", "#b54708", "#1d4ed8", "#067647", "#5925dc", "#475467"),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=15, major_label_font_size=15, legend_font_size=15, value_font_size=14,
    title_font_size=16, tooltip_font_size=14, no_data_font_size=18,
)

# pygal appends an import hook for its map plugins (``pygal.maps.*``) to ``sys.meta_path``,
# written for the ``find_module`` protocol Python 3.12 dropped: every later import that misses
# the other finders warns (ImportWarning) on 3.11. The charts use no maps: it is taken out.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "PluginImportFixer"]

#: The charts' drawing width: the page scales them to fit, so text drawn at 15 px stays about
#: 13 px at phone width.
WIDTH = 420

_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
_STYLE = re.compile(r"<style\b.*?</style>", re.S)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_STYLE_ATTR = re.compile(r'\sstyle="[^"]*"')
_ROOT = re.compile(r'<svg xmlns="http://www.w3.org/2000/svg" id="chart-[0-9a-f-]+"')
_PREFIX = re.compile(r"#chart-[0-9a-f-]+")


def _config(**options: Any) -> dict[str, Any]:
    return {"style": STYLE, "js": [], "disable_xml_declaration": True, "explicit_size": False,
            "legend_at_bottom": True, "legend_at_bottom_columns": 1, "truncate_legend": -1,
            "truncate_label": -1, "print_values": False, "show_y_guides": True,
            "margin": 8, "margin_right": 24, "spacing": 8, **options}


def ticks(top: float, *, most: int = 5) -> list[float]:
    """At most ``most`` + 1 round values from 0 covering ``top`` (steps of 1, 2, 2.5 or 5 times
    a power of ten): the value axis' labels, few enough to read on a phone."""
    if top <= 0:
        return [0, 1]
    power = 10 ** math.floor(math.log10(top / most))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power * most >= top)
    count = math.ceil(top / step - 1e-9)
    return [round(i * step, 6) for i in range(count + 1)]


def bar_chart(*, chart_id: str, title: str, desc: str, labels: Sequence[str],
              series: Sequence[tuple[str, Sequence[float | None]]],
              stacked: bool = False, horizontal: bool = True,
              value_suffix: str = "") -> Markup:
    """A bar chart as inline SVG: one bar (or stack) per label, one colour per series.
    ``chart_id``: the SVG's id (unique on the page; its title and desc ids follow from it);
    ``title``/``desc``: its accessible name and description; ``value_suffix``: appended to the
    axis' numbers (``" h"``, ``"%"``)."""
    kind = {(True, True): pygal.HorizontalStackedBar, (True, False): pygal.HorizontalBar,
            (False, True): pygal.StackedBar, (False, False): pygal.Bar}[(horizontal, stacked)]
    rows = max(1, len(labels))
    # the legend is one series a line (with two columns pygal leaves room for too few lines)
    height = 90 + (38 if stacked else 22 * max(1, len(series))) * rows + 24 * len(series)
    chart = kind(**_config(width=WIDTH, height=max(220, height),
                           value_formatter=lambda v: f"{v:g}{value_suffix}"))
    # a horizontal chart draws its first label at the bottom: reversed, it reads top to bottom
    # as the table beside it does
    turn: Any = (lambda xs: list(xs)[::-1]) if horizontal else list
    chart.x_labels = turn(labels)
    for name, values in series:
        chart.add(name, turn(values))
    bars = [[v or 0.0 for v in values] for _, values in series]
    top = max((sum(col) for col in zip(*bars, strict=True)) if stacked else
              (v for row in bars for v in row), default=0.0)
    chart.y_labels = ticks(top)
    svg = chart.render(is_unicode=True)
    svg = _COMMENT.sub("", _SCRIPT.sub("", _STYLE.sub("", svg)))
    svg = _STYLE_ATTR.sub("", svg).replace("<defs></defs>", "").replace(
        "<title>Pygal</title>", "", 1)  # pygal's own name for an untitled chart
    named = (f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(chart_id)}" role="img" '
             f'aria-labelledby="{escape(chart_id)}-title {escape(chart_id)}-desc"')
    svg, found = _ROOT.subn(named, svg, count=1)
    assert found == 1, "pygal's SVG root changed"
    head = svg.index(">") + 1
    labels_ = (f'<title id="{escape(chart_id)}-title">{escape(title)}</title>'
               f'<desc id="{escape(chart_id)}-desc">{escape(desc)}</desc>')
    return Markup(svg[:head] + labels_ + svg[head:])


def chart_css() -> str:
    """pygal's stylesheet for ``STYLE``, every chart's selector made ``.pygal-chart``."""
    chart = pygal.Bar(**_config())
    for n in range(len(STYLE.colors)):  # pygal writes the rules of the series a chart has
        chart.add(f"s{n}", [1])
    svg = chart.render(is_unicode=True)
    css = "\n".join(html.unescape(m.group(0)[m.group(0).index(">") + 1:-len("</style>")])
                    for m in _STYLE.finditer(svg))
    return ("/* pygal's stylesheet for mktflow's charts (mktflow/web/charts.py, chart_css) */\n"
            + _PREFIX.sub(".pygal-chart", css).strip()
            + "\n.pygal-chart .tooltip{display:none}\n")


if __name__ == "__main__":  # pragma: no cover
    print(chart_css(), end="")
