"""The calls-by-week chart (a person's page): what it draws for given counts, as text a
browser and a screen reader get. Pure: counts in, SVG out."""

from __future__ import annotations

import re
from datetime import date
from typing import NamedTuple

import pytest

from callguard.web.pages.charts import WeekCount, stacked_weeks_svg

pytestmark = pytest.mark.timeout(10)

WEEKS = [
    WeekCount(date(2026, 11, 16), connected=3, refused=0),
    WeekCount(date(2026, 11, 23), connected=0, refused=0),
    WeekCount(date(2026, 11, 30), connected=2, refused=5),
]


class Bar(NamedTuple):
    x: float
    y: float
    width: float
    height: float
    fill: str


def bars(svg: str) -> list[Bar]:
    """Each bar drawn, the legend's keys too."""
    rect = r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="([^"]+)"'
    return [
        Bar(float(x), float(y), float(w), float(h), fill)
        for x, y, w, h, fill in re.findall(rect, svg)
    ]


def test_each_week_has_its_bars_its_total_and_its_label() -> None:
    svg = str(stacked_weeks_svg(WEEKS, "Calls by week", "calls"))

    # The legend draws a key of each kind too, below the plot (y 242).
    first, third, refused = [bar for bar in bars(svg) if bar.y < 200]
    assert (first.fill, third.fill, refused.fill) == ("#1d70b8", "#1d70b8", "url(#calls-stripes)")
    # Heights in proportion to the counts: 3, 2 and 5.
    assert first.height / third.height == pytest.approx(3 / 2, rel=0.01)
    assert refused.height / third.height == pytest.approx(5 / 2, rel=0.01)
    # The refused bar sits on top of the connected one, in the same week.
    assert (refused.x, refused.width) == (third.x, third.width)
    assert refused.y + refused.height == pytest.approx(third.y, abs=0.11)
    totals = re.findall(r'text-anchor="middle" font-size="12" fill="#0b0c0c">(\d+)<', svg)
    assert totals == ["3", "7"]  # no number over an empty week
    labels = re.findall(r'<text x="([\d.]+)"[^>]*font-size="11" fill="#0b0c0c">([^<]+)<', svg)
    assert [text for _, text in labels] == ["16 Nov", "23 Nov", "30 Nov"]
    # Each week's label is under the middle of its bars, the weeks evenly spaced.
    centres = [float(x) for x, _ in labels]
    assert first.x + first.width / 2 == pytest.approx(centres[0], abs=0.11)
    assert third.x + third.width / 2 == pytest.approx(centres[2], abs=0.11)
    step = centres[1] - centres[0]
    assert step > 0 and centres[2] - centres[1] == pytest.approx(step, abs=0.11)
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
    assert [bar.fill for bar in bars(svg)] == ["#1d70b8", "url(#a&#34;b-stripes)"]
