"""Dates and times as people type them into the pages: GOV.UK date inputs (day, month and
year in three fields) and clock times such as ``9:30am``, made into the API's forms.
Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date

# A GOV.UK date input's three fields, ``{name}-day`` and so on.
DATE_PARTS = ("day", "month", "year")


def date_from_parts(form: Mapping[str, str], name: str) -> str | None:
    """A GOV.UK date input's day, month and year (``{name}-day`` and so on) as YYYY-MM-DD
    (None when all are blank). Left as typed when they are not numbers, or the year is not
    four digits ("26" is not taken as the year 26), so the model says it is not a real date."""
    day, month, year = (form.get(f"{name}-{part}", "").strip() for part in DATE_PARTS)
    if not (day or month or year):
        return None
    numbers = all(part.isascii() and part.isdigit() for part in (day, month, year))
    if numbers and len(day) <= 2 and len(month) <= 2 and len(year) == 4:
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return "/".join((day, month, year))


def date_parts(name: str, day: date) -> dict[str, str]:
    """The values that fill a GOV.UK date input with ``day``."""
    return {
        f"{name}-day": str(day.day),
        f"{name}-month": str(day.month),
        f"{name}-year": str(day.year),
    }


_CLOCK = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?")


def clock_time(text: str) -> str:
    """A time as people write it (``9am``, ``9:30am``, ``2.15pm``, ``14:00``, ``midday``,
    ``midnight``) as the API's ``HH:MM``; anything else is returned as typed, for the
    model to refuse in words."""
    value = text.strip().lower()
    if value in ("midday", "noon", "12 noon"):
        return "12:00"
    if value == "midnight":
        return "24:00"
    match = _CLOCK.fullmatch(value)
    if not match:
        return text.strip()
    hours, minutes, half = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if half:
        if not 1 <= hours <= 12:
            return text.strip()
        hours = hours % 12 + (12 if half.startswith("p") else 0)
    elif match.group(2) is None:
        return text.strip()  # "9" alone: morning or evening?
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        return text.strip()
    return f"{hours:02d}:{minutes:02d}"
