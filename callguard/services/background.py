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

    def __len__(self) -> int:
        return len(self._tasks)

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
    """Replay the spool whenever it has entries; retry each second while Redis is away.

    Cancelled, it stops, even when the cancellation reached it inside a Redis command and
    the client swallowed it (redis-py can: redis/redis-py#2028, #2551), which would leave
    it waiting for the next entry and the service unable to stop."""
    task = asyncio.current_task()
    while task is None or not task.cancelling():
        await pending.wait()
        try:
            count = await replay()
            if count:
                log.info("replayed %d spooled call entries", count)
        except Exception as error:
            log.warning("spool replay deferred (%s)", type(error).__name__)
            await asyncio.sleep(REPLAY_RETRY_S)


# What a stopping service gives each step once its requests in flight have finished.
BACKGROUND_DRAIN_S = 5.0
SPOOL_REPLAY_S = 5.0
STOP_REPLAY_RETRY_S = 0.25


async def wind_down(
    background: Background,
    spool_depth: Callable[[], int],
    pending: asyncio.Event,
    replay: Callable[[], Awaitable[int]],
    *,
    drain_s: float = BACKGROUND_DRAIN_S,
    replay_s: float = SPOOL_REPLAY_S,
) -> None:
    """Finish the background work (up to ``drain_s``), then replay the spool, retrying
    while Redis is away (up to ``replay_s``). What is still spooled then stays on disk,
    fsync'd, for the next start; background work still running is cancelled by the close
    that follows."""
    if background:
        log.info("stopping: finishing %d background tasks (up to %.0f s)", len(background), drain_s)
    try:
        async with asyncio.timeout(drain_s):
            await background.drain()
    except TimeoutError:
        log.warning("stopping: background work unfinished after %.0f s is cancelled", drain_s)
    if not pending.is_set():
        return
    log.info("stopping: replaying %d spooled call entries", spool_depth())
    try:
        async with asyncio.timeout(replay_s):
            while pending.is_set():
                try:
                    await replay()
                except Exception as error:
                    log.warning("stopping: spool replay deferred (%s)", type(error).__name__)
                    await asyncio.sleep(STOP_REPLAY_RETRY_S)
    except TimeoutError:
        log.warning(
            "stopping: %d spooled call entries kept on disk for the next start", spool_depth()
        )
        return
    log.info("stopping: spool replayed")
