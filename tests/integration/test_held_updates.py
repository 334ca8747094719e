"""Updates held for a record not yet in Redis (another replica's spool had it) reach it
whichever way it is written: by the replay that writes it, or, written live, by the
``held_updates`` duty's sweep; and a call whose record never came leaves the index."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from callguard.services.spooled_updates import SpooledUpdates
from callguard.store.call_plans import record_plan
from callguard.store.call_records import CallStore, Written
from callguard.store.connection import connect
from tests.conftest import KEYS
from tests.integration.test_call_records import DIVERTED, SID

pytestmark = pytest.mark.timeout(30)

NOW = datetime(2026, 11, 27, 10, 15, tzinfo=UTC)
OTHER_SID = "CA" + "fedcba9876543210" * 2


def status_update(call_sid: str, status: str, **fields: object) -> dict[str, object]:
    """A status callback's update as the spool holds it (``CallEvents._update``)."""
    return {
        "kind": "update",
        "call_sid": call_sid,
        "fields": {"status": status, **fields},
        "finished": status == "completed",
        "index": None,
    }


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    yield client
    await client.aclose()


async def test_the_sweep_gives_a_record_written_live_what_was_held_for_it(redis: Redis) -> None:
    store = CallStore(redis, KEYS)
    updates = SpooledUpdates(store)
    await updates.apply(SID, status_update(SID, "in-progress"), hold=True)
    await updates.apply(SID, status_update(SID, "completed", duration_s=61), hold=True)

    # No record yet: the sweep leaves what is held alone.
    assert await updates.sweep(NOW) == {"calls": 0, "updates_applied": 0, "expired": 0}
    assert len(await store.held(SID)) == 2 and await store.held_calls() == [SID]

    # The record is written live (not replayed): nothing applies what is held but the sweep.
    assert isinstance(await store.record(record_plan(KEYS, DIVERTED), SID), Written)
    assert await redis.sismember(KEYS.LIVE_CALLS, SID)
    assert await updates.sweep(NOW) == {"calls": 1, "updates_applied": 2, "expired": 0}
    record = await store.get(SID)
    assert record is not None and (record.status, record.duration_s) == ("completed", 61)
    assert not await redis.sismember(KEYS.LIVE_CALLS, SID)
    assert await store.held(SID) == [] and await store.held_calls() == []

    # Run again, it finds nothing to do.
    assert await updates.sweep(NOW) == {"calls": 0, "updates_applied": 0, "expired": 0}


async def test_a_call_whose_held_updates_expired_leaves_the_index_and_is_logged(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    store = CallStore(redis, KEYS)
    updates = SpooledUpdates(store)
    for call_sid in (SID, OTHER_SID):
        await updates.apply(call_sid, status_update(call_sid, "completed"), hold=True)
    await redis.delete(KEYS.call_held(SID))  # as its expiry does, HELD_UPDATE_TTL_S on

    with caplog.at_level(logging.WARNING, logger="callguard.spooled_updates"):
        assert await updates.sweep(NOW) == {"calls": 0, "updates_applied": 0, "expired": 1}
    assert await store.held_calls() == [OTHER_SID]  # still waiting for its record
    assert [r.getMessage() for r in caplog.records] == [
        "1 call(s) had updates held for a record that never reached Redis: they were not applied"
    ]
    assert not await redis.exists(KEYS.call(SID))  # and no partial record was made


EXPIRED_WITH_RECORD = (
    "1 call(s) had updates held that expired unapplied, though the call's record is in "
    "Redis: it came after they expired, or they could not be applied (each logged when it "
    "was found)"
)


async def test_a_record_that_came_after_its_held_updates_expired_leaves_the_index(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    store = CallStore(redis, KEYS)
    updates = SpooledUpdates(store)
    await updates.apply(SID, status_update(SID, "completed"), hold=True)
    await redis.delete(KEYS.call_held(SID))  # expired
    assert isinstance(await store.record(record_plan(KEYS, DIVERTED), SID), Written)

    with caplog.at_level(logging.WARNING, logger="callguard.spooled_updates"):
        assert await updates.sweep(NOW) == {"calls": 0, "updates_applied": 0, "expired": 1}
    assert [r.getMessage() for r in caplog.records] == [EXPIRED_WITH_RECORD]
    assert await store.held_calls() == []
    record = await store.get(SID)
    assert record is not None and record.status == "ringing"  # nothing was left to apply


class ReplayedMeanwhile(CallStore):
    """A store in which another replica replays the call's record, and applies what is
    held for it, just after the sweep has read the index."""

    async def has_record(self, call_sid: str) -> bool:
        found = await super().has_record(call_sid)
        assert isinstance(await self.record(record_plan(KEYS, DIVERTED), call_sid), Written)
        assert await SpooledUpdates(CallStore(self.redis, self.keys)).apply_held(call_sid) == 1
        return found


async def test_updates_a_replay_applied_during_the_sweep_are_not_reported_expired(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    store = ReplayedMeanwhile(redis, KEYS)
    updates = SpooledUpdates(store)
    await updates.apply(SID, status_update(SID, "completed", duration_s=61), hold=True)

    with caplog.at_level(logging.WARNING, logger="callguard.spooled_updates"):
        assert await updates.sweep(NOW) == {"calls": 0, "updates_applied": 0, "expired": 0}
    assert caplog.records == []
    record = await store.get(SID)
    assert record is not None and (record.status, record.duration_s) == ("completed", 61)
    assert await store.held_calls() == []


async def test_a_replayed_record_takes_what_is_held_and_leaves_the_index(redis: Redis) -> None:
    store = CallStore(redis, KEYS)
    updates = SpooledUpdates(store)
    await updates.apply(SID, status_update(SID, "completed", duration_s=61), hold=True)
    assert isinstance(await store.record(record_plan(KEYS, DIVERTED), SID), Written)

    assert await updates.apply_held(SID) == 1
    record = await store.get(SID)
    assert record is not None and (record.status, record.duration_s) == ("completed", 61)
    assert await store.held_calls() == []
    assert await updates.sweep(NOW) == {"calls": 0, "updates_applied": 0, "expired": 0}


async def test_a_held_update_that_can_never_be_applied_holds_up_no_other(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """A held update that no release could apply (here unreadable) is logged and kept,
    unapplied; the call's other held updates are applied all the same, and the sweep goes
    on to the other calls."""
    store = CallStore(redis, KEYS)
    updates = SpooledUpdates(store)
    # SID sorts first among calls held in the same second: the sweep meets it first.
    for status in ("ringing", "in-progress", "completed"):
        await updates.apply(SID, status_update(SID, status, duration_s=61), hold=True)
    await redis.lset(KEYS.call_held(SID), 1, '{"kind": "upd')  # the second, torn
    await updates.apply(OTHER_SID, status_update(OTHER_SID, "completed"), hold=True)
    assert await store.held_calls() == [SID, OTHER_SID]
    other = DIVERTED.model_copy(update={"call_sid": OTHER_SID})
    for sid, record in ((SID, DIVERTED), (OTHER_SID, other)):
        assert isinstance(await store.record(record_plan(KEYS, record), sid), Written)

    with caplog.at_level(logging.ERROR, logger="callguard.spooled_updates"):
        assert await updates.sweep(NOW) == {"calls": 2, "updates_applied": 3, "expired": 0}
    for sid in (SID, OTHER_SID):
        written = await store.get(sid)
        assert written is not None and written.status == "completed", sid
    # The first is forgotten; the torn one is kept, and the one after it (applied again
    # by the next sweep, to no effect).
    assert len(await store.held(SID)) == 2
    assert await store.held_calls() == [SID]
    [logged] = caplog.records
    assert f"call {SID} cannot be applied (JSONDecodeError)" in logged.getMessage()


async def test_a_held_update_kept_as_it_could_never_be_applied_is_logged_as_such_once_expired(
    redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """Kept, unapplied, it stays in the index until it expires; then the call leaves the
    index, logged as what it was (its record is there), not as a record that never came."""
    store = CallStore(redis, KEYS)
    updates = SpooledUpdates(store)
    await updates.apply(SID, status_update(SID, "completed"), hold=True)
    await redis.lset(KEYS.call_held(SID), 0, '{"kind": "upd')  # torn
    assert isinstance(await store.record(record_plan(KEYS, DIVERTED), SID), Written)
    assert await updates.sweep(NOW) == {"calls": 0, "updates_applied": 0, "expired": 0}
    assert await store.held_calls() == [SID]  # kept

    await redis.delete(KEYS.call_held(SID))  # as its expiry does
    caplog.clear()  # the first sweep's error, that it cannot be applied
    with caplog.at_level(logging.WARNING, logger="callguard.spooled_updates"):
        assert await updates.sweep(NOW) == {"calls": 0, "updates_applied": 0, "expired": 1}
    assert [r.getMessage() for r in caplog.records] == [EXPIRED_WITH_RECORD]
    assert await store.held_calls() == []
