"""Loading N people for a measurement: a few through ``RegisterStore`` itself, to check the
bulk writes against, key for key and byte for byte; everyone else in bulk
(``bench/bulk.py``); then Redis memory per strategy.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis

from bench.bulk import bulk_load
from bench.common import advocate_phone, person_id, person_phone, strategy_id
from bench.people import SLOTS, Written, commands, template_of, written
from callguard.store.call_records import CallStore
from callguard.store.connection import connect
from callguard.store.keys import Keys
from callguard.store.register import RegisterStore

# The benchmark runs one office under the default prefix.
KEYS = Keys()

log = logging.getLogger("bench")


def first_of_each_template(n: int) -> list[int]:
    seen: dict[str, int] = {}
    for i in range(min(n, len(SLOTS))):
        seen.setdefault(template_of(i).name, i)
    return sorted(seen.values())


async def check_stored(redis: Redis, w: Written, *, shared_audit: bool = True) -> set[str]:
    """Assert Redis holds what ``commands(w)`` writes, and of the person's own hashes and
    lists nothing else; return the keys they write. Without ``shared_audit`` the one audit
    stream of everyone (N entries and more) is not read."""
    shared_lists = (KEYS.PEOPLE, KEYS.STRATEGIES)
    written_keys: set[str] = set()
    hashes: dict[str, dict[str, str]] = {}
    lists: dict[str, list[str]] = {}
    for command in commands(w):
        name, key, *rest = command
        written_keys.add(key)
        if key == KEYS.AUDIT and not shared_audit:
            continue
        if name == "SET":
            got = await redis.get(key)
            assert got == rest[0], f"{key}: Redis holds {got!r}, the bulk load writes {rest[0]!r}"
        elif name == "HSET":
            hashes.setdefault(key, {}).update(zip(rest[::2], rest[1::2], strict=True))
        elif name == "RPUSH" and key in shared_lists:
            for member in rest:
                assert await redis.lpos(key, member) is not None, key
        elif name == "RPUSH":
            lists.setdefault(key, []).extend(rest)
        elif name == "ZADD":
            assert await redis.zscore(key, rest[1]) == float(rest[0]), key
        elif name == "XADD":
            fields = dict(zip(rest[1::2], rest[2::2], strict=True))
            entries = await redis.xrange(key) or []
            assert any(f == fields for _id, f in entries), key
        else:
            raise AssertionError(f"check_stored cannot check {name}")
    for key, fields in hashes.items():
        got_fields = await redis.hgetall(key)
        assert got_fields == fields, f"{key}: Redis holds {got_fields}, the bulk load {fields}"
    for key, members in lists.items():
        got_members = await redis.lrange(key, 0, -1)
        assert got_members == members, f"{key}: Redis holds {got_members}, the bulk {members}"
    return written_keys


async def verify_layout(redis: Redis, people: Sequence[int], created: datetime) -> None:
    """Store ``people`` through ``RegisterStore`` (the code the API uses), then check that
    the bulk commands would write exactly the same keys and values."""
    store = RegisterStore(redis, KEYS)
    expected_keys: set[str] = set()
    for i in people:
        w = written(i, template_of(i), created)
        await store.create_person(w.person, w.audits[0])
        await store.create_strategy(w.strategy, w.audits[1])
        expected_keys |= await check_stored(redis, w)
    stored = {k async for k in redis.scan_iter(match=KEYS.prefix + "*", count=1000)}
    assert stored == expected_keys, f"the register writes other keys: {stored ^ expected_keys}"


@dataclass
class Loaded:
    bytes_per_strategy: float
    bytes_by_key: dict[str, float]
    load_s: float


async def load_people(redis_url: str, socket_path: Path, n: int) -> Loaded:
    """Load N people and report Redis memory per strategy (one strategy per person)."""
    started = time.monotonic()
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(days=7)
    redis = connect(redis_url, timeout_s=60)
    try:
        # The AOF stays on, as in production, but is never rewritten here: a rewrite forks
        # and serialises the whole dataset, again and again as a bulk load grows it, and one
        # landing in a measurement would swamp it. Appends and fsyncs go on as configured.
        await redis.config_set("auto-aof-rewrite-percentage", "0")
        checked = first_of_each_template(n)
        await verify_layout(redis, checked, created)
        # Measured from here: the marginal cost of a person with a strategy, without what a
        # fresh Redis spends once (the scripts the register loads, its first connections:
        # about 0.5 MB, which at N=1,000 would add ~500 bytes to each person).
        before = int((await redis.info("memory"))["used_memory"])
        await asyncio.to_thread(bulk_load, socket_path, n, set(checked), created)
        log.info("  %d people loaded in %.0f s", n, time.monotonic() - started)
        for i in random.Random(2).sample(range(n), min(n, 20)):
            await check_stored(redis, written(i, template_of(i), created), shared_audit=False)
        after = int((await redis.info("memory"))["used_memory"])
        assert await redis.llen(KEYS.STRATEGIES) == n
        await smoke_test(redis, n)
        by_key = await memory_by_key(redis, n)
    finally:
        await redis.aclose()
    return Loaded((after - before) / (n - len(checked)), by_key, time.monotonic() - started)


async def smoke_test(redis: Redis, n: int) -> None:
    """The inbound path's own lookup finds loaded people and no one else."""
    calls = CallStore(redis, KEYS)
    for i in {0, n // 2, n - 1}:
        match, _usage = await calls.lookup(person_phone(i))
        assert match is not None and match.entries[0].strategy_id == strategy_id(i), i
    match, _usage = await calls.lookup("+447500000000")
    assert match is None


async def memory_by_key(redis: Redis, n: int) -> dict[str, float]:
    """Bytes per person by key kind (MEMORY USAGE of a sample; shared keys divided by N)."""
    sample = random.Random(1).sample(range(n), min(n, 300))
    kinds: dict[str, list[int]] = {}

    async def usage(key: str) -> int:
        value = await redis.memory_usage(key, samples=0)
        return int(value or 0)

    for i in sample:
        pid, sid = person_id(i), strategy_id(i)
        per_person = {
            "phone": KEYS.phone_owner(person_phone(i)),
            "person": KEYS.person(pid),
            "strategy": KEYS.strategy(sid),
            "audit_person": KEYS.audit_person(pid),
        }
        if template_of(i).advocate:
            per_person["advocate"] = KEYS.advocate(advocate_phone(i))
        for kind, key in per_person.items():
            kinds.setdefault(kind, []).append(await usage(key))
    out = {kind: sum(v) / len(sample) for kind, v in kinds.items()}
    for kind, key in (
        ("people", KEYS.PEOPLE),
        ("strategies", KEYS.STRATEGIES),
        ("audit", KEYS.AUDIT),
    ):
        out[kind] = await usage(key) / n
    return {kind: round(v) for kind, v in out.items()}
