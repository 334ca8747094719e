"""The inbound path under load and faults, against a real ``callguard serve`` process with
its embedded redis-server: a soak, Redis paused, the service killed mid-load. Bounded in
count and time; loopback only."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from tests.load import PUBLIC_URL, RESTRICTED, Answer, call, unknown_caller
from tests.processes import (
    free_port,
    process_exit,
    redis_pids,
    rss_mib,
    run_cli,
    running,
    serve_env,
)
from tests.replicas import create_restricted_person
from tests.twilio_standin import TwilioStandIn

pytestmark = [pytest.mark.timeout(240), pytest.mark.slow]

# The production default of CALLGUARD_REDIS_TIMEOUT_MS, for the test of the bound itself.
PRODUCTION_TIMEOUT_MS = 250


@dataclass
class Service:
    base: str
    env: dict[str, str]
    data_dir: Path
    cwd: Path
    pid: int


@asynccontextmanager
async def service(
    tmp_path: Path,
    twilio: TwilioStandIn,
    data_dir: Path | None = None,
    port: int | None = None,
    redis_timeout_ms: int | None = None,
) -> AsyncIterator[Service]:
    data_dir = data_dir or tmp_path / "data"
    port = port or free_port()
    env = serve_env(data_dir, port)
    env.update(CALLGUARD_PUBLIC_URL=PUBLIC_URL, CALLGUARD_TWILIO_API_BASE=twilio.base_url)
    if redis_timeout_ms is not None:
        env["CALLGUARD_REDIS_TIMEOUT_MS"] = str(redis_timeout_ms)
    async with running(["serve"], env, tmp_path) as (process, _lines):
        yield Service(f"http://127.0.0.1:{port}", env, data_dir, tmp_path, process.pid)


async def manager_token(svc: Service) -> str:
    code, out, err = await run_cli(
        ["token", "create", "--user", "mo", "--role", "manager"], svc.env, svc.cwd
    )
    assert code == 0, err
    return out.strip()


async def restrict(svc: Service, token: str, restriction: dict[str, object]) -> str:
    strategy = await create_restricted_person(svc.base, token, RESTRICTED, restriction)
    return str(strategy["id"])


async def record_of(
    session: aiohttp.ClientSession, svc: Service, token: str, call_sid: str
) -> dict[str, object] | None:
    async with session.get(
        f"{svc.base}/api/v1/calls/{call_sid}", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        if response.status == 404:
            return None
        assert response.status == 200
        data: dict[str, object] = await response.json()
        return data


async def wait_until_spool_empty(svc: Service) -> None:
    """The replay runs in the service's process, so its end cannot be awaited from here:
    watch the spool files go, bounded in time."""
    spool = svc.data_dir / "spool"
    async with asyncio.timeout(60):
        while spool.exists() and any(spool.glob("calls*.jsonl")):  # noqa: ASYNC110
            await asyncio.sleep(0.2)


async def test_a_30_second_soak_has_no_errors_and_no_memory_growth(
    tmp_path: Path, twilio: TwilioStandIn
) -> None:
    rate_per_s, duration_s, warmup_s = 40, 30, 5
    async with service(tmp_path, twilio) as svc, aiohttp.ClientSession() as session:
        token = await manager_token(svc)
        await restrict(svc, token, {"kind": "phone_blocked"})
        tasks: list[asyncio.Task[Answer]] = []
        rss_after_warmup = 0.0
        started = time.perf_counter()
        for index in range(rate_per_s * duration_s):
            caller = RESTRICTED if index % 10 == 0 else unknown_caller()
            tasks.append(asyncio.create_task(call(session, svc.base, caller)))
            if index == rate_per_s * warmup_s:
                rss_after_warmup = rss_mib(svc.pid)
            # Steady pacing of the load itself (not waiting on anything).
            await asyncio.sleep(max(0.0, started + (index + 1) / rate_per_s - time.perf_counter()))
        answers = await asyncio.gather(*tasks)
        rss_at_end = rss_mib(svc.pid)
    p99 = sorted(a.elapsed_s for a in answers)[int(len(answers) * 0.99)]
    print(
        f"soak: {len(answers)} calls, p99 {p99 * 1000:.1f} ms, "
        f"RSS {rss_after_warmup:.1f} -> {rss_at_end:.1f} MiB"
    )
    assert {a.status for a in answers} == {200}
    assert not any(a.degraded for a in answers)
    assert sum(a.outcome == "refuse" for a in answers) == rate_per_s * duration_s // 10
    assert rss_at_end - rss_after_warmup < max(8.0, 0.1 * rss_after_warmup)


async def test_redis_paused_every_answer_within_the_bound_then_every_record_once(
    tmp_path: Path, twilio: TwilioStandIn
) -> None:
    async with (
        service(tmp_path, twilio, redis_timeout_ms=PRODUCTION_TIMEOUT_MS) as svc,
        aiohttp.ClientSession() as session,
    ):
        token = await manager_token(svc)
        before = [await call(session, svc.base, unknown_caller()) for _ in range(5)]
        store = aioredis.from_url(f"unix://{svc.data_dir / 'redis' / 'redis.sock'}")
        await store.execute_command("CLIENT", "PAUSE", "3000", "ALL")  # type: ignore[no-untyped-call]
        paused = await asyncio.gather(
            *(call(session, svc.base, unknown_caller()) for _ in range(20))
        )
        await store.aclose()
        assert all(a.status == 200 and a.outcome == "connect" for a in paused)
        assert all(a.degraded for a in paused)
        slowest = max(a.elapsed_s for a in paused)
        print(f"Redis paused: slowest answer {slowest * 1000:.0f} ms")
        assert slowest < 1.0
        await wait_until_spool_empty(svc)
        for answer in before + paused:
            record = await record_of(session, svc, token, answer.call_sid)
            assert record is not None, answer.call_sid
            assert record["degraded"] is answer.degraded
        async with session.get(
            f"{svc.base}/api/v1/calls?limit=500", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            listed = await response.json()
        assert listed["total"] == 25


async def test_the_service_killed_mid_load_loses_no_acknowledged_record(
    tmp_path: Path, twilio: TwilioStandIn
) -> None:
    data_dir, port = tmp_path / "data", free_port()
    acknowledged: list[Answer] = []
    async with (
        service(tmp_path, twilio, data_dir, port) as svc,
        aiohttp.ClientSession() as session,
    ):
        token = await manager_token(svc)
        await restrict(
            svc,
            token,
            {
                "kind": "call_windows",
                "max_calls": 1,
                "per": "month",
                "windows": [
                    {
                        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                        "start": "00:00",
                        "end": "24:00",
                    }
                ],
            },
        )

        async def fire(caller: str) -> None:
            try:
                answer = await call(session, svc.base, caller)
            except aiohttp.ClientError:
                return  # not acknowledged: the service died first
            if answer.status == 200:
                acknowledged.append(answer)

        callers = [RESTRICTED if i % 4 == 0 else unknown_caller() for i in range(120)]
        burst = [asyncio.create_task(fire(c)) for c in callers[:60]]
        await asyncio.gather(*burst[:20])
        redis_pid = redis_pids(data_dir)[0]
        os.kill(svc.pid, signal.SIGKILL)
        await asyncio.gather(*burst)
        await process_exit(svc.pid)
        await process_exit(redis_pid)  # it follows its parent and flushes its AOF
    assert len(acknowledged) >= 20
    async with (
        service(tmp_path, twilio, data_dir, port) as svc,
        aiohttp.ClientSession() as session,
    ):
        token = await manager_token(svc)
        after = await asyncio.gather(*(call(session, svc.base, c) for c in callers[60:]))
        await wait_until_spool_empty(svc)
        records = [
            await record_of(session, svc, token, a.call_sid) for a in [*acknowledged, *after]
        ]
    assert all(r is not None for r in records), "an acknowledged call lost its record"
    # Calls that failed open are connected without a count, by design (CONTRACT §3); the
    # quota is exact for every call that was decided.
    restricted_connects = [
        r
        for r in records
        if r and r["from"] == RESTRICTED and r["outcome"] == "connect" and not r["degraded"]
    ]
    assert len(restricted_connects) == 1, "the quota of one call was not exact across restarts"
