"""Quotas are exact under concurrent calls (CONTRACT §4): 200 simultaneous inbound calls
from a person allowed one call per window connect exactly one and refuse the rest, all
through the real, signed voice webhook and the real Redis scripts.

The fail-open budget (3 x CALLGUARD_REDIS_TIMEOUT_MS) is wall-clock time: with 200 calls
answered at once by this one test process, on a busy machine, the slowest can come near
it, and a call past it is (rightly) connected unscreened. That is the fail-open path,
tested in test_fail_open.py; here the budget is raised so that the quota alone decides,
and the test asserts that no call was degraded.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from tests.conftest import KEYS, auth
from tests.fault_helpers import app_client
from tests.helpers import (
    Client,
    create_person,
    create_strategy,
    inbound_call,
    new_call_sid,
    services,
)
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(30)

PERSON_PHONE = "+447700900123"
CALLS = 200
BOUND_S = 20.0
# The clock stands at Friday 27 November 2026, 10:00 GMT: inside this window.
ONE_PER_WINDOW = {
    "kind": "call_windows",
    "windows": [{"days": ["fri"], "start": "09:00", "end": "12:00"}],
    "max_calls": 1,
    "per": "window",
}


@pytest.fixture
async def busy_client(
    settings: Settings, policy: Policy, clock: FixedClock
) -> AsyncIterator[Client]:
    patient = settings.model_copy(update={"redis_timeout_ms": 5000})
    async with app_client(patient, policy, clock) as client:
        yield client


async def test_two_hundred_simultaneous_calls_connect_exactly_one(
    busy_client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    client = busy_client
    manager = auth(tokens["manager"])
    person = await create_person(client, tokens["manager"], phones=[PERSON_PHONE])
    strategy = await create_strategy(client, tokens["manager"], person["id"], [ONE_PER_WINDOW])
    sids = [new_call_sid() for _ in range(CALLS)]

    started = time.perf_counter()
    responses = await asyncio.gather(*(inbound_call(client, PERSON_PHONE, sid) for sid in sids))
    await services(client).background.drain()
    assert time.perf_counter() - started < BOUND_S

    assert [r.status for r in responses] == [200] * CALLS
    assert {r.headers["X-CallGuard-Degraded"] for r in responses} == {"0"}
    answers = Counter(
        (r.headers["X-CallGuard-Outcome"], r.headers["X-CallGuard-Rule"]) for r in responses
    )
    assert answers == {("connect", "none"): 1, ("refuse", "call_windows.quota"): CALLS - 1}
    (connected,) = [
        sid
        for sid, r in zip(sids, responses, strict=True)
        if r.headers["X-CallGuard-Outcome"] == "connect"
    ]

    # Exactly one other leg was dialled, into the connected call's conference; nothing else.
    dials = twilio.matching(r"/Participants\.json$")
    assert [d.path.split("/")[-2] for d in dials] == [f"cg-{connected}"]
    assert len(twilio.requests) == 1

    # One record per call, the quota counted once, every refusal a breach.
    log = await (
        await client.get(f"/api/v1/calls?person_id={person['id']}", headers=manager)
    ).json()
    assert log["total"] == CALLS
    assert (await (await client.get("/api/v1/calls", headers=manager)).json())["total"] == CALLS
    connects = await (await client.get("/api/v1/calls?outcome=connect", headers=manager)).json()
    assert [c["call_sid"] for c in connects["items"]] == [connected]
    refused = await (
        await client.get("/api/v1/calls?outcome=refuse&limit=500", headers=manager)
    ).json()
    assert refused["total"] == CALLS - 1
    assert {c["call_sid"] for c in refused["items"]} == set(sids) - {connected}
    assert {c["rule"] for c in refused["items"]} == {"call_windows.quota"}
    quota = await services(client).redis.hgetall(KEYS.quota(strategy["id"]))
    assert list(quota.values()) == ["1"]
    breaches = await (
        await client.get(f"/api/v1/strategies/{strategy['id']}/breaches", headers=manager)
    ).json()
    assert breaches["total"] == CALLS - 1
