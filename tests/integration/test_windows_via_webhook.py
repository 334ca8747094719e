"""Call windows through the real, signed voice webhook, across both 2026 clock changes in
Europe/London (CONTRACT §4: windows are in CALLGUARD_TIMEZONE, correct across clock changes).

The window is Tuesday 09:00–12:00 local, half-open: 09:00 and 11:59 are inside, 08:59 and
12:00 outside. The clock is set in local time; FixedClock keeps it in UTC, so the same wall
time is 09:00 UTC in GMT and 08:00 UTC in BST.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from callguard.clock import FixedClock
from tests.helpers import (
    Client,
    call_record,
    create_person,
    create_strategy,
    inbound_call,
    new_call_sid,
)

pytestmark = pytest.mark.timeout(30)

LONDON = ZoneInfo("Europe/London")
PERSON_PHONE = "+447700900123"
TUESDAY_MORNING = {
    "kind": "call_windows",
    "windows": [{"days": ["tue"], "start": "09:00", "end": "12:00"}],
    "max_calls": 100,
    "per": "week",
}

# The Tuesdays either side of the clocks going forward (Sun 29 March 2026) and back
# (Sun 25 October 2026), with the UTC offset each is in.
TUESDAYS = {
    date(2026, 3, 24): 0,
    date(2026, 3, 31): 1,
    date(2026, 10, 20): 1,
    date(2026, 10, 27): 0,
}
TIMES = {
    time(8, 59): ("refuse", "call_windows.outside"),
    time(9, 0): ("connect", "none"),
    time(11, 59): ("connect", "none"),
    time(12, 0): ("refuse", "call_windows.outside"),
}


async def restricted_person(
    client: Client, tokens: dict[str, str], clock: FixedClock, at: datetime
) -> dict[str, Any]:
    """A person under the Tuesday-morning window, the strategy made the day before ``at``."""
    clock.set(at - timedelta(days=1))
    person = await create_person(client, tokens["manager"], phones=[PERSON_PHONE])
    made_on = (at - timedelta(days=1)).date()
    return await create_strategy(
        client,
        tokens["manager"],
        person["id"],
        [TUESDAY_MORNING],
        notified_on=made_on.isoformat(),
        review_due=(made_on + timedelta(days=60)).isoformat(),
    )


@pytest.mark.parametrize("wall", list(TIMES), ids=[t.strftime("%H%M") for t in TIMES])
@pytest.mark.parametrize("day", list(TUESDAYS), ids=[d.isoformat() for d in TUESDAYS])
async def test_the_window_edges_on_the_tuesdays_around_each_clock_change(
    client: Client, tokens: dict[str, str], clock: FixedClock, day: date, wall: time
) -> None:
    at = datetime.combine(day, wall, tzinfo=LONDON)
    assert at.utcoffset() == timedelta(hours=TUESDAYS[day])
    await restricted_person(client, tokens, clock, at)
    clock.set(at)

    call_sid = new_call_sid()
    response = await inbound_call(client, PERSON_PHONE, call_sid)
    assert response.status == 200
    twiml = await response.text()
    outcome, rule = TIMES[wall]
    assert (response.headers["X-CallGuard-Outcome"], response.headers["X-CallGuard-Rule"]) == (
        outcome,
        rule,
    ), f"{at.isoformat()} ({at.astimezone(ZoneInfo('UTC')):%H:%M} UTC)"

    record = await call_record(client, tokens["manager"], call_sid)
    assert (record["outcome"], record["rule"]) == (outcome, rule)
    assert datetime.fromisoformat(record["received_at"]) == at
    if outcome == "refuse":
        # Before the window: later today. At its end: next Tuesday, in that day's offset.
        next_day = day if wall < time(9, 0) else day + timedelta(days=7)
        expected = datetime.combine(next_day, time(9, 0), tzinfo=LONDON)
        assert datetime.fromisoformat(record["next_permitted_at"]) == expected
        assert f"Tuesday the {next_day.day}" in twiml
        assert "between 9 am and 12 noon" in twiml
    else:
        assert record["next_permitted_at"] is None


@pytest.mark.parametrize(
    "called_at,next_window,offset_h,spoken",
    [
        (
            # 00:30 GMT on the night the clocks go forward (01:00 GMT -> 02:00 BST).
            datetime(2026, 3, 29, 0, 30, tzinfo=LONDON),
            "2026-03-31T09:00:00+01:00",
            1,
            "Tuesday the 31st of March, between 9 am and 12 noon",
        ),
        (
            # 00:30 BST on the night the clocks go back (02:00 BST -> 01:00 GMT).
            datetime(2026, 10, 25, 0, 30, tzinfo=LONDON),
            "2026-10-27T09:00:00+00:00",
            0,
            "Tuesday the 27th of October, between 9 am and 12 noon",
        ),
    ],
    ids=["spring-forward", "fall-back"],
)
async def test_a_call_on_the_night_of_a_clock_change_is_told_the_next_window(
    client: Client,
    tokens: dict[str, str],
    clock: FixedClock,
    called_at: datetime,
    next_window: str,
    offset_h: int,
    spoken: str,
) -> None:
    await restricted_person(client, tokens, clock, called_at)
    clock.set(called_at)
    call_sid = new_call_sid()

    response = await inbound_call(client, PERSON_PHONE, call_sid)
    assert response.headers["X-CallGuard-Rule"] == "call_windows.outside"
    twiml = await response.text()
    assert f"You may next call on {spoken}." in twiml

    record = await call_record(client, tokens["manager"], call_sid)
    stored = datetime.fromisoformat(record["next_permitted_at"])
    expected = datetime.fromisoformat(next_window)
    assert stored == expected
    # The same instant, and stated in the offset the office clock will show then.
    assert stored.utcoffset() == expected.utcoffset() == timedelta(hours=offset_h)
