"""The ``callguard`` command as a user runs it: real processes, real embedded Redis."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(90)

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


def serve_env(data_dir: Path, port: int) -> dict[str, str]:
    return clean_env(
        CALLGUARD_PORT=str(port),
        CALLGUARD_DATA_DIR=str(data_dir),
        CALLGUARD_PUBLIC_URL="https://callguard.example.org",
        CALLGUARD_TWILIO_ACCOUNT_SID="AC" + "1" * 32,
        CALLGUARD_TWILIO_AUTH_TOKEN="secret-token",
        CALLGUARD_DEFAULT_ROUTE="+441772000100",
        CALLGUARD_TWILIO_API_BASE="http://127.0.0.1:9",
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


async def test_serve_without_settings_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    port = free_port()
    code, _out, err = await run_cli(["serve"], clean_env(CALLGUARD_PORT=str(port)), tmp_path)
    assert code == 2
    lines = err.strip().splitlines()
    assert lines == [
        "callguard: CALLGUARD_PUBLIC_URL: required by 'callguard serve' but not set",
        "callguard: CALLGUARD_TWILIO_ACCOUNT_SID: required by 'callguard serve' but not set",
        "callguard: CALLGUARD_TWILIO_AUTH_TOKEN: required by 'callguard serve' but not set",
        "callguard: CALLGUARD_DEFAULT_ROUTE: required by 'callguard serve' but not set",
    ]
    # Nothing listened and no Redis was started.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert not (tmp_path / "var").exists()


async def test_serve_with_invalid_settings_names_each(tmp_path: Path) -> None:
    env = serve_env(tmp_path / "data", free_port())
    env.update(
        CALLGUARD_PORT="eighty",
        CALLGUARD_TIMEZONE="Mars/Olympus",
        CALLGUARD_DEFAULT_ROUTE="12",
        CALLGUARD_PUBLIC_URL="callguard.example.org",
    )
    code, _out, err = await run_cli(["serve"], env, tmp_path)
    assert code == 2
    problems = sorted(line.split(":")[1].strip() for line in err.strip().splitlines())
    assert problems == [
        "CALLGUARD_DEFAULT_ROUTE",
        "CALLGUARD_PORT",
        "CALLGUARD_PUBLIC_URL",
        "CALLGUARD_TIMEZONE",
    ]


async def test_serve_with_a_broken_policy_file_exits_2(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[office]\nname = "x"\n')
    env = serve_env(tmp_path / "data", free_port())
    env["CALLGUARD_POLICY"] = str(policy)
    code, _out, err = await run_cli(["serve"], env, tmp_path)
    assert code == 2
    assert "CALLGUARD_POLICY" in err and "reviews" in err


async def test_demo_starts_answers_readyz_and_ctrl_c_leaves_no_redis(tmp_path: Path) -> None:
    port = free_port()
    async with running(["demo"], clean_env(CALLGUARD_PORT=str(port)), tmp_path) as (process, out):
        status, body = get_json(f"http://127.0.0.1:{port}/readyz")
        assert (status, body["status"]) == (200, "ready")
        assert any("demo running at" in line for line in out)
        assert len(redis_pids(tmp_path / "var" / "demo")) == 1
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            assert await process.wait() == 0
    assert redis_pids(tmp_path / "var" / "demo") == []
    assert (tmp_path / "var" / "demo" / "redis" / "appendonlydir").is_dir()


async def test_simulate_call_tells_what_the_caller_hears(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(CALLGUARD_PORT=str(port))
    async with running(["demo"], env, tmp_path):
        code, out, _err = await run_cli(["simulate-call", "--from", "07700 900106"], env, tmp_path)
        assert code == 0
        assert "Decision: refuse (rule: phone_blocked)" in out
        assert "call 999" in out and "leave a message" in out
        code, out, _err = await run_cli(
            ["simulate-call", "--from", "07700 900104", "--digits", "1"], env, tmp_path
        )
        assert "rule: written_only" in out and "complaints@opcc.example" in out
        assert "After pressing 1" in out and "new matter" in out
        code, out, _err = await run_cli(["simulate-call", "--from", "07700 900102"], env, tmp_path)
        assert "Decision: divert_spoc (rule: spoc)" in out
        assert "The call goes to: +441772000001" in out


async def test_a_strategy_survives_sigkill_of_redis_and_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    env = serve_env(data_dir, port)
    base = f"http://127.0.0.1:{port}"
    async with running(["serve"], env, tmp_path):
        code, token, err = await run_cli(
            ["token", "create", "--user", "mo", "--role", "manager"], env, tmp_path
        )
        assert code == 0, err
        token = token.strip()
        assert token.startswith("cg_") and "\n" not in token
        status, person = post_json(
            f"{base}/api/v1/people", {"name": "A. Person", "phones": ["07700 900123"]}, token
        )
        assert status == 201
        status, strategy = post_json(
            f"{base}/api/v1/strategies",
            {
                "person_id": person["id"],
                "matter_ref": "CMP-1",
                "reason": "Abusive calls",
                "restrictions": [{"kind": "phone_blocked"}],
                "review_due": "2099-01-01",
            },
            token,
        )
        assert status == 422  # review_due too far ahead: nothing stored
        from datetime import date, timedelta

        due = (date.today() + timedelta(days=30)).isoformat()
        status, strategy = post_json(
            f"{base}/api/v1/strategies",
            {
                "person_id": person["id"],
                "matter_ref": "CMP-1",
                "reason": "Abusive calls",
                "restrictions": [{"kind": "phone_blocked"}],
                "review_due": due,
            },
            token,
        )
        assert status == 201
        [redis_pid] = redis_pids(data_dir)
        os.kill(redis_pid, signal.SIGKILL)
        status, _ = get_json(f"{base}/readyz")
        assert status == 503
    # The socket file left by the killed redis-server must not stop the restart.
    assert (data_dir / "redis" / "redis.sock").exists()
    async with running(["serve"], env, tmp_path):
        status, stored = get_json(f"{base}/api/v1/strategies/{strategy['id']}", token)
        assert status == 200
        assert stored["status"] == "active" and stored["restrictions"] == [
            {"kind": "phone_blocked"}
        ]
    assert redis_pids(data_dir) == []
