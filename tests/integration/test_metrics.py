"""``/metrics``: calls by outcome and rule, time to answer, degraded calls, spool depth."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from callguard.web.app import SCHEDULER
from tests.conftest import auth, make_app
from tests.helpers import Client, create_person, create_strategy, inbound_call

pytestmark = pytest.mark.timeout(30)


async def test_metrics_count_calls_by_outcome_and_rule_for_an_admin_only(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"], phones=["+447700900123"])
    await create_strategy(client, tokens["manager"], person["id"], [{"kind": "phone_blocked"}])
    for caller in ("+447700900123", "+447700900123", "+447911123456"):
        assert (await inbound_call(client, caller)).status == 200

    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers=auth(tokens["manager"]))).status == 403
    response = await client.get("/metrics", headers=auth(tokens["admin"]))
    assert response.status == 200
    text = await response.text()
    assert 'callguard_calls_total{outcome="refuse",rule="phone_blocked"} 2.0' in text
    assert 'callguard_calls_total{outcome="connect",rule="none"} 1.0' in text
    assert "callguard_inbound_answer_seconds_count 3.0" in text
    assert "callguard_degraded_calls_total 0.0" in text
    assert "callguard_spool_depth 0.0" in text
    assert "+447700900123" not in text


async def test_metrics_count_scheduler_runs_by_job_and_outcome(
    settings: Settings, policy: Policy, clock: FixedClock, tokens: dict[str, str]
) -> None:
    app = await make_app(settings.model_copy(update={"scheduler_enabled": True}), policy, clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        scheduler = client.app[SCHEDULER]
        first = await scheduler.fire("reviews")
        again = await scheduler.fire("reviews")  # same period: already done by the first
        assert first is not None and again is not None
        response = await client.get("/metrics", headers=auth(tokens["admin"]))
        text = await response.text()
    assert f'callguard_scheduler_runs_total{{job="reviews",result="{first.outcome}"}} 1.0' in text
    assert f'callguard_scheduler_runs_total{{job="reviews",result="{again.outcome}"}} 1.0' in text
    assert first.outcome != again.outcome
