"""Notice before effect (§3.6, CONTRACT §7), adjustments as policy data (§2, §8.4) and
breaches per strategy that refused (§3.8, §3.11), through the real HTTP API and webhook on a
real Redis. The clock is fixed at Friday 27 November 2026, 10am."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.conftest import auth
from tests.helpers import call_record, create_person, inbound_call, new_call_sid, services

pytestmark = pytest.mark.timeout(30)

Client = TestClient[web.Request, web.Application]

PHONE = "07700 900123"
OVERRIDE = {
    "justification": "Threats to staff on three calls; written replies are read to him by his son",
    "equality_advice_from": "Priya Shah, equality adviser",
}
MONDAY_MORNINGS = {
    "kind": "call_windows",
    "windows": [{"days": ["mon"], "start": "09:00", "end": "12:00"}],
    "max_calls": 1,
    "per": "week",
}
WRITTEN = {"kind": "written_only", "email": "complaints@example.org"}


def body(person_id: str, restrictions: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "matter_ref": "CMP-2026-0142",
        "reason": "Repeated abusive calls after the complaint was finalised",
        "restrictions": restrictions,
        "review_due": "2027-02-20",
        **fields,
    }


async def post(client: Client, token: str, path: str, data: dict[str, Any]) -> Any:
    response = await client.post(path, json=data, headers=auth(token))
    return response.status, await response.json()


async def call(client: Client, token: str) -> tuple[dict[str, Any], str]:
    """An inbound call from the person's phone: its record and what the caller heard."""
    call_sid = new_call_sid()
    response = await inbound_call(client, PHONE, call_sid)
    assert response.status == 200
    twiml = await response.text()
    await services(client).background.drain()
    return await call_record(client, token, call_sid), twiml


def notified(strategy_id: str, version: int) -> str:
    return f"/api/v1/strategies/{strategy_id}/versions/{version}/notified"


async def test_a_strategy_awaits_notice_and_applies_once_the_person_is_told(
    client: Client, tokens: dict[str, str]
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager, phones=[PHONE])
    status, strategy = await post(
        client, manager, "/api/v1/strategies", body(person["id"], [{"kind": "phone_blocked"}])
    )
    assert status == 201, strategy
    assert (strategy["status"], strategy["applied_version"]) == ("awaiting_notice", None)

    record, _ = await call(client, manager)
    assert (record["outcome"], record["strategy_ids"]) == ("connect", [])

    status, told = await post(
        client,
        manager,
        notified(strategy["id"], 1),
        {"notified_on": "2026-11-26", "method": "post"},
    )
    assert status == 200, told
    assert (told["status"], told["applied_version"], told["notified_on"]) == (
        "active",
        1,
        "2026-11-26",
    )
    assert told["notices"] == [
        {
            "version": 1,
            "notified_on": "2026-11-26",
            "method": "post",
            "recorded_by": "mo.manager",
            "recorded_at": "2026-11-27T10:00:00Z",
        }
    ]

    record, twiml = await call(client, manager)
    assert (record["outcome"], record["rule"]) == ("refuse", "phone_blocked")
    assert record["strategy_ids"] == record["refused_by"] == [strategy["id"]]
    assert "A letter explaining this will follow." not in twiml


async def test_a_revision_applies_only_once_told_and_the_version_before_until_then(
    client: Client, tokens: dict[str, str]
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager, phones=[PHONE])
    _, strategy = await post(
        client,
        manager,
        "/api/v1/strategies",
        body(person["id"], [WRITTEN], notified_on="2026-11-20"),
    )
    status, revised = await post(
        client,
        manager,
        f"/api/v1/strategies/{strategy['id']}/revisions",
        {
            "expected_version": 1,
            "changes": {"restrictions": [{"kind": "phone_blocked"}]},
            "why": "Calls continued from this number",
        },
    )
    assert status == 201, revised
    assert (revised["version"], revised["applied_version"]) == (2, 1)

    record, _ = await call(client, manager)
    assert record["rule"] == "written_only"

    status, told = await post(
        client,
        manager,
        notified(strategy["id"], 2),
        {"notified_on": "2026-11-27", "method": "email"},
    )
    assert status == 200, told
    assert told["applied_version"] == 2
    # Each version's notice: version 1's given when it was created (how, not said).
    assert [
        (n["version"], n["notified_on"], n["method"], n["recorded_by"]) for n in told["notices"]
    ] == [
        (1, "2026-11-20", None, "mo.manager"),
        (2, "2026-11-27", "email", "mo.manager"),
    ]
    record, _ = await call(client, manager)
    assert record["rule"] == "phone_blocked"


async def test_interim_measures_need_the_chief_executive_and_say_a_letter_will_follow(
    client: Client, tokens: dict[str, str]
) -> None:
    manager, ceo = tokens["manager"], tokens["chief_executive"]
    person = await create_person(client, manager, phones=[PHONE])
    interim = body(person["id"], [{"kind": "no_response"}], interim=True)

    status, _ = await post(client, manager, "/api/v1/strategies", interim)
    assert status == 403
    status, refused = await post(
        client, ceo, "/api/v1/strategies", {**interim, "restrictions": [WRITTEN]}
    )
    assert status == 422
    assert [f["field"] for f in refused["fields"]] == ["restrictions"]

    status, strategy = await post(client, ceo, "/api/v1/strategies", interim)
    assert status == 201, strategy
    assert (strategy["status"], strategy["interim_versions"]) == ("active", [1])
    record, twiml = await call(client, manager)
    assert record["rule"] == "no_response"
    assert "A letter explaining this will follow." in twiml
    assert "told in writing" not in twiml
    # Twilio repeating the same request hears the same words, rebuilt from the record.
    repeated = await (await inbound_call(client, PHONE, record["call_sid"])).text()
    assert "A letter explaining this will follow." in repeated
    assert "told in writing" not in repeated

    await post(client, ceo, notified(strategy["id"], 1), {"notified_on": "2026-11-27"})
    _, twiml = await call(client, manager)
    assert "As you have been told in writing" in twiml
    assert "A letter explaining this will follow." not in twiml


async def test_recording_notice_rejects_what_cannot_be_so_and_stores_nothing(
    client: Client, tokens: dict[str, str]
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager, phones=[PHONE])
    _, strategy = await post(
        client, manager, "/api/v1/strategies", body(person["id"], [{"kind": "phone_blocked"}])
    )
    cases = [
        (1, {"notified_on": "2026-11-28"}, 422, "notified_on"),
        (1, {"notified_on": "2026-11-26", "method": "pigeon"}, 422, "method"),
        (1, {}, 422, "notified_on"),
    ]
    for version, data, expected, field in cases:
        status, answer = await post(client, manager, notified(strategy["id"], version), data)
        assert status == expected, answer
        assert [f["field"] for f in answer["fields"]] == [field]
    status, _ = await post(
        client, manager, notified(strategy["id"], 9), {"notified_on": "2026-11-26"}
    )
    assert status == 404
    status, _ = await post(
        client, tokens["staff"], notified(strategy["id"], 1), {"notified_on": "2026-11-26"}
    )
    assert status == 403
    response = await client.get(f"/api/v1/strategies/{strategy['id']}", headers=auth(manager))
    stored = await response.json()
    assert (stored["status"], stored["notices"]) == ("awaiting_notice", [])


@pytest.mark.parametrize("kind", ["written_only", "phone_blocked", "no_response"])
async def test_each_kind_conflicting_with_phone_contact_needs_the_override(
    client: Client, tokens: dict[str, str], kind: str
) -> None:
    ceo = tokens["chief_executive"]
    person = await create_person(
        client,
        ceo,
        phones=[PHONE],
        reasonable_adjustments=[{"kind": "needs_phone_contact", "detail": "Cannot read"}],
    )
    restriction = WRITTEN if kind == "written_only" else {"kind": kind}
    status, answer = await post(
        client, ceo, "/api/v1/strategies", body(person["id"], [restriction])
    )
    assert status == 422
    assert [f["field"] for f in answer["fields"]] == ["adjustment_override"]
    status, _ = await post(
        client,
        ceo,
        "/api/v1/strategies",
        body(person["id"], [restriction], adjustment_override=OVERRIDE),
    )
    assert status == 201


async def test_a_refused_call_is_a_breach_only_of_the_strategy_that_refused_it(
    client: Client, tokens: dict[str, str]
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager, phones=[PHONE])
    _, matter_a = await post(
        client,
        manager,
        "/api/v1/strategies",
        body(person["id"], [MONDAY_MORNINGS], matter_ref="CMP-A", notified_on="2026-11-20"),
    )
    _, matter_b = await post(
        client,
        manager,
        "/api/v1/strategies",
        body(person["id"], [{"kind": "recorded"}], matter_ref="CMP-B", notified_on="2026-11-20"),
    )
    record, _ = await call(client, manager)  # Friday: outside A's Monday window
    assert record["rule"] == "call_windows.outside"
    assert sorted(record["strategy_ids"]) == sorted([matter_a["id"], matter_b["id"]])
    assert record["refused_by"] == [matter_a["id"]]

    async def breaches(strategy_id: str) -> int:
        response = await client.get(
            f"/api/v1/strategies/{strategy_id}/breaches", headers=auth(manager)
        )
        total: int = (await response.json())["total"]
        return total

    assert (await breaches(matter_a["id"]), await breaches(matter_b["id"])) == (1, 0)
    response = await client.get("/api/v1/calls.csv", headers=auth(manager))
    [row] = list(csv.DictReader(io.StringIO(await response.text())))
    assert row["refused_by"] == matter_a["id"]


async def test_staff_see_what_awaits_notice_and_the_interpreter_in_the_caller_alert(
    client: Client, tokens: dict[str, str]
) -> None:
    manager = tokens["manager"]
    person = await create_person(
        client,
        manager,
        phones=[PHONE],
        reasonable_adjustments=[{"kind": "needs_interpreter", "detail": "Polish"}],
    )
    await post(
        client,
        manager,
        "/api/v1/strategies",
        body(person["id"], [{"kind": "phone_blocked"}], matter_ref="CMP-WAIT"),
    )
    record, _ = await call(client, manager)
    assert (record["outcome"], record["strategy_ids"]) == ("connect", [])

    response = await client.get(
        f"/api/v1/calls/{record['call_sid']}/alert", headers=auth(tokens["staff"])
    )
    assert response.status == 200
    alert = await response.json()
    assert alert["interpreter"] == "Needs an interpreter: Polish"
    assert alert["awaiting_notice"] == [
        "CMP-WAIT (awaiting notice, not applied to calls): "
        "Phone calls from this person are not taken"
    ]
    assert alert["restrictions"] == ["No contact strategy applies to this caller."]


async def test_told_of_an_earlier_version_that_version_applies_until_told_of_the_latest(
    client: Client, tokens: dict[str, str]
) -> None:
    manager, ceo = tokens["manager"], tokens["chief_executive"]
    person = await create_person(client, manager, phones=[PHONE])
    _, strategy = await post(client, manager, "/api/v1/strategies", body(person["id"], [WRITTEN]))
    status, revised = await post(
        client,
        manager,
        f"/api/v1/strategies/{strategy['id']}/revisions",
        {
            "expected_version": 1,
            "changes": {"restrictions": [{"kind": "phone_blocked"}]},
            "why": "Calls continued",
        },
    )
    assert status == 201, revised
    assert (revised["status"], revised["applied_version"]) == ("awaiting_notice", None)

    # The letter of version 1 went out before the revision was made.
    _, told = await post(
        client, manager, notified(strategy["id"], 1), {"notified_on": "2026-11-24"}
    )
    assert (told["status"], told["applied_version"]) == ("active", 1)
    record, _ = await call(client, manager)
    assert record["rule"] == "written_only"

    # The chief executive makes a third version take effect at once, as an interim measure.
    status, interim = await post(
        client,
        ceo,
        f"/api/v1/strategies/{strategy['id']}/revisions",
        {
            "expected_version": 2,
            "changes": {"restrictions": [{"kind": "no_response"}]},
            "why": "Threats to staff",
            "interim": True,
        },
    )
    assert status == 201, interim
    assert (interim["applied_version"], interim["interim_versions"]) == (3, [3])
    record, twiml = await call(client, manager)
    assert record["rule"] == "no_response"
    assert "A letter explaining this will follow." in twiml
