"""Call windows and quota periods in the office's time zone (CONTRACT §4). Pure: time is
always an argument.

Windows are office wall-clock times ("Tuesday 09:00–12:00") and hold across the clock
changes: an occurrence is built with ``datetime.combine(day, wall_time, tzinfo=tz)``
(fold=0) and normalised through UTC, so its ``start`` and ``end`` are real instants.
Where the wall clock is ambiguous:

- A wall time that occurs twice (the repeated hour in October) means its first pass
  (fold=0, BST). A window covering the whole repeated hour therefore lasts an hour longer.
- A wall time that never occurs (inside the spring-forward gap, e.g. 01:30 on 29 March 2026
  in London) means the moment the clock jumps past it, the end of the gap (02:00 BST).
  So a window 01:30–03:00 runs 02:00–03:00 that day, and one lying wholly inside the gap
  does not occur. (Plain fold=0 would instead read 01:30 as 02:30 BST, shifting a window
  01:15–01:45 to 02:15–02:45, times the office clock never showed for it.)

A moment is inside an occurrence iff ``start <= moment < end``, compared as instants (UTC):
aware datetimes that share a tzinfo compare by wall clock in Python, which is wrong across
the repeated hour. Outside the repeated hour this is exactly the wall-clock rule "start <=
local time < end on a listed day"; within it, a short window is open on the first pass only.

Time zones are any ``tzinfo`` with PEP 495 folds, in practice a ``zoneinfo.ZoneInfo``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from callguard.domain.fields import DAYS
from callguard.domain.models import CallWindows

# How far ahead to look for a permitted window: a year, plus slack for a window listed
# on a single weekday of a monthly quota that is used up.
LOOKAHEAD_DAYS = 370
_MIDNIGHT = time(0, 0)


@dataclass(frozen=True)
class Occurrence:
    """One window on one day: the half-open interval [start, end), aware, in the office zone."""

    start: datetime
    end: datetime
    window_index: int  # position of the window in ``CallWindows.windows``

    def contains(self, moment: datetime) -> bool:
        return _utc(self.start) <= _utc(moment) < _utc(self.end)


@dataclass(frozen=True)
class Period:
    """The span a quota counts over: one occurrence, a local ISO week or a local month."""

    period_id: str  # stable: "window:2026-12-01T09:00:0", "week:2026-W49", "month:2026-12"
    start: datetime
    end: datetime


def _utc(moment: datetime) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError("a moment must be timezone-aware")
    return moment.astimezone(UTC)


@lru_cache(maxsize=4096)
def _local(day: date, wall_time: time, tz: tzinfo) -> datetime:
    """The first instant the office clock shows ``wall_time`` (or later) on ``day``.

    Pure, so kept (the last 4,096): a caller refused by a full weekly quota looks a week
    ahead, two instants a window a day and two a period, each ~2 µs worked out afresh.
    """
    naive = datetime.combine(day, wall_time)
    first_pass = naive.replace(tzinfo=tz).astimezone(UTC)  # fold=0
    if first_pass.astimezone(tz).replace(tzinfo=None) == naive:
        return first_pass.astimezone(tz)
    # ``wall_time`` is in the spring-forward gap. The jump lies between the wall time read
    # with the offset after it (fold=1, still before the jump) and with the offset before it
    # (fold=0, already after): find, to the second, when the clock first reaches wall_time.
    before_s = int(naive.replace(tzinfo=tz, fold=1).timestamp())
    after_s = int(first_pass.timestamp())
    while after_s - before_s > 1:
        middle_s = (before_s + after_s) // 2
        if datetime.fromtimestamp(middle_s, tz).replace(tzinfo=None) >= naive:
            after_s = middle_s
        else:
            before_s = middle_s
    return datetime.fromtimestamp(after_s, tz)


# A rule's windows as plain values: (weekdays, start, end or None for "24:00") a window.
_Shape = tuple[tuple[tuple[str, ...], time, time | None], ...]


def _shape(cw: CallWindows) -> _Shape:
    return tuple((tuple(w.days), w.start_time, w.end_time) for w in cw.windows)


def occurrences_on(cw: CallWindows, day: date, tz: tzinfo) -> list[Occurrence]:
    """The occurrences of ``cw``'s windows on one local day, by start then window order."""
    return list(_occurrences_on(_shape(cw), day, tz))


@lru_cache(maxsize=4096)
def _occurrences_on(shape: _Shape, day: date, tz: tzinfo) -> tuple[Occurrence, ...]:
    """``occurrences_on`` of the windows' values. Pure, so kept: looking a week ahead for a
    caller whose quota is full asks for the same days again and again."""
    weekday = DAYS[day.weekday()]
    found = []
    for index, (days, start_time, end_time) in enumerate(shape):
        if weekday not in days:
            continue
        start = _local(day, start_time, tz)
        if end_time is None:  # "24:00": midnight at the end of the day
            end = _local(day + timedelta(days=1), _MIDNIGHT, tz)
        else:
            end = _local(day, end_time, tz)
        if _utc(start) < _utc(end):  # empty when the window lies inside the spring gap
            found.append(Occurrence(start, end, index))
    return tuple(sorted(found, key=lambda occ: (_utc(occ.start), occ.window_index)))


def occurrences_at(cw: CallWindows, now: datetime, tz: tzinfo) -> list[Occurrence]:
    """Every occurrence containing ``now`` (more than one only if windows overlap)."""
    # Occurrences never run past the midnight that ends their day, so only today's can hold now.
    today = _utc(now).astimezone(tz).date()
    return [occ for occ in occurrences_on(cw, today, tz) if occ.contains(now)]


def window_occurrence_at(cw: CallWindows, now: datetime, tz: tzinfo) -> Occurrence | None:
    """The occurrence containing ``now`` (the earliest-starting one if windows overlap)."""
    return next(iter(occurrences_at(cw, now, tz)), None)


def next_occurrences(cw: CallWindows, after: datetime, tz: tzinfo) -> Iterator[Occurrence]:
    """Occurrences that end after ``after``, in order of start, for ``LOOKAHEAD_DAYS`` days.

    The first yielded may be the one *containing* ``after``; the rest start after it.
    """
    today = _utc(after).astimezone(tz).date()
    for offset_days in range(LOOKAHEAD_DAYS + 1):
        for occ in occurrences_on(cw, today + timedelta(days=offset_days), tz):
            if _utc(occ.end) > _utc(after):
                yield occ


def period_for(cw: CallWindows, occurrence: Occurrence) -> Period:
    """The quota period an occurrence counts in, in the occurrence's own time zone."""
    tz = occurrence.start.tzinfo
    assert tz is not None  # occurrences are always aware
    # The zone is part of the key: occurrences in two zones at the same instants are equal.
    return _period_for(cw.per, occurrence, tz)


@lru_cache(maxsize=4096)
def _period_for(per: str, occurrence: Occurrence, tz: tzinfo) -> Period:
    if per == "window":
        period_id = f"window:{occurrence.start:%Y-%m-%dT%H:%M}:{occurrence.window_index}"
        return Period(period_id, occurrence.start, occurrence.end)
    day = occurrence.start.date()
    if per == "week":
        monday = day - timedelta(days=day.weekday())
        iso = monday.isocalendar()
        return Period(
            f"week:{iso.year}-W{iso.week:02d}",
            _local(monday, _MIDNIGHT, tz),
            _local(monday + timedelta(days=7), _MIDNIGHT, tz),
        )
    first = day.replace(day=1)
    next_first = (first + timedelta(days=32)).replace(day=1)
    return Period(
        f"month:{first:%Y-%m}", _local(first, _MIDNIGHT, tz), _local(next_first, _MIDNIGHT, tz)
    )


def period_with_room(
    cw: CallWindows, occurrence: Occurrence, usage_for_strategy: Mapping[str, int]
) -> Period | None:
    """The occurrence's quota period if fewer than ``max_calls`` calls count in it, else None."""
    period = period_for(cw, occurrence)
    return period if usage_for_strategy.get(period.period_id, 0) < cw.max_calls else None


def next_permitted_window(
    cw: CallWindows, now: datetime, tz: tzinfo, usage_for_strategy: Mapping[str, int]
) -> Occurrence | None:
    """The next occurrence, at or after ``now``, whose quota period still has room.

    The occurrence containing ``now`` counts only if its period has room. Calls already
    counted come from ``usage_for_strategy`` (period id -> count); later periods count 0.
    """
    return next_permitted_together([(cw, usage_for_strategy)], now, tz)


def next_permitted_together(
    rules: Sequence[tuple[CallWindows, Mapping[str, int]]], now: datetime, tz: tzinfo
) -> Occurrence | None:
    """The first span, at or after ``now``, in which *every* ``call_windows`` rule allows a call.

    A person under two strategies with windows may call only when both allow it, so telling
    them one strategy's next window could send them to another refusal. Occurrences and
    quota periods both break at local midnight, so each day is settled on its own, and
    within a day permission can only begin at ``now`` or at an occurrence's start.
    Returns the overlap (latest start, earliest end, the first rule's window index), which
    is the occurrence containing ``now`` if that is permitted; None if nothing is permitted
    within ``LOOKAHEAD_DAYS``.
    """
    if not rules:
        return None
    now_utc = _utc(now)
    today = now_utc.astimezone(tz).date()
    shapes = [(_shape(cw), cw, usage) for cw, usage in rules]
    for offset_days in range(LOOKAHEAD_DAYS + 1):
        day = today + timedelta(days=offset_days)
        # Per rule, the day's occurrences not yet over whose quota period has room.
        open_by_rule = [
            [
                occ
                for occ in _occurrences_on(shape, day, tz)
                if _utc(occ.end) > now_utc and period_with_room(cw, occ, usage) is not None
            ]
            for shape, cw, usage in shapes
        ]
        if not all(open_by_rule):
            continue
        starts = sorted({max(_utc(occ.start), now_utc) for occs in open_by_rule for occ in occs})
        for moment in starts:
            holding = [
                next((occ for occ in occs if occ.contains(moment)), None) for occs in open_by_rule
            ]
            found = [occ for occ in holding if occ is not None]
            if len(found) == len(rules):
                return Occurrence(
                    start=max((occ.start for occ in found), key=_utc),
                    end=min((occ.end for occ in found), key=_utc),
                    window_index=found[0].window_index,
                )
    return None


# --- spoken form -----------------------------------------------------------------------------

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def spoken_window(occ: Occurrence) -> str:
    """Plain English: "Tuesday the 2nd of December, between 9 am and 12 noon".

    Names are spelt out here rather than taken from ``strftime``, which follows the locale.
    """
    start = occ.start
    return (
        f"{_WEEKDAY_NAMES[start.weekday()]} the {_ordinal(start.day)} of "
        f"{_MONTH_NAMES[start.month - 1]}, between {_spoken_time(start.time())} and "
        f"{_spoken_time(occ.end.time())}"
    )


def _ordinal(number: int) -> str:
    if 11 <= number % 100 <= 13:
        suffix = "th"  # eleventh, twelfth, thirteenth
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _spoken_time(wall_time: time) -> str:
    """Say a clock time: "9 am", "9:30 am", "2 pm", "12 noon", "12 midnight", "12:30 am"."""
    if wall_time.minute == 0 and wall_time.hour in (0, 12):
        return "12 midnight" if wall_time.hour == 0 else "12 noon"
    hour_12 = wall_time.hour % 12 or 12
    suffix = "am" if wall_time.hour < 12 else "pm"
    minutes = f":{wall_time.minute:02d}" if wall_time.minute else ""
    return f"{hour_12}{minutes} {suffix}"
