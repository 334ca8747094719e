"""SIGTERM stops ``callguard serve`` gracefully (docs/operations.md): a request in flight
still gets its answer, a record spooled while Redis was away is replayed into Redis before
the process exits, and the exit status is 0. A real process, a real Redis of the test's own."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from aiohttp import ClientSession
from multidict import MultiDict

from callguard.store.call_records import CallStore
from callguard.store.connection import connect
from callguard.store.keys import DEFAULT_PREFIX, Keys
from callguard.urls import LEG, VOICE
from tests.fault_helpers import KillableRedis
from tests.helpers import new_call_sid, sign, voice_params
from tests.processes import free_port, running, serve_env
from tests.twilio_standin import TwilioStandIn

PUBLIC_URL = "https://callguard.example.org"  # serve_env's
AUTH_TOKEN = "secret-token"  # serve_env's
ACCOUNT_SID = "AC" + "1" * 32  # serve_env's
STRANGER = "+447700900999"
STILL_IN_FLIGHT_S = 1.0


async def post_signed(port: int, path_and_query: str, params: list[tuple[str, str]]) -> str:
    """POST a webhook as Twilio would; the TwiML answered (asserting a 200)."""
    signature = sign(PUBLIC_URL + path_and_query, params, AUTH_TOKEN)
    async with (
        ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}{path_and_query}",
            data=MultiDict(params),
            headers={"X-Twilio-Signature": signature},
        ) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.text()


def inbound_params(call_sid: str) -> list[tuple[str, str]]:
    """An inbound call's form from a stranger, for serve_env's account."""
    return [
        ("AccountSid", ACCOUNT_SID) if name == "AccountSid" else (name, value)
        for name, value in voice_params(call_sid, STRANGER)
    ]


async def read_until(process: asyncio.subprocess.Process, out: list[str], text: str) -> None:
    """Read the service's output (not sleeping) until a line says ``text``."""
    assert process.stdout is not None
    async with asyncio.timeout(20):
        while not any(text in line for line in out):
            raw = await process.stdout.readline()
            if not raw:
                raise AssertionError(f"no line saying {text!r}:\n" + "".join(out))
            out.append(raw.decode())


async def exit_status(process: asyncio.subprocess.Process, out: list[str]) -> int:
    assert process.stdout is not None
    async with asyncio.timeout(20):
        out.extend((await process.stdout.read()).decode().splitlines(keepends=True))
        return await process.wait()


async def stored_record(redis_url: str, call_sid: str) -> bool:
    client = connect(redis_url)
    try:
        return await CallStore(client, Keys(DEFAULT_PREFIX)).get(call_sid) is not None
    finally:
        await client.aclose()


async def test_a_request_in_flight_at_sigterm_is_answered_and_serve_exits_0(
    tmp_path: Path, killable: KillableRedis, twilio: TwilioStandIn
) -> None:
    """The leg callback for an unanswered leg takes the caller to a message through
    Twilio's REST API, which the stand-in holds until the service is stopping."""
    port = free_port()
    env = serve_env(tmp_path / "data", port) | {
        "CALLGUARD_REDIS_URL": killable.url,
        "CALLGUARD_TWILIO_API_BASE": twilio.base_url,
    }
    call_sid = new_call_sid()
    async with running(["serve"], env, tmp_path) as (process, out):
        assert "<Dial" in await post_signed(port, VOICE, inbound_params(call_sid))
        await twilio.wait_for(1)  # the other leg dialled
        twilio.hold = asyncio.Event()
        try:
            leg = asyncio.create_task(
                post_signed(port, f"{LEG}?call_sid={call_sid}", [("CallStatus", "no-answer")])
            )
            redirect = (await twilio.wait_for(2))[1]  # the callback is in flight, held
            assert redirect.path.endswith(f"/Calls/{call_sid}.json")
            process.send_signal(signal.SIGTERM)
            await read_until(process, out, "stopping: finishing requests in flight")
            with pytest.raises(ConnectionRefusedError):  # no new connections taken
                await asyncio.open_connection("127.0.0.1", port)
            # Held a while past the stop: a request this slow is still given its answer.
            await asyncio.sleep(STILL_IN_FLIGHT_S)
        finally:
            twilio.hold.set()
        async with asyncio.timeout(10):
            assert "<Response" in await leg
        assert await exit_status(process, out) == 0, "".join(out)
    assert await stored_record(killable.url, call_sid)


async def test_background_work_in_flight_at_sigterm_finishes_before_serve_exits(
    tmp_path: Path, killable: KillableRedis, twilio: TwilioStandIn
) -> None:
    """An answered call's other leg is dialled through Twilio's REST API in the background;
    the stand-in holds that dial until the service is stopping."""
    port = free_port()
    env = serve_env(tmp_path / "data", port) | {
        "CALLGUARD_REDIS_URL": killable.url,
        "CALLGUARD_TWILIO_API_BASE": twilio.base_url,
    }
    async with running(["serve"], env, tmp_path) as (process, out):
        twilio.hold = asyncio.Event()
        try:
            assert "<Dial" in await post_signed(port, VOICE, inbound_params(new_call_sid()))
            [dial] = await twilio.wait_for(1)  # the other leg's dial is in flight, held
            assert dial.path.endswith("/Participants.json")
            process.send_signal(signal.SIGTERM)
            await read_until(process, out, "stopping: finishing 1 background tasks")
        finally:
            twilio.hold.set()
        assert await exit_status(process, out) == 0, "".join(out)
    said = "".join(out)
    assert "cancelled" not in said and "could not dial" not in said, said


async def test_a_record_spooled_while_redis_was_away_is_in_redis_after_sigterm(
    tmp_path: Path, killable: KillableRedis
) -> None:
    port = free_port()
    env = serve_env(tmp_path / "data", port) | {
        "CALLGUARD_REDIS_URL": killable.url,
        "CALLGUARD_REDIS_TIMEOUT_MS": "1000",
    }
    call_sid = new_call_sid()
    async with running(["serve"], env, tmp_path) as (process, out):
        await killable.kill()
        twiml = await post_signed(port, VOICE, inbound_params(call_sid))
        assert "<Dial" in twiml  # failed open: the record is spooled
        process.send_signal(signal.SIGTERM)
        # Redis comes back only once the replay loop has stopped and the stop's replay began.
        await read_until(process, out, "stopping: replaying 1 spooled call entries")
        await killable.restart()
        assert await exit_status(process, out) == 0, "".join(out)
    assert any("stopping: spool replayed" in line for line in out), "".join(out)
    assert await stored_record(killable.url, call_sid)
    assert not list((tmp_path / "data" / "spool").glob("calls*.jsonl"))
