"""The inbound path's scripts, sent together: every script asked for while the event loop
runs one step goes to Redis in one write on one connection, and the replies come back in
the same order.

Every inbound call runs one or two scripts (``call_records.CallStore.screen`` and
``record_if_unchanged``). Sent one by one, each costs the process a write, a wake-up for
its reply and a read; a batch pays for those once, whatever its size. With 10 to 50 calls
in flight, a script costs the process 21–27 µs of CPU this way against 65–81 µs through
``Script`` (``bench/scripts.py``; docs/performance.md, "eighth pass"). Redis runs the
scripts of a batch one after another, each as atomically as if sent alone: only the
sending is shared.

What redis-py's ``Script`` does for a script, this does too:

- one retry on a connection error, as ``connect`` sets for every client
  (``Retry(NoBackoff(), 1)``): after a restart or a Sentinel failover, the scripts sent
  find their connection gone, and each is sent once more on a new one (a connection
  connects with its own ``connect``, in which a Sentinel client's asks for the master);
- NOSCRIPT (a server restarted, or its scripts flushed): the script is loaded and sent
  again. One load for all the callers who met NOSCRIPT at once (if it fails, each of
  them gets its error): a burst of calls after a restart would otherwise take a
  connection each to load the same script, past the client's pool (100 connections),
  and those calls would fail open unscreened;
- the health check after 30 s idle (``send_packed_command``).

It packs each EVALSHA itself (``packed``), as redis-py would for the same arguments, in a
third of the time (2–3 µs against 6–9 for the inbound path's two scripts: about 3% of a
registered caller's first call, docs/performance.md, thirteenth pass).

A script whose caller stops waiting (the inbound path's budget cancelling it) before its
batch is sent is left out of it. Once sent, it keeps its place: its reply is read and
dropped, so it is never taken for another's. Once nobody waits for any reply of a batch,
the batch is cancelled and its connection closed by redis-py's ``Connection`` (a server
that stopped answering holds nothing for long). At most ``KEPT_IDLE`` connections are
kept between batches; the rest go back to the client's pool.

A Cluster client is not a ``Redis``: its scripts go through ``Script`` as before (each
key's node is found by redis-py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis._parsers.encoders import Encoder
from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.commands.core import AsyncScript
from redis.exceptions import (
    ConnectionError,
    DataError,
    NoScriptError,
    ResponseError,
    TimeoutError,
)

# Connections kept between batches; any more, after a burst, go back to the client's pool.
KEPT_IDLE = 8


def packed(command: Sequence[Any], encoder: Encoder) -> bytes:
    """An EVALSHA (its arguments text, bytes, integers or floats; no space in its name) in
    Redis's protocol, as redis-py's ``pack_command`` packs it (its
    ``Encoder``'s rules: text encoded as the client is set to, numbers as their ``repr``,
    bytes as they are; anything else, a bool included, a ``DataError``).
    ``tests/unit/test_script_packing.py`` holds the two to the same bytes."""
    parts = [b"*%d\r\n" % len(command)]
    for value in command:
        if isinstance(value, str):
            data = value.encode(encoder.encoding, encoder.encoding_errors)
        elif isinstance(value, bytes):
            data = value
        elif isinstance(value, (bytearray, memoryview)):
            data = bytes(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            data = repr(value).encode()
        else:
            raise DataError(
                f"Invalid input of type: '{type(value).__name__}'. "
                "Convert to a bytes, string, int or float first."
            )
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


@dataclass(slots=True)
class Batch:
    """Scripts asked for in one step of the event loop: each one's EVALSHA arguments and
    the future its caller waits on."""

    loop: asyncio.AbstractEventLoop
    commands: list[tuple[Any, ...]] = field(default_factory=list)
    replies: list[asyncio.Future[Any]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    @property
    def unwanted(self) -> bool:
        """No reply of the batch is waited for any more."""
        return all(reply.done() for reply in self.replies)

    def abandon_if_unwanted(self) -> None:
        """Cancel the batch's round trip once no reply of it is waited for."""
        if self.unwanted and self.task is not None and not self.task.done():
            self.task.cancel()


class ScriptSender:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        # None for a Cluster client (typed as Redis by ``connection.connect``).
        self._pool: ConnectionPool | None = (
            redis.connection_pool if isinstance(redis, Redis) else None
        )
        self._idle: list[AbstractConnection] = []
        self._next: Batch | None = None
        self._sending: set[asyncio.Task[None]] = set()
        # Each script being loaded after NOSCRIPT, by its SHA: its callers wait on one load.
        self._loading: dict[str, asyncio.Future[Any]] = {}

    async def run(self, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """``script(keys=keys, args=args)``, with its reply as redis-py gives it."""
        if self._pool is None:
            return await script(keys=keys, args=args)
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        loaded = retried = False
        while True:
            try:
                return await self._sent(command)
            except NoScriptError:
                if loaded:
                    raise
                loaded = True
                await self._loaded(script)
            except (ConnectionError, TimeoutError):
                if retried:
                    raise
                retried = True

    async def _loaded(self, script: AsyncScript) -> None:
        """``script`` loaded into the server: by a load already under way, else a new one.
        A caller who stops waiting leaves the load to the others (shielded)."""
        loop = asyncio.get_running_loop()
        loading = self._loading.get(script.sha)
        if loading is None or loading.get_loop() is not loop:
            loading = asyncio.ensure_future(self.redis.script_load(script.script))
            self._loading[script.sha] = loading
            loading.add_done_callback(functools.partial(self._load_finished, script.sha))
        await asyncio.shield(loading)

    def _load_finished(self, sha: str, loading: asyncio.Future[Any]) -> None:
        if self._loading.get(sha) is loading:
            del self._loading[sha]
        if not loading.cancelled():
            loading.exception()  # retrieved here too, for when nobody waits any more

    async def settled(self) -> None:
        """Send the batch being gathered now, and wait until every batch sent has had its
        replies (or failed, or been abandoned)."""
        if self._next is not None and self._next.loop is asyncio.get_running_loop():
            self._send_batch(self._next)
        while self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    async def _sent(self, command: tuple[Any, ...]) -> Any:
        loop = asyncio.get_running_loop()
        batch = self._next
        if batch is None or batch.loop is not loop:
            batch = self._next = Batch(loop)
            loop.call_soon(self._send_batch, batch)
        reply: asyncio.Future[Any] = loop.create_future()
        batch.commands.append(command)
        batch.replies.append(reply)
        try:
            return await reply
        except asyncio.CancelledError:
            batch.abandon_if_unwanted()
            raise

    def _send_batch(self, batch: Batch) -> None:
        if self._next is batch:
            self._next = None
        if batch.task is not None or batch.unwanted:
            return  # sent already (by ``settled``), or nobody waits for it
        batch.task = batch.loop.create_task(self._send(batch))
        self._sending.add(batch.task)
        batch.task.add_done_callback(self._sending.discard)

    async def _send(self, batch: Batch) -> None:
        assert self._pool is not None
        connection: AbstractConnection | None = None
        try:
            connection = self._idle.pop() if self._idle else await self._pool.get_connection()  # type: ignore[no-untyped-call]
            await self.round_trip(connection, batch)
        except Exception as error:
            # Every script still waited for gets the error (a connection error: sent once
            # more by ``run``). Then the connection, which cannot be trusted to be in step
            # with its replies, is closed (redis-py has done so already for a failed read or
            # write), so the next batch on it connects afresh. After a restart or a
            # failover the kept ones are as dead: closed too, so that retry goes on a
            # connection made now.
            for reply in batch.replies:
                if not reply.done():
                    reply.set_exception(error)
            others: list[AbstractConnection] = []
            if isinstance(error, (ConnectionError, TimeoutError)):
                # Out of other batches' reach while they close.
                others, self._idle = self._idle, []
            for dead in ([connection] if connection is not None else []) + others:
                with contextlib.suppress(Exception):
                    await dead.disconnect(nowait=True)
            self._idle += others
        finally:
            if connection is not None:
                await self._keep(connection)

    async def _keep(self, connection: AbstractConnection) -> None:
        if len(self._idle) < KEPT_IDLE:
            self._idle.append(connection)
        else:
            assert self._pool is not None
            await self._pool.release(connection)

    @staticmethod
    async def round_trip(connection: AbstractConnection, batch: Batch) -> None:
        """Send a batch's scripts in one write and give each its reply (an error reply to
        its own script alone) as it is read. A script whose caller stopped waiting before
        it was sent is left out; one that cannot be packed fails alone."""
        if not connection.is_connected:
            # ``connect``, not the connecting ``send_packed_command`` would do: a Sentinel
            # client's connection asks the Sentinels for the master only in ``connect``.
            await connection.connect()  # type: ignore[no-untyped-call]
        sent: list[bytes] = []
        waiting: list[asyncio.Future[Any]] = []
        for command, reply in zip(batch.commands, batch.replies, strict=True):
            if reply.done():
                continue
            try:
                sent.append(packed(command, connection.encoder))
            except (DataError, UnicodeEncodeError) as error:
                reply.set_exception(error)
                continue
            waiting.append(reply)
        if not waiting:
            return
        await connection.send_packed_command(sent)
        for reply in waiting:
            try:
                value = await connection.read_response()
            except ResponseError as error:
                if not reply.done():
                    reply.set_exception(error)
                continue
            if not reply.done():
                reply.set_result(value)
