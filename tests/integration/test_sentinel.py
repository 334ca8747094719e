"""CallGuard over Redis Sentinel (``redis-sentinel://`` URL): a master, its replica and a
Sentinel, all real. The master is killed outright; while the Sentinel promotes the replica
every call is still answered, the records of the calls answered meanwhile (fail-open,
spooled) reach the new master, and afterwards the service decides on the new master with
the register and the quota counts it had before."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.load import RESTRICTED, Answer, call, unknown_caller
from tests.processes import get_json
from tests.replicas import ONE_CALL_A_MONTH, create_restricted_person, replicas
from tests.topologies import client, redis_sentinel
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(180)

BLOCKED_PHONE = "+447700900456"


async def records_once_replayed(base: str, token: str, sids: list[str]) -> list[dict[str, object]]:
    """The records of ``sids`` once every one is in Redis. The service replays its spool
    in the background (at once when entries are spooled, then each second while Redis is
    away: callguard.services.background), in its own process, so there is no event to
    await from here: poll the API, bounded in time."""
    records: dict[str, dict[str, object]] = {}
    async with asyncio.timeout(30):
        while missing := [sid for sid in sids if sid not in records]:
            for sid in missing:
                status, record = await asyncio.to_thread(
                    get_json, f"{base}/api/v1/calls/{sid}", token
                )
                assert status in (200, 404), (status, record)
                if status == 200:
                    records[sid] = record
            if len(records) < len(sids):
                await asyncio.sleep(0.2)
    return [records[sid] for sid in sids]


async def test_calls_are_answered_through_a_failover_and_decided_on_the_new_master(
    tmp_path: Path, twilio: TwilioStandIn
) -> None:
    async with (
        redis_sentinel(tmp_path / "redis") as topology,
        replicas(tmp_path, twilio, topology.url, count=1) as service,
        aiohttp.ClientSession() as session,
    ):
        base = service.bases[0]
        await create_restricted_person(base, service.token, RESTRICTED, ONE_CALL_A_MONTH)
        first = await call(session, base, RESTRICTED)
        assert (first.outcome, first.degraded) == ("connect", False)
        # Replication is asynchronous: make sure what was acknowledged has reached the
        # replica before the master dies (docs/operations.md explains the trade-off).
        master = client(topology.master.port)
        try:
            assert await master.wait(1, 5000) == 1
        finally:
            await master.aclose()

        async with topology.failover_watch() as switched:
            topology.master.kill()
            during: list[Answer] = []
            while not switched.done():  # calls keep coming while the Sentinel decides
                during.append(await call(session, base, unknown_caller()))
                await asyncio.wait([switched], timeout=0.2)
            new_master = await switched
        assert new_master == topology.replica.port

        after = await asyncio.gather(*(call(session, base, RESTRICTED) for _ in range(5)))
        stranger = await call(session, base, unknown_caller())
        # The new master takes writes: a new strategy made now is enforced at once.
        await create_restricted_person(
            base, service.token, BLOCKED_PHONE, {"kind": "phone_blocked"}
        )
        blocked = await call(session, base, BLOCKED_PHONE)

        # The calls answered while the master was down are on the new master too.
        sids = [a.call_sid for a in during]
        replayed = await records_once_replayed(base, service.token, sids)
        status, listed = await asyncio.to_thread(
            get_json, f"{base}/api/v1/calls?limit=500", service.token
        )

    assert during, "no call was made while the master was down"
    assert all(a.status == 200 and a.outcome == "connect" for a in during)  # never dropped
    # Answered fail-open (the first for certain: the Sentinel takes over a second to judge
    # the master down), each of them recorded exactly once, and marked degraded. Only a
    # call in flight as the Sentinel switched can have been decided on the new master.
    assert during[0].degraded
    assert status == 200, listed
    items = listed["items"]
    assert isinstance(items, list) and listed["total"] == len(items), listed
    assert [sum(item["call_sid"] == sid for item in items) for sid in sids] == [1] * len(sids)
    assert [(r["call_sid"], r["degraded"]) for r in replayed] == [
        (a.call_sid, a.degraded) for a in during
    ]
    assert all(a.degraded for a in during[:-1]), during
    # After the failover: decided on the new master (not failed open), and the quota used
    # before the failover still counts.
    assert [(a.status, a.outcome, a.degraded) for a in after] == [(200, "refuse", False)] * 5
    assert (stranger.outcome, stranger.degraded) == ("connect", False)
    assert (blocked.outcome, blocked.degraded) == ("refuse", False)
