"""Calls placed with ``callguard simulate-call`` against a real ``callguard demo`` process
behave as the console's own: the demo's phone system answers them, staff can warn and end
them, and a refused caller can leave a message; the demo keeps its data in
CALLGUARD_DATA_DIR."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from tests.processes import clean_env, free_port, get_json, post_json, run_cli, running

pytestmark = pytest.mark.timeout(90)

# The phone system's callbacks arrive a moment after simulate-call returns; a change of a
# record in another process cannot be awaited, so it is read again until it shows.
SETTLE_S = 10.0


def token_of(lines: list[str], user: str) -> str:
    for line in lines:
        found = re.match(rf"\s+{user}\s+\S+\s+([A-Za-z0-9_\-.]{{20,}})\s*$", line)
        if found:
            return found.group(1)
    raise AssertionError(f"no API token for {user} in:\n" + "".join(lines))


def call_sid_of(out: str) -> str:
    found = re.search(r"Call (CA[0-9a-f]{32}) from", out)
    assert found, out
    return found.group(1)


async def record_when(base: str, token: str, call_sid: str, done: Any) -> dict[str, Any]:
    async with asyncio.timeout(SETTLE_S):
        while True:
            status, record = await asyncio.to_thread(
                get_json, f"{base}/api/v1/calls/{call_sid}", token
            )
            if status == 200 and done(record):
                return record
            await asyncio.sleep(0.1)


async def test_a_cli_call_is_answered_warned_and_ended_and_a_refused_one_leaves_a_message(
    tmp_path: Path,
) -> None:
    port = free_port()
    data_dir = tmp_path / "chosen"
    env = clean_env(CALLGUARD_PORT=str(port), CALLGUARD_DATA_DIR=str(data_dir))
    base = f"http://127.0.0.1:{port}"
    async with running(["demo"], env, tmp_path) as (_process, lines):
        # The demo keeps its data where CALLGUARD_DATA_DIR says.
        assert (data_dir / "redis").is_dir()
        assert not (tmp_path / "var").exists()
        sam, morgan = token_of(lines, "sam"), token_of(lines, "morgan")
        code, out, err = await run_cli(["simulate-call", "--from", "07700 900103"], env, tmp_path)
        assert code == 0, err
        assert "stays on the line" in out
        call_sid = call_sid_of(out)
        live = await record_when(
            base,
            morgan,
            call_sid,
            lambda r: r.get("status") == "in-progress" and r.get("conference_sid"),
        )
        assert live["other_leg_status"] == "in-progress"

        status, warned = await asyncio.to_thread(
            post_json, f"{base}/api/v1/calls/{call_sid}/warnings", {"reason": "verbal_abuse"}, sam
        )
        assert status == 201, warned
        status, ended = await asyncio.to_thread(
            post_json, f"{base}/api/v1/calls/{call_sid}/end", {"reason": "verbal_abuse"}, sam
        )
        assert status == 200, ended
        assert ended["closing_statement_sent"] is True
        # The phone system plays the closing statement, then the caller's leg completes.
        finished = await record_when(base, morgan, call_sid, lambda r: r["status"] == "completed")
        assert finished["ended"]["reason"] == "verbal_abuse"

        code, out, err = await run_cli(
            ["simulate-call", "--from", "07700 900106", "--message", "Please call me back"],
            env,
            tmp_path,
        )
        assert code == 0, err
        assert "The caller leaves a message, now waiting to be triaged" in out
        # The words for a caller who leaves none are not said to be heard; the thanks are.
        assert "No message was recorded" not in out and "Thank you" in out
        refused_sid = call_sid_of(out)
        refused = await record_when(base, morgan, refused_sid, lambda r: r["status"] == "completed")
        assert refused["outcome"] == "refuse"
        assert refused["message"]["duration_s"] >= 1
        status, messages = await asyncio.to_thread(get_json, f"{base}/api/v1/messages", sam)
        assert status == 200
        assert refused_sid in str(messages)
