"""Bar charts as inline SVG, built on the server. Pure: no I/O, no clock reads.

Each chart is a figure with a caption, bars with their numbers written on them, a legend,
and a pattern as well as a colour for refused calls, so no meaning rests on colour alone.
The same numbers are given as a table beside it for screen readers and for copying.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from callguard.domain.records import CallRecord

WIDTH = 640
HEIGHT = 240
LEFT = 36
BOTTOM = 40
TOP = 16
PLOT_H = HEIGHT - TOP - BOTTOM  # the bars' room, between the top margin and the labels
CONNECTED_FILL = "#1d70b8"  # GOV.UK blue
REFUSED_FILL = "#d4351c"  # GOV.UK red, drawn with stripes


@dataclass(frozen=True)
class WeekCount:
    week_start: date
    connected: int
    refused: int

    @property
    def label(self) -> str:
        return self.week_start.strftime("%-d %b")


def week_start(moment: datetime, tz: ZoneInfo) -> date:
    local = moment.astimezone(tz).date()
    return local - timedelta(days=local.weekday())


def calls_per_week(
    records: Iterable[CallRecord], now: datetime, tz: ZoneInfo, weeks: int = 12
) -> list[WeekCount]:
    """Connected and refused calls per office-local week (Monday first), oldest first."""
    last = week_start(now, tz)
    starts = [last - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    connected = dict.fromkeys(starts, 0)
    refused = dict.fromkeys(starts, 0)
    for record in records:
        start = week_start(record.received_at, tz)
        if start not in connected:
            continue
        if record.outcome == "refuse":
            refused[start] += 1
        else:
            connected[start] += 1
    return [WeekCount(s, connected[s], refused[s]) for s in starts]


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000):
        if value <= step * 4:
            return max(step * 4, 4)
    return value


def stacked_weeks_svg(counts: Sequence[WeekCount], title: str, chart_id: str) -> Markup:
    """A stacked bar per week: connected (solid blue) below refused (striped red)."""
    top_value = _nice_max(max((c.connected + c.refused for c in counts), default=0))
    slot = (WIDTH - LEFT - 8) / max(len(counts), 1)
    esc_id = escape(chart_id)
    parts = [_svg_start(escape(title), esc_id)]
    parts += (_gridline(top_value, tick) for tick in range(5))
    for index, count in enumerate(counts):
        parts += _week_bar(count, LEFT + index * slot, slot, top_value, esc_id)
    parts.append(_legend(esc_id))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every interpolated text is escaped


def _svg_start(esc_title: Markup, esc_id: Markup) -> str:
    """The chart's opening tag, its title, and the refused bars' stripes."""
    return (
        f'<svg class="cg-chart" viewBox="0 0 {WIDTH} {HEIGHT + 28}" role="img" '
        f'aria-labelledby="{esc_id}-title" font-family="Arial, sans-serif" '
        'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{esc_id}-title">{esc_title}</title>'
        "<defs>"
        f'<pattern id="{esc_id}-stripes" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        f'<rect width="6" height="6" fill="{REFUSED_FILL}"/>'
        '<rect width="2" height="6" fill="#ffffff" fill-opacity="0.55"/></pattern></defs>'
    )


def _gridline(top_value: int, tick: int) -> str:
    """One of the five level lines, 0 to ``top_value``, with its number."""
    value = top_value * tick // 4
    y = TOP + PLOT_H - PLOT_H * tick / 4
    return (
        f'<line x1="{LEFT}" x2="{WIDTH - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="#b1b4b6" '
        'stroke-width="1"/>'
        f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" '
        f'fill="#0b0c0c">{value}</text>'
    )


def _week_bar(
    count: WeekCount, slot_x: float, slot: float, top_value: int, esc_id: Markup
) -> list[str]:
    """One week's bar in its slot: connected, refused on top, the total above, the week
    below."""
    bar_w = slot * 0.62
    x = slot_x + (slot - bar_w) / 2
    base = TOP + PLOT_H
    connected_h = PLOT_H * count.connected / top_value
    refused_h = PLOT_H * count.refused / top_value
    parts = []
    if count.connected:
        parts.append(
            f'<rect x="{x:.1f}" y="{base - connected_h:.1f}" width="{bar_w:.1f}" '
            f'height="{connected_h:.1f}" fill="{CONNECTED_FILL}"/>'
        )
    if count.refused:
        parts.append(
            f'<rect x="{x:.1f}" y="{base - connected_h - refused_h:.1f}" '
            f'width="{bar_w:.1f}" height="{refused_h:.1f}" fill="url(#{esc_id}-stripes)" '
            'stroke="#942514" stroke-width="1"/>'
        )
    total = count.connected + count.refused
    if total:
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{base - connected_h - refused_h - 4:.1f}" '
            f'text-anchor="middle" font-size="12" fill="#0b0c0c">{total}</text>'
        )
    parts.append(
        f'<text x="{x + bar_w / 2:.1f}" y="{base + 16:.1f}" text-anchor="middle" '
        f'font-size="11" fill="#0b0c0c">{escape(count.label)}</text>'
    )
    return parts


def _legend(esc_id: Markup) -> str:
    """The key: a solid square for connected calls, a striped one for refused."""
    legend_y = HEIGHT + 12
    return (
        f'<rect x="{LEFT}" y="{legend_y - 10}" width="14" height="14" fill="{CONNECTED_FILL}"/>'
        f'<text x="{LEFT + 20}" y="{legend_y + 2}" font-size="12" fill="#0b0c0c">Connected</text>'
        f'<rect x="{LEFT + 110}" y="{legend_y - 10}" width="14" height="14" '
        f'fill="url(#{esc_id}-stripes)" stroke="#942514" stroke-width="1"/>'
        f'<text x="{LEFT + 130}" y="{legend_y + 2}" font-size="12" fill="#0b0c0c">'
        "Refused (striped)</text>"
    )
