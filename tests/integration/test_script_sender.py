"""The inbound scripts' sender (``store.script_sender``) keeps what redis-py's ``Script``
gives: each script gets its own reply, even after one was cut short by a timeout; a
script the server forgot is loaded again; a connection the server closed is replaced.

Each test starts its own redis-server (the sender's own path is for a single Redis or a
Sentinel master; a Cluster client goes through ``Script``, tested by the Cluster pass)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from callguard.store.connection import connect
from callguard.store.launcher import EmbeddedRedis
from callguard.store.script_sender import ScriptSender

pytestmark = pytest.mark.timeout(30)

ECHO = "return {ARGV[1], KEYS[1]}"
# Busy for ARGV[2] milliseconds of the server's clock, then the echo.
SLOW_ECHO = """
local t = redis.call('TIME')
local until_us = (t[1] * 1000000 + t[2]) + tonumber(ARGV[2]) * 1000
repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] >= until_us
return {ARGV[1], KEYS[1]}
"""


@pytest.fixture
async def redis(tmp_path: Path) -> AsyncIterator[Redis]:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False)
    url = server.start()
    # As the inbound path's client is made: no per-command timeout, its budget bounds it.
    client = connect(url, per_command_timeout=False)
    try:
        yield client
    finally:
        await client.aclose()
        server.stop()


def counted(sender: ScriptSender) -> list[str]:
    """The name of each command the sender itself sends (one round trip each)."""
    names: list[str] = []
    original = sender.round_trip

    async def round_trip(connection: Any, command: list[bytes]) -> Any:
        names.append(b"".join(command).split(b"\r\n")[2].decode())
        return await original(connection, command)

    sender.round_trip = round_trip  # type: ignore[method-assign]
    return names


async def test_each_script_gets_its_own_reply_many_at_once(redis: Redis) -> None:
    sender = ScriptSender(redis)
    echo = redis.register_script(ECHO)

    replies = await asyncio.gather(
        *(sender.run(echo, [f"key:{i}"], [f"call {i}"]) for i in range(40))
    )

    assert replies == [[f"call {i}", f"key:{i}"] for i in range(40)]
    # One connection a script in flight at most, kept for the next ones.
    assert 1 <= len(sender._idle) <= 40
    again = await asyncio.gather(*(sender.run(echo, ["k"], [str(i)]) for i in range(40)))
    assert again == [[str(i), "k"] for i in range(40)]
    assert len(sender._idle) <= 40


async def test_a_reply_cut_short_by_the_budget_is_never_read_as_the_next_scripts(
    redis: Redis,
) -> None:
    sender = ScriptSender(redis)
    slow = redis.register_script(SLOW_ECHO)
    echo = redis.register_script(ECHO)
    await sender.run(echo, ["k"], ["warm"])  # the one connection, kept
    assert len(sender._idle) == 1

    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await sender.run(slow, ["k"], ["late", 300])

    # The same connection is used next (the only one kept): its late reply must not be
    # taken for this script's.
    assert len(sender._idle) == 1
    assert await sender.run(echo, ["k"], ["on time"]) == ["on time", "k"]
    assert await sender.run(echo, ["k"], ["and after"]) == ["and after", "k"]


async def test_a_script_the_server_forgot_is_loaded_and_sent_again(redis: Redis) -> None:
    sender = ScriptSender(redis)
    echo = redis.register_script(ECHO)
    sent = counted(sender)
    assert await sender.run(echo, ["k"], ["first"]) == ["first", "k"]
    await redis.script_flush()

    assert await sender.run(echo, ["k"], ["after the flush"]) == ["after the flush", "k"]

    # The first EVALSHA loaded it (through the client); after the flush, NOSCRIPT, the
    # load, and the script sent again.
    assert sent == ["EVALSHA", "EVALSHA", "EVALSHA", "EVALSHA"]
    assert await redis.script_exists(echo.sha) == [True]


async def test_a_connection_the_server_closed_is_replaced_once(redis: Redis) -> None:
    sender = ScriptSender(redis)
    echo = redis.register_script(ECHO)
    await asyncio.gather(*(sender.run(echo, ["k"], [str(i)]) for i in range(3)))
    kept = len(sender._idle)
    sent = counted(sender)

    # Every connection but the one sending the kill closed by the server.
    killed = await redis.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")  # type: ignore[no-untyped-call]
    assert killed >= kept

    # As many at once as there are kept connections, so each is used.
    replies = await asyncio.gather(*(sender.run(echo, ["k"], [f"after {i}"]) for i in range(kept)))
    assert replies == [[f"after {i}", "k"] for i in range(kept)]
    # On each kept connection: the script sent, the connection found closed, sent again.
    assert sent == ["EVALSHA", "EVALSHA"] * kept
    assert len(sender._idle) == kept


async def test_an_error_in_a_script_is_raised_and_the_connection_stays_usable(
    redis: Redis,
) -> None:
    sender = ScriptSender(redis)
    failing = redis.register_script("return redis.error_reply('refused here')")
    echo = redis.register_script(ECHO)

    with pytest.raises(Exception, match="refused here"):
        await sender.run(failing, ["k"], [])

    assert len(sender._idle) == 1
    assert await sender.run(echo, ["k"], ["next"]) == ["next", "k"]
