"""The cost to the process of one inbound script: redis-py's ``Script`` (how a Cluster's
scripts go, and how the inbound path's went before the sixth pass) against
``ScriptSender`` (the scripts asked for in one step of the event loop sent in one write),
with some callers in flight at once, each doing some work of its own between scripts as
a request handler does. On an embedded Redis (appendonly, fsync always, as in
production). CPU time of this process a script, alternated runs, medians:

    .venv/bin/python -m bench.scripts [--scripts 20000] [--in-flight 1,10,50] [--work-us 150]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from callguard.store.connection import connect
from callguard.store.launcher import EmbeddedRedis
from callguard.store.script_sender import ScriptSender

# As big as the screening script's: three keys and a 300-byte argument; one read.
SCRIPT = "local v = redis.call('GET', KEYS[1]) return {v or '', #ARGV[1]}"
ARGUMENT = "x" * 300
Run = Callable[[list[str], list[Any]], Awaitable[Any]]


def work(seconds: float) -> None:
    """The handler's own CPU between two scripts (parsing, deciding, answering)."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


async def cpu_per_script(run: Run, in_flight: int, scripts: int, work_s: float) -> float:
    """Microseconds of this process's CPU a script, less the handlers' own work."""

    async def caller(count: int) -> None:
        for i in range(count):
            work(work_s)
            await run([f"k:{i % 100}", "a", "b"], [ARGUMENT])

    each = max(1, scripts // in_flight)
    await asyncio.gather(*(caller(10) for _ in range(in_flight)))  # connections made
    started = time.process_time()
    await asyncio.gather(*(caller(each) for _ in range(in_flight)))
    spent = time.process_time() - started
    return (spent - work_s * each * in_flight) / (each * in_flight) * 1e6


async def measure(
    url: str, in_flight: int, scripts: int, work_s: float, turns: int
) -> dict[str, Any]:
    redis: Redis = connect(url, per_command_timeout=False)
    try:
        script = redis.register_script(SCRIPT)
        await redis.script_load(SCRIPT)
        sender = ScriptSender(redis)

        async def through_script(keys: list[str], args: list[Any]) -> Any:
            return await script(keys=keys, args=args)

        async def through_sender(keys: list[str], args: list[Any]) -> Any:
            return await sender.run(script, keys, args)

        runs: dict[str, list[float]] = {"script": [], "sender": []}
        for _ in range(turns):  # alternated, so a noisy minute touches both
            for name, run in (("script", through_script), ("sender", through_sender)):
                runs[name].append(await cpu_per_script(run, in_flight, scripts, work_s))
    finally:
        await redis.aclose()
    script_us = statistics.median(runs["script"])
    sender_us = statistics.median(runs["sender"])
    return {
        "in_flight": in_flight,
        "script_us": round(script_us, 1),
        "sender_us": round(sender_us, 1),
        "ratio_sender_to_script": round(sender_us / script_us, 3),
        "script_runs_us": [round(r, 1) for r in runs["script"]],
        "sender_runs_us": [round(r, 1) for r in runs["sender"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scripts", type=int, default=20_000, help="in each timed run")
    parser.add_argument("--in-flight", default="1,10,50", help="callers at once, comma-separated")
    parser.add_argument("--work-us", type=float, default=150.0, help="a caller's own CPU a script")
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        server = EmbeddedRedis(Path(data) / "redis")
        url = server.start()
        try:
            for in_flight in (int(n) for n in args.in_flight.split(",")):
                result = asyncio.run(
                    measure(url, in_flight, args.scripts, args.work_us / 1e6, args.turns)
                )
                print(json.dumps(result), flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
