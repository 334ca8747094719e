"""The cost of auditing reads (CONTRACT §7): a call record read with and without its audit
entry, and a page of the call log (50 calls of 50 people) with and without its entries, on
an embedded Redis (appendonly, fsync always, as in production; ``--no-aof`` to see the
round trip alone).

    .venv/bin/python -m bench.read_audit [--reads 2000] [--no-aof]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from callguard.clock import FixedClock
from callguard.domain.records import CallRecord
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.services.call_log import CallLog
from callguard.services.read_audit import ReadAudit
from callguard.store.connection import connect
from callguard.store.container import build_stores
from callguard.store.keys import Keys
from callguard.store.launcher import EmbeddedRedis

NOW = datetime(2026, 11, 27, 10, tzinfo=UTC)
READER = Actor(name="mo.manager", role=Role.manager)


async def timed(reads: int, read: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Median and 99th percentile, in microseconds."""
    samples = []
    for _ in range(reads):
        start = time.perf_counter()
        await read()
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


async def measure(url: str, reads: int) -> None:
    redis = connect(url)
    stores = build_stores(redis, Keys())
    plain = CallLog(stores.calls, FixedClock(NOW))
    audited = CallLog(stores.calls, FixedClock(NOW), ReadAudit(stores.subject_access))
    for i in range(50):
        record = CallRecord.model_validate(
            {
                "call_sid": f"CA{i:032d}",
                "from": "+447700900123",
                "to": "+441772000000",
                "received_at": NOW,
                "person_id": f"per_{i:016d}",
                "outcome": "refuse",
                "rule": "phone_blocked",
            }
        )
        fields: dict[Any, str] = {n: json.dumps(v) for n, v in record.hash_fields().items()}
        await redis.hset(stores.keys.call(record.call_sid), mapping=fields)
        await redis.zadd(stores.keys.CALLS, {record.call_sid: NOW.timestamp() + i})
    sid = "CA" + "0" * 32
    rows = {
        "call record, read only": await timed(reads, lambda: plain.store.get(sid)),
        "call record, read + audit": await timed(reads, lambda: audited.read_call(READER, sid)),
        "call log page (50), read only": await timed(reads, lambda: plain.calls(limit=50)),
        "call log page (50), read + audit": await timed(
            reads, lambda: audited.read_calls(READER, "call_log.read", limit=50)
        ),
    }
    for name, (median, p99) in rows.items():
        print(f"{name:36} median {median:7.0f} µs   p99 {p99:7.0f} µs")
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--no-aof", action="store_true", help="no append-only file (no fsync)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedRedis(Path(tmp), appendonly=not args.no_aof) as server,
    ):
        asyncio.run(measure(server.url, args.reads))


if __name__ == "__main__":
    main()
