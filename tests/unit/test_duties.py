"""When scheduled duties fall due, and the reporting calendar (pure)."""

from __future__ import annotations

import typing
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callguard.domain.duties import (
    Quarter,
    ReviewReminder,
    days_overdue,
    first_overdue_at,
    note_escalation_at,
    retention_cutoff,
    review_reminder,
    triage_due_by,
    trigger_period,
)
from callguard.domain.notes import NotificationKind
from callguard.services.reminders import DutyKind

LONDON = ZoneInfo("Europe/London")
DUE = date(2026, 12, 20)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 12, 5), None),  # 15 days left
        (date(2026, 12, 6), ReviewReminder(14, 14, (14,))),
        (date(2026, 12, 10), ReviewReminder(14, 10, (14,))),
        (date(2026, 12, 17), ReviewReminder(3, 3, (3, 14))),
        (date(2026, 12, 18), ReviewReminder(3, 2, (3, 14))),
        (date(2026, 12, 20), ReviewReminder(3, 0, (3, 14))),
        (date(2026, 12, 21), None),  # overdue: escalation, not a reminder
    ],
)
def test_the_reminder_due_is_the_nearest_offset_passed(
    today: date, expected: ReviewReminder | None
) -> None:
    assert review_reminder(DUE, today, [14, 3]) == expected


def test_offsets_may_come_in_any_order_and_repeat() -> None:
    assert review_reminder(DUE, date(2026, 12, 19), [3, 14, 3, 7]) == ReviewReminder(
        3, 1, (3, 7, 14)
    )
    assert review_reminder(DUE, date(2026, 12, 1), []) is None


def test_a_review_is_overdue_from_the_day_after_it_was_due() -> None:
    assert [days_overdue(DUE, DUE + timedelta(days=d)) for d in (-3, 0, 1, 10)] == [0, 0, 1, 10]


def test_the_instant_a_review_falls_overdue_is_office_midnight() -> None:
    assert first_overdue_at(DUE, LONDON) == datetime(2026, 12, 21, 0, 0, tzinfo=UTC)
    # In summer, London midnight is 23:00 UTC the day before.
    assert first_overdue_at(date(2026, 7, 1), LONDON) == datetime(2026, 7, 1, 23, 0, tzinfo=UTC)


def test_note_and_message_deadlines() -> None:
    due = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert note_escalation_at(due) == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    recorded = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert triage_due_by(recorded, 24) == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def test_the_retention_cutoff_is_that_many_days_back() -> None:
    now = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)
    assert retention_cutoff(now, 730) == datetime(2024, 11, 27, 2, 30, tzinfo=UTC)


def test_daily_jobs_run_once_per_office_day() -> None:
    day = timedelta(days=1)
    # 23:30 UTC on 30 June is already 1 July in London (BST).
    assert trigger_period(datetime(2026, 6, 30, 23, 30, tzinfo=UTC), LONDON, day) == "2026-07-01"
    assert trigger_period(datetime(2026, 12, 31, 23, 30, tzinfo=UTC), LONDON, day) == "2026-12-31"


def test_frequent_jobs_run_once_per_slot() -> None:
    quarter_hour = timedelta(minutes=15)
    periods = [
        trigger_period(datetime(2026, 11, 27, 10, m, s, tzinfo=UTC), LONDON, quarter_hour)
        for m, s in ((0, 0), (14, 59), (15, 0), (59, 59))
    ]
    assert periods == [
        "2026-11-27T10:00Z",
        "2026-11-27T10:00Z",
        "2026-11-27T10:15Z",
        "2026-11-27T10:45Z",
    ]
    hourly = trigger_period(datetime(2026, 11, 27, 10, 59, tzinfo=UTC), LONDON, timedelta(hours=1))
    assert hourly == "2026-11-27T10:00Z"


def test_quarters() -> None:
    q4 = Quarter.parse("2026-Q4")
    assert (q4.year, q4.number, str(q4)) == (2026, 4, "2026-Q4")
    assert (q4.starts_on, q4.ends_on) == (date(2026, 10, 1), date(2026, 12, 31))
    assert str(q4.next()) == "2027-Q1" and str(q4.previous()) == "2026-Q3"
    assert str(Quarter.parse("2027-Q1").previous()) == "2026-Q4"
    assert Quarter.of(date(2026, 11, 27)) == q4
    assert Quarter.of(date(2026, 3, 31)) == Quarter(2026, 1)
    assert Quarter.of(date(2026, 4, 1)) == Quarter(2026, 2)
    assert Quarter.parse("2026-Q2").ends_on == date(2026, 6, 30)


def test_a_quarter_runs_from_office_midnight_to_office_midnight() -> None:
    start, end = Quarter.parse("2026-Q3").bounds(LONDON)
    assert start == datetime(2026, 6, 30, 23, 0, tzinfo=UTC)  # BST
    assert end == datetime(2026, 9, 30, 23, 0, tzinfo=UTC)
    start, end = Quarter.parse("2026-Q4").bounds(LONDON)
    assert start == datetime(2026, 9, 30, 23, 0, tzinfo=UTC)
    assert end == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)  # GMT


@pytest.mark.parametrize("text", ["2026-Q0", "2026-Q5", "2026Q4", "26-Q4", "2026-q4", ""])
def test_malformed_quarters_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="quarter like 2026-Q4"):
        Quarter.parse(text)


def test_every_duty_notice_kind_is_one_the_notifications_api_reads() -> None:
    assert set(typing.get_args(DutyKind)) <= set(typing.get_args(NotificationKind))
