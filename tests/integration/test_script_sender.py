"""The inbound scripts' sender (``store.script_sender``) keeps what redis-py's ``Script``
gives: each script gets its own reply, even beside one whose caller stopped waiting or one
that failed; a script the server forgot is loaded again; a connection the server closed is
replaced. And it sends the scripts asked for at once in one round trip.

Each test starts its own redis-server (the sender's own path is for a single Redis or a
Sentinel master; a Cluster client goes through ``Script``, tested by the Cluster pass)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError, DataError, ResponseError

from callguard.store.connection import connect
from callguard.store.launcher import EmbeddedRedis
from callguard.store.script_sender import KEPT_IDLE, Batch, ScriptSender

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


async def loaded_sender(redis: Redis) -> tuple[ScriptSender, AsyncScript]:
    """A sender, and the echo script it has sent once (so loaded into the server)."""
    sender = ScriptSender(redis)
    echo = redis.register_script(ECHO)
    await sender.run(echo, ["k"], ["loaded"])
    return sender, echo


def counted(sender: ScriptSender, sending: asyncio.Event | None = None) -> list[list[str]]:
    """Each round trip the sender makes: the name of each command in it (and ``sending``
    set as one starts)."""
    trips: list[list[str]] = []
    original = sender.round_trip

    async def round_trip(connection: Any, batch: Batch) -> None:
        trips.append([str(command[0]) for command in batch.commands])
        if sending is not None:
            sending.set()
        await original(connection, batch)

    sender.round_trip = round_trip  # type: ignore[method-assign]
    return trips


async def test_scripts_asked_for_at_once_go_in_one_round_trip_each_with_its_own_reply(
    redis: Redis,
) -> None:
    sender, echo = await loaded_sender(redis)
    trips = counted(sender)

    replies = await asyncio.gather(
        *(sender.run(echo, [f"key:{i}"], [f"call {i}"]) for i in range(40))
    )

    assert replies == [[f"call {i}", f"key:{i}"] for i in range(40)]
    assert trips == [["EVALSHA"] * 40]
    assert len(sender._idle) == 1
    # One after another, each goes alone.
    assert await sender.run(echo, ["k"], ["a"]) == ["a", "k"]
    assert await sender.run(echo, ["k"], ["b"]) == ["b", "k"]
    assert trips[1:] == [["EVALSHA"], ["EVALSHA"]]


async def test_scripts_asked_for_while_a_batch_is_out_go_on_another_connection(
    redis: Redis,
) -> None:
    sender = ScriptSender(redis)
    slow = redis.register_script(SLOW_ECHO)
    echo = redis.register_script(ECHO)
    await asyncio.gather(sender.run(slow, ["k"], ["warm", 0]), sender.run(echo, ["k"], ["warm"]))
    slow_sent = asyncio.Event()
    trips = counted(sender, slow_sent)

    out = asyncio.ensure_future(sender.run(slow, ["k"], ["slow", 200]))
    await slow_sent.wait()
    quick = await sender.run(echo, ["k"], ["quick"])

    # Not held back until the first batch's reply: sent at once on a second connection
    # (Redis runs it after the slow one, as it would any command).
    assert quick == ["quick", "k"]
    assert await out == ["slow", "k"]
    assert trips == [["EVALSHA"], ["EVALSHA"]]
    assert len(sender._idle) == 2


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
    # Nobody waits for the batch's reply: it is abandoned and its connection closed.
    await sender.settled()

    # The same connection is used next (the only one kept): its late reply must not be
    # taken for this script's.
    assert len(sender._idle) == 1
    assert not sender._idle[0].is_connected
    assert await sender.run(echo, ["k"], ["on time"]) == ["on time", "k"]
    assert await sender.run(echo, ["k"], ["and after"]) == ["and after", "k"]


async def test_a_caller_who_stops_waiting_leaves_the_others_in_its_batch_their_replies(
    redis: Redis,
) -> None:
    sender = ScriptSender(redis)
    slow = redis.register_script(SLOW_ECHO)
    await sender.run(slow, ["k"], ["warm", 0])
    trips = counted(sender)

    async def impatient() -> Any:
        async with asyncio.timeout(0.05):
            return await sender.run(slow, ["k"], ["impatient", 150])

    results = await asyncio.gather(
        sender.run(slow, ["k"], ["first", 0]),
        impatient(),
        sender.run(slow, ["k"], ["last", 0]),
        return_exceptions=True,
    )

    assert results[0] == ["first", "k"]
    assert isinstance(results[1], TimeoutError)
    assert results[2] == ["last", "k"]
    assert trips == [["EVALSHA"] * 3]
    # The connection stayed in step: kept, connected, and the next reply is the next's.
    assert len(sender._idle) == 1 and sender._idle[0].is_connected
    assert await sender.run(slow, ["k"], ["next", 0]) == ["next", "k"]


async def test_a_script_the_server_forgot_is_loaded_and_sent_again(redis: Redis) -> None:
    sender = ScriptSender(redis)
    echo = redis.register_script(ECHO)
    trips = counted(sender)
    assert await sender.run(echo, ["k"], ["first"]) == ["first", "k"]
    await redis.script_flush()

    assert await sender.run(echo, ["k"], ["after the flush"]) == ["after the flush", "k"]

    # The first EVALSHA loaded it (through the client); after the flush, NOSCRIPT, the
    # load, and the script sent again.
    assert trips == [["EVALSHA"]] * 4
    assert await redis.script_exists(echo.sha) == [True]


async def test_a_burst_that_finds_the_script_forgotten_loads_it_once(redis: Redis) -> None:
    # After a restart under load, every call in flight meets NOSCRIPT at once. Each loading
    # the script on a connection of its own took more than the client's pool holds (100),
    # and those calls failed.
    sender, echo = await loaded_sender(redis)
    await redis.script_flush()
    await redis.config_resetstat()
    burst = 3 * redis.connection_pool.max_connections

    replies = await asyncio.gather(
        *(sender.run(echo, [f"key:{i}"], [f"call {i}"]) for i in range(burst))
    )

    assert replies == [[f"call {i}", f"key:{i}"] for i in range(burst)]
    # One load for all who met NOSCRIPT together: two at most, when their error replies
    # came in two reads and the first load had ended before the second read (one each: 300).
    loads = (await redis.info("commandstats")).get("cmdstat_script|load", {})
    assert 1 <= loads.get("calls", 0) <= 2
    assert sender._loading == {}


async def test_a_caller_who_stops_waiting_leaves_the_load_to_the_others(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender, echo = await loaded_sender(redis)
    await redis.script_flush()
    loads: list[str] = []
    started, release = asyncio.Event(), asyncio.Event()
    original = redis.script_load

    async def held_load(script: str) -> Any:
        loads.append(script)
        started.set()
        await release.wait()
        return await original(script)

    monkeypatch.setattr(redis, "script_load", held_load)
    impatient = asyncio.ensure_future(sender.run(echo, ["k"], ["impatient"]))
    patient = asyncio.ensure_future(sender.run(echo, ["k"], ["patient"]))
    await started.wait()  # both met NOSCRIPT; the load is under way
    impatient.cancel()
    release.set()

    assert await patient == ["patient", "k"]
    assert impatient.cancelled()
    assert len(loads) == 1
    assert await redis.script_exists(echo.sha) == [True]


async def test_a_connection_the_server_closed_is_replaced_once(redis: Redis) -> None:
    sender = ScriptSender(redis)
    echo = redis.register_script(ECHO)
    await sender.run(echo, ["k"], ["warm"])
    trips = counted(sender)

    # Every connection but the one sending the kill closed by the server.
    killed = await redis.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")  # type: ignore[no-untyped-call]
    assert killed >= 1

    replies = await asyncio.gather(*(sender.run(echo, ["k"], [f"after {i}"]) for i in range(3)))
    assert replies == [[f"after {i}", "k"] for i in range(3)]
    # The batch sent, the connection found closed, each script sent again.
    assert trips == [["EVALSHA"] * 3, ["EVALSHA"] * 3]
    assert len(sender._idle) == 1


async def test_a_connection_that_cannot_be_made_fails_each_script_after_one_retry(
    tmp_path: Path,
) -> None:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False)
    url = server.start()
    client = connect(url, per_command_timeout=False)
    try:
        sender = ScriptSender(client)
        echo = client.register_script(ECHO)
        assert await sender.run(echo, ["k"], ["up"]) == ["up", "k"]
        server.stop()

        results = await asyncio.gather(
            *(sender.run(echo, ["k"], [str(i)]) for i in range(3)), return_exceptions=True
        )

        assert [type(result) for result in results] == [ConnectionError] * 3
    finally:
        await client.aclose()


async def test_an_error_in_a_script_is_raised_to_its_caller_alone(redis: Redis) -> None:
    sender = ScriptSender(redis)
    failing = redis.register_script("return redis.error_reply('refused here')")
    echo = redis.register_script(ECHO)
    await asyncio.gather(sender.run(failing, ["k"], []), return_exceptions=True)
    await sender.run(echo, ["k"], ["loaded"])

    results = await asyncio.gather(
        sender.run(echo, ["k"], ["before"]),
        sender.run(failing, ["k"], []),
        sender.run(echo, ["k"], ["after"]),
        return_exceptions=True,
    )

    assert results[0] == ["before", "k"] and results[2] == ["after", "k"]
    assert isinstance(results[1], ResponseError) and "refused here" in str(results[1])
    assert len(sender._idle) == 1 and sender._idle[0].is_connected
    assert await sender.run(echo, ["k"], ["next"]) == ["next", "k"]


async def test_a_batch_left_by_an_event_loop_that_stopped_holds_nothing_up(redis: Redis) -> None:
    sender = ScriptSender(redis)
    echo = redis.register_script(ECHO)
    stopped = asyncio.new_event_loop()
    try:
        # As a loop stopped between a script being asked for and its batch being sent
        # leaves it (a process's tests, or a service restarted in one process).
        sender._next = Batch(stopped)
        async with asyncio.timeout(5):
            assert await sender.run(echo, ["k"], ["here"]) == ["here", "k"]
    finally:
        stopped.close()


async def kept_connections(sender: ScriptSender, slow: AsyncScript, count: int) -> None:
    """``count`` batches out at once (each sent while the ones before wait for Redis),
    so that ``count`` connections are used, then kept or given back."""
    # Connected beforehand, in the client's pool: a connection made while Redis runs a
    # slow script would wait for it to finish before it could be used.
    await asyncio.gather(*(sender.redis.ping() for _ in range(count)))
    out = []
    for i in range(count):
        sending = asyncio.Event()
        trips = counted(sender, sending)
        out.append(asyncio.ensure_future(sender.run(slow, ["k"], [f"out {i}", 50])))
        await sending.wait()
        assert trips == [["EVALSHA"]]
    assert [await o for o in out] == [[f"out {i}", "k"] for i in range(count)]


async def test_after_a_restart_every_kept_connection_is_made_afresh_before_the_retry(
    redis: Redis,
) -> None:
    sender = ScriptSender(redis)
    slow = redis.register_script(SLOW_ECHO)
    await sender.run(slow, ["k"], ["loaded", 0])
    await kept_connections(sender, slow, 3)
    assert len(sender._idle) == 3
    killed = await redis.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")  # type: ignore[no-untyped-call]
    assert killed >= 3
    trips = counted(sender)

    assert await sender.run(slow, ["k"], ["after", 0]) == ["after", "k"]

    # Sent, the connection found closed, sent again on it made afresh; the other kept
    # connections were closed with it, so none is used dead later.
    assert trips == [["EVALSHA"]] * 2
    assert [kept.is_connected for kept in sender._idle].count(True) == 1
    await kept_connections(sender, slow, 3)  # three at once, none found closed


async def test_a_burst_leaves_at_most_the_kept_connections_the_rest_go_back_to_the_pool(
    redis: Redis,
) -> None:
    sender = ScriptSender(redis)
    slow = redis.register_script(SLOW_ECHO)
    await sender.run(slow, ["k"], ["loaded", 0])

    await kept_connections(sender, slow, KEPT_IDLE + 3)

    assert len(sender._idle) == KEPT_IDLE
    pool = redis.connection_pool
    assert len(pool._available_connections) >= 3


async def test_a_script_whose_caller_stopped_waiting_before_it_was_sent_is_not_run(
    redis: Redis,
) -> None:
    sender = ScriptSender(redis)
    count = redis.register_script("return redis.call('INCR', KEYS[1])")
    echo = redis.register_script(ECHO)
    await asyncio.gather(sender.run(count, ["warm"], []), sender.run(echo, ["k"], ["warm"]))
    trips = counted(sender)

    gave_up = asyncio.ensure_future(sender.run(count, ["counted"], []))
    waited = asyncio.ensure_future(sender.run(echo, ["k"], ["waited"]))

    await cancel_before_sent(gave_up)
    assert await waited == ["waited", "k"]
    with pytest.raises(asyncio.CancelledError):
        await gave_up
    assert await redis.get("counted") is None
    # Alone, nobody waiting: nothing is sent at all.
    alone = asyncio.ensure_future(sender.run(count, ["counted"], []))
    await cancel_before_sent(alone)
    with pytest.raises(asyncio.CancelledError):
        await alone
    await sender.settled()
    assert await redis.get("counted") is None
    assert trips == [["EVALSHA", "EVALSHA"]]


async def cancel_before_sent(caller: asyncio.Future[Any]) -> None:
    """Cancel ``caller`` from a task started after it: in the step in which it asks for
    its script, before the batch is sent."""

    async def cancel() -> None:
        caller.cancel()

    await asyncio.ensure_future(cancel())


async def test_a_script_that_cannot_be_sent_fails_alone(redis: Redis) -> None:
    sender, echo = await loaded_sender(redis)

    results = await asyncio.gather(
        sender.run(echo, ["k"], ["sent"]),
        sender.run(echo, ["k"], [{"not": "a value"}]),
        sender.run(echo, ["k"], ["a lone surrogate \ud800"]),
        return_exceptions=True,
    )

    assert results[0] == ["sent", "k"]
    assert isinstance(results[1], DataError)
    assert isinstance(results[2], UnicodeEncodeError)


class CloseFailed(Exception):
    pass


async def test_a_connection_that_fails_to_close_still_answers_every_caller(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender, echo = await loaded_sender(redis)
    (kept,) = sender._idle
    await redis.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")  # type: ignore[no-untyped-call]
    original = kept.disconnect

    async def disconnect(*args: Any, **kwargs: Any) -> None:
        await original(*args, **kwargs)
        raise CloseFailed

    monkeypatch.setattr(kept, "disconnect", disconnect)

    # Each caller is answered at once (its reply, or the error), not left to its budget.
    async with asyncio.timeout(5):
        results = await asyncio.gather(
            *(sender.run(echo, ["k"], [str(i)]) for i in range(3)), return_exceptions=True
        )

    for i, result in enumerate(results):
        assert result == [str(i), "k"] or isinstance(result, CloseFailed)
