"""Background work the service owns: fire-and-forget tasks and the spool replay loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger("callguard.background")

REPLAY_RETRY_S = 1.0


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``work`` without waiting for it; keep a reference so it is not collected."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait for what is in flight (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def replay_forever(pending: asyncio.Event, replay: Callable[[], Awaitable[int]]) -> None:
    """Replay the spool whenever it has entries; retry each second while Redis is away."""
    while True:
        await pending.wait()
        try:
            count = await replay()
            if count:
                log.info("replayed %d spooled call entries", count)
        except Exception as error:
            log.warning("spool replay deferred (%s)", type(error).__name__)
            await asyncio.sleep(REPLAY_RETRY_S)
