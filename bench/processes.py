"""The bench's child processes: started apart from the load generator, watched through
``/proc`` (CPU and memory), and always stopped, whatever happened."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ENTRY_POINT = Path(__file__).resolve().with_name("webhook.py")
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _die_with_parent() -> None:
    """In the child: SIGTERM it if the bench itself dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid


@dataclass
class Children:
    """Every server the bench starts (``webhook.py --role ...``); ``stop_all`` ends them."""

    workdir: Path
    running: list[Child] = field(default_factory=list)

    def start(
        self,
        name: str,
        role_args: Sequence[str],
        timeout_s: float = 30.0,
        *,
        tree: Path | None = None,
    ) -> Child:
        """Start a server and wait until it listens (it writes its port to a file).
        ``tree``: a copy of the repository to run it from, its own CallGuard first on the
        path (``bench/ab.py``); by default this one."""
        ready = self.workdir / f"{name}.port"
        ready.unlink(missing_ok=True)
        log_path = self.workdir / f"{name}.log"
        entry = tree / "bench" / "webhook.py" if tree else ENTRY_POINT
        env = {**os.environ, "PYTHONPATH": str(tree)} if tree else None
        argv = [sys.executable, str(entry), "--role", *role_args, "--ready", str(ready)]
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the bench, which stops them in order
                preexec_fn=_die_with_parent,
            )
        child = Child(name, process, log_path)
        self.running.append(child)
        deadline = time.monotonic() + timeout_s
        while not ready.exists() or not ready.read_text().strip():
            if process.poll() is not None or time.monotonic() > deadline:
                self.stop(child)
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} did not start:\n{tail}")
            time.sleep(0.05)
        child.port = int(ready.read_text())
        return child

    def stop(self, child: Child) -> None:
        if child.process.poll() is None:
            child.process.terminate()
            try:
                child.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(timeout=10)
        if child in self.running:
            self.running.remove(child)

    def stop_all(self) -> None:
        for child in reversed(list(self.running)):
            self.stop(child)


def rss_mib(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
    return int(found["VmRSS"]) / 1024, int(found["VmHWM"]) / 1024


def cpu_s(pid: int) -> float:
    """CPU time (user + system) a process has used so far. Unlike throughput, CPU per
    request hardly moves when other work shares the machine."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S  # utime, stime
