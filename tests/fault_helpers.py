"""Helpers for fault tests: a Redis of the test's own that can be killed and started again
on the same data, and the real app built against it."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from callguard.store.connection import connect
from callguard.store.launcher import MAX_SOCKET_PATH, EmbeddedRedis
from callguard.store.users import UserStore
from tests.conftest import KEYS, USERS, make_app

Client = TestClient[web.Request, web.Application]


class KillableRedis:
    """An EmbeddedRedis (AOF on) under a short private directory, so that its unix socket
    path, and so its URL, stays the same when it is started again after a SIGKILL.

    Like every embedded Redis it runs with ``appendfsync always`` (see the launcher), so
    a SIGKILL loses no acknowledged write.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cg-fault-"))
        self.server = EmbeddedRedis(self.root / "redis", appendonly=True)
        assert len(str(self.root / "redis" / "redis.sock")) <= MAX_SOCKET_PATH

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> str:
        return self.server.start()

    async def kill(self) -> None:
        """SIGKILL, as a crash would, without blocking the event loop while it dies."""
        await asyncio.to_thread(self._kill)

    def _kill(self) -> None:
        self.server.kill()
        # The dead process's log pipe: close it once its reader has seen the end.
        if self.server._drain is not None:
            self.server._drain.join(timeout=5)
        process = self.server.process
        if process is not None and process.stdout is not None:
            process.stdout.close()

    async def restart(self) -> str:
        """Start redis-server again on the same data directory (it reloads the AOF)."""
        return await asyncio.to_thread(self.start)

    def close(self) -> None:
        self.server.stop()
        shutil.rmtree(self.root, ignore_errors=True)


async def create_tokens(redis_url: str) -> dict[str, str]:
    """A bearer token per role in this Redis (as the ``tokens`` fixture does)."""
    client = connect(redis_url)
    users = UserStore(client, KEYS)
    out: dict[str, str] = {}
    for user in USERS:
        await users.put_user(user)
        out[user.role.value] = await users.create_token(user.name, user.role)
    await client.aclose()
    return out


@asynccontextmanager
async def app_client(
    settings: Settings, policy: Policy, clock: FixedClock
) -> AsyncIterator[Client]:
    """The real app (API and Twilio edge) for ``settings``, served on a local port."""
    app = await make_app(settings, policy, clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client
