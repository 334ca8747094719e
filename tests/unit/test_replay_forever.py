"""The spool's replay loop stops when cancelled, even if the cancellation is swallowed by
what it awaits (redis-py can swallow one that lands inside a command), so a stopping
service is never left waiting for it."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from callguard.services.background import replay_forever

pytestmark = pytest.mark.timeout(10)


async def test_a_cancellation_swallowed_inside_a_replay_still_stops_the_loop() -> None:
    pending = asyncio.Event()
    pending.set()
    replaying = asyncio.Event()

    async def replay() -> int:
        replaying.set()
        with contextlib.suppress(asyncio.CancelledError):  # swallowed, as a library may
            await asyncio.Event().wait()  # a command that never answers
        pending.clear()  # the spool is empty: the loop would wait for the next entry
        return 1

    loop = asyncio.create_task(replay_forever(pending, replay))
    await replaying.wait()
    loop.cancel()

    async with asyncio.timeout(5):
        await asyncio.gather(loop, return_exceptions=True)
    assert loop.done()


async def test_the_loop_replays_each_time_entries_are_spooled() -> None:
    pending = asyncio.Event()
    replays: list[int] = []
    replayed = asyncio.Queue[int]()

    async def replay() -> int:
        replays.append(1)
        pending.clear()
        await replayed.put(len(replays))
        return 1

    loop = asyncio.create_task(replay_forever(pending, replay))
    for expected in (1, 2):
        pending.set()
        async with asyncio.timeout(5):
            assert await replayed.get() == expected
    loop.cancel()
    async with asyncio.timeout(5):
        await asyncio.gather(loop, return_exceptions=True)
