"""Messages' sounds kept for a player's later requests: for five minutes, within a bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callguard.services.call_events import RecentSounds

pytestmark = pytest.mark.timeout(10)

AT = datetime(2026, 3, 29, 0, 59, tzinfo=UTC)  # the clocks go forward at 1am: no matter


def test_a_sound_is_kept_for_its_time_and_then_forgotten() -> None:
    sounds = RecentSounds(kept_for=timedelta(minutes=5), max_bytes=100)
    sounds.keep("RE1", b"one", AT)
    sounds.keep("RE2", b"two", AT + timedelta(minutes=1))
    assert sounds.get("RE1", AT + timedelta(minutes=4, seconds=59)) == b"one"
    assert sounds.get("RE1", AT + timedelta(minutes=5)) is None
    assert sounds.get("RE2", AT + timedelta(minutes=5)) == b"two"
    assert sounds.get("RE2", AT + timedelta(minutes=6)) is None


def test_the_first_fetched_go_first_when_they_would_take_too_much() -> None:
    sounds = RecentSounds(kept_for=timedelta(minutes=5), max_bytes=10)
    sounds.keep("RE1", b"1234", AT)
    sounds.keep("RE2", b"5678", AT)
    sounds.keep("RE1", b"abcd", AT)  # fetched again: now the newest, counted once
    sounds.keep("RE3", b"wxyz", AT)  # 12 bytes: RE2, the oldest now, goes
    assert [sounds.get(sid, AT) for sid in ("RE1", "RE2", "RE3")] == [b"abcd", None, b"wxyz"]
    sounds.keep("RE4", b"x" * 11, AT)  # more than the whole bound: not kept, nothing lost
    assert sounds.get("RE4", AT) is None and sounds.get("RE3", AT) == b"wxyz"
