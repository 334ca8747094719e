"""Call records in Redis hold only the fields not at their default; records written whole
(before that) read the same, and the fail-open path's DEGRADE_CALL works on both."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from callguard.domain.caller_match import Decision
from callguard.domain.records import CallMessage, CallRecord, Triage, record_for
from callguard.store.call_plans import RepeatCounter, record_plan
from callguard.store.call_records import CallStore, Written
from callguard.store.connection import connect
from callguard.store.keys import HELD_UPDATE_TTL_S, REPEAT_COUNTER_TTL_S
from tests.conftest import KEYS

pytestmark = pytest.mark.timeout(30)

SID = "CA" + "0123456789abcdef" * 2
RECEIVED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
DEFAULT_ROUTE = "+441772000100"
DIVERTED = record_for(
    Decision(
        outcome="divert_spoc",
        rule="spoc",
        person_id="per_0000000000000001",
        strategy_ids=("str_1",),
        route_to="+441772000001",
        spoc_name="Jo Bloggs",
        recorded=True,
        max_minutes=10,
        extra_time=True,
    ),
    call_sid=SID,
    caller="+447400000001",
    to="+441772000000",
    received_at=RECEIVED,
    status="ringing",
)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    yield client
    await client.aclose()


def whole_plan(record: CallRecord) -> str:
    """The plan as written before records went sparse: every field."""
    body = json.loads(record_plan(KEYS, record))
    every = record.model_dump(mode="json", by_alias=True, exclude={"warnings"})
    body["fields"] = {name: json.dumps(value) for name, value in every.items()}
    return json.dumps(body)


async def write_diverted(store: CallStore, form: str) -> None:
    """DIVERTED's record, stored ``sparse`` (as now) or ``whole`` (as before)."""
    plan = record_plan(KEYS, DIVERTED) if form == "sparse" else whole_plan(DIVERTED)
    assert isinstance(await store.record(plan, SID), Written)


@pytest.mark.parametrize("written", ["sparse", "whole"])
async def test_a_record_reads_back_as_written_and_is_degraded_to_the_answer_given(
    redis: Redis, written: str
) -> None:
    store = CallStore(redis, KEYS)
    await write_diverted(store, written)
    stored = await redis.hgetall(KEYS.call(SID))
    assert len(stored) == (13 if written == "sparse" else 29)
    assert await store.get(SID) == DIVERTED

    # The same CallSid answered by the fail-open path a moment later.
    degraded = record_for(
        Decision(outcome="connect", rule="none", route_to=DEFAULT_ROUTE),
        call_sid=SID,
        caller="+447400000001",
        to="+441772000000",
        received_at=RECEIVED + timedelta(seconds=2),
        status="ringing",
        degraded=True,
    )
    assert await store.degrade(record_plan(KEYS, degraded), SID)
    # What the caller got; who called, and when, kept.
    assert await store.get(SID) == DIVERTED.model_copy(
        update={
            "outcome": "connect",
            "rule": "none",
            "route_to": DEFAULT_ROUTE,
            "spoc_name": None,
            "recorded": False,
            "max_minutes": None,
            "degraded": True,
        }
    )
    assert await redis.zscore(KEYS.calls_by_outcome("connect"), SID) is not None
    assert await redis.zscore(KEYS.calls_by_outcome("divert_spoc"), SID) is None
    assert not await store.degrade(record_plan(KEYS, degraded), SID)  # degraded already


async def test_an_update_to_a_sparse_record_reads_back(redis: Redis) -> None:
    store = CallStore(redis, KEYS)
    assert isinstance(await store.record(record_plan(KEYS, DIVERTED), SID), Written)
    assert await store.update(SID, {"status": "completed", "duration_s": 61}, finished=True)
    assert await store.get(SID) == DIVERTED.model_copy(
        update={"status": "completed", "duration_s": 61}
    )


async def test_a_status_is_never_put_back_by_an_update_applied_late(redis: Redis) -> None:
    """Twilio's callbacks may arrive out of order, and a spooled one may be replayed after a
    later one was written: a call that has ended stays ended, and out of the live set."""
    store = CallStore(redis, KEYS)
    assert isinstance(await store.record(record_plan(KEYS, DIVERTED), SID), Written)
    assert await redis.sismember(KEYS.LIVE_CALLS, SID)
    assert await store.update(SID, {"status": "queued"}, finished=False)  # before ringing
    assert (await store.get(SID)) == DIVERTED  # still ringing (the record's default)
    assert await store.update(SID, {"status": "in-progress"}, finished=False)
    assert await store.update(SID, {"other_leg_status": "answered"}, finished=False)
    assert await store.update(SID, {"other_leg_status": "ringing"}, finished=False)
    answered = await store.get(SID)
    assert answered is not None and answered.other_leg_status == "answered"
    assert await store.update(SID, {"status": "completed", "duration_s": 61}, finished=True)
    assert await store.update(SID, {"other_leg_status": "completed"}, finished=False)

    for late in ("in-progress", "ringing"):
        assert await store.update(SID, {"status": late}, finished=False)
        assert await store.update(SID, {"other_leg_status": late}, finished=False)

    record = await store.get(SID)
    assert record is not None
    assert (record.status, record.other_leg_status) == ("completed", "completed")
    assert (record.duration_s, record.in_progress) == (61, False)
    assert not await redis.sismember(KEYS.LIVE_CALLS, SID)


@pytest.mark.parametrize("stored", ["sparse", "whole"])
async def test_a_triaged_message_is_not_put_back_by_its_first_update_applied_again(
    redis: Redis, stored: str
) -> None:
    """On a record stored sparsely, or whole as before (its message "null")."""
    store = CallStore(redis, KEYS)
    await write_diverted(store, stored)
    message = CallMessage(
        recording_sid="RE" + "1" * 32,
        recording_url="https://api.twilio.com/recordings/RE1",
        duration_s=20,
        recorded_at=RECEIVED,
    )
    left = {"message": message.model_dump(mode="json")}
    at = (KEYS.MESSAGES, RECEIVED.timestamp())
    assert await store.update(SID, left, finished=False, index=at)
    assert await redis.zscore(KEYS.MESSAGES, SID) == RECEIVED.timestamp()
    triage = Triage(outcome="no_action", by="jo", at=RECEIVED + timedelta(hours=1))
    triaged = message.model_copy(update={"triage": triage})
    assert await store.update(SID, {"message": triaged.model_dump(mode="json")}, False)
    await store.remove_from_messages(SID)

    assert await store.update(SID, left, finished=False, index=at)  # the spool, again

    record = await store.get(SID)
    assert record is not None and record.message == triaged
    assert await redis.zscore(KEYS.MESSAGES, SID) is None  # not back in the list to triage


async def test_an_update_with_no_record_is_held_for_it_for_a_while_when_asked(
    redis: Redis,
) -> None:
    store = CallStore(redis, KEYS)
    assert not await store.update(SID, {"status": "completed"}, finished=True)  # not held
    assert not await redis.exists(KEYS.call_held(SID))
    assert await store.held_calls() == []

    before = (await redis.time())[0]
    assert await store.update(SID, {"status": "in-progress"}, False, hold="first")
    assert not await redis.exists(KEYS.call(SID))  # no partial record
    # The call is in the index the sweep reads, by when it was first held.
    assert await store.held_calls() == [SID]
    held_at = await redis.zscore(KEYS.HELD_CALLS, SID)
    assert held_at is not None and before <= held_at <= (await redis.time())[0]
    await redis.zadd(KEYS.HELD_CALLS, {SID: 1_000})  # as if first held long ago
    assert await store.update(SID, {"status": "completed"}, True, hold="second")
    assert await redis.zscore(KEYS.HELD_CALLS, SID) == 1_000  # still when first held
    assert await store.held(SID) == ["first", "second"]
    assert 0 < await redis.ttl(KEYS.call_held(SID)) <= HELD_UPDATE_TTL_S

    # The first applied; the second, held since, is kept, and the call stays indexed.
    assert await store.drop_held(SID, 1) == (1, False)
    assert await store.held(SID) == ["second"]
    assert await store.held_calls() == [SID]
    assert await store.drop_held(SID, 1) == (0, True)
    assert not await redis.exists(KEYS.call_held(SID))
    assert await store.held_calls() == []
    assert await store.drop_held(SID, 0) == (0, False)  # out of the index already


async def test_a_repeat_caller_reaches_the_board_once_past_the_threshold(redis: Redis) -> None:
    """The unrestricted record's plan counts the number's calls that day; the call past the
    threshold puts the number on the board, at that call's time, and later calls leave it."""
    store = CallStore(redis, KEYS)
    phone, threshold = "+447400000009", 2
    counter = KEYS.repeat_counter(phone, "2026-11-27")
    repeat = RepeatCounter(counter, phone, threshold)
    for n in range(threshold + 2):
        record = record_for(
            Decision(outcome="connect", rule="none", route_to=DEFAULT_ROUTE),
            call_sid=f"CA{n:032x}",
            caller=phone,
            to="+441772000000",
            received_at=RECEIVED + timedelta(minutes=n),
            status="ringing",
        )
        written = await store.screen(
            record.call_sid, phone, store.record_lines(record, repeat=repeat)
        )
        assert isinstance(written, Written)
        assert await store.get(record.call_sid) == record
        assert await redis.zscore(KEYS.CALLS, record.call_sid) == record.received_at.timestamp()
        assert await redis.sismember(KEYS.LIVE_CALLS, record.call_sid)
        on_board = await redis.zrange(KEYS.REPEAT_CALLERS, 0, -1, withscores=True)
        crossed = (RECEIVED + timedelta(minutes=threshold)).timestamp()
        assert on_board == ([] if n < threshold else [(phone, crossed)])
    assert await redis.get(counter) == str(threshold + 2)
    assert 0 < await redis.ttl(counter) <= REPEAT_COUNTER_TTL_S


async def test_a_refusal_written_from_its_plan_is_a_breach_of_the_refusing_strategy_only(
    redis: Redis,
) -> None:
    """A matched caller's record (the second round trip), from the plan as sent and from
    the same plan as the spool keeps it (JSON), writes the same hash and indexes."""
    store = CallStore(redis, KEYS)
    stored = []
    for n, as_spooled in enumerate((False, True)):
        refused = record_for(
            Decision(
                outcome="refuse",
                rule="phone_blocked",
                person_id="per_0000000000000001",
                strategy_ids=("str_1", "str_2"),
                refused_by=("str_2",),
            ),
            call_sid=f"CA{n:032x}",
            caller="+447400000001",
            to="+441772000000",
            received_at=RECEIVED,
            status="ringing",
        )
        plan = store.record_plan(refused) if as_spooled else store.record_lines(refused)
        sid = refused.call_sid
        assert isinstance(await store.record(plan, sid), Written)
        assert await store.get(sid) == refused
        for index in (KEYS.CALLS, KEYS.calls_by_outcome("refuse"), KEYS.breaches("str_2")):
            assert await redis.zscore(index, sid) == RECEIVED.timestamp()
        assert await redis.zscore(KEYS.calls_by_person("per_0000000000000001"), sid)
        assert not await redis.exists(KEYS.breaches("str_1"))
        assert not await redis.sismember(KEYS.LIVE_CALLS, sid)
        stored.append(dict(await redis.hgetall(KEYS.call(sid))))
    assert stored[0].pop("call_sid") != stored[1].pop("call_sid")
    assert stored[0] == stored[1]
