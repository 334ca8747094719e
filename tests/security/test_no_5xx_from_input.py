"""No input answers 5xx (CONTRACT §5): bodies that are not valid UTF-8 → 400; numbers,
dates and years out of range → 422 naming the field and why; nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from callguard import urls
from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from tests.conftest import auth
from tests.e2e.support import STAFF, fast_passwords, give_passwords, page_client, sign_in
from tests.helpers import (
    Client,
    create_person,
    create_strategy,
    inbound_call,
    new_call_sid,
    post_signed,
    services,
)

pytestmark = pytest.mark.timeout(60)
__all__ = ["fast_passwords"]

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
NOT_UTF8 = b"username=\xff\xfe&password=\xc3\x28"
EXTREME_DATES = ["0001-01-01", "9999-12-31"]
EXTREME_TIMES = [
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59+00:00",
]


async def _stored_keys(client: Client) -> set[str]:
    redis = services(client).redis
    return {k async for k in redis.scan_iter("*") if ":token:" not in k and ":user" not in k}


def _fields(body: dict[str, Any]) -> list[str]:
    return [f["field"] for f in body.get("fields", [])]


async def test_a_form_that_is_not_utf8_is_400_without_signing_in(client: Client) -> None:
    response = await client.post("/sign-in", data=NOT_UTF8, headers=FORM)
    assert response.status == 400
    assert "UTF-8" in await response.text()


@pytest.mark.usefixtures("fast_passwords")
async def test_a_signed_in_form_that_is_not_utf8_is_400(
    settings: Settings, policy: Policy, clock: FixedClock
) -> None:
    assert settings.redis_url
    await give_passwords(settings.redis_url)
    async with page_client(settings, policy, clock) as pages:
        assert (await sign_in(pages, STAFF)).status == 303
        for path in ("/console/messages/CA1/triage", "/sign-out"):
            response = await pages.post(path, data=NOT_UTF8, headers=FORM, allow_redirects=False)
            assert response.status == 400, (path, response.status)


async def test_a_webhook_form_that_is_not_utf8_is_400(client: Client) -> None:
    response = await client.post(
        urls.VOICE, data=NOT_UTF8, headers={**FORM, "X-Twilio-Signature": "x"}
    )
    assert response.status == 400


async def test_a_json_body_that_is_not_utf8_is_400_naming_the_body(
    client: Client, tokens: dict[str, str]
) -> None:
    before = await _stored_keys(client)
    response = await client.post(
        "/api/v1/people",
        data=b'{"name": "\xff\xfe"}',
        headers={**auth(tokens["manager"]), "Content-Type": "application/json"},
    )
    assert response.status == 400
    body = await response.json()
    assert _fields(body) == ["(body)"]
    assert "UTF-8" in body["fields"][0]["reason"]
    assert await _stored_keys(client) == before


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"name": "x",}', b"", b"NaN", b'{"name": Infinity}'],
)
async def test_a_body_that_is_not_json_is_422_naming_the_body(
    client: Client, tokens: dict[str, str], raw: bytes
) -> None:
    response = await client.post(
        "/api/v1/people",
        data=raw,
        headers={**auth(tokens["manager"]), "Content-Type": "application/json"},
    )
    assert response.status == 422
    body = await response.json()
    assert body["error"] == "invalid"
    assert _fields(body) == ["(body)"]


async def test_a_5001_digit_integer_is_422(client: Client, tokens: dict[str, str]) -> None:
    before = await _stored_keys(client)
    huge = "9" * 5001
    for path, raw in (
        ("/api/v1/people", b'{"name": "A. Person", "phones": [], "extra": ' + huge.encode() + b"}"),
        ("/api/v1/strategies/str_x/revisions", b'{"expected_version": ' + huge.encode() + b"}"),
    ):
        response = await client.post(
            path, data=raw, headers={**auth(tokens["manager"]), "Content-Type": "application/json"}
        )
        assert response.status == 422, (path, await response.text())
        body = await response.json()
        assert body["error"] == "invalid"
        assert "digits" in body["fields"][0]["reason"]
    assert await _stored_keys(client) == before


@pytest.mark.parametrize("quarter", ["0000-Q1", "0001-Q1", "9999-Q4", "10000-Q1"])
async def test_an_oversight_quarter_out_of_range_is_422(
    client: Client, tokens: dict[str, str], quarter: str
) -> None:
    for path in ("/api/v1/reports/oversight", "/api/v1/reports/oversight.csv"):
        response = await client.get(
            path, params={"quarter": quarter}, headers=auth(tokens["manager"])
        )
        assert response.status == 422, (path, quarter, await response.text())
        assert _fields(await response.json()) == ["quarter"]


@pytest.mark.parametrize("at", EXTREME_TIMES)
async def test_a_preview_at_a_year_out_of_range_is_422(
    client: Client, tokens: dict[str, str], at: str
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager)
    windows = {
        "kind": "call_windows",
        "windows": [{"days": ["tue"], "start": "09:00", "end": "12:00"}],
        "max_calls": 1,
        "per": "week",
    }
    await create_strategy(client, manager, person["id"], [windows])
    response = await client.post(
        "/api/v1/preview", json={"phone": "07700 900123", "at": at}, headers=auth(manager)
    )
    assert response.status == 422, await response.text()
    body = await response.json()
    assert _fields(body) == ["at"]


@pytest.mark.parametrize("at", EXTREME_TIMES)
async def test_a_call_log_since_or_until_out_of_range_is_422(
    client: Client, tokens: dict[str, str], at: str
) -> None:
    for name in ("since", "until"):
        for path in ("/api/v1/calls", "/api/v1/calls.csv"):
            response = await client.get(path, params={name: at}, headers=auth(tokens["manager"]))
            assert response.status == 422, (path, name, at, await response.text())
            assert _fields(await response.json()) == [name]


@pytest.mark.parametrize("day", EXTREME_DATES)
async def test_strategy_dates_out_of_range_are_422(
    client: Client, tokens: dict[str, str], day: str
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager)
    before = await _stored_keys(client)
    base = {
        "person_id": person["id"],
        "matter_ref": "CMP-2026-0142",
        "reason": "Repeated abusive calls",
        "restrictions": [{"kind": "phone_blocked"}],
        "notified_on": "2026-11-20",
        "review_due": "2027-02-20",
    }
    for field in ("notified_on", "review_due"):
        response = await client.post(
            "/api/v1/strategies", json={**base, field: day}, headers=auth(manager)
        )
        assert response.status == 422, (field, day, await response.text())
        assert field in _fields(await response.json())
    assert await _stored_keys(client) == before


@pytest.mark.parametrize("day", EXTREME_DATES)
async def test_revision_review_end_and_notice_dates_out_of_range_are_422(
    client: Client, tokens: dict[str, str], day: str
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager)
    strategy = await create_strategy(client, manager, person["id"], [{"kind": "phone_blocked"}])
    sid = strategy["id"]
    headers = auth(manager)
    attempts: list[tuple[str, dict[str, Any]]] = [
        (
            f"/api/v1/strategies/{sid}/revisions",
            {"expected_version": 1, "changes": {"review_due": day}, "why": "x"},
        ),
        (
            f"/api/v1/strategies/{sid}/revisions",
            {"expected_version": 1, "changes": {"reason": "y"}, "why": "x", "notified_on": day},
        ),
        (
            f"/api/v1/strategies/{sid}/reviews",
            {"outcome": "continue", "notes": "x", "expected_version": 1, "next_review_due": day},
        ),
        (f"/api/v1/strategies/{sid}/end", {"expected_version": 1, "why": "x", "notified_on": day}),
        (f"/api/v1/strategies/{sid}/versions/1/notified", {"notified_on": day}),
    ]
    for path, body in attempts:
        response = await client.post(path, json=body, headers=headers)
        assert response.status == 422, (path, body, await response.text())
        problem = (await response.json())["fields"][0]
        assert problem["field"].endswith(("review_due", "notified_on")), problem
        assert problem["reason"] == "must be in a year from 1970 to 2999"


async def test_a_file_note_time_out_of_range_is_422(client: Client, tokens: dict[str, str]) -> None:
    call_sid = new_call_sid()
    assert (await inbound_call(client, "07911 123456", call_sid)).status == 200
    await post_signed(client, urls.STATUS, [("CallSid", call_sid), ("CallStatus", "in-progress")])
    for at in EXTREME_TIMES:
        response = await client.post(
            "/api/v1/file-notes",
            json={"call_sid": call_sid, "line_manager_informed_at": at},
            headers=auth(tokens["staff"]),
        )
        assert response.status == 422, (at, await response.text())
        assert _fields(await response.json()) == ["line_manager_informed_at"]
