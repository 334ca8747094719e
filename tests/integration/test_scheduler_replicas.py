"""Several replicas against one Redis: each job runs once per trigger period, a replica that
falls over midway (or is killed outright, holding its lease) is taken over by another, and
no reminder is ever sent twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import date

import pytest
from redis.asyncio import Redis

from callguard.policy import Policy
from callguard.services.duties import LeaseLost
from callguard.store.connection import connect
from callguard.store.locks import Leases
from tests.conftest import KEYS, ROOT
from tests.integration.scheduler_support import (
    Crash,
    Replica,
    all_notices,
    at,
    person_with_strategy,
    put_users,
    register_of,
)

pytestmark = pytest.mark.timeout(30)

REMINDER_DAY = at(2026, 12, 6, 9)  # 14 days before 20 December


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    await put_users(client)
    yield client
    await client.aclose()


async def four_strategies_due_a_reminder(redis: Redis, policy: Policy) -> None:
    register = register_of(redis, policy)
    for n in range(4):
        await person_with_strategy(
            register,
            at(2026, 11, 27),
            review_due=date(2026, 12, 20),
            phone=f"07700 90020{n}",
            matter_ref=f"CMP-2026-02{n}",
        )


async def reminder_events(redis: Redis) -> list[str]:
    found = [k async for k in redis.scan_iter(match=KEYS.once("review-reminder:*"))]
    return sorted(found)


async def test_two_replicas_firing_together_run_the_job_once(
    redis: Redis, redis_url: str, policy: Policy
) -> None:
    await four_strategies_due_a_reminder(redis, policy)
    a, b = Replica(redis_url, policy), Replica(redis_url, policy)
    try:
        runs = await asyncio.gather(
            a.duties.run("reviews", REMINDER_DAY), b.duties.run("reviews", REMINDER_DAY)
        )
        late = await b.duties.run("reviews", REMINDER_DAY.replace(minute=40))
    finally:
        await a.close()
        await b.close()

    outcomes = sorted(r.outcome for r in runs)
    assert outcomes in (["busy", "performed"], ["already_done", "performed"])
    (performed,) = [r for r in runs if r.outcome == "performed"]
    assert performed.summary is not None and performed.summary["reminders"] == 4
    # Later in the same trigger period: already done, whichever replica fires.
    assert late.outcome == "already_done"
    assert len(await all_notices(redis)) == 4
    assert await Leases(redis, KEYS).holder("reviews") is None


async def test_every_job_runs_once_per_trigger_across_replicas(
    redis: Redis, redis_url: str, policy: Policy
) -> None:
    replicas = [Replica(redis_url, policy) for _ in range(3)]
    try:
        for job in replicas[0].duties.jobs:
            runs = await asyncio.gather(*[r.duties.run(job, REMINDER_DAY) for r in replicas])
            assert sorted(r.outcome for r in runs).count("performed") == 1, (job, runs)
            assert {r.period for r in runs} == {runs[0].period}
    finally:
        for replica in replicas:
            await replica.close()


async def test_the_next_trigger_period_runs_again(
    redis: Redis, redis_url: str, policy: Policy
) -> None:
    replica = Replica(redis_url, policy)
    try:
        first = await replica.duties.run("file_notes", at(2026, 12, 6, 9, 0))
        same = await replica.duties.run("file_notes", at(2026, 12, 6, 9, 14))
        next_slot = await replica.duties.run("file_notes", at(2026, 12, 6, 9, 15))
    finally:
        await replica.close()

    assert (first.outcome, same.outcome, next_slot.outcome) == (
        "performed",
        "already_done",
        "performed",
    )
    assert (first.period, next_slot.period) == ("2026-12-06T09:00Z", "2026-12-06T09:15Z")


async def test_a_replica_that_falls_over_midway_is_completed_by_another_without_repeats(
    redis: Redis, redis_url: str, policy: Policy
) -> None:
    await four_strategies_due_a_reminder(redis, policy)
    falls = Replica(redis_url, policy, fail_after=2)
    other = Replica(redis_url, policy)
    try:
        with pytest.raises(Crash):
            await falls.duties.run("reviews", REMINDER_DAY)
        assert len(await all_notices(redis)) == 2
        # It let go of its lease as it fell, and its run is not marked done.
        assert await Leases(redis, KEYS).holder("reviews") is None

        taken_over = await other.duties.run("reviews", REMINDER_DAY.replace(minute=30))
    finally:
        await falls.close()
        await other.close()

    assert taken_over.outcome == "performed"
    assert taken_over.summary is not None and taken_over.summary["reminders"] == 2
    sent = await all_notices(redis)
    assert len(sent) == 4
    assert len({n.strategy_id for n in sent}) == 4
    assert len(await reminder_events(redis)) == 4


async def test_a_replica_cancelled_midway_releases_its_lease_and_is_completed(
    redis: Redis, redis_url: str, policy: Policy
) -> None:
    await four_strategies_due_a_reminder(redis, policy)
    stuck = Replica(redis_url, policy, fail_after=2, hang=True)
    other = Replica(redis_url, policy)
    try:
        task = asyncio.get_running_loop().create_task(stuck.duties.run("reviews", REMINDER_DAY))
        await stuck.reached()
        assert (await other.duties.run("reviews", REMINDER_DAY)).outcome == "busy"
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        taken_over = await other.duties.run("reviews", REMINDER_DAY)
    finally:
        await stuck.close()
        await other.close()

    assert taken_over.outcome == "performed"
    assert len(await all_notices(redis)) == 4


async def test_a_replica_killed_holding_its_lease_is_taken_over_when_the_lease_expires(
    redis: Redis, redis_url: str, policy: Policy
) -> None:
    """A real process, killed with SIGKILL after sending two of four reminders: nothing of
    it runs again (no release, no clean-up); its lease just stops being extended."""
    await four_strategies_due_a_reminder(redis, policy)
    lease_ms = 1500  # long enough that a busy test machine does not let it lapse
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.scheduler_support",
        "--redis-url",
        redis_url,
        "--job",
        "reviews",
        "--now",
        REMINDER_DAY.isoformat(),
        "--after",
        "2",
        "--lease-ms",
        str(lease_ms),
        "--key-prefix",
        KEYS.prefix,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    other = Replica(redis_url, policy)
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 20)
        assert line.strip() == b"halfway"
        # Alive and hung: it keeps extending its lease well past one lease's length.
        await asyncio.sleep(lease_ms * 1.5 / 1000)
        assert (await other.duties.run("reviews", REMINDER_DAY)).outcome == "busy"

        child.send_signal(signal.SIGKILL)
        await child.wait()
        assert await Leases(redis, KEYS).holder("reviews") is not None  # nobody released it
        outcome = "busy"
        for _ in range(200):
            run = await other.duties.run("reviews", REMINDER_DAY)
            outcome = run.outcome
            if outcome != "busy":
                break
            await asyncio.sleep(0.05)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        await other.close()

    assert outcome == "performed"
    assert run.summary is not None and run.summary["reminders"] == 2
    sent = await all_notices(redis)
    assert len(sent) == 4
    assert len({n.strategy_id for n in sent}) == 4


async def test_a_replica_that_loses_its_lease_stops(
    redis: Redis, redis_url: str, policy: Policy
) -> None:
    """A replica that stalled past its lease (here: the lease is taken from under it) stops
    rather than carry on beside the replica that now holds it."""
    await four_strategies_due_a_reminder(redis, policy)
    stalls = Replica(redis_url, policy, lease_ms=300, fail_after=1, hang=True)
    try:
        task = asyncio.get_running_loop().create_task(stalls.duties.run("reviews", REMINDER_DAY))
        await stalls.reached()
        await redis.set(KEYS.job_lock("reviews"), "another-replica", px=60_000)
        with pytest.raises(LeaseLost):
            await asyncio.wait_for(task, timeout=5)
        # It did not release the other replica's lease.
        assert await Leases(redis, KEYS).holder("reviews") == "another-replica"
    finally:
        await stalls.close()


async def test_leases_are_released_and_extended_only_by_their_holder(redis: Redis) -> None:
    leases = Leases(redis, KEYS)
    mine = await leases.acquire("retention", 10_000)
    assert mine is not None
    assert await leases.acquire("retention", 10_000) is None

    await redis.set(KEYS.job_lock("retention"), "someone-else", px=10_000)

    assert not await leases.extend(mine)
    assert not await leases.release(mine)
    assert await leases.holder("retention") == "someone-else"
    await redis.delete(KEYS.job_lock("retention"))
    again = await leases.acquire("retention", 200)
    assert again is not None
    assert await leases.extend(again)
    assert 0 < await redis.pttl(KEYS.job_lock("retention")) <= 200
    assert await leases.release(again)
    assert await leases.holder("retention") is None
