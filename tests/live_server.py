"""A CallGuard app on a real loopback port, in its own thread and event loop, for tests
that drive it from synchronous code (hypothesis, schemathesis)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aiohttp import web

from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from callguard.web.appkeys import SERVICES
from tests.conftest import make_app


@dataclass
class LiveServer:
    base_url: str
    loop: asyncio.AbstractEventLoop
    app: web.Application

    def settle(self) -> None:
        """Wait for what the app does after it has answered (its background work, the
        spool's replay into Redis), so that a look at the store sees all of it."""

        async def settled() -> None:
            services = self.app[SERVICES]
            await services.background.drain()
            await services.screening.replay_spool()

        asyncio.run_coroutine_threadsafe(settled(), self.loop).result(timeout=30)


@contextmanager
def live_server(settings: Settings, policy: Policy, clock: FixedClock) -> Iterator[LiveServer]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner_box: list[web.AppRunner] = []
    app_box: list[web.Application] = []
    port_box: list[int] = []

    async def start() -> None:
        app_box.append(await make_app(settings, policy, clock))
        runner = web.AppRunner(app_box[0], access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_box.append(runner.addresses[0][1])
        runner_box.append(runner)

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    if not ready.wait(timeout=30):
        raise RuntimeError("live server did not start")
    try:
        yield LiveServer(f"http://127.0.0.1:{port_box[0]}", loop, app_box[0])
    finally:
        asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
