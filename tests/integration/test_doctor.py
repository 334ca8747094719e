"""``callguard doctor`` on a good and on a broken configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.processes import clean_env, run_cli, serve_env
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(60)


async def test_a_good_configuration_passes_every_check(
    tmp_path: Path, twilio: TwilioStandIn
) -> None:
    env = serve_env(tmp_path / "data", 8080)
    env["CALLGUARD_TWILIO_API_BASE"] = twilio.base_url
    code, out, _err = await run_cli(["doctor"], env, tmp_path)
    print(out)
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[1].startswith("[ok]   policy ")
    assert lines[1].endswith("lancashire-opcc.toml: 8 reason codes, reviews every 3 months at most")
    assert lines[:1] + lines[2:] == [
        "[ok]   settings: everything 'callguard serve' needs is set",
        "[ok]   public URL: https://callguard.example.org",
        "[ok]   Redis: answers PING",
        "[ok]   Redis durability: AOF on, appendfsync always",
        "[ok]   Twilio credentials: account Stand-in account is active",
        "All checks passed.",
    ]
    [account_read] = twilio.requests
    assert (account_read.method, account_read.path) == (
        "GET",
        f"/2010-04-01/Accounts/{env['CALLGUARD_TWILIO_ACCOUNT_SID']}.json",
    )


async def test_a_broken_configuration_says_what_is_wrong(
    tmp_path: Path, twilio: TwilioStandIn
) -> None:
    twilio.fail_with = 401
    env = clean_env(
        CALLGUARD_DATA_DIR=str(tmp_path / "data"),
        CALLGUARD_PUBLIC_URL="http://callguard.example.org/prefix",
        CALLGUARD_TWILIO_ACCOUNT_SID="AC" + "2" * 32,
        CALLGUARD_TWILIO_AUTH_TOKEN="wrong",
        CALLGUARD_TWILIO_API_BASE=twilio.base_url,
    )
    code, out, _err = await run_cli(["doctor"], env, tmp_path)
    print(out)
    assert code == 1
    lines = out.strip().splitlines()
    assert (
        "[FAIL] settings: CALLGUARD_DEFAULT_ROUTE: required by 'callguard serve' but not set"
        in lines
    )
    assert "[FAIL] public URL: must be https: Twilio sends caller data to it" in lines
    assert any(line.startswith("[warn] public URL: has a path (/prefix)") for line in lines)
    assert any(
        line.startswith("[FAIL] Twilio credentials: wrong account SID or auth token")
        for line in lines
    )
    assert lines[-1] == "Some checks failed."
