"""The spool says an entry is on disk only when all of it is (``os.write`` may write part of
a batch, on a nearly full disk, and say so only by its count), a replay stopped part way
applies no entry twice, and an entry that can never be applied is set aside, not in the
way of those after it. Nothing here needs Redis: the spool is a file, and its replay
is given what to apply."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from callguard.store import spool as spool_module
from callguard.store.spool import EntryRejected, Spool

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


async def test_an_entry_its_apply_rejects_is_set_aside_and_the_replay_goes_on(
    tmp_path: Path,
) -> None:
    """One entry that can never be written (its apply says so) holds up none after it: it
    is kept, whole, for a person to look at, and the rest are applied."""
    spool = Spool(tmp_path)
    for entry in ENTRIES:
        await spool.append(entry)
    applied: list[dict[str, Any]] = []

    async def rejects_the_second(entry: dict[str, Any]) -> None:
        if entry == ENTRIES[1]:
            raise EntryRejected("the store refused it")
        applied.append(entry)

    assert await spool.replay(rejects_the_second) == 2
    assert applied == [ENTRIES[0], ENTRIES[2]]
    assert spool.depth() == 0 and not spool.pending.is_set()
    assert spool.set_aside() == 1
    assert json.loads(spool.rejected.read_text(encoding="utf-8")) == ENTRIES[1]
    # It holds numbers called: for the service's user alone, whatever the umask.
    assert stat.S_IMODE(spool.rejected.stat().st_mode) == 0o600


async def test_what_was_set_aside_is_tried_again_before_what_is_spooled_later(
    tmp_path: Path,
) -> None:
    spool = Spool(tmp_path)
    await spool.append(ENTRIES[0])
    (tmp_path / "calls.00000000000000000001.jsonl").write_text('{"torn\n', encoding="utf-8")

    async def rejects_the_first(entry: dict[str, Any]) -> None:
        if entry == ENTRIES[0]:
            raise EntryRejected("not yet")

    assert await spool.replay(rejects_the_first) == 0
    assert spool.set_aside() == 2 and spool.depth() == 0
    await spool.append(ENTRIES[1])  # spooled after them

    assert await spool.retry_set_aside() == 2
    assert spool.set_aside() == 0 and spool.depth() == 3 and spool.pending.is_set()
    # A release that can write it now does, oldest first; the torn line is set aside again.
    assert await replayed(spool) == [ENTRIES[0], ENTRIES[1]]
    assert spool.rejected.read_text(encoding="utf-8") == '{"torn\n'
    assert await spool.retry_set_aside() == 1
    assert await spool.retry_set_aside() == 0


async def test_an_entry_that_cannot_be_set_aside_stays_in_the_spool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path)
    for entry in ENTRIES:
        await spool.append(entry)

    async def rejects_the_second(entry: dict[str, Any]) -> None:
        if entry == ENTRIES[1]:
            raise EntryRejected("the store refused it")

    def disk_full(self: Spool, line: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Spool, "_reject", disk_full)
    with pytest.raises(OSError):
        await spool.replay(rejects_the_second)
    monkeypatch.undo()
    assert spool.set_aside() == 0
    assert await replayed(spool) == ENTRIES[1:]  # the first was applied, once


async def test_a_file_the_spool_makes_is_named_on_disk_before_it_is_relied_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsync of a file puts its bytes on disk, not its name: the directory is synced too when
    the spool file or the set-aside file is made, or a spool file replaced by what is left of
    it (else a crash could lose either whole, or bring back entries applied)."""
    synced: list[str] = []
    real_fsync = os.fsync

    def noting_fsync(fd: int) -> None:
        synced.append("directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", noting_fsync)
    spool = Spool(tmp_path / "spool")
    await spool.append(ENTRIES[0])
    assert synced == ["file", "directory"]
    await spool.append(ENTRIES[1])
    assert synced[2:] == ["file"]  # the name is there already

    async def rejects(entry: dict[str, Any]) -> None:
        raise EntryRejected("the store refused it")

    del synced[:]
    assert await spool.replay(rejects) == 0
    assert synced == ["file", "directory", "file"]  # made, then added to

    # A replay stopped part way rewrites its file with what is left: the new file whole on
    # disk, then its name in place of the old one's.
    others = [call_entry(sid, "record") for sid in (10, 11, 12)]
    for entry in others:
        await spool.append(entry)

    async def away_at_the_second(entry: dict[str, Any]) -> None:
        if entry == others[1]:
            raise RedisAway

    del synced[:]
    with pytest.raises(RedisAway):
        await spool.replay(away_at_the_second)
    assert synced == ["file", "directory"]


def call_entry(sid: int, kind: str, status: str = "completed") -> dict[str, Any]:
    return {"kind": kind, "call_sid": f"CA{sid:032d}", "fields": {"status": status}}


async def test_a_calls_later_entries_follow_its_entry_that_was_set_aside(tmp_path: Path) -> None:
    """Kept in order: a record set aside takes its call's updates with it (in this replay
    and in later ones), so they are tried again together; other calls' go on."""
    spool = Spool(tmp_path)
    first = [call_entry(1, "record"), call_entry(2, "record"), call_entry(1, "update", "busy")]
    for entry in first:
        await spool.append(entry)
    applied: list[dict[str, Any]] = []

    async def rejects_call_1s_record(entry: dict[str, Any]) -> None:
        if entry == first[0]:
            raise EntryRejected("the store refused it")
        applied.append(entry)

    assert await spool.replay(rejects_call_1s_record) == 1
    await spool.append(call_entry(1, "update"))  # a later callback of the same call
    await spool.append(call_entry(3, "record"))
    assert await spool.replay(rejects_call_1s_record) == 1
    assert applied == [first[1], call_entry(3, "record")]
    assert spool.set_aside() == 3

    assert await spool.retry_set_aside() == 3
    assert await replayed(spool) == [first[0], first[2], call_entry(1, "update")]


async def test_an_entry_already_set_aside_is_not_set_aside_again(tmp_path: Path) -> None:
    """The same entry spooled again (a callback sent twice), after the first was set aside
    by an earlier replay: rejected.txt keeps it once."""
    spool = Spool(tmp_path)

    async def rejects_the_second(entry: dict[str, Any]) -> None:
        if entry == ENTRIES[1]:
            raise EntryRejected("the store refused it")

    for _ in range(2):
        await spool.append(ENTRIES[1])
        await spool.append(ENTRIES[2])
        assert await spool.replay(rejects_the_second) == 1
    assert spool.set_aside() == 1


async def test_an_entry_set_aside_just_before_a_crash_is_not_set_aside_twice(
    tmp_path: Path,
) -> None:
    """A crash after an entry was set aside, before its spool file was removed, leaves it in
    both: the next start's replay applies the file again (no entry is written twice) and
    sets that entry aside once, not once for each copy."""
    spool = Spool(tmp_path)
    for entry in ENTRIES:
        await spool.append(entry)
    crashed = tmp_path / "calls.00000000000000000001.jsonl"
    crashed.write_bytes(spool.path.read_bytes())  # the file as the crash left it

    async def rejects_the_second(entry: dict[str, Any]) -> None:
        if entry == ENTRIES[1]:
            raise EntryRejected("the store refused it")

    assert await spool.replay(rejects_the_second) == 4  # both copies' first and third
    assert spool.set_aside() == 1
    assert await spool.retry_set_aside() == 1  # the next start
    assert await spool.replay(rejects_the_second) == 0
    assert spool.rejected.read_text(encoding="utf-8").splitlines() == [
        json.dumps(ENTRIES[1], separators=(",", ":"))
    ]


async def test_a_set_aside_cut_short_by_a_full_disk_leaves_no_torn_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = Spool(tmp_path)
    for entry in ENTRIES:
        await spool.append(entry)
    real_write = os.write

    def fills_up(fd: int, data: Any) -> int:
        return real_write(fd, bytes(data)[:40]) if len(data) > 40 else 0

    full = True

    async def rejects(entry: dict[str, Any]) -> None:
        if entry == ENTRIES[1] and full:  # the disk fills up as it is set aside
            monkeypatch.setattr(os, "write", fills_up)
        raise EntryRejected("the store refused it")

    with pytest.raises(OSError):
        await spool.replay(rejects)
    monkeypatch.undo()
    full = False
    assert spool.set_aside() == 1  # the part of the second written was taken back
    assert spool.depth() == 2  # and it is still spooled

    await spool.replay(rejects)  # room again: each a whole line
    assert [json.loads(line) for line in spool.rejected.read_text().splitlines()] == ENTRIES
