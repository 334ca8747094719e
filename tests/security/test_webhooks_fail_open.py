"""Every webhook fails open (CONTRACT §6): while Redis is down or stalled, a refused
caller's follow-ups (the keypress, the message, the other leg's result, the unanswered
SPOC) are answered with TwiML at once, never 5xx, and what the caller did is spooled
(fsync'd) and reaches the store when Redis is back, replayed idempotently.

Like tests/integration/test_fail_open.py, these kill (or pause) a Redis of their own."""

from __future__ import annotations

import asyncio
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from callguard import urls
from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, DEFAULT_ROUTE, POLICY_PATH, PUBLIC_URL, auth
from tests.fault_helpers import Client, KillableRedis, app_client, create_tokens
from tests.helpers import (
    call_record,
    create_person,
    create_strategy,
    inbound_call,
    new_call_sid,
    post_signed,
    services,
)
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(60)

BLOCKED_PHONE = "+447700900123"
SPOC_CALLER = "+447700900456"
SPOC_PHONE = "+441772000001"
ANSWER_BOUND_S = 1.0  # a bound, not a benchmark


def fault_settings(
    killable: KillableRedis, twilio: TwilioStandIn, tmp_path: Path, timeout_ms: int
) -> Settings:
    return Settings(
        redis_timeout_ms=timeout_ms,
        redis_url=killable.url,
        data_dir=tmp_path / "data",
        public_url=PUBLIC_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base=twilio.base_url,
        default_route=DEFAULT_ROUTE,
        policy=POLICY_PATH,
        scheduler_enabled=False,
    )


def parse(twiml: str) -> ET.Element:
    root = ET.fromstring(twiml)  # noqa: S314 - our own TwiML, not untrusted input
    assert root.tag == "Response", twiml
    return root


async def answer(client: Client, url: str, params: list[tuple[str, str]]) -> ET.Element:
    """POST a callback URL CallGuard gave Twilio, signed; it must be TwiML, and at once."""
    assert url.startswith(PUBLIC_URL), url
    started = time.perf_counter()
    response = await post_signed(client, url.removeprefix(PUBLIC_URL), params)
    text = await response.text()
    elapsed = time.perf_counter() - started
    assert response.status == 200, (url, response.status, text)
    assert response.content_type == "text/xml", (url, text)
    assert elapsed < ANSWER_BOUND_S, (url, elapsed)
    return parse(text)


def recording(call_sid: str, digit: str) -> list[tuple[str, str]]:
    return [
        ("AccountSid", ACCOUNT_SID),
        ("CallSid", call_sid),
        ("RecordingSid", "RE" + digit * 32),
        ("RecordingUrl", f"https://api.twilio.com/2010-04-01/Recordings/RE{digit}"),
        ("RecordingDuration", "25"),
    ]


async def _refused_and_spoc_calls(client: Client, manager: str) -> tuple[str, ET.Element, str]:
    blocked = await create_person(client, manager, phones=[BLOCKED_PHONE])
    await create_strategy(client, manager, blocked["id"], [{"kind": "phone_blocked"}])
    with_spoc = await create_person(client, manager, name="B. Person", phones=[SPOC_CALLER])
    await create_strategy(
        client,
        manager,
        with_spoc["id"],
        [{"kind": "spoc", "name": "Jo Bloggs", "phone": SPOC_PHONE}],
    )
    refused_sid = new_call_sid()
    refused = await inbound_call(client, BLOCKED_PHONE, refused_sid)
    assert refused.headers["X-CallGuard-Outcome"] == "refuse"
    spoc_sid = new_call_sid()
    spoc = await inbound_call(client, SPOC_CALLER, spoc_sid)
    assert spoc.headers["X-CallGuard-Outcome"] == "divert_spoc"
    await services(client).background.drain()
    return refused_sid, parse(await refused.text()), spoc_sid


async def _follow_ups_while_away(
    client: Client, refused_sid: str, refused: ET.Element, spoc_sid: str
) -> None:
    callbacks = services(client).callbacks
    # The refused caller presses 1 (a different matter), then leaves a message.
    gather = refused.find("Gather")
    assert gather is not None
    pressed = await answer(
        client,
        gather.attrib["action"],
        [("AccountSid", ACCOUNT_SID), ("CallSid", refused_sid), ("Digits", "1")],
    )
    record = pressed.find("Record")
    assert record is not None, ET.tostring(pressed, encoding="unicode")
    thanked = await answer(client, record.attrib["action"], recording(refused_sid, "4"))
    assert thanked.find("Hangup") is not None
    assert "Thank you" in "".join(thanked.itertext())

    # The SPOC does not answer: the leg's result, then the caller is offered a message.
    await answer(
        client,
        callbacks.leg(spoc_sid),
        [("AccountSid", ACCOUNT_SID), ("CallSid", "CA" + "9" * 32), ("CallStatus", "no-answer")],
    )
    offered = await answer(
        client, callbacks.unanswered(spoc_sid), [("AccountSid", ACCOUNT_SID), ("CallSid", spoc_sid)]
    )
    record = offered.find("Record")
    assert record is not None
    await answer(client, record.attrib["action"], recording(spoc_sid, "5"))


async def _kept_once_back(
    client: Client, manager: str, refused_sid: str, spoc_sid: str
) -> dict[str, dict[str, object]]:
    await services(client).screening.replay_spool()
    assert services(client).spool.depth() == 0
    refused = await call_record(client, manager, refused_sid)
    assert refused["new_matter_claimed"] is True
    assert refused["message"]["recording_sid"] == "RE" + "4" * 32
    assert refused["message"]["new_matter"] is True
    spoc = await call_record(client, manager, spoc_sid)
    assert spoc["other_leg_status"] == "no-answer"
    assert spoc["message"]["recording_sid"] == "RE" + "5" * 32
    assert spoc["message"]["for_spoc"] == "Jo Bloggs"
    listed = await (await client.get("/api/v1/messages", headers=auth(manager))).json()
    assert sorted(c["call_sid"] for c in listed["items"]) == sorted([refused_sid, spoc_sid])
    return {"refused": refused, "spoc": spoc}


async def test_with_redis_killed_every_follow_up_answers_twiml_and_the_message_is_kept(
    killable: KillableRedis,
    twilio: TwilioStandIn,
    tmp_path: Path,
    policy: Policy,
    clock: FixedClock,
) -> None:
    settings = fault_settings(killable, twilio, tmp_path, timeout_ms=250)
    async with app_client(settings, policy, clock) as client:
        manager = (await create_tokens(killable.url))["manager"]
        refused_sid, refused, spoc_sid = await _refused_and_spoc_calls(client, manager)

        await killable.kill()
        await _follow_ups_while_away(client, refused_sid, refused, spoc_sid)
        spool = services(client).spool
        assert spool.depth() >= 4  # keypress, two messages, the leg's result
        saved = Path(str(settings.data_dir / "spool") + ".saved")
        async with spool._replaying:
            await asyncio.to_thread(shutil.copytree, spool.directory, saved)

        await killable.restart()
        first = await _kept_once_back(client, manager, refused_sid, spoc_sid)

        # The same spool replayed again changes nothing.
        await asyncio.to_thread(shutil.copytree, saved, spool.directory, dirs_exist_ok=True)
        assert await services(client).screening.replay_spool() > 0
        assert await _kept_once_back(client, manager, refused_sid, spoc_sid) == first


async def test_with_redis_stalled_every_follow_up_answers_within_the_bound(
    killable: KillableRedis,
    twilio: TwilioStandIn,
    tmp_path: Path,
    policy: Policy,
    clock: FixedClock,
) -> None:
    """Redis alive but not answering: each follow-up waits no longer than the inbound
    call's budget (2 x 100 ms here), then answers from what it knows and spools."""
    settings = fault_settings(killable, twilio, tmp_path, timeout_ms=100)
    async with app_client(settings, policy, clock) as client:
        manager = (await create_tokens(killable.url))["manager"]
        refused_sid, refused, spoc_sid = await _refused_and_spoc_calls(client, manager)

        await services(client).redis.client_pause(4000, all=True)
        await _follow_ups_while_away(client, refused_sid, refused, spoc_sid)
        assert services(client).spool.depth() >= 4

        await _kept_once_back(client, manager, refused_sid, spoc_sid)


async def test_a_status_callback_with_redis_stalled_answers_at_once(
    killable: KillableRedis,
    twilio: TwilioStandIn,
    tmp_path: Path,
    policy: Policy,
    clock: FixedClock,
) -> None:
    settings = fault_settings(killable, twilio, tmp_path, timeout_ms=100)
    async with app_client(settings, policy, clock) as client:
        manager = (await create_tokens(killable.url))["manager"]
        call_sid = new_call_sid()
        assert (await inbound_call(client, "07911 123456", call_sid)).status == 200
        await services(client).redis.client_pause(2000, all=True)
        await answer(
            client,
            PUBLIC_URL + urls.STATUS,
            [("CallSid", call_sid), ("CallStatus", "completed"), ("CallDuration", "7")],
        )
        await services(client).screening.replay_spool()
        record = await call_record(client, manager, call_sid)
        assert (record["status"], record["duration_s"]) == ("completed", 7)
