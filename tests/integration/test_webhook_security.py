"""X-Twilio-Signature on every webhook (CONTRACT §3): a missing or wrong signature gets 403
and changes nothing; a correct one is accepted, repeated parameters and the default port
included; bad input that is correctly signed gets 400 naming the field, never a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from multidict import MultiDict

from callguard import urls
from callguard.settings import Settings
from tests.conftest import AUTH_TOKEN, PUBLIC_URL, auth
from tests.helpers import (
    UNREADABLE_FORMS,
    Client,
    call_record,
    create_person,
    create_strategy,
    inbound_call,
    new_call_sid,
    post_signed,
    services,
    sign,
    voice_params,
)
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(30)

PERSON_PHONE = "+447700900123"
SPOC = {"kind": "spoc", "name": "Jo Bloggs", "phone": "+441772000001"}
VOICE = urls.VOICE


async def _state(client: Client, settings: Settings) -> dict[str, Any]:
    """Everything a webhook could change: every Redis key and value, the spool."""
    redis = services(client).redis
    snapshot: dict[str, Any] = {}
    for key in sorted(str(k) for k in await redis.keys("*")):
        kind = await redis.type(key)
        if kind == "hash":
            snapshot[key] = await redis.hgetall(key)
        elif kind == "zset":
            snapshot[key] = await redis.zrange(key, 0, -1, withscores=True)
        elif kind == "set":
            snapshot[key] = sorted(await redis.smembers(key))
        elif kind == "list":
            snapshot[key] = await redis.lrange(key, 0, -1)
        elif kind == "string":
            snapshot[key] = await redis.get(key)
        else:  # streams (the audit log): their length is enough to see an append
            snapshot[key] = (kind, await redis.xlen(key))
    snapshot["<spool>"] = _spool_files(settings.data_dir / "spool")
    return snapshot


def _spool_files(spool: Path) -> list[str]:
    return sorted(p.name for p in spool.glob("*")) if spool.exists() else []


async def _call_count(client: Client, tokens: dict[str, str]) -> int:
    log = await (await client.get("/api/v1/calls", headers=auth(tokens["manager"]))).json()
    total: int = log["total"]
    return total


async def _assert_refused_and_unchanged(
    client: Client,
    tokens: dict[str, str],
    twilio: TwilioStandIn,
    settings: Settings,
    call_sid: str,
    *,
    path: str = VOICE,
    params: list[tuple[str, str]],
    headers: dict[str, str],
) -> None:
    before = await _state(client, settings)
    response = await client.post(path, data=MultiDict(params), headers=headers)
    assert response.status == 403, await response.text()
    await services(client).background.drain()
    assert await _state(client, settings) == before
    missing = await client.get(f"/api/v1/calls/{call_sid}", headers=auth(tokens["manager"]))
    assert missing.status == 404
    assert await _call_count(client, tokens) == 0
    assert twilio.requests == []


async def test_a_missing_signature_is_refused(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, settings: Settings
) -> None:
    call_sid = new_call_sid()
    await _assert_refused_and_unchanged(
        client,
        tokens,
        twilio,
        settings,
        call_sid,
        params=voice_params(call_sid, PERSON_PHONE),
        headers={},
    )


async def test_an_empty_signature_is_refused(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, settings: Settings
) -> None:
    call_sid = new_call_sid()
    await _assert_refused_and_unchanged(
        client,
        tokens,
        twilio,
        settings,
        call_sid,
        params=voice_params(call_sid, PERSON_PHONE),
        headers={"X-Twilio-Signature": ""},
    )


async def test_a_tampered_parameter_is_refused(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, settings: Settings
) -> None:
    call_sid = new_call_sid()
    signed_for = voice_params(call_sid, PERSON_PHONE)
    signature = sign(PUBLIC_URL + VOICE, signed_for)
    # Someone rewrites From (to dodge a restriction) and replays the signature.
    tampered = [(k, "+447700900999" if k == "From" else v) for k, v in signed_for]
    await _assert_refused_and_unchanged(
        client,
        tokens,
        twilio,
        settings,
        call_sid,
        params=tampered,
        headers={"X-Twilio-Signature": signature},
    )


async def test_an_added_parameter_is_refused(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, settings: Settings
) -> None:
    call_sid = new_call_sid()
    params = voice_params(call_sid, PERSON_PHONE)
    signature = sign(PUBLIC_URL + VOICE, params)
    await _assert_refused_and_unchanged(
        client,
        tokens,
        twilio,
        settings,
        call_sid,
        params=[*params, ("Digits", "1")],
        headers={"X-Twilio-Signature": signature},
    )


@pytest.mark.parametrize(
    "signed_url",
    [
        "http://callguard.test.example" + VOICE,  # the scheme behind a TLS proxy
        "https://other.example.org" + VOICE,  # another host
        PUBLIC_URL + urls.STATUS,  # another path: a status callback's signature
        PUBLIC_URL + VOICE + "?x=1",  # another query
        "https://callguard.test.example:8443" + VOICE,  # a port that is not the default
    ],
    ids=["http", "other-host", "other-path", "other-query", "other-port"],
)
async def test_a_signature_for_another_url_is_refused(
    client: Client,
    tokens: dict[str, str],
    twilio: TwilioStandIn,
    settings: Settings,
    signed_url: str,
) -> None:
    call_sid = new_call_sid()
    params = voice_params(call_sid, PERSON_PHONE)
    await _assert_refused_and_unchanged(
        client,
        tokens,
        twilio,
        settings,
        call_sid,
        params=params,
        headers={"X-Twilio-Signature": sign(signed_url, params)},
    )


async def test_a_signature_made_with_another_auth_token_is_refused(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, settings: Settings
) -> None:
    call_sid = new_call_sid()
    params = voice_params(call_sid, PERSON_PHONE)
    await _assert_refused_and_unchanged(
        client,
        tokens,
        twilio,
        settings,
        call_sid,
        params=params,
        headers={"X-Twilio-Signature": sign(PUBLIC_URL + VOICE, params, "another-auth-token")},
    )


async def test_a_correct_signature_over_repeated_parameters_is_accepted(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    call_sid = new_call_sid()
    params = [
        *voice_params(call_sid, PERSON_PHONE),
        ("CustomTag", "first"),
        ("CustomTag", "second"),
    ]
    response = await post_signed(client, VOICE, params)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/xml"
    assert (await call_record(client, tokens["manager"], call_sid))["call_sid"] == call_sid


async def test_every_value_of_a_repeated_parameter_is_signed(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, settings: Settings
) -> None:
    call_sid = new_call_sid()
    signed_for = [
        *voice_params(call_sid, PERSON_PHONE),
        ("CustomTag", "first"),
        ("CustomTag", "second"),
    ]
    signature = sign(PUBLIC_URL + VOICE, signed_for)
    # One of the two values dropped, or a third added: the signature no longer holds.
    for params in (
        signed_for[:-1],
        [*signed_for, ("CustomTag", "third")],
    ):
        await _assert_refused_and_unchanged(
            client,
            tokens,
            twilio,
            settings,
            call_sid,
            params=params,
            headers={"X-Twilio-Signature": signature},
        )


async def test_a_signature_on_the_url_with_the_default_port_is_accepted(
    client: Client, tokens: dict[str, str]
) -> None:
    """Twilio sometimes signs https://host:443/...; twilio's validator accepts both."""
    call_sid = new_call_sid()
    response = await post_signed(
        client,
        VOICE,
        voice_params(call_sid, PERSON_PHONE),
        signed_url="https://callguard.test.example:443" + VOICE,
    )
    assert response.status == 200, await response.text()
    assert (await call_record(client, tokens["manager"], call_sid))["from"] == PERSON_PHONE


CALLBACKS = [
    (urls.STATUS, [("CallStatus", "completed"), ("CallDuration", "42")]),
    (urls.CONFERENCE, [("StatusCallbackEvent", "participant-join"), ("ConferenceSid", "CF1")]),
    (urls.LEG, [("CallStatus", "no-answer")]),
    (urls.GATHER, [("Digits", "1")]),
    (
        urls.MESSAGE,
        [
            ("RecordingSid", "RE1"),
            ("RecordingUrl", "https://x.example/r"),
            ("RecordingDuration", "9"),
        ],
    ),
    (
        urls.RECORDING,
        [("RecordingStatus", "completed"), ("RecordingSid", "RE2"), ("RecordingUrl", "https://x")],
    ),
    (urls.UNANSWERED, [("CallStatus", "in-progress")]),
    (urls.ANNOUNCE, [("CallStatus", "in-progress")]),
    (urls.FALLBACK, [("CallStatus", "ringing"), ("From", PERSON_PHONE)]),
]


@pytest.mark.parametrize("path,extra", CALLBACKS, ids=[p.rsplit("/", 1)[1] for p, _ in CALLBACKS])
@pytest.mark.parametrize("bad", ["missing", "wrong-token"])
async def test_every_callback_refuses_an_unsigned_request(
    client: Client,
    tokens: dict[str, str],
    twilio: TwilioStandIn,
    settings: Settings,
    path: str,
    extra: list[tuple[str, str]],
    bad: str,
) -> None:
    # A live call under a SPOC strategy, so that each callback, if accepted, would change
    # something (its record, a redirect through Twilio, a message to triage).
    person = await create_person(client, tokens["manager"], phones=[PERSON_PHONE])
    await create_strategy(client, tokens["manager"], person["id"], [SPOC])
    call_sid = new_call_sid()
    assert (await inbound_call(client, PERSON_PHONE, call_sid)).status == 200
    await services(client).background.drain()
    twilio_before = len(twilio.requests)
    before = await _state(client, settings)

    query = f"?call_sid={call_sid}"
    if path == urls.ANNOUNCE:
        query += "&kind=warning&reason=verbal_abuse"
    params = [("AccountSid", "AC" + "0" * 32), ("CallSid", call_sid), *extra]
    headers = (
        {}
        if bad == "missing"
        else {"X-Twilio-Signature": sign(PUBLIC_URL + path + query, params, "not-" + AUTH_TOKEN)}
    )
    response = await client.post(path + query, data=MultiDict(params), headers=headers)
    assert response.status == 403, await response.text()

    await services(client).background.drain()
    assert await _state(client, settings) == before
    assert len(twilio.requests) == twilio_before
    # The same request, correctly signed, is accepted: the 403 was the signature alone.
    signed = await post_signed(client, path + query, params)
    assert signed.status == 200, await signed.text()


@pytest.mark.parametrize(
    "field,value",
    [
        ("CallSid", "CA123"),
        ("CallSid", "XX" + "0" * 32),
        ("CallSid", "CA" + "g" * 32),
        ("CallSid", ""),
        ("From", "0" * 10_240),
        ("To", "+44" + "1" * 10_240),
    ],
    ids=["short-sid", "wrong-prefix", "not-hex", "empty-sid", "10kb-from", "10kb-to"],
)
async def test_bad_but_signed_input_is_400_naming_the_field(
    client: Client,
    tokens: dict[str, str],
    twilio: TwilioStandIn,
    settings: Settings,
    field: str,
    value: str,
) -> None:
    call_sid = new_call_sid()
    params = [(k, value if k == field else v) for k, v in voice_params(call_sid, PERSON_PHONE)]
    before = await _state(client, settings)
    response = await post_signed(client, VOICE, params)
    assert response.status == 400
    assert field in await response.text()
    await services(client).background.drain()
    assert await _state(client, settings) == before
    assert await _call_count(client, tokens) == 0
    assert twilio.requests == []


@pytest.mark.parametrize(
    "path,query,params,field",
    [
        (urls.STATUS, "", [("CallSid", "CA1"), ("CallStatus", "completed")], "CallSid"),
        (
            urls.STATUS,
            "",
            [("CallSid", "CA" + "a" * 32), ("CallStatus", "x" * 10_240)],
            "CallStatus",
        ),
        (
            urls.STATUS,
            "",
            [("CallSid", "CA" + "a" * 32), ("CallStatus", "completed"), ("CallDuration", "-5")],
            "CallDuration",
        ),
        (urls.LEG, "?call_sid=nope", [("CallStatus", "no-answer")], "call_sid"),
        (urls.CONFERENCE, "", [("StatusCallbackEvent", "participant-join")], "call_sid"),
        (urls.ANNOUNCE, "?call_sid=CA" + "a" * 32 + "&kind=warning&reason=nonsense", [], "reason"),
    ],
    ids=[
        "status-sid",
        "status-10kb",
        "status-duration",
        "leg-sid",
        "conference-no-sid",
        "announce-reason",
    ],
)
async def test_bad_but_signed_callbacks_are_400_naming_the_field(
    client: Client,
    tokens: dict[str, str],
    twilio: TwilioStandIn,
    settings: Settings,
    path: str,
    query: str,
    params: list[tuple[str, str]],
    field: str,
) -> None:
    before = await _state(client, settings)
    response = await post_signed(client, path + query, params)
    assert response.status == 400, await response.text()
    assert field in await response.text()
    assert await _state(client, settings) == before
    assert twilio.requests == []


async def test_a_form_that_cannot_be_read_is_400_and_changes_nothing(
    client: Client, twilio: TwilioStandIn, settings: Settings
) -> None:
    """CONTRACT §5: a body that is not valid form encoding is 400, and nothing changes."""
    before = await _state(client, settings)
    for path in (VOICE, urls.STATUS, f"{urls.LEG}?call_sid={new_call_sid()}"):
        for content_type, body, headers in UNREADABLE_FORMS:
            response = await client.post(
                path,
                data=body,
                headers={
                    **headers,
                    "Content-Type": content_type,
                    "X-Twilio-Signature": "abc",
                    "Connection": "close",
                },
            )
            assert response.status == 400, (path, content_type, await response.text())
    await services(client).background.drain()
    assert await _state(client, settings) == before
    assert twilio.requests == []
