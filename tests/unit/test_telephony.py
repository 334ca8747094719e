"""Dialling the other leg with one aiohttp POST sends byte for byte the request twilio's
own client sends (``participants.create_async``), and fails as it fails."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st
from twilio.base.exceptions import TwilioRestException
from yarl import URL

from callguard.telephony import DIAL_EVENTS, TwilioTelephony, dial_form

pytestmark = pytest.mark.timeout(30)

ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
CALL_SID = "CA" + "0123456789abcdef" * 2


@dataclass
class Seen:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """Records each request whole; answers ``status`` with ``answer``."""

    seen: list[Seen] = field(default_factory=list)
    status: int = 201
    answer: dict[str, Any] = field(default_factory=lambda: {"call_sid": "CA1", "label": "staff"})

    async def handle(self, request: web.Request) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k != "Host"}
        self.seen.append(Seen(request.method, request.path_qs, headers, await request.read()))
        return web.json_response(self.answer, status=self.status)


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, str]]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield recorder, str(server.make_url("")).rstrip("/")
    await server.close()


DIALS: list[dict[str, Any]] = [
    {
        "to": "+441772000100",
        "caller_id": "+441772000000",
        "label": "staff",
        "ring_timeout_s": 25,
        "time_limit_s": None,
    },
    {
        "to": "sip:duty@pbx.example.org",
        "caller_id": "+441772000000",
        "label": "staff & co",
        "ring_timeout_s": 40,
        "time_limit_s": 600,
    },
]


async def twilio_client_dial(telephony: TwilioTelephony, conference: str, **dial: Any) -> None:
    """What ``dial_into_conference`` did with twilio's client before."""
    extra: dict[str, Any] = {}
    if dial["time_limit_s"] is not None:
        extra["time_limit"] = dial["time_limit_s"]
    await telephony.client.conferences(conference).participants.create_async(
        from_=dial["caller_id"],
        to=dial["to"],
        label=dial["label"],
        timeout=dial["ring_timeout_s"],
        status_callback=dial["status_callback"],
        status_callback_method="POST",
        status_callback_event=["initiated", "ringing", "answered", "completed"],
        start_conference_on_enter=True,
        end_conference_on_exit=True,
        beep="false",
        **extra,
    )


@pytest.mark.parametrize("dial", DIALS)
async def test_the_dial_is_the_request_twilios_client_sends(
    recorder: tuple[Recorder, str], dial: dict[str, Any]
) -> None:
    seen, base = recorder
    telephony = TwilioTelephony(ACCOUNT_SID, AUTH_TOKEN, base)
    conference = f"cg-{CALL_SID}"
    callback = f"https://callguard.test.example/webhooks/twilio/leg?call_sid={CALL_SID}"
    try:
        await twilio_client_dial(telephony, conference, status_callback=callback, **dial)
        await telephony.dial_into_conference(
            conference=conference, status_callback=callback, **dial
        )
    finally:
        await telephony.close()
    by_twilio, by_us = seen.seen
    assert by_us == by_twilio
    assert by_us.method == "POST"
    assert by_us.path_qs == (
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{conference}/Participants.json"
    )
    assert by_us.headers["Authorization"].startswith("Basic ")
    assert ("TimeLimit=" in by_us.body.decode()) is (dial["time_limit_s"] is not None)


async def test_a_refused_dial_raises_what_twilios_client_raises(
    recorder: tuple[Recorder, str],
) -> None:
    seen, base = recorder
    seen.status = 400
    seen.answer = {"code": 21220, "message": "Invalid call state", "status": 400}
    telephony = TwilioTelephony(ACCOUNT_SID, AUTH_TOKEN, base)
    dial = {**DIALS[0], "status_callback": "https://callguard.test.example/leg"}
    try:
        with pytest.raises(TwilioRestException) as by_twilio:
            await twilio_client_dial(telephony, "cg-x", **dial)
        with pytest.raises(TwilioRestException) as by_us:
            await telephony.dial_into_conference(conference="cg-x", **dial)
    finally:
        await telephony.close()
    for attribute in ("status", "uri", "msg", "code", "method", "details"):
        assert getattr(by_us.value, attribute) == getattr(by_twilio.value, attribute), attribute
    assert (by_us.value.status, by_us.value.code) == (400, 21220)


async def test_a_dial_twilio_does_not_answer_gives_up_after_the_dial_timeout() -> None:
    arrived, release = asyncio.Event(), asyncio.Event()

    async def never_answers(request: web.Request) -> web.Response:
        arrived.set()
        await release.wait()
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", never_answers)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    telephony = TwilioTelephony(ACCOUNT_SID, AUTH_TOKEN, base, dial_timeout_s=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await telephony.dial_into_conference(
                conference="cg-x", status_callback="https://callguard.test.example/leg", **DIALS[0]
            )
        assert arrived.is_set()
        assert 0.3 <= time.monotonic() - started < 5
    finally:
        release.set()
        await telephony.close()
        await server.close()


TEXT = st.text(max_size=40)


@given(
    caller_id=TEXT,
    to=TEXT,
    label=TEXT,
    status_callback=TEXT,
    ring_timeout_s=st.integers(0, 10**6),
    time_limit_s=st.none() | st.integers(0, 10**6),
)
def test_the_form_is_encoded_as_urlencode_encodes_it(
    caller_id: str,
    to: str,
    label: str,
    status_callback: str,
    ring_timeout_s: int,
    time_limit_s: int | None,
) -> None:
    fields = [
        ("From", caller_id),
        ("To", to),
        ("StatusCallback", status_callback),
        ("StatusCallbackMethod", "POST"),
        *[("StatusCallbackEvent", event) for event in DIAL_EVENTS],
        ("Label", label),
        ("Timeout", str(ring_timeout_s)),
        ("Beep", "false"),
        ("StartConferenceOnEnter", "true"),
        ("EndConferenceOnExit", "true"),
    ]
    if time_limit_s is not None:
        fields.append(("TimeLimit", str(time_limit_s)))
    encoded = dial_form(
        caller_id=caller_id,
        to=to,
        label=label,
        status_callback=status_callback,
        ring_timeout_s=ring_timeout_s,
        time_limit_s=time_limit_s,
    )
    assert encoded == urlencode(fields)


@pytest.mark.parametrize(
    "api_base", ["http://127.0.0.1:8081", "https://api.example.org/", "http://host/demo/twilio"]
)
@pytest.mark.parametrize("conference", [f"cg-{CALL_SID}", "cg-x", "cg two/ü"])
async def test_the_dial_url_is_the_one_the_string_form_names(
    api_base: str, conference: str
) -> None:
    """The URL built from a base parsed once is the URL the string names (the request line
    sent is its ``raw_path_qs``); a name needing escapes takes the string, as before."""
    telephony = TwilioTelephony(ACCOUNT_SID, AUTH_TOKEN, api_base)
    try:
        named = (
            f"{api_base.rstrip('/')}/2010-04-01/Accounts/{ACCOUNT_SID}"
            f"/Conferences/{conference}/Participants.json"
        )
        built = URL(telephony.participants_url(conference))
        assert built == URL(named)
        assert built.raw_path_qs == URL(named).raw_path_qs
    finally:
        await telephony.close()
