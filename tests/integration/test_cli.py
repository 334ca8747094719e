"""The ``callguard`` command as a user runs it: real processes, real embedded Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from pathlib import Path

import pytest

from tests.processes import (
    clean_env,
    free_port,
    get_json,
    post_json,
    redis_pids,
    run_cli,
    running,
    serve_env,
)

pytestmark = pytest.mark.timeout(90)


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


async def test_serve_refuses_malformed_twilio_credentials_and_sso_settings(
    tmp_path: Path,
) -> None:
    """An empty auth token would make every webhook forgeable with an empty key (§5);
    every setting, single sign-on and the log format included, is checked before listening."""
    port = free_port()
    env = serve_env(tmp_path / "data", port)
    env.update(
        CALLGUARD_TWILIO_ACCOUNT_SID="nope",
        CALLGUARD_TWILIO_AUTH_TOKEN="",
        CALLGUARD_LOG_FORMAT="xml",
    )
    code, _out, err = await run_cli(["serve"], env, tmp_path)
    assert (code, err.strip()) == (2, "callguard: CALLGUARD_LOG_FORMAT: must be text or json")
    env.update(CALLGUARD_LOG_FORMAT="json", CALLGUARD_SSO_HEADER="X-Forwarded-User")
    code, _out, err = await run_cli(["serve"], env, tmp_path)
    assert code == 2
    assert "CALLGUARD_SSO_TRUSTED_PROXIES must name the proxy's addresses" in err
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    env.update(CALLGUARD_SSO_HEADER="")
    code, _out, err = await run_cli(["serve"], env, tmp_path)
    assert code == 2
    assert err.strip().splitlines() == [
        "callguard: CALLGUARD_TWILIO_ACCOUNT_SID: must be AC followed by 32 hexadecimal "
        "digits, as shown in the Twilio Console",
        "callguard: CALLGUARD_TWILIO_AUTH_TOKEN: required by 'callguard serve' but empty",
    ]
    assert not (tmp_path / "data").exists()


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
                "notified_on": date.today().isoformat(),
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
