"""Headers (issue 14 item 11): the content security policy limits where forms post and
forbids <base>; HSTS is sent when the public URL is https; /readyz says 503 within 1 s
when Redis is stalled (its probe has its own budget)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from tests.conftest import make_app
from tests.fault_helpers import KillableRedis, app_client
from tests.helpers import Client, services

pytestmark = pytest.mark.timeout(30)

PATHS = ["/sign-in", "/healthz", "/api/openapi.json", "/api/v1/calls", "/readyz"]


def _directives(csp: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in csp.split(";") if part.strip()}


async def test_every_response_carries_the_content_security_policy_and_hsts(
    client: Client,
) -> None:
    for path in PATHS:
        response = await client.get(path, allow_redirects=False)
        csp = _directives(response.headers["Content-Security-Policy"])
        assert csp["form-action"] == "form-action 'self'", path
        assert csp["base-uri"] == "base-uri 'none'", path
        assert csp["default-src"] == "default-src 'self'", path
        assert csp["frame-ancestors"] == "frame-ancestors 'none'", path
        # The test settings' public URL is https, as in production.
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000", path


async def test_no_hsts_when_the_public_url_is_plain_http(
    settings: Settings, policy: Policy, clock: FixedClock
) -> None:
    plain = settings.model_copy(update={"public_url": "http://callguard.test.example"})
    async with TestClient(
        TestServer(await make_app(plain, policy, clock), host="127.0.0.1")
    ) as client:
        response = await client.get("/healthz")
        assert "Strict-Transport-Security" not in response.headers
        assert "form-action 'self'" in response.headers["Content-Security-Policy"]


async def test_readyz_answers_503_within_a_second_when_redis_is_stalled(
    killable: KillableRedis, settings: Settings, policy: Policy, clock: FixedClock, tmp_path: Path
) -> None:
    # The default Redis timeout (250 ms), so the connection's own timeout is 2 s.
    stalled = settings.model_copy(
        update={"redis_url": killable.url, "data_dir": tmp_path / "stalled"}
    )
    async with app_client(stalled, policy, clock) as client:
        assert (await client.get("/readyz")).status == 200
        await services(client).redis.client_pause(3000, all=True)
        started = time.perf_counter()
        response = await client.get("/readyz")
        elapsed = time.perf_counter() - started
        assert response.status == 503
        assert (await response.json())["status"] == "unavailable"
        assert elapsed < 1.0, elapsed
        await killable.kill()
        started = time.perf_counter()
        assert (await client.get("/readyz")).status == 503
        assert time.perf_counter() - started < 1.0
