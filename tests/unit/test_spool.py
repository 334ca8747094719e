"""The spool says an entry is on disk only when all of it is (``os.write`` may write part of
a batch, on a nearly full disk, and say so only by its count), and a replay stopped part
way applies no entry twice. Nothing here needs Redis: the spool is a file, and its replay
is given what to apply."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from callguard.store import spool as spool_module
from callguard.store.spool import Spool

pytestmark = pytest.mark.timeout(10)

ENTRIES = [{"kind": "record", "call_sid": f"CA{n:032d}", "plan": "x" * 200} for n in range(3)]


async def replayed(spool: Spool) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def apply(entry: dict[str, Any]) -> None:
        seen.append(entry)

    await spool.replay(apply)
    return seen


async def test_an_entry_written_a_few_bytes_at_a_time_is_all_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    calls = 0

    def short_write(fd: int, data: Any) -> int:
        nonlocal calls
        calls += 1
        return real_write(fd, bytes(data)[:7])

    spool = Spool(tmp_path)
    monkeypatch.setattr(os, "write", short_write)
    for entry in ENTRIES:
        await spool.append(entry)
    monkeypatch.undo()

    assert calls > 3 * 30  # each entry took many writes
    assert await replayed(spool) == ENTRIES
    assert not spool.rejected.exists()


async def test_a_disk_that_fills_mid_entry_fails_the_append_and_leaves_no_torn_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path)
    await spool.append(ENTRIES[0])
    size_before = spool.path.stat().st_size
    real_write = os.write

    def fills_up(fd: int, data: Any) -> int:
        if len(data) > 40:
            return real_write(fd, bytes(data)[:40])  # part of the entry, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", fills_up)
    with pytest.raises(OSError) as failed:
        await spool.append(ENTRIES[1])
    monkeypatch.undo()

    assert failed.value.errno == errno.ENOSPC
    assert spool.path.stat().st_size == size_before  # the part written was taken back
    await spool.append(ENTRIES[2])  # room again
    assert await replayed(spool) == [ENTRIES[0], ENTRIES[2]]
    assert not spool.rejected.exists()  # no torn line to set aside


async def test_a_write_that_makes_no_progress_fails_the_append(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path)
    monkeypatch.setattr(os, "write", lambda fd, data: 0)
    with pytest.raises(OSError) as failed:
        await spool.append(ENTRIES[0])
    monkeypatch.undo()

    assert failed.value.errno == errno.ENOSPC
    assert await replayed(spool) == []


class RedisAway(Exception):
    pass


async def test_a_replay_that_fails_part_way_applies_no_entry_twice(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    for entry in ENTRIES:
        await spool.append(entry)
    applied: list[dict[str, Any]] = []

    async def fails_at_the_third(entry: dict[str, Any]) -> None:
        if entry == ENTRIES[2]:
            raise RedisAway
        applied.append(entry)

    with pytest.raises(RedisAway):
        await spool.replay(fails_at_the_third)
    assert applied == ENTRIES[:2]
    assert spool.depth() == 1 and spool.pending.is_set()

    assert await replayed(spool) == [ENTRIES[2]]  # the rest, once
    assert spool.depth() == 0 and not spool.pending.is_set()
    assert not await asyncio.to_thread(os.listdir, tmp_path)  # no part-written file left


async def test_a_replay_stopped_part_way_keeps_the_entries_it_did_not_apply(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path)
    for entry in ENTRIES:
        await spool.append(entry)
    second_started = asyncio.Event()

    async def hangs_at_the_second(entry: dict[str, Any]) -> None:
        if entry == ENTRIES[1]:
            second_started.set()
            await asyncio.Event().wait()  # a command that never answers

    replay = asyncio.create_task(spool.replay(hangs_at_the_second))
    await second_started.wait()
    replay.cancel()
    with pytest.raises(asyncio.CancelledError):
        await replay

    assert await replayed(spool) == ENTRIES[1:]


async def test_an_entry_whose_caller_stopped_waiting_is_replayed_without_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request cut off as the service stops, its entry being written: the replay that
    follows (the stopping service's, or the loop's) still knows there is something to do."""
    spool = Spool(tmp_path)
    writing, release = threading.Event(), threading.Event()
    append_sync = Spool._append_sync

    def held_up(self: Spool, line: str) -> None:
        writing.set()
        release.wait(5)
        append_sync(self, line)

    monkeypatch.setattr(Spool, "_append_sync", held_up)
    appending = asyncio.create_task(spool.append(ENTRIES[0]))
    await asyncio.to_thread(writing.wait, 5)
    appending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await appending
    release.set()

    async with asyncio.timeout(5):
        await spool.pending.wait()
    assert await replayed(spool) == [ENTRIES[0]]


async def test_a_replay_whose_rewrite_fails_keeps_the_file_whole_and_its_own_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path)
    for entry in ENTRIES:
        await spool.append(entry)

    async def fails_at_the_second(entry: dict[str, Any]) -> None:
        if entry == ENTRIES[1]:
            raise RedisAway

    def disk_full(file: Path, lines: list[str]) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spool_module, "_keep_from", disk_full)
    with pytest.raises(RedisAway):  # the replay's error, not the rewrite's
        await spool.replay(fails_at_the_second)
    monkeypatch.undo()
    assert await replayed(spool) == ENTRIES  # whole: the first again, nothing lost


async def test_a_rewrite_cut_short_by_a_crash_is_cleared_and_not_replayed(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    await spool.append(ENTRIES[0])
    part = tmp_path / "calls.00000000000000000001.jsonl.part"
    part.write_text(json.dumps(ENTRIES[1]) + "\n", encoding="utf-8")
    assert await replayed(spool) == [ENTRIES[0]]
    assert not part.exists()
