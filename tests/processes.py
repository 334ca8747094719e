"""Running the ``callguard`` command as a real process, for CLI and fault tests."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

CLI = [sys.executable, "-m", "callguard.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLGUARD_")}
    env.update(extra)
    return env


# Tests of exactness (quotas, records) must not be confounded by the fail-open path, which
# a saturated test machine can trigger with the production budget; the fail-open tests set
# CALLGUARD_REDIS_TIMEOUT_MS back to the default themselves.
GENEROUS_REDIS_TIMEOUT_MS = "2000"


def serve_env(data_dir: Path, port: int) -> dict[str, str]:
    return clean_env(
        CALLGUARD_PORT=str(port),
        CALLGUARD_DATA_DIR=str(data_dir),
        CALLGUARD_PUBLIC_URL="https://callguard.example.org",
        CALLGUARD_TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        CALLGUARD_TWILIO_AUTH_TOKEN="secret-token",
        CALLGUARD_DEFAULT_ROUTE="+441772000100",
        CALLGUARD_TWILIO_API_BASE="http://127.0.0.1:9",
        CALLGUARD_REDIS_TIMEOUT_MS=GENEROUS_REDIS_TIMEOUT_MS,
    )


def redis_pids(data_dir: Path) -> list[int]:
    """redis-server processes serving ``data_dir`` (found by their socket path)."""
    pids = []
    marker = str(data_dir.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "redis-server" in cmdline and marker in cmdline:
            pids.append(int(entry.name))
    return pids


@asynccontextmanager
async def running(
    args: list[str], env: dict[str, str], cwd: Path
) -> AsyncIterator[tuple[asyncio.subprocess.Process, list[str]]]:
    """Start the CLI and wait (reading its output, not sleeping) until it listens."""
    process = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(30):
            while True:
                raw = await process.stdout.readline()
                if not raw:
                    raise AssertionError("exited early:\n" + "".join(lines))
                lines.append(raw.decode())
                if "CallGuard listening on" in lines[-1]:
                    break
        yield process, lines
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            async with asyncio.timeout(20):
                await process.wait()


def get_json(url: str, token: str | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def post_json(url: str, body: dict[str, object], token: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


async def run_cli(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def process_exit(pid: int) -> None:
    """Wait for any process (not only a child) to exit, without polling: a pidfd becomes
    readable when the process ends."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    gone = loop.create_future()
    loop.add_reader(fd, gone.set_result, None)
    try:
        await gone
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(pid)
