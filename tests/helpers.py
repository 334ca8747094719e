"""Helpers shared by the integration tests: API calls and Twilio-signed webhooks."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from callguard.services.container import Services
from callguard.web.appkeys import SERVICES
from tests.conftest import AUTH_TOKEN, PUBLIC_URL, auth

Client = TestClient[web.Request, web.Application]
OFFICE_NUMBER = "+441772000000"


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def services(client: Client) -> Services:
    return client.app[SERVICES]


def sign(url: str, params: Sequence[tuple[str, str]], token: str = AUTH_TOKEN) -> str:
    """The X-Twilio-Signature Twilio would send, computed by twilio's own validator."""
    return str(RequestValidator(token).compute_signature(url, MultiDict(params)))


async def post_signed(
    client: Client,
    path_and_query: str,
    params: Sequence[tuple[str, str]],
    *,
    signed_url: str | None = None,
    token: str = AUTH_TOKEN,
    signature: str | None = None,
) -> ClientResponse:
    url = signed_url or PUBLIC_URL + path_and_query
    headers = {
        "X-Twilio-Signature": signature if signature is not None else sign(url, params, token)
    }
    return await client.post(path_and_query, data=MultiDict(params), headers=headers)


def voice_params(call_sid: str, caller: str, to: str = OFFICE_NUMBER) -> list[tuple[str, str]]:
    """The form Twilio posts for an inbound call (the fields CallGuard reads, and others)."""
    return [
        ("AccountSid", "AC" + "0" * 32),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", "ringing"),
        ("Called", to),
        ("Caller", caller),
        ("Direction", "inbound"),
        ("From", caller),
        ("FromCountry", "GB"),
        ("To", to),
        ("ToCountry", "GB"),
    ]


async def inbound_call(client: Client, caller: str, call_sid: str | None = None) -> ClientResponse:
    return await post_signed(
        client, "/webhooks/twilio/voice", voice_params(call_sid or new_call_sid(), caller)
    )


async def create_person(client: Client, token: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "A. Person", "phones": ["07700 900123"], **fields}
    response = await client.post("/api/v1/people", json=body, headers=auth(token))
    assert response.status == 201, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def create_strategy(
    client: Client, token: str, person_id: str, restrictions: list[dict[str, Any]], **fields: Any
) -> dict[str, Any]:
    body = {
        "person_id": person_id,
        "matter_ref": "CMP-2026-0142",
        "reason": "Repeated abusive calls after the complaint was finalised",
        "restrictions": restrictions,
        "notified_on": "2026-11-20",
        "review_due": "2027-02-20",
        **fields,
    }
    response = await client.post("/api/v1/strategies", json=body, headers=auth(token))
    assert response.status == 201, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def call_record(client: Client, token: str, call_sid: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/calls/{call_sid}", headers=auth(token))
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


def date_fields(name: str, iso: str) -> dict[str, str]:
    """A GOV.UK date input's three fields as a browser posts them ("" leaves all blank)."""
    if not iso:
        return {f"{name}-day": "", f"{name}-month": "", f"{name}-year": ""}
    year, month, day = iso.split("-")
    return {f"{name}-day": str(int(day)), f"{name}-month": str(int(month)), f"{name}-year": year}


# Forms no one can read, as a sender may make them: a multipart form without its boundary,
# or cut short; a character set no one knows; a transfer encoding no one knows; a body said
# to be compressed that is not. Each: its content type, its body, its other headers.
UNREADABLE_FORMS: list[tuple[str, bytes, dict[str, str]]] = [
    ("multipart/form-data; boundary=zzz", b"CallSid=CA1", {}),
    ("multipart/form-data", b"CallSid=CA1", {}),
    ("application/x-www-form-urlencoded; charset=bogus-xyz", b"CallSid=CA1", {}),
    ("multipart/form-data; boundary=zzz", b'--zzz\r\nContent-Disposition: form-data; name="a"', {}),
    (
        "multipart/form-data; boundary=zzz",
        b'--zzz\r\nContent-Disposition: form-data; name="a"\r\n'
        b"Content-Transfer-Encoding: zzz\r\n\r\nb\r\n--zzz--\r\n",
        {},
    ),
    ("application/x-www-form-urlencoded", b"CallSid=CA1", {"Content-Encoding": "gzip"}),
    ("application/x-www-form-urlencoded", b"CallSid=CA1", {"Content-Encoding": "deflate"}),
]
