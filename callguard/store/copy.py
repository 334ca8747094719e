"""Copying one office's keys from one Redis to another under a new prefix: how an office
moves from a single Redis to a Redis Cluster (``callguard copy-keys``).

Each key is read with DUMP and PTTL and written with RESTORE under the new name, so every
type (hashes, sorted sets, streams) and every expiry comes across exactly. The destination
must hold nothing under its prefix yet, so a copy never merges two registers (unless it is
resuming a copy that stopped part-way: RESTORE ... REPLACE then rewrites what it had done).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from redis.asyncio import Redis

BATCH = 500


class NotEmpty(Exception):
    """The destination already holds keys under its prefix."""


class Overlap(Exception):
    """Source and destination are one Redis and one prefix contains the other: the copy
    would find its own copies."""


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


async def _same_redis(source: Redis, destination: Redis) -> bool:
    """Whether the two clients reach one Redis (URLs can name it in many ways): a probe key
    written through one, looked for through the other."""
    probe = f"callguard-copy-probe:{secrets.token_hex(8)}"
    await destination.set(probe, b"1", px=30_000)
    try:
        return bool(await source.exists(probe))
    finally:
        await destination.delete(probe)


async def copy_keys(
    source: Redis,
    source_prefix: str,
    destination: Redis,
    destination_prefix: str,
    progress: Callable[[int], None] | None = None,
    *,
    resume: bool = False,
) -> int:
    """Copy every key under ``source_prefix``; the number copied. Both clients must be
    made with ``decode_responses=False``: DUMP's payload is binary. ``resume``: finish a
    copy that stopped part-way (the destination's keys under its prefix are then taken to
    be that copy's)."""
    overlapping = source_prefix.startswith(destination_prefix) or destination_prefix.startswith(
        source_prefix
    )
    if overlapping and await _same_redis(source, destination):
        raise Overlap(f"{source_prefix} and {destination_prefix} overlap on the same Redis")
    async for _key in destination.scan_iter(match=_glob_escape(destination_prefix) + "*"):
        if resume:  # a copy that stopped part-way: its keys are replaced
            break
        raise NotEmpty(f"the destination already holds keys under {destination_prefix}")
    copied = 0
    batch: list[bytes] = []
    old, new = source_prefix.encode(), destination_prefix.encode()

    async def flush() -> None:
        nonlocal copied
        async with source.pipeline(transaction=False) as reads:
            for name in batch:
                reads.dump(name)
                reads.pttl(name)
            answers = await reads.execute()
        async with destination.pipeline(transaction=False) as writes:
            for index, name in enumerate(batch):
                value, ttl_ms = answers[2 * index], answers[2 * index + 1]
                if value is None or ttl_ms == -2:  # gone meanwhile
                    continue
                new_name = new + name.removeprefix(old)
                # REPLACE: SCAN may return a key twice; the destination held nothing under
                # its prefix when the copy began, so only this copy's own keys are replaced.
                writes.restore(new_name, max(ttl_ms, 0), value, replace=True)
                copied += 1
            await writes.execute()
        batch.clear()
        if progress is not None:
            progress(copied)

    async for name in source.scan_iter(match=_glob_escape(source_prefix) + "*", count=1000):
        batch.append(name)
        if len(batch) >= BATCH:
            await flush()
    if batch:
        await flush()
    return copied
