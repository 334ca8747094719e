"""Staff never see a caller's full number (CONTRACT §5): the messages to triage, the triage
answer, the caller alert, file notes and the console page show ``+44*******123`` and no
person id, strategy or route; managers and above see the whole record."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from callguard import urls
from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from tests.conftest import ACCOUNT_SID, PUBLIC_URL, auth
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

PHONE = "+447700900123"
MASKED = "+44*******123"
SPOC_PHONE = "+441772000001"


async def _message_from_a_refused_caller(client: Client, manager: str) -> tuple[str, str]:
    person = await create_person(client, manager, phones=[PHONE])
    await create_strategy(client, manager, person["id"], [{"kind": "phone_blocked"}])
    call_sid = new_call_sid()
    response = await inbound_call(client, PHONE, call_sid)
    root = ET.fromstring(await response.text())  # noqa: S314 - our own TwiML
    record = root.find("Record")
    assert record is not None
    left = await post_signed(
        client,
        record.attrib["action"].removeprefix(PUBLIC_URL),
        [
            ("AccountSid", ACCOUNT_SID),
            ("CallSid", call_sid),
            ("RecordingSid", "RE" + "4" * 32),
            ("RecordingUrl", "https://api.twilio.com/2010-04-01/Recordings/RE4"),
            ("RecordingDuration", "25"),
        ],
    )
    assert left.status == 200
    return call_sid, person["id"]


def _shows_nothing_it_should_not(text: str, person_id: str) -> None:
    assert PHONE not in text
    assert PHONE.removeprefix("+") not in text
    assert person_id not in text


async def test_staff_see_messages_masked_and_managers_see_them_whole(
    client: Client, tokens: dict[str, str]
) -> None:
    call_sid, person_id = await _message_from_a_refused_caller(client, tokens["manager"])

    staff = await client.get("/api/v1/messages", headers=auth(tokens["staff"]))
    assert staff.status == 200
    text = await staff.text()
    _shows_nothing_it_should_not(text, person_id)
    item: dict[str, Any] = (await staff.json())["items"][0]
    assert item["call_sid"] == call_sid
    assert item["from"] == MASKED
    assert not {"person_id", "strategy_ids", "route_to", "matter_refs"} & set(item)
    assert item["message"]["recording_sid"] == "RE" + "4" * 32

    for role in ("manager", "chief_executive"):
        whole = await (await client.get("/api/v1/messages", headers=auth(tokens[role]))).json()
        assert whole["items"][0]["from"] == PHONE
        assert whole["items"][0]["person_id"] == person_id

    triaged = await client.post(
        f"/api/v1/calls/{call_sid}/message/triage",
        json={"outcome": "no_action", "notes": "Nothing new."},
        headers=auth(tokens["staff"]),
    )
    assert triaged.status == 200, await triaged.text()
    _shows_nothing_it_should_not(await triaged.text(), person_id)
    assert (await triaged.json())["message"]["triage"]["by"] == STAFF


async def test_nothing_else_staff_reach_shows_the_full_number(
    settings: Settings, policy: Policy, clock: FixedClock, tokens: dict[str, str]
) -> None:
    assert settings.redis_url
    await give_passwords(settings.redis_url)
    async with page_client(settings, policy, clock) as pages:
        manager = tokens["manager"]
        person = await create_person(pages, manager, phones=[PHONE])
        await create_strategy(
            pages, manager, person["id"], [{"kind": "spoc", "name": "Jo", "phone": SPOC_PHONE}]
        )
        call_sid = new_call_sid()
        assert (await inbound_call(pages, PHONE, call_sid)).status == 200
        await services(pages).background.drain()
        await post_signed(
            pages, urls.STATUS, [("CallSid", call_sid), ("CallStatus", "in-progress")]
        )
        staff = auth(tokens["staff"])
        ended = await pages.post(
            f"/api/v1/calls/{call_sid}/end", json={"reason": "threats"}, headers=staff
        )
        assert ended.status == 200, await ended.text()
        reached = [
            await pages.get(f"/api/v1/calls/{call_sid}/alert", headers=staff),
            await pages.get("/api/v1/file-notes", headers=staff),
            await pages.get("/api/v1/notifications", headers=staff),
            await pages.get("/api/v1/messages", headers=staff),
        ]
        for response in reached:
            assert response.status == 200, (response.url, await response.text())
            _shows_nothing_it_should_not(await response.text(), person["id"])
            assert SPOC_PHONE not in await response.text()
        alert = await (await pages.get(f"/api/v1/calls/{call_sid}/alert", headers=staff)).json()
        assert alert["caller"] == MASKED
        assert (await sign_in(pages, STAFF)).status == 303
        console = await pages.get("/console")
        assert console.status == 200
        _shows_nothing_it_should_not(await console.text(), person["id"])
