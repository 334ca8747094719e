"""The inbound path's scripts, each sent on a connection this process keeps for them.

Every inbound call runs one or two scripts (``call_records.CallStore.screen`` and
``record_if_unchanged``). Through redis-py's ``Script`` each one goes by ``execute_command``:
a connection taken from the pool and given back (under a lock, with its counters), a
retry wrapper and the reply's callbacks, about 20 µs of the process's CPU a script on top
of packing, sending and reading (docs/performance.md, "sixth pass"). Here each script
borrows a connection from a list this sender keeps (filled from the client's own pool,
one per script in flight at once), and is packed, sent and read on it.

What redis-py's path does for a script, this one does too:

- a connection whose write or read failed or was interrupted (a timeout, the inbound
  path's budget cancelling it) is disconnected by redis-py's ``Connection`` itself, so a
  late reply is never read as the next script's; it connects again on its next send;
- one retry on a connection error, as ``connect`` sets for every client
  (``Retry(NoBackoff(), 1)``): after a restart or a Sentinel failover, the first script
  sent finds its connection gone, and the second is sent on a new one (a connection
  connects with its own ``connect``, in which a Sentinel client's asks for the master);
- NOSCRIPT (a server restarted, or its scripts flushed): the script is loaded and sent
  again, as ``Script`` does;
- the health check after 30 s idle (``send_packed_command``).

A Cluster client is not a ``Redis``: its scripts go through ``Script`` as before (each
key's node is found by redis-py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError, NoScriptError, TimeoutError


class ScriptSender:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        # None for a Cluster client (typed as Redis by ``connection.connect``).
        self._pool: ConnectionPool | None = (
            redis.connection_pool if isinstance(redis, Redis) else None
        )
        self._idle: list[AbstractConnection] = []

    async def run(self, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """``script(keys=keys, args=args)``, with its reply as redis-py gives it."""
        if self._pool is None:
            return await script(keys=keys, args=args)
        # The pool's connections are disconnected when the client is closed, borrowed or not.
        connection = self._idle.pop() if self._idle else await self._pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            return await self._evalsha(connection, script, keys, args)
        finally:
            self._idle.append(connection)

    async def _evalsha(
        self,
        connection: AbstractConnection,
        script: AsyncScript,
        keys: Sequence[str],
        args: Sequence[Any],
    ) -> Any:
        command = connection.pack_command("EVALSHA", script.sha, len(keys), *keys, *args)
        loaded = retried = False
        while True:
            try:
                return await self.round_trip(connection, command)
            except NoScriptError:
                if loaded:
                    raise
                loaded = True
                await self.redis.script_load(script.script)
            except (ConnectionError, TimeoutError):
                if retried:
                    raise
                retried = True
                await connection.disconnect()

    @staticmethod
    async def round_trip(connection: AbstractConnection, command: list[bytes]) -> Any:
        """Send one packed command and read its reply (an error reply is raised)."""
        if not connection.is_connected:
            # ``connect``, not the connecting ``send_packed_command`` would do: a Sentinel
            # client's connection asks the Sentinels for the master only in ``connect``.
            await connection.connect()  # type: ignore[no-untyped-call]
        await connection.send_packed_command(command)
        return await connection.read_response()
