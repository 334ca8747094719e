"""File-note deadlines (§6.5) and welfare weeks (§5.5) at fixed instants, in Europe/London,
with England and Wales bank holidays from the data bundled with govuk-bank-holidays."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from callguard.domain.working_days import (
    HolidayCalendar,
    file_note_due_at,
    iso_week,
    next_working_day,
    recent_iso_weeks,
)
from callguard.services.notes import bank_holidays

pytestmark = pytest.mark.timeout(10)

LONDON = ZoneInfo("Europe/London")
FIVE_PM = time(17, 0)


@pytest.fixture(scope="module")
def holidays() -> HolidayCalendar:
    return bank_holidays()


def due(
    ended_at: datetime, holidays: HolidayCalendar, deadline: str = "end_of_next_working_day"
) -> datetime:
    return file_note_due_at(ended_at, deadline, FIVE_PM, LONDON, holidays)


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def test_the_bundled_list_has_england_and_wales_holidays(holidays: HolidayCalendar) -> None:
    assert date(2026, 12, 25) in holidays.dates
    assert date(2026, 12, 28) in holidays.dates  # Boxing Day, substitute (26th is a Saturday)
    assert date(2026, 5, 25) in holidays.dates  # Spring bank holiday
    # Scotland's 2 January and St Andrew's Day are not England and Wales holidays.
    assert date(2026, 1, 2) not in holidays.dates
    assert date(2026, 11, 30) not in holidays.dates
    assert holidays.known_through >= date(2027, 12, 28)


def test_loading_the_holidays_touches_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the bank-holiday list must come from the bundled copy")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    bank_holidays.cache_clear()
    try:
        assert date(2027, 1, 1) in bank_holidays().dates
    finally:
        bank_holidays.cache_clear()


def test_a_thursday_call_is_due_on_friday_at_five(holidays: HolidayCalendar) -> None:
    assert due(london(2026, 11, 26, 15), holidays) == london(2026, 11, 27, 17)


def test_a_friday_call_is_due_on_monday(holidays: HolidayCalendar) -> None:
    # The test suite's clock: Friday 27 November 2026, 10:00 GMT.
    assert due(datetime(2026, 11, 27, 10, tzinfo=UTC), holidays) == datetime(
        2026, 11, 30, 17, tzinfo=UTC
    )


def test_a_weekend_call_is_due_on_monday(holidays: HolidayCalendar) -> None:
    assert due(london(2026, 11, 28, 11), holidays) == london(2026, 11, 30, 17)
    assert due(london(2026, 11, 29, 23, 59), holidays) == london(2026, 11, 30, 17)


def test_the_friday_before_a_bank_holiday_monday_is_due_on_tuesday(
    holidays: HolidayCalendar,
) -> None:
    # Spring bank holiday, Monday 25 May 2026; the deadline is 17:00 BST, 16:00 UTC.
    due_at = due(london(2026, 5, 22, 16), holidays)
    assert due_at == london(2026, 5, 26, 17)
    assert due_at == datetime(2026, 5, 26, 16, tzinfo=UTC)


def test_christmas_eve_is_due_after_christmas_and_the_substitute_boxing_day(
    holidays: HolidayCalendar,
) -> None:
    # Thu 24 Dec 2026 -> Fri 25 (Christmas), weekend, Mon 28 (Boxing Day substitute) -> Tue 29.
    assert due(london(2026, 12, 24, 12), holidays) == london(2026, 12, 29, 17)


def test_new_years_eve_is_due_on_the_first_working_day_of_the_year(
    holidays: HolidayCalendar,
) -> None:
    # Thu 31 Dec 2026 -> Fri 1 Jan 2027 is a bank holiday -> Mon 4 Jan.
    assert due(london(2026, 12, 31, 9), holidays) == london(2027, 1, 4, 17)


def test_easter_skips_good_friday_and_easter_monday(holidays: HolidayCalendar) -> None:
    # Thu 2 Apr 2026 -> Good Friday 3 Apr, weekend, Easter Monday 6 Apr -> Tue 7 Apr.
    assert due(london(2026, 4, 2, 16), holidays) == london(2026, 4, 7, 17)


def test_the_local_date_decides_not_the_utc_date(holidays: HolidayCalendar) -> None:
    # 23:30 UTC on Sunday 7 June 2026 is 00:30 BST on Monday: due Tuesday, not Monday.
    assert due(datetime(2026, 6, 7, 23, 30, tzinfo=UTC), holidays) == london(2026, 6, 9, 17)


def test_the_deadline_holds_across_the_clock_change(holidays: HolidayCalendar) -> None:
    # Friday 23 October 2026 (BST) -> Monday 26 October, after the clocks went back (GMT).
    assert due(london(2026, 10, 23, 16), holidays) == datetime(2026, 10, 26, 17, tzinfo=UTC)


def test_hours_deadlines_count_elapsed_time(holidays: HolidayCalendar) -> None:
    ended = datetime(2026, 12, 24, 12, tzinfo=UTC)
    assert due(ended, holidays, "hours:48") == datetime(2026, 12, 26, 12, tzinfo=UTC)


def test_unknown_deadlines_and_naive_times_are_refused(holidays: HolidayCalendar) -> None:
    with pytest.raises(ValueError, match="deadline"):
        due(london(2026, 11, 26, 15), holidays, "days:2")
    with pytest.raises(ValueError, match="aware"):
        due(datetime(2026, 11, 26, 15), holidays)  # a naive time: the point of the test


def test_past_the_bundled_list_only_weekends_are_skipped() -> None:
    calendar = HolidayCalendar.of([date(2026, 12, 25)])
    assert calendar.known_through == date(2026, 12, 25)
    assert next_working_day(date(2031, 12, 24), calendar) == date(2031, 12, 25)


def test_welfare_weeks_are_office_local_iso_weeks() -> None:
    assert iso_week(datetime(2026, 11, 27, 10, tzinfo=UTC), LONDON) == "2026-W48"
    # Sunday 23:30 UTC in summer is already Monday in London: the next week.
    assert iso_week(datetime(2026, 6, 7, 23, 30, tzinfo=UTC), LONDON) == "2026-W24"
    # 1 January 2027 is a Friday, in ISO week 53 of 2026.
    assert iso_week(london(2027, 1, 1, 12), LONDON) == "2026-W53"
    assert recent_iso_weeks(london(2027, 1, 5, 9), LONDON, 3) == [
        "2027-W01",
        "2026-W53",
        "2026-W52",
    ]
