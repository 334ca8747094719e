"""Several ``callguard serve`` processes over one Redis deployment, driven over HTTP as a
manager and as Twilio would: shared by the replica, Cluster and Sentinel tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from tests.load import PUBLIC_URL
from tests.processes import free_port, post_json, run_cli, running, serve_env
from tests.twilio_standin import TwilioStandIn

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass
class Replicas:
    bases: list[str]
    env: dict[str, str]
    token: str
    lines: list[list[str]]  # each process's output so far


@asynccontextmanager
async def replicas(
    tmp_path: Path,
    twilio: TwilioStandIn,
    redis_url: str,
    *,
    count: int = 2,
    prefix: str | None = None,
    extra_env: dict[str, str] | None = None,
    name: str = "office",
) -> AsyncIterator[Replicas]:
    """``count`` serve processes on their own ports over ``redis_url``, and a manager's
    API token made with ``callguard token create`` under the same settings."""
    async with AsyncExitStack() as stack:
        bases, env, outputs = [], {}, []
        for index in range(count):
            port = free_port()
            env = serve_env(tmp_path / f"{name}-{index}", port)
            env.update(
                CALLGUARD_REDIS_URL=redis_url,
                CALLGUARD_PUBLIC_URL=PUBLIC_URL,
                CALLGUARD_TWILIO_API_BASE=twilio.base_url,
                **({"CALLGUARD_REDIS_KEY_PREFIX": prefix} if prefix else {}),
                **(extra_env or {}),
            )
            _process, lines = await stack.enter_async_context(running(["serve"], env, tmp_path))
            bases.append(f"http://127.0.0.1:{port}")
            outputs.append(lines)
        code, out, err = await run_cli(
            ["token", "create", "--user", "mo", "--role", "manager"], env, tmp_path
        )
        assert code == 0, err
        yield Replicas(bases, env, out.strip(), outputs)


async def create_restricted_person(
    base: str,
    token: str,
    phone: str,
    restriction: dict[str, object],
    *,
    review_due: date | None = None,
) -> dict[str, object]:
    """A person with ``phone`` and one active strategy with ``restriction`` (its review
    due in 30 days unless said); the strategy."""
    status, person = await asyncio.to_thread(
        post_json, f"{base}/api/v1/people", {"name": "P", "phones": [phone]}, token
    )
    assert status == 201, person
    status, strategy = await asyncio.to_thread(
        post_json,
        f"{base}/api/v1/strategies",
        {
            "person_id": person["id"],
            "matter_ref": "CMP-1",
            "reason": "Abusive calls",
            "restrictions": [restriction],
            # Told in writing, so it is active and applies to calls (§3.6).
            "notified_on": date.today().isoformat(),
            "review_due": (review_due or date.today() + timedelta(days=30)).isoformat(),
        },
        token,
    )
    assert status == 201, strategy
    return strategy


ONE_CALL_A_MONTH: dict[str, object] = {
    "kind": "call_windows",
    "max_calls": 1,
    "per": "month",
    "windows": [{"days": EVERY_DAY, "start": "00:00", "end": "24:00"}],
}
