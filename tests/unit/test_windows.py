"""Call windows and quota periods in Europe/London, across both 2026 clock changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import pytest

from callguard.domain.models import CallWindows, Window
from callguard.domain.windows import (
    LOOKAHEAD_DAYS,
    Occurrence,
    next_occurrences,
    next_permitted_together,
    next_permitted_window,
    occurrences_on,
    period_for,
    period_with_room,
    spoken_window,
    window_occurrence_at,
)

pytestmark = pytest.mark.timeout(10)

LONDON = ZoneInfo("Europe/London")
Per = Literal["window", "week", "month"]


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A fixed instant from a London wall time (never ambiguous in these tests)."""
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def tuesday_mornings(max_calls: int = 1, per: Per = "week") -> CallWindows:
    return CallWindows(
        windows=[Window(days=["tue"], start="09:00", end="12:00")], max_calls=max_calls, per=per
    )


def occurrence(start: datetime, end: datetime, window_index: int = 0) -> Occurrence:
    return Occurrence(start=start, end=end, window_index=window_index)


# --- inside or outside a window, either side of both clock changes -------------------------

# 29 March 2026 (GMT -> BST) and 25 October 2026 (BST -> GMT), and the Tuesdays around them.
TUESDAYS_AROUND_CLOCK_CHANGES = [
    date(2026, 3, 24),  # GMT
    date(2026, 3, 31),  # BST
    date(2026, 10, 20),  # BST
    date(2026, 10, 27),  # GMT
]


@pytest.mark.parametrize("tuesday", TUESDAYS_AROUND_CLOCK_CHANGES, ids=str)
@pytest.mark.parametrize(("hour", "minute"), [(9, 0), (11, 59)])
def test_a_tuesday_morning_window_accepts_a_call_from_its_start_to_the_minute_before_its_end(
    tuesday: date, hour: int, minute: int
) -> None:
    now = local(tuesday.year, tuesday.month, tuesday.day, hour, minute)
    found = window_occurrence_at(tuesday_mornings(), now, LONDON)
    assert found == occurrence(
        local(tuesday.year, tuesday.month, tuesday.day, 9),
        local(tuesday.year, tuesday.month, tuesday.day, 12),
    )


@pytest.mark.parametrize("tuesday", TUESDAYS_AROUND_CLOCK_CHANGES, ids=str)
@pytest.mark.parametrize(("hour", "minute"), [(8, 59), (12, 0)])
def test_a_tuesday_morning_window_refuses_a_call_a_minute_early_or_at_its_end(
    tuesday: date, hour: int, minute: int
) -> None:
    now = local(tuesday.year, tuesday.month, tuesday.day, hour, minute)
    assert window_occurrence_at(tuesday_mornings(), now, LONDON) is None


@pytest.mark.parametrize(
    ("utc_opening", "offset_hours"),
    [
        (datetime(2026, 3, 24, 9, 0, tzinfo=UTC), 0),
        (datetime(2026, 3, 31, 8, 0, tzinfo=UTC), 1),
        (datetime(2026, 10, 20, 8, 0, tzinfo=UTC), 1),
        (datetime(2026, 10, 27, 9, 0, tzinfo=UTC), 0),
    ],
    ids=str,
)
def test_a_window_opens_at_nine_on_the_office_clock_whatever_the_utc_offset(
    utc_opening: datetime, offset_hours: int
) -> None:
    cw = tuesday_mornings()
    assert window_occurrence_at(cw, utc_opening - timedelta(minutes=1), LONDON) is None
    found = window_occurrence_at(cw, utc_opening, LONDON)
    assert found is not None
    assert found.start.utcoffset() == timedelta(hours=offset_hours)
    assert found.start.hour == 9


def test_a_window_ending_at_24_00_runs_to_midnight() -> None:
    cw = CallWindows(
        windows=[Window(days=["fri"], start="22:00", end="24:00")], max_calls=1, per="window"
    )
    assert window_occurrence_at(cw, local(2026, 12, 4, 23, 59), LONDON) == occurrence(
        local(2026, 12, 4, 22), local(2026, 12, 5)
    )
    assert window_occurrence_at(cw, local(2026, 12, 5), LONDON) is None


def test_a_window_on_several_days_occurs_on_each_listed_day_only() -> None:
    cw = CallWindows(
        windows=[Window(days=["mon", "thu"], start="14:00", end="15:30")], max_calls=1, per="week"
    )
    assert window_occurrence_at(cw, local(2026, 12, 7, 14, 0), LONDON) is not None  # Monday
    assert window_occurrence_at(cw, local(2026, 12, 8, 14, 0), LONDON) is None  # Tuesday
    assert window_occurrence_at(cw, local(2026, 12, 10, 15, 29), LONDON) is not None  # Thursday


def test_a_naive_moment_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        window_occurrence_at(tuesday_mornings(), datetime(2026, 12, 1, 10, 0), LONDON)


# --- the small hours of the change days ----------------------------------------------------


def test_a_window_starting_inside_the_spring_gap_opens_when_the_clock_jumps_past_it() -> None:
    # 01:30 never shows on 29 March 2026: the clock jumps from 01:00 GMT to 02:00 BST.
    cw = CallWindows(
        windows=[Window(days=["sun"], start="01:30", end="03:00")], max_calls=1, per="window"
    )
    [found] = occurrences_on(cw, date(2026, 3, 29), LONDON)
    assert found.start.isoformat() == "2026-03-29T02:00:00+01:00"
    assert found.end.isoformat() == "2026-03-29T03:00:00+01:00"
    assert window_occurrence_at(cw, datetime(2026, 3, 29, 0, 59, tzinfo=UTC), LONDON) is None
    assert window_occurrence_at(cw, datetime(2026, 3, 29, 1, 0, tzinfo=UTC), LONDON) == found


def test_a_window_ending_after_the_spring_gap_keeps_the_part_the_clock_shows() -> None:
    cw = CallWindows(
        windows=[Window(days=["sun"], start="01:30", end="02:15")], max_calls=1, per="window"
    )
    [found] = occurrences_on(cw, date(2026, 3, 29), LONDON)
    assert (found.start.isoformat(), found.end.isoformat()) == (
        "2026-03-29T02:00:00+01:00",
        "2026-03-29T02:15:00+01:00",
    )


def test_a_window_wholly_inside_the_spring_gap_does_not_occur_that_day() -> None:
    cw = CallWindows(
        windows=[Window(days=["sun"], start="01:15", end="01:45")], max_calls=1, per="window"
    )
    assert occurrences_on(cw, date(2026, 3, 29), LONDON) == []
    assert len(occurrences_on(cw, date(2026, 4, 5), LONDON)) == 1


def test_a_window_spanning_the_repeated_autumn_hour_lasts_an_hour_longer() -> None:
    cw = CallWindows(
        windows=[Window(days=["sun"], start="01:00", end="02:00")], max_calls=1, per="window"
    )
    [found] = occurrences_on(cw, date(2026, 10, 25), LONDON)
    assert found.start.isoformat() == "2026-10-25T01:00:00+01:00"
    assert found.end.isoformat() == "2026-10-25T02:00:00+00:00"
    second_pass_of_1_30 = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT
    assert window_occurrence_at(cw, second_pass_of_1_30, LONDON) == found


def test_a_short_window_in_the_repeated_autumn_hour_is_open_on_its_first_pass_only() -> None:
    cw = CallWindows(
        windows=[Window(days=["sun"], start="01:15", end="01:45")], max_calls=1, per="window"
    )
    first_pass_of_1_30 = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    second_pass_of_1_30 = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT
    assert window_occurrence_at(cw, first_pass_of_1_30, LONDON) is not None
    assert window_occurrence_at(cw, second_pass_of_1_30, LONDON) is None


# --- the next permitted window -------------------------------------------------------------


def test_asked_on_the_night_before_the_spring_change_the_next_window_is_in_bst() -> None:
    saturday_night = local(2026, 3, 28, 23, 30)  # clocks go forward at 01:00 on Sunday 29th
    found = next_permitted_window(tuesday_mornings(), saturday_night, LONDON, {})
    assert found is not None
    assert found.start.isoformat() == "2026-03-31T09:00:00+01:00"
    assert found.start.astimezone(UTC) == datetime(2026, 3, 31, 8, 0, tzinfo=UTC)


def test_asked_in_the_small_hours_before_the_autumn_change_the_next_window_is_in_gmt() -> None:
    sunday_early = local(2026, 10, 25, 0, 30)  # still BST: clocks go back at 02:00
    assert sunday_early.utcoffset() == timedelta(hours=1)
    found = next_permitted_window(tuesday_mornings(), sunday_early, LONDON, {})
    assert found is not None
    assert found.start.isoformat() == "2026-10-27T09:00:00+00:00"
    assert found.start.astimezone(UTC) == datetime(2026, 10, 27, 9, 0, tzinfo=UTC)


def test_the_next_permitted_window_is_the_current_one_while_it_has_room() -> None:
    found = next_permitted_window(tuesday_mornings(), local(2026, 12, 1, 10), LONDON, {})
    assert found == occurrence(local(2026, 12, 1, 9), local(2026, 12, 1, 12))


def test_when_this_weeks_call_is_used_the_next_permitted_window_is_next_week() -> None:
    usage = {"week:2026-W49": 1}
    found = next_permitted_window(tuesday_mornings(), local(2026, 12, 1, 10), LONDON, usage)
    assert found == occurrence(local(2026, 12, 8, 9), local(2026, 12, 8, 12))


def test_when_a_weekly_quota_is_used_early_in_the_week_its_later_windows_are_skipped() -> None:
    cw = CallWindows(
        windows=[Window(days=["mon", "fri"], start="09:00", end="10:00")], max_calls=1, per="week"
    )
    found = next_permitted_window(cw, local(2026, 12, 1, 10), LONDON, {"week:2026-W49": 1})
    assert found is not None
    assert found.start == local(2026, 12, 7, 9)  # not Friday 4th, the following Monday


def test_when_a_per_window_quota_is_used_the_next_occurrence_is_permitted() -> None:
    cw = tuesday_mornings(per="window")
    usage = {"window:2026-12-01T09:00:0": 1}
    found = next_permitted_window(cw, local(2026, 12, 1, 10), LONDON, usage)
    assert found is not None
    assert found.start == local(2026, 12, 8, 9)


def test_when_a_monthly_quota_is_used_the_next_window_is_next_month() -> None:
    cw = tuesday_mornings(max_calls=2, per="month")
    found = next_permitted_window(cw, local(2026, 12, 1, 10), LONDON, {"month:2026-12": 2})
    assert found is not None
    assert found.start == local(2027, 1, 5, 9)  # the first Tuesday of January 2027


def test_a_quota_with_calls_left_stays_permitted() -> None:
    cw = tuesday_mornings(max_calls=2, per="month")
    found = next_permitted_window(cw, local(2026, 12, 1, 10), LONDON, {"month:2026-12": 1})
    assert found is not None
    assert found.start == local(2026, 12, 1, 9)


def test_the_next_time_for_two_window_rules_is_when_both_allow_a_call() -> None:
    mornings = tuesday_mornings()
    tuesday_and_thursday_late_mornings = CallWindows(
        windows=[Window(days=["tue", "thu"], start="11:00", end="13:00")], max_calls=5, per="week"
    )
    found = next_permitted_together(
        [(mornings, {}), (tuesday_and_thursday_late_mornings, {})], local(2026, 12, 2, 9), LONDON
    )
    assert found == occurrence(local(2026, 12, 8, 11), local(2026, 12, 8, 12))


def test_two_window_rules_that_never_overlap_have_no_next_permitted_time() -> None:
    tuesdays = tuesday_mornings()
    wednesdays = CallWindows(
        windows=[Window(days=["wed"], start="09:00", end="12:00")], max_calls=1, per="week"
    )
    assert (
        next_permitted_together([(tuesdays, {}), (wednesdays, {})], local(2026, 12, 1), LONDON)
        is None
    )


def test_a_busy_timetable_with_no_overlap_finds_no_common_window_in_a_year() -> None:
    every_day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    on_the_hour = CallWindows(
        windows=[Window(days=every_day, start=f"{h:02d}:00", end=f"{h:02d}:30") for h in range(14)],
        max_calls=1,
        per="window",
    )
    on_the_half_hour = CallWindows(
        windows=[
            Window(days=every_day, start=f"{h:02d}:30", end=f"{h + 1:02d}:00") for h in range(14)
        ],
        max_calls=1,
        per="window",
    )
    # Its speed is measured by bench/, not asserted here (the machine is shared).
    found = next_permitted_together(
        [(on_the_hour, {}), (on_the_half_hour, {})], local(2026, 12, 1), LONDON
    )
    assert found is None


def test_next_occurrences_start_with_the_one_containing_the_moment_then_go_in_order() -> None:
    cw = CallWindows(
        windows=[
            Window(days=["tue"], start="14:00", end="15:00"),
            Window(days=["tue"], start="09:00", end="12:00"),
        ],
        max_calls=1,
        per="week",
    )
    found = next_occurrences(cw, local(2026, 12, 1, 10), LONDON)
    assert [next(found) for _ in range(3)] == [
        occurrence(local(2026, 12, 1, 9), local(2026, 12, 1, 12), 1),
        occurrence(local(2026, 12, 1, 14), local(2026, 12, 1, 15), 0),
        occurrence(local(2026, 12, 8, 9), local(2026, 12, 8, 12), 1),
    ]


def test_next_occurrences_look_no_further_than_a_year_and_a_bit_ahead() -> None:
    found = list(next_occurrences(tuesday_mornings(), local(2026, 12, 1, 13), LONDON))
    assert found[0].start == local(2026, 12, 8, 9)
    assert found[-1].start.date() <= date(2026, 12, 1) + timedelta(days=LOOKAHEAD_DAYS)
    assert len(found) == 52


# --- quota periods -------------------------------------------------------------------------


def test_a_per_window_period_is_the_occurrence_itself() -> None:
    opening = occurrence(local(2026, 12, 1, 9), local(2026, 12, 1, 12))
    period = period_for(tuesday_mornings(per="window"), opening)
    assert period.period_id == "window:2026-12-01T09:00:0"
    assert (period.start, period.end) == (opening.start, opening.end)


def test_a_weekly_period_is_the_local_iso_week_across_a_month_boundary() -> None:
    # Monday 30 November to Monday 7 December 2026 is ISO week 49.
    cw = CallWindows(
        windows=[Window(days=["mon", "tue", "wed"], start="09:00", end="12:00")],
        max_calls=1,
        per="week",
    )
    for day in (30, 1, 2):
        month = 11 if day == 30 else 12
        period = period_for(cw, occurrence(local(2026, month, day, 9), local(2026, month, day, 12)))
        assert period.period_id == "week:2026-W49"
        assert period.start.isoformat() == "2026-11-30T00:00:00+00:00"
        assert period.end.isoformat() == "2026-12-07T00:00:00+00:00"


def test_a_weekly_period_across_a_year_boundary_takes_the_iso_year() -> None:
    # Thursday 31 December 2026 is in ISO week 53 of 2026; Monday 4 January 2027 starts W01.
    thursday = occurrence(local(2026, 12, 31, 9), local(2026, 12, 31, 12))
    monday = occurrence(local(2027, 1, 4, 9), local(2027, 1, 4, 12))
    assert period_for(tuesday_mornings(), thursday).period_id == "week:2026-W53"
    assert period_for(tuesday_mornings(), monday).period_id == "week:2027-W01"


def test_a_weekly_period_spanning_the_spring_change_is_167_hours_long() -> None:
    period = period_for(
        tuesday_mornings(), occurrence(local(2026, 3, 24, 9), local(2026, 3, 24, 12))
    )
    assert period.period_id == "week:2026-W13"
    assert period.start.isoformat() == "2026-03-23T00:00:00+00:00"
    assert period.end.isoformat() == "2026-03-30T00:00:00+01:00"
    assert period.end.astimezone(UTC) - period.start.astimezone(UTC) == timedelta(hours=167)


def test_a_monthly_period_is_the_local_calendar_month() -> None:
    cw = tuesday_mornings(per="month")
    period = period_for(cw, occurrence(local(2026, 3, 31, 9), local(2026, 3, 31, 12)))
    assert period.period_id == "month:2026-03"
    assert period.start.isoformat() == "2026-03-01T00:00:00+00:00"
    assert period.end.isoformat() == "2026-04-01T00:00:00+01:00"


def test_a_december_monthly_period_ends_at_new_year() -> None:
    cw = tuesday_mornings(per="month")
    period = period_for(cw, occurrence(local(2026, 12, 29, 9), local(2026, 12, 29, 12)))
    assert period.period_id == "month:2026-12"
    assert period.end == local(2027, 1, 1)


def test_a_period_has_room_until_max_calls_are_counted() -> None:
    cw = tuesday_mornings(max_calls=2)
    opening = occurrence(local(2026, 12, 1, 9), local(2026, 12, 1, 12))
    assert period_with_room(cw, opening, {}) is not None
    assert period_with_room(cw, opening, {"week:2026-W49": 1}) is not None
    assert period_with_room(cw, opening, {"week:2026-W49": 2}) is None
    assert period_with_room(cw, opening, {"week:2026-W48": 2}) is not None


# --- spoken form ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "spoken"),
    [
        (
            local(2025, 12, 2, 9),
            local(2025, 12, 2, 12),
            "Tuesday the 2nd of December, between 9 am and 12 noon",
        ),
        (
            local(2026, 12, 1, 9, 30),
            local(2026, 12, 1, 14),
            "Tuesday the 1st of December, between 9:30 am and 2 pm",
        ),
        (
            local(2026, 7, 3, 22),
            local(2026, 7, 4),
            "Friday the 3rd of July, between 10 pm and 12 midnight",
        ),
        (
            local(2026, 6, 11, 0),
            local(2026, 6, 11, 0, 30),
            "Thursday the 11th of June, between 12 midnight and 12:30 am",
        ),
        (
            local(2026, 6, 12, 12, 30),
            local(2026, 6, 12, 13, 5),
            "Friday the 12th of June, between 12:30 pm and 1:05 pm",
        ),
    ],
)
def test_a_window_is_spoken_in_plain_english(start: datetime, end: datetime, spoken: str) -> None:
    assert spoken_window(occurrence(start, end)) == spoken


@pytest.mark.parametrize(
    ("day", "ordinal"),
    [
        (1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"), (13, "13th"),
        (21, "21st"), (22, "22nd"), (23, "23rd"), (31, "31st"),
    ],
)  # fmt: skip
def test_days_of_the_month_are_spoken_as_ordinals(day: int, ordinal: str) -> None:
    spoken = spoken_window(occurrence(local(2026, 1, day, 9), local(2026, 1, day, 10)))
    assert f" the {ordinal} of January," in spoken


# --- kept answers (windows.py keeps what it worked out: a quota-full caller looks ahead) ---


def test_a_rule_changed_after_an_answer_is_answered_afresh() -> None:
    """Kept answers are found by the windows' values, never by the rule object: a rule
    edited in place (or a new one with other times) is not answered from the old one's."""
    rule = tuesday_mornings()
    tuesday = date(2026, 12, 1)
    assert [o.start for o in occurrences_on(rule, tuesday, LONDON)] == [local(2026, 12, 1, 9)]
    rule.windows[0] = Window(days=["tue"], start="14:00", end="15:00")
    assert [o.start for o in occurrences_on(rule, tuesday, LONDON)] == [local(2026, 12, 1, 14)]
    rule.windows[0] = Window(days=["wed"], start="14:00", end="15:00")
    assert occurrences_on(rule, tuesday, LONDON) == []


def test_the_same_windows_in_another_zone_give_that_zones_instants() -> None:
    rule = tuesday_mornings()
    tuesday = date(2026, 12, 1)
    new_york = ZoneInfo("America/New_York")
    in_london = occurrences_on(rule, tuesday, LONDON)[0]
    in_new_york = occurrences_on(rule, tuesday, new_york)[0]
    assert in_london.start.astimezone(UTC) == datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert in_new_york.start.astimezone(UTC) == datetime(2026, 12, 1, 14, tzinfo=UTC)
    assert period_for(rule, in_new_york).start.tzinfo is new_york


def test_a_returned_list_changed_by_its_reader_leaves_later_answers_whole() -> None:
    rule = tuesday_mornings()
    tuesday = date(2026, 12, 1)
    occurrences_on(rule, tuesday, LONDON).clear()
    assert len(occurrences_on(rule, tuesday, LONDON)) == 1


def test_an_occurrence_at_the_same_instants_in_another_zone_counts_in_that_zones_week() -> None:
    """Occurrences in two zones covering the same instants are equal as values; each still
    counts in its own zone's week (a kept answer must not be shared between them)."""
    rule = tuesday_mornings()
    in_london = occurrence(local(2026, 7, 6, 0, 30), local(2026, 7, 6, 1, 0))  # Monday, BST
    in_utc = occurrence(
        in_london.start.astimezone(UTC), in_london.end.astimezone(UTC)
    )  # Sunday 23:30 UTC
    assert in_london == in_utc
    assert period_for(rule, in_london).period_id == "week:2026-W28"
    assert period_for(rule, in_utc).period_id == "week:2026-W27"
