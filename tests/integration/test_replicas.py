"""Two ``callguard serve`` processes on different ports over one Redis behave as one
service: what one stores the other enforces, and a quota is exact across both."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import date, timedelta
from pathlib import Path

import aiohttp
import pytest

from callguard.store.launcher import EmbeddedRedis
from tests.load import PUBLIC_URL, RESTRICTED, Answer, call
from tests.processes import free_port, post_json, run_cli, running, serve_env
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(120)


@asynccontextmanager
async def two_replicas(
    tmp_path: Path, twilio: TwilioStandIn
) -> AsyncIterator[tuple[list[str], dict[str, str]]]:
    shared = EmbeddedRedis(tmp_path / "redis")
    url = shared.start()
    try:
        async with AsyncExitStack() as stack:
            bases, env = [], {}
            for name in ("a", "b"):
                port = free_port()
                env = serve_env(tmp_path / name, port)
                env.update(
                    CALLGUARD_REDIS_URL=url,
                    CALLGUARD_PUBLIC_URL=PUBLIC_URL,
                    CALLGUARD_TWILIO_API_BASE=twilio.base_url,
                )
                await stack.enter_async_context(running(["serve"], env, tmp_path))
                bases.append(f"http://127.0.0.1:{port}")
            yield bases, env
    finally:
        shared.stop()


async def test_a_strategy_created_through_one_replica_is_enforced_by_the_other_exactly(
    tmp_path: Path, twilio: TwilioStandIn
) -> None:
    async with two_replicas(tmp_path, twilio) as (bases, env), aiohttp.ClientSession() as session:
        code, token, err = await run_cli(
            ["token", "create", "--user", "mo", "--role", "manager"], env, tmp_path
        )
        assert code == 0, err
        token = token.strip()
        status, person = await asyncio.to_thread(
            post_json, f"{bases[0]}/api/v1/people", {"name": "P", "phones": [RESTRICTED]}, token
        )
        assert status == 201
        status, _strategy = await asyncio.to_thread(
            post_json,
            f"{bases[0]}/api/v1/strategies",
            {
                "person_id": person["id"],
                "matter_ref": "CMP-1",
                "reason": "Abusive calls",
                "restrictions": [
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
                    }
                ],
                "review_due": (date.today() + timedelta(days=30)).isoformat(),
            },
            token,
        )
        assert status == 201
        # 40 simultaneous calls from the person, alternating between the two replicas.
        answers: list[Answer] = await asyncio.gather(
            *(call(session, bases[i % 2], RESTRICTED) for i in range(40))
        )
    assert [a.status for a in answers] == [200] * 40
    assert not any(a.degraded for a in answers)  # decided, not failed open
    assert sorted(a.outcome for a in answers) == ["connect"] + ["refuse"] * 39
    # Both replicas refused some: the strategy made through A is enforced by B.
    assert {a.outcome for a in answers[1::2]} >= {"refuse"}
    assert {a.outcome for a in answers[0::2]} >= {"refuse"}
