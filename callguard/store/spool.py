"""The fail-open spool: call records and updates written to a local file while Redis is
unreachable, fsync'd before the webhook answers, and replayed when Redis is back.

Replay is idempotent (records are written only if absent), so a crash mid-replay, or the
same entry replayed twice, never duplicates a record.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

Entry = dict[str, Any]


class Spool:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / "calls.jsonl"
        self._lock = asyncio.Lock()
        self.pending = asyncio.Event()
        if self._files():
            self.pending.set()

    def _files(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob("calls*.jsonl"))

    def depth(self) -> int:
        return sum(1 for f in self._files() for _ in f.open(encoding="utf-8"))

    async def append(self, entry: Entry) -> None:
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        async with self._lock:
            await asyncio.to_thread(self._append_sync, line)
        self.pending.set()

    def _append_sync(self, line: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    async def replay(self, apply: Callable[[Entry], Awaitable[None]]) -> int:
        """Apply every spooled entry in order; a file is removed only once all of it applied.

        New entries appended during a replay go to a fresh file, picked up next time.
        """
        applied = 0
        async with self._lock:
            if self.path.exists():
                # Freeze the current file under a name that sorts after older frozen ones.
                frozen = self.directory / f"calls.{time.time_ns():020d}.jsonl"
                self.path.rename(frozen)
        for file in self._files():
            if file == self.path:
                continue
            for line in file.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    await apply(json.loads(line))
                    applied += 1
            file.unlink()
        if not self._files():
            self.pending.clear()
        return applied
