"""The fail-open spool: call records and updates written to a local file while Redis is
unreachable, fsync'd before the webhook answers, and replayed when Redis is back.

A replay stopped part way (Redis away again, the service stopping) keeps only the entries
not yet applied. One applied twice all the same (after a crash mid-replay) duplicates
nothing: a record is written only if absent, and an update puts no call back to an earlier
status and undoes no triage (call_update_scripts.UPDATE_CALL). One replay runs at a time:
the service's replay loop and an explicit replay (shutdown, tests) may be asked at once.

An entry that can never be applied (a line torn by a crash, or one its ``apply`` rejects
with ``EntryRejected``: the entry is at fault, not Redis) is set aside in ``rejected.txt``
for a person to look at, with the later entries of the same call (a record's updates stay
behind it), and the replay goes on: one bad entry never holds up the other calls' entries.
What is set aside is put back in the spool at the service's next start
(``retry_set_aside``), so a release that can apply it does.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Entry = dict[str, Any]

log = logging.getLogger("callguard.spool")


class EntryRejected(Exception):
    """Raised by a replay's ``apply`` for an entry that applying again would never write:
    the entry is at fault, not the store (which may be away: that is any other error). The
    replay sets it aside and goes on."""


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "calls.jsonl"
        self.rejected = directory / "rejected.txt"
        self._lock = asyncio.Lock()  # appends, and freezing the file being appended to
        self._replaying = asyncio.Lock()  # one replay at a time
        self.pending = asyncio.Event()
        self._waiting: list[tuple[str, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        if self._files():
            self.pending.set()

    def _files(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob("calls*.jsonl"))

    def depth(self) -> int:
        """Entries waiting to be replayed."""
        return sum(_count_lines(file) for file in self._files())

    def set_aside(self) -> int:
        """Entries set aside for a person to look at (torn, or rejected by a replay)."""
        return _count_lines(self.rejected)

    async def retry_set_aside(self) -> int:
        """Put what is set aside back in the spool, to be replayed before what is spooled
        from now on (at the service's start: a release that can apply it now does; what it
        still cannot is set aside again). How many entries."""
        async with self._replaying:
            count = await asyncio.to_thread(self._unreject)
        if count:
            self.pending.set()
            log.warning("retrying %d spooled call entries that were set aside earlier", count)
        return count

    def _unreject(self) -> int:
        count = self.set_aside()
        if count:
            self.rejected.rename(self.directory / f"calls.{time.time_ns():020d}.jsonl")
        return count

    def _already_set_aside(self) -> _SetAside:
        """What is set aside: each line, and the calls with an entry there (their later
        entries follow it there)."""
        aside = _SetAside()
        with contextlib.suppress(FileNotFoundError), self.rejected.open(encoding="utf-8") as lines:
            for line in lines:
                aside.lines.add(line.rstrip("\n"))
                call = _call_of(_read(line))
                if call is not None:
                    aside.calls.add(call)
        return aside

    async def append(self, entry: Entry) -> None:
        """Return once ``entry`` is on disk (fsync'd). Concurrent appends share one write
        and one fsync (group commit), so a burst of fail-open calls is not queued behind
        one fsync each."""
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((line, written))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        await written

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                async with self._lock:
                    await asyncio.to_thread(self._append_sync, "".join(line for line, _ in batch))
            except Exception as error:
                for _, written in batch:
                    if not written.done():
                        written.set_exception(error)
                continue
            # Set here, not by the callers: one that stopped waiting (a request cut off as the
            # service stops) would otherwise leave its entry unreplayed until the next start.
            self.pending.set()
            for _, written in batch:
                if not written.done():  # its caller may have given up waiting
                    written.set_result(None)

    def _append_sync(self, line: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        _append_whole(self.path, line)  # under the lock: no replay renames it meanwhile

    def _reject(self, line: str) -> None:
        _append_whole(self.rejected, line + "\n")

    async def _apply_or_set_aside(
        self, line: str, apply: Callable[[Entry], Awaitable[None]], aside: _SetAside
    ) -> int:
        """1 when the entry on ``line`` is applied; 0 when it is set aside instead: it is
        unreadable (torn by a crash mid-append), ``apply`` rejected it, or an earlier entry
        of its call was set aside (``aside.calls``; kept in order, a call's entries are
        tried again together). A line already set aside is not set aside twice: a crash
        after setting it aside, before its spool file was removed, leaves it in both."""
        entry = _read(line)
        call = _call_of(entry)
        if entry is None:
            why = "it cannot be read (a line torn by a crash)"
        elif call in aside.calls:
            why = f"call {call}: an earlier entry of this call was set aside"
        else:
            try:
                await apply(entry)
                return 1
            except EntryRejected as rejected:
                why = str(rejected) or "it was rejected"
        if call is not None:
            aside.calls.add(call)
        if line in aside.lines:
            log.warning("spooled call entry already set aside in %s", self.rejected.name)
            return 0
        log.error("spooled call entry set aside in %s: %s", self.rejected.name, why)
        await asyncio.to_thread(self._reject, line)
        aside.lines.add(line)
        return 0

    async def replay(self, apply: Callable[[Entry], Awaitable[None]]) -> int:
        """Apply every spooled entry in order; a file is removed only once all of it applied.

        New entries appended during a replay go to a fresh file, picked up next time. A
        replay asked for while another runs waits for it, then replays what is left.
        """
        async with self._replaying:
            return await self._replay(apply)

    async def _replay(self, apply: Callable[[Entry], Awaitable[None]]) -> int:
        applied = 0
        async with self._lock:
            if self.path.exists():
                # Freeze the current file under a name that sorts after older frozen ones.
                frozen = self.directory / f"calls.{time.time_ns():020d}.jsonl"
                self.path.rename(frozen)
            # A rewrite a crash cut short (_keep_from): the file it was to replace is whole.
            for part in self.directory.glob("calls*.jsonl.part"):
                part.unlink(missing_ok=True)
        aside = await asyncio.to_thread(self._already_set_aside)
        for file in self._files():
            if file == self.path:
                continue
            lines = file.read_text(encoding="utf-8").splitlines()
            for at, line in enumerate(lines):
                if not line.strip():
                    continue
                try:
                    applied += await self._apply_or_set_aside(line, apply, aside)
                except BaseException:
                    # Redis went away again, or the replay was stopped: the file keeps only
                    # this entry and those after it, so what was applied is not applied again.
                    if at:
                        try:
                            await asyncio.to_thread(_keep_from, file, lines[at:])
                        except OSError as error:
                            # The whole file is kept instead; the replay's own error stands.
                            log.error("spool file kept whole (%s)", type(error).__name__)
                    raise
            file.unlink()
        if not self._files():
            self.pending.clear()
        return applied


@dataclass
class _SetAside:
    """What a replay finds set aside, and sets aside itself: lines, and the calls they are of."""

    lines: set[str] = field(default_factory=set)
    calls: set[str] = field(default_factory=set)


def _read(line: str) -> Any:
    """The entry on ``line``; None if it cannot be read (torn by a crash mid-append)."""
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        return None


def _call_of(entry: Any) -> str | None:
    """The entry's call SID, if it is an entry with one."""
    call = entry.get("call_sid") if isinstance(entry, dict) else None
    return call if isinstance(call, str) else None


def _count_lines(file: Path) -> int:
    """The entries in a spool file; 0 when there is none (a replay may remove a file
    between listing and reading)."""
    with contextlib.suppress(FileNotFoundError), file.open(encoding="utf-8") as lines:
        return sum(1 for line in lines if line.strip())
    return 0


def _append_whole(path: Path, lines: str) -> None:
    """Append ``lines`` (each ending in a line break) to ``path``, all on disk (fsync'd)
    or none of them: a file only the service's user may read (it holds numbers called)."""
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            # The last append was torn by a crash: start on a line of our own.
            lines = "\n" + lines
        try:
            _write_all(fd, lines.encode("utf-8"))
        except OSError:
            # A full disk, say: take back what part was written, so no torn line is left
            # (to be set aside, or for the next lines to be appended to); the caller gets
            # the error.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        _sync_directory(path.parent)  # the new file's name, on disk with its lines


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data``: ``os.write`` may write only part of it (a nearly full disk)
    and say so only by the count it returns."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, "the spool's disk took no more of the entry")
        view = view[written:]


def _keep_from(file: Path, lines: list[str]) -> None:
    """Replace ``file`` with ``lines``, on disk before it is replaced (a crash leaves the
    old file or the new, never part of one)."""
    part = file.with_name(file.name + ".part")  # not a spool file (calls*.jsonl)
    with part.open("w", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in lines))
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, file)
    _sync_directory(file.parent)


def _sync_directory(path: Path) -> None:
    """Put a directory's entries (a file made or renamed in it) on disk."""
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
