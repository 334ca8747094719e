"""Recordings go with their call record (CONTRACT §7): when retention removes a call record
it deletes the call's Twilio recordings through the REST API (the stand-in answers DELETE
204 and records it); a failed delete stays queued and the recordings job tries it again
later; a legal hold keeps the record and its recordings."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from redis.asyncio import Redis

from callguard.clock import FixedClock
from callguard.store.connection import connect
from tests.conftest import ACCOUNT_SID, KEYS, auth
from tests.helpers import Client, create_person, create_strategy, inbound_call, new_call_sid
from tests.helpers import services as services_of
from tests.integration.scheduler_support import at
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(60)

RUN_AT = at(2026, 11, 27, 2, 30)
OLD = RUN_AT - timedelta(days=800)  # past call_records_days (730)
PERSON_PHONE = "07700 900301"


def new_recording_sid() -> str:
    return "RE" + secrets.token_hex(16)


def delete_path(recording_sid: str) -> str:
    return f"/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording_sid}.json"


def deletes(twilio: TwilioStandIn) -> list[str]:
    return [r.path for r in twilio.requests if r.method == "DELETE"]


async def recorded_call(
    client: Client, clock: FixedClock, phone: str, when: datetime, *, message: bool = False
) -> tuple[str, list[str]]:
    """A call at ``when`` with a conference recording (and a message): (sid, recordings)."""
    clock.set(when)
    sid = new_call_sid()
    assert (await inbound_call(client, phone, sid)).status == 200
    events = services_of(client).call_events
    recordings = [new_recording_sid()]
    await events.recording_ready(sid, recordings[0], f"https://api.twilio.com/r/{recordings[0]}")
    if message:
        recordings.append(new_recording_sid())
        await events.message_recorded(
            sid,
            recording_sid=recordings[1],
            recording_url=f"https://api.twilio.com/r/{recordings[1]}",
            duration_s=12,
            new_matter=False,
            for_spoc=None,
            now=when,
        )
    return sid, recordings


async def run(client: Client, clock: FixedClock, job: str, when: datetime) -> dict[str, int]:
    clock.set(when)
    result = await services_of(client).duties.run(job, when)
    assert result.outcome == "performed", result
    assert result.summary is not None
    return {k: int(v) for k, v in result.summary.items() if k.startswith("recording")}


async def queued(redis: Redis) -> list[str]:
    members = await redis.zrange(KEYS.recordings_to_delete(), 0, -1)
    return [m.decode() if isinstance(m, bytes) else str(m) for m in members]


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    yield client
    await client.aclose()


async def test_retention_deletes_the_recordings_of_the_records_it_removes(
    client: Client, clock: FixedClock, twilio: TwilioStandIn, redis: Redis
) -> None:
    old_sid, old_recordings = await recorded_call(client, clock, "07700 900401", OLD, message=True)
    _new_sid, new_recordings = await recorded_call(
        client, clock, "07700 900402", RUN_AT - timedelta(days=10)
    )

    summary = await run(client, clock, "retention", RUN_AT)

    assert sorted(deletes(twilio)) == sorted(delete_path(r) for r in old_recordings)
    assert all(r.authorization.startswith("Basic ") for r in twilio.requests)
    assert summary == {"recording": 2, "recording_failed": 0, "recording_waiting": 0}
    assert not await redis.exists(KEYS.call(old_sid))
    assert not any(r in str(deletes(twilio)) for r in new_recordings)
    assert await queued(redis) == []


async def test_a_legal_hold_keeps_the_record_and_its_recordings(
    client: Client, clock: FixedClock, twilio: TwilioStandIn, tokens: dict[str, str], redis: Redis
) -> None:
    manager = tokens["manager"]
    clock.set(OLD - timedelta(days=1))
    person = await create_person(client, manager, phones=[PERSON_PHONE])
    await create_strategy(
        client,
        manager,
        person["id"],
        [{"kind": "phone_blocked"}],
        notified_on=(OLD - timedelta(days=1)).date().isoformat(),
        review_due=(OLD + timedelta(days=60)).date().isoformat(),
    )
    person_sid, _ = await recorded_call(client, clock, PERSON_PHONE, OLD)
    call_sid, _ = await recorded_call(client, clock, "07700 900403", OLD, message=True)
    clock.set(RUN_AT - timedelta(hours=1))
    for kind, target in (("person", person["id"]), ("call", call_sid)):
        placed = await client.post(
            "/api/v1/legal-holds",
            json={"kind": kind, "id": target, "reason": "Civil claim: preserve (ref LIT-7)"},
            headers=auth(manager),
        )
        assert placed.status == 201, await placed.text()

    summary = await run(client, clock, "retention", RUN_AT)

    assert deletes(twilio) == []
    assert summary["recording"] == 0 and summary["recording_waiting"] == 0
    assert await redis.exists(KEYS.call(person_sid)) and await redis.exists(KEYS.call(call_sid))


async def test_a_failed_delete_waits_in_the_queue_and_is_tried_again_later(
    client: Client, clock: FixedClock, twilio: TwilioStandIn, redis: Redis
) -> None:
    sid, recordings = await recorded_call(client, clock, "07700 900404", OLD)
    twilio.fail_with = 503

    first = await run(client, clock, "retention", RUN_AT)

    assert first == {"recording": 0, "recording_failed": 1, "recording_waiting": 1}
    assert not await redis.exists(KEYS.call(sid))  # the record went; its recording waits
    assert await queued(redis) == recordings
    twilio.fail_with = None
    # Not yet due again 20 minutes later; tried again after the hour, and deleted.
    assert await run(client, clock, "recordings", RUN_AT + timedelta(minutes=20)) == {
        "recording": 0,
        "recording_failed": 0,
        "recording_waiting": 1,
    }
    assert await run(client, clock, "recordings", RUN_AT + timedelta(hours=1, minutes=5)) == {
        "recording": 1,
        "recording_failed": 0,
        "recording_waiting": 0,
    }
    assert deletes(twilio) == [delete_path(recordings[0])] * 2
    assert await queued(redis) == []


async def test_a_recording_twilio_no_longer_has_counts_as_deleted(
    client: Client, clock: FixedClock, twilio: TwilioStandIn, redis: Redis
) -> None:
    await recorded_call(client, clock, "07700 900405", OLD)
    twilio.fail_with = 404
    summary = await run(client, clock, "retention", RUN_AT)
    assert summary == {"recording": 1, "recording_failed": 0, "recording_waiting": 0}
    assert await queued(redis) == []


async def test_a_messages_recording_goes_when_its_message_does(
    client: Client, clock: FixedClock, twilio: TwilioStandIn, tokens: dict[str, str], redis: Redis
) -> None:
    # Over a year old (messages_days 365) but under two (call_records_days 730).
    when = RUN_AT - timedelta(days=400)
    sid, (call_recording, message_recording) = await recorded_call(
        client, clock, "07700 900406", when, message=True
    )
    triaged = await client.post(
        f"/api/v1/calls/{sid}/message/triage",
        json={"outcome": "no_action"},
        headers=auth(tokens["manager"]),
    )
    assert triaged.status == 200, await triaged.text()

    await run(client, clock, "retention", RUN_AT)

    assert deletes(twilio) == [delete_path(message_recording)]
    assert await redis.exists(KEYS.call(sid))  # the record stays, with its call recording
    assert call_recording not in str(deletes(twilio))
