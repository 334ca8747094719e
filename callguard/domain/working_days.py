"""Working days, file-note deadlines (§6.5) and staff-welfare weeks (§5.5). Pure: time and
the bank-holiday calendar are arguments.

A working day is a Monday to Friday that is not a bank holiday in England and Wales. The
holiday dates come from ``govuk-bank-holidays``' bundled copy of GOV.UK's list (loaded by
``callguard.services.notes.bank_holidays``, never from the network); past the end of that
list only weekends are skipped, which is why the calendar records how far it reaches.

A deadline is a real instant: the office's wall-clock end of day is turned into UTC, so it is
right either side of the clock changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

END_OF_NEXT_WORKING_DAY = "end_of_next_working_day"
_HOURS = re.compile(r"hours:([1-9][0-9]*)")
_SATURDAY = 5
# Longer than any run of weekends and holidays (Christmas to New Year is the longest).
_MAX_DAYS_OFF = 14


@dataclass(frozen=True)
class HolidayCalendar:
    """Bank holidays in one part of the UK, and the last year the list covers."""

    dates: frozenset[date]
    known_through: date

    @classmethod
    def of(cls, dates: Iterable[date]) -> HolidayCalendar:
        held = frozenset(dates)
        return cls(held, max(held, default=date.min))

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < _SATURDAY and day not in self.dates


def next_working_day(day: date, calendar: HolidayCalendar) -> date:
    """The first working day strictly after ``day``."""
    for offset in range(1, _MAX_DAYS_OFF + 1):
        candidate = day + timedelta(days=offset)
        if calendar.is_working_day(candidate):
            return candidate
    raise ValueError(f"no working day within {_MAX_DAYS_OFF} days after {day}")


def file_note_due_at(
    ended_at: datetime,
    deadline: str,
    working_day_ends: time,
    tz: tzinfo,
    calendar: HolidayCalendar,
) -> datetime:
    """When a file note for a call ended at ``ended_at`` is due, in UTC.

    ``end_of_next_working_day``: ``working_day_ends`` office time on the first working day
    after the office-local date of ``ended_at`` (a call ended on Friday, Saturday or Sunday is
    due on Monday, or Tuesday after a bank-holiday Monday). ``hours:N``: N elapsed hours.
    """
    if ended_at.tzinfo is None:
        raise ValueError("ended_at must be aware")
    hours = _HOURS.fullmatch(deadline)
    if hours:
        return ended_at.astimezone(UTC) + timedelta(hours=int(hours.group(1)))
    if deadline != END_OF_NEXT_WORKING_DAY:
        raise ValueError(f"unknown file-note deadline {deadline!r}")
    local_day = ended_at.astimezone(tz).date()
    due_day = next_working_day(local_day, calendar)
    return datetime.combine(due_day, working_day_ends, tzinfo=tz).astimezone(UTC)


def iso_week(moment: datetime, tz: tzinfo) -> str:
    """The office-local ISO week holding ``moment``: ``2026-W48``."""
    year, week, _weekday = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def recent_iso_weeks(now: datetime, tz: tzinfo, count: int) -> list[str]:
    """``count`` office-local ISO weeks ending with the one holding ``now``, newest first."""
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    weeks = []
    for back in range(count):
        year, week, _weekday = (monday - timedelta(weeks=back)).isocalendar()
        weeks.append(f"{year}-W{week:02d}")
    return weeks


def add_working_days(day: date, count: int, calendar: HolidayCalendar) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself not counted)."""
    for _ in range(count):
        day = next_working_day(day, calendar)
    return day
