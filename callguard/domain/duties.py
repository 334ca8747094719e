"""When scheduled duties fall due, and the reporting calendar. Pure: time is an argument.

- Strategy reviews (§3.12): a reminder at each of ``reminder_days_before`` days before
  ``review_due``; overdue from the day after it.
- File notes (§6.5): a reminder to the author once ``due_at`` has passed, an escalation to
  their line manager ``NOTE_ESCALATION_AFTER`` later.
- Messages (§3.10, §8.7): a reminder once a message has waited ``triage_within_hours``.
- Oversight reports: calendar quarters in the office's zone (``2026-Q4``).
- Trigger periods: a scheduled job runs at most once per period, whichever replica fires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Self

from callguard.domain.dates import YEAR_RANGE, year_in_range

# The line manager hears of an incomplete file note this long after it fell due.
NOTE_ESCALATION_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class JobTiming:
    """How often a scheduled job runs: at most once per ``period`` (``trigger_period``),
    which is also how often the scheduler fires it; or, for a daily job, at ``daily_at``
    (hour, minute, office-local time)."""

    period: timedelta
    daily_at: tuple[int, int] | None = None


# The one table of every scheduled job's timing: the duties (one run per period, across
# replicas) and the scheduler (when to fire) both read it, so they cannot disagree.
JOB_TIMINGS: dict[str, JobTiming] = {
    "reviews": JobTiming(timedelta(hours=1)),
    "file_notes": JobTiming(timedelta(minutes=15)),
    "messages": JobTiming(timedelta(minutes=15)),
    "retention": JobTiming(timedelta(days=1), daily_at=(2, 30)),
    "oversight_report": JobTiming(timedelta(days=1), daily_at=(6, 0)),
    "notice_reminders": JobTiming(timedelta(hours=1)),
    "appeals": JobTiming(timedelta(hours=1)),
    "subject_access": JobTiming(timedelta(days=1), daily_at=(7, 0)),
    "recordings": JobTiming(timedelta(hours=1)),
    "held_updates": JobTiming(timedelta(minutes=15)),
}

_QUARTER = re.compile(r"^([0-9]{4})-Q([1-4])$")


@dataclass(frozen=True)
class ReviewReminder:
    """The reminder due for a review: ``offset_days`` is the nearest configured offset
    passed, ``covers`` every offset passed (they are marked sent together, so a service that
    was down sends one reminder, not a burst of stale ones)."""

    offset_days: int
    days_left: int
    covers: tuple[int, ...]


def review_reminder(
    review_due: date, today: date, offsets_days: list[int]
) -> ReviewReminder | None:
    days_left = (review_due - today).days
    if days_left < 0:
        return None
    passed = sorted({o for o in offsets_days if days_left <= o})
    if not passed:
        return None
    return ReviewReminder(passed[0], days_left, tuple(passed))


def days_overdue(review_due: date, today: date) -> int:
    """0 until the day after ``review_due``; then how many days the review is late."""
    return max((today - review_due).days, 0)


def first_overdue_at(review_due: date, tz: tzinfo) -> datetime:
    """The instant a review falls overdue: the office-local start of the next day."""
    return datetime.combine(review_due + timedelta(days=1), time(0, 0), tzinfo=tz).astimezone(UTC)


def note_escalation_at(due_at: datetime) -> datetime:
    return due_at + NOTE_ESCALATION_AFTER


def triage_due_by(recorded_at: datetime, within_hours: int) -> datetime:
    return recorded_at + timedelta(hours=within_hours)


def retention_cutoff(now: datetime, days: int) -> datetime:
    """Records from before this instant have been kept ``days`` days and are due to go."""
    return now - timedelta(days=days)


def local_day(now: datetime, tz: tzinfo) -> date:
    return now.astimezone(tz).date()


def trigger_period(now: datetime, tz: tzinfo, every: timedelta) -> str:
    """The trigger period ``now`` falls in: the office-local date for daily (or longer)
    jobs, else the UTC start of the slot (``2026-11-27T10:15Z`` for every 15 minutes)."""
    if every >= timedelta(days=1):
        return local_day(now, tz).isoformat()
    slot_s = int(every.total_seconds())
    start = int(now.timestamp()) // slot_s * slot_s
    return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%MZ")


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Self:
        found = _QUARTER.fullmatch(text)
        if not found:
            raise ValueError("must be a quarter like 2026-Q4")
        if not year_in_range(int(found.group(1))):
            raise ValueError(YEAR_RANGE)
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, day: date) -> Self:
        return cls(day.year, (day.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"

    @property
    def starts_on(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def ends_on(self) -> date:
        """The last day of the quarter."""
        return self.next().starts_on - timedelta(days=1)

    def next(self) -> Quarter:
        return (
            Quarter(self.year + 1, 1) if self.number == 4 else Quarter(self.year, self.number + 1)
        )

    def previous(self) -> Quarter:
        return (
            Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)
        )

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """[start, end) as UTC instants: office-local midnight to midnight."""
        start = datetime.combine(self.starts_on, time(0, 0), tzinfo=tz)
        end = datetime.combine(self.next().starts_on, time(0, 0), tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)
