"""The calls-by-week chart (a person's page): what it draws for given counts, as text a
browser and a screen reader get. Pure: counts in, SVG out."""

from __future__ import annotations

import re
from datetime import date

import pytest

from callguard.web.pages.charts import WeekCount, stacked_weeks_svg

pytestmark = pytest.mark.timeout(10)

WEEKS = [
    WeekCount(date(2026, 11, 16), connected=3, refused=0),
    WeekCount(date(2026, 11, 23), connected=0, refused=0),
    WeekCount(date(2026, 11, 30), connected=2, refused=5),
]


def bars(svg: str) -> list[tuple[float, float, str]]:
    """Each bar drawn: (y, height, fill)."""
    rect = r'<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill="([^"]+)"'
    found = re.findall(rect, svg)
    return [(float(y), float(h), fill) for y, h, fill in found]


def test_each_week_has_its_bars_its_total_and_its_label() -> None:
    svg = str(stacked_weeks_svg(WEEKS, "Calls by week", "calls"))

    drawn = bars(svg)
    # The legend draws a key of each kind too, below the plot (y 242).
    plot = [bar for bar in drawn if bar[0] < 200]
    assert [fill for _, _, fill in plot] == ["#1d70b8", "#1d70b8", "url(#calls-stripes)"]
    # Heights in proportion to the counts.
    (_, three, _), (_, two, _), (_, five, _) = plot
    assert three / two == pytest.approx(3 / 2, rel=0.01)
    assert five / two == pytest.approx(5 / 2, rel=0.01)
    # The refused bar sits on top of the connected one, in the same week.
    assert plot[2][0] + plot[2][1] == pytest.approx(plot[1][0], abs=0.11)
    totals = re.findall(r'text-anchor="middle" font-size="12" fill="#0b0c0c">(\d+)<', svg)
    assert totals == ["3", "7"]  # no number over an empty week
    labels = re.findall(r'font-size="11" fill="#0b0c0c">([^<]+)<', svg)
    assert labels == ["16 Nov", "23 Nov", "30 Nov"]
    assert "Connected" in svg and "Refused (striped)" in svg


def test_the_scale_runs_from_0_to_a_round_number_above_the_largest_week() -> None:
    svg = str(stacked_weeks_svg(WEEKS, "Calls by week", "calls"))
    levels = re.findall(r'text-anchor="end" font-size="12" fill="#0b0c0c">(\d+)<', svg)
    assert levels == ["0", "2", "4", "6", "8"]


def test_the_title_and_id_are_escaped_and_an_empty_chart_still_draws() -> None:
    svg = str(stacked_weeks_svg([], 'Calls <by> "week"', 'a"b'))
    assert '<title id="a&#34;b-title">Calls &lt;by&gt; &#34;week&#34;</title>' in svg
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    # The legend's two keys, and no bar.
    assert [fill for _, _, fill in bars(svg)] == ["#1d70b8", "url(#a&#34;b-stripes)"]
