"""Shared fixtures: a real redis-server (the same launcher as production), flushed
between tests; the Twilio REST stand-in; a fixed clock; an app client with tokens."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from callguard.clock import FixedClock
from callguard.domain.roles import Role
from callguard.domain.users import User
from callguard.policy import Policy, load_policy
from callguard.settings import Settings
from callguard.store.connection import connect
from callguard.store.keys import DEFAULT_PREFIX, Keys
from callguard.store.launcher import EmbeddedRedis
from callguard.store.users import UserStore
from tests.topologies import SyncCluster
from tests.twilio_standin import TwilioStandIn

if TYPE_CHECKING:
    from tests.fault_helpers import KillableRedis

ROOT = Path(__file__).resolve().parent.parent
POLICY_PATH = ROOT / "policies" / "lancashire-opcc.toml"
PUBLIC_URL = "https://callguard.test.example"
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
DEFAULT_ROUTE = "+441772000100"
# Friday 27 November 2026, 10:00 in London (GMT).
DEFAULT_NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


# CALLGUARD_TEST_REDIS=cluster runs the in-process tests on a three-master Redis Cluster,
# every key under one office's hash tag (docs/operations.md); tests that start their own
# redis-server processes are unaffected. The default is one embedded redis-server.
ON_CLUSTER = os.environ.get("CALLGUARD_TEST_REDIS") == "cluster"
CLUSTER_PREFIX = "cg:{test}:"
# The office's key names in every test: the app's come from the same settings.
TEST_PREFIX = CLUSTER_PREFIX if ON_CLUSTER else DEFAULT_PREFIX
KEYS = Keys(TEST_PREFIX)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not ON_CLUSTER:
        return
    own = pytest.mark.skip(reason="starts its own Redis: not part of the Cluster run")
    for item in items:
        if "redis_url" not in getattr(item, "fixturenames", ()):
            item.add_marker(own)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis | SyncCluster]:
    server: EmbeddedRedis | SyncCluster
    if ON_CLUSTER:
        server = SyncCluster(tmp_path_factory.mktemp("cluster"))
    else:
        server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), appendonly=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: EmbeddedRedis | SyncCluster) -> str:
    if isinstance(redis_server, SyncCluster):
        redis_server.flush()
        return redis_server.url
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    return redis_server.url


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy(POLICY_PATH)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DEFAULT_NOW)


@pytest.fixture
async def twilio() -> AsyncIterator[TwilioStandIn]:
    standin = TwilioStandIn()
    await standin.start()
    yield standin
    await standin.close()


@pytest.fixture
def settings(redis_url: str, twilio: TwilioStandIn, tmp_path: Path) -> Settings:
    return Settings(
        redis_url=redis_url,
        data_dir=tmp_path / "data",
        public_url=PUBLIC_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base=twilio.base_url,
        default_route=DEFAULT_ROUTE,
        policy=POLICY_PATH,
        # Scheduled duties are driven directly in tests (tests/integration/test_scheduler_*).
        scheduler_enabled=False,
        redis_key_prefix=TEST_PREFIX,
    )


async def make_app(settings: Settings, policy: Policy, clock: FixedClock) -> web.Application:
    from callguard.bootstrap import build_app

    return await build_app(settings, policy=policy, clock=clock)


@pytest.fixture
async def client(
    settings: Settings, policy: Policy, clock: FixedClock
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = await make_app(settings, policy, clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


USERS = (
    User(
        name="sam.staff",
        role=Role.staff,
        display_name="Sam Staff",
        email="sam@example.org",
        line_manager="mo.manager",
    ),
    User(name="mo.manager", role=Role.manager, display_name="Mo Manager", email="mo@example.org"),
    User(
        name="ceo",
        role=Role.chief_executive,
        display_name="Chief Executive",
        email="ceo@example.org",
    ),
    User(name="ada.admin", role=Role.admin, display_name="Ada Admin"),
)


@pytest.fixture
async def tokens(redis_url: str) -> dict[str, str]:
    """A bearer token per role: ``tokens["manager"]`` and so on."""
    client = connect(redis_url)
    users = UserStore(client, KEYS)
    out: dict[str, str] = {}
    for user in USERS:
        await users.put_user(user)
        out[user.role.value] = await users.create_token(user.name, user.role)
    await client.aclose()
    return out


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def killable() -> AsyncIterator[KillableRedis]:
    """A Redis of the test's own, which it may kill and start again (tests.fault_helpers)."""
    from tests.fault_helpers import KillableRedis  # it builds on this module

    redis = KillableRedis()
    await asyncio.to_thread(redis.start)
    yield redis
    await asyncio.to_thread(redis.close)
