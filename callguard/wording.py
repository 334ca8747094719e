"""Dates, times and counts as people write them (the GOV.UK style guide), in one place.

Pages (as Jinja filters), e-mails, flash messages and CSV headers all use these, so a date
reads "4 December 2026", a time "5:58pm" (midday and midnight as "12pm" and "12am" would
confuse: they are "midday" and "midnight"), and both "4 December 2026 at 5:58pm".
Pure: no I/O, no clock reads; the office's zone is an argument.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
MISSING = "—"


def long_date(value: date | datetime | None, tz: tzinfo | None = None) -> str:
    """``4 December 2026``; a datetime is first put in ``tz`` (the office's zone)."""
    if value is None:
        return MISSING
    if isinstance(value, datetime):
        value = value.astimezone(tz).date() if tz else value.date()
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def time_of_day(value: datetime | None, tz: tzinfo | None = None) -> str:
    """``5:58pm``, ``9am``, ``midday``, ``midnight``."""
    if value is None:
        return MISSING
    local = value.astimezone(tz) if tz else value
    if local.minute == 0 and local.hour in (0, 12):
        return "midnight" if local.hour == 0 else "midday"
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{hour}{minutes}{suffix}"


def date_and_time(value: datetime | None, tz: tzinfo | None = None) -> str:
    """``4 December 2026 at 5:58pm``."""
    if value is None:
        return MISSING
    return f"{long_date(value, tz)} at {time_of_day(value, tz)}"


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 completed note``, ``2 completed notes``."""
    return f"{count} {one if count == 1 else (many or one + 's')}"


def duration(seconds: int) -> str:
    """``45 seconds``, ``1 minute``, ``2 minutes 5 seconds``, ``1 hour 3 minutes``."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        parts = [plural(hours, "hour"), plural(minutes, "minute") if minutes else ""]
    elif minutes:
        parts = [plural(minutes, "minute"), plural(secs, "second") if secs else ""]
    else:
        parts = [plural(secs, "second")]
    return " ".join(part for part in parts if part)


def week_beginning(monday: date) -> str:
    """``week beginning 30 November 2026``."""
    return f"week beginning {long_date(monday)}"


def iso_week(code: str) -> str:
    """An ISO week as stored (``2026-W49``) in words: ``Week beginning 30 November 2026``."""
    try:
        year, week = code.split("-W")
        monday = date.fromisocalendar(int(year), int(week), 1)
    except ValueError:
        return code
    return "Week beginning " + long_date(monday)


def clock_time(hhmm: str) -> str:
    """A local ``HH:MM`` as people say it: ``09:00`` is ``9am``, ``24:00`` is ``midnight``."""
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return time_of_day(datetime(2000, 1, 1, hours % 24, minutes))


def date_filters(tz: tzinfo) -> dict[str, object]:
    """The date filters of everything rendered from a template (pages and letters)."""

    def when(value: datetime | None) -> str:
        return date_and_time(value, tz)

    def time_(value: datetime | None) -> str:
        return time_of_day(value, tz)

    def day(value: date | datetime | None) -> str:
        return long_date(value, tz)

    return {
        "when": when,
        "time": time_,
        "day": day,
        "plural": plural,
        "clock": clock_time,
        "duration": duration,
    }


def sentence(text: str) -> str:
    """``text`` to begin a sentence: its first letter a capital."""
    return text[:1].upper() + text[1:]


def mid_sentence(text: str) -> str:
    """``text`` (a sentence of its own) to follow a colon: its first letter small."""
    return text[:1].lower() + text[1:]


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")


def ordinal(n: int) -> str:
    """1 -> "first", 9 -> "ninth", 10 -> "10th", 21 -> "21st" (GOV.UK: words to ninth)."""
    if 1 <= n <= len(_ORDINALS):
        return _ORDINALS[n - 1]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
