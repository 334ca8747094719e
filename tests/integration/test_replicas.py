"""Two ``callguard serve`` processes on different ports over one Redis behave as one
service: what one stores the other enforces, and a quota is exact across both."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from callguard.store.launcher import EmbeddedRedis
from tests.load import RESTRICTED, Answer, call
from tests.replicas import ONE_CALL_A_MONTH, create_restricted_person, replicas
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(120)


async def test_a_strategy_created_through_one_replica_is_enforced_by_the_other_exactly(
    tmp_path: Path, twilio: TwilioStandIn
) -> None:
    shared = EmbeddedRedis(tmp_path / "redis")
    url = shared.start()
    try:
        async with (
            replicas(tmp_path, twilio, url) as service,
            aiohttp.ClientSession() as session,
        ):
            await create_restricted_person(
                service.bases[0], service.token, RESTRICTED, ONE_CALL_A_MONTH
            )
            # 40 simultaneous calls from the person, alternating between the two replicas.
            answers: list[Answer] = await asyncio.gather(
                *(call(session, service.bases[i % 2], RESTRICTED) for i in range(40))
            )
    finally:
        shared.stop()
    assert [a.status for a in answers] == [200] * 40
    assert not any(a.degraded for a in answers)  # decided, not failed open
    assert sorted(a.outcome for a in answers) == ["connect"] + ["refuse"] * 39
    # Both replicas refused some: the strategy made through A is enforced by B.
    assert {a.outcome for a in answers[1::2]} >= {"refuse"}
    assert {a.outcome for a in answers[0::2]} >= {"refuse"}
