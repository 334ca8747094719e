"""The register through the real HTTP API on a real Redis (CONTRACT §4, policy §3.4–3.15)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.conftest import auth
from tests.helpers import services

pytestmark = pytest.mark.timeout(30)

Client = TestClient[web.Request, web.Application]

PERSON = {
    "name": "A. Person",
    "phones": ["07700 900123"],
    "emails": ["a@example.org"],
    "reasonable_adjustments": [],
}


def strategy_body(person_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "person_id": person_id,
        "matter_ref": "CMP-2026-0142",
        "reason": "Repeated abusive calls after the complaint was finalised (§5.3, §6.3)",
        "restrictions": [
            {
                "kind": "call_windows",
                "windows": [{"days": ["tue"], "start": "09:00", "end": "12:00"}],
                "max_calls": 1,
                "per": "week",
            },
            {"kind": "spoc", "name": "Jo Bloggs", "phone": "+441772000001"},
            {"kind": "recorded"},
        ],
        "notified_on": "2026-11-20",
        "review_due": "2027-02-20",
    }
    body.update(overrides)
    return body


async def create_person(client: Client, token: str, **overrides: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/people", json={**PERSON, **overrides}, headers=auth(token)
    )
    assert response.status == 201, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def strategy_count(client: Client, token: str) -> int:
    response = await client.get("/api/v1/strategies", headers=auth(token))
    assert response.status == 200
    total: int = (await response.json())["total"]
    return total


def fields_named(data: dict[str, Any]) -> list[str]:
    return [f["field"] for f in data["fields"]]


async def test_a_person_is_created_with_phones_in_e164(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    assert person["id"].startswith("per_")
    assert person["phones"] == ["+447700900123"]

    fetched = await client.get(f"/api/v1/people/{person['id']}", headers=auth(tokens["manager"]))
    assert (await fetched.json())["phones"] == ["+447700900123"]


@pytest.mark.parametrize(
    "form", ["07700 900123", "+44 7700 900123", "0044 7700 900123", "447700900123"]
)
async def test_every_common_uk_form_of_a_number_is_stored_as_e164(
    client: Client, tokens: dict[str, str], form: str
) -> None:
    person = await create_person(client, tokens["manager"], phones=[form])
    assert person["phones"] == ["+447700900123"]


async def test_a_phone_held_by_another_person_is_a_409_and_nothing_is_stored(
    client: Client, tokens: dict[str, str]
) -> None:
    await create_person(client, tokens["manager"])
    response = await client.post(
        "/api/v1/people",
        json={**PERSON, "name": "Someone Else", "phones": ["07700 900999", "+447700900123"]},
        headers=auth(tokens["manager"]),
    )
    assert response.status == 409
    assert "phones[1]" in (await response.json())["message"]
    people = await (await client.get("/api/v1/people", headers=auth(tokens["manager"]))).json()
    assert people["total"] == 1
    # The other phone of the refused person was not claimed either.
    retry = await client.post(
        "/api/v1/people",
        json={**PERSON, "name": "Third", "phones": ["07700 900999"]},
        headers=auth(tokens["manager"]),
    )
    assert retry.status == 201


async def test_an_invalid_phone_is_a_422_naming_the_field(
    client: Client, tokens: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/people",
        json={**PERSON, "phones": ["07700 900123", "12345"]},
        headers=auth(tokens["manager"]),
    )
    assert response.status == 422
    assert fields_named(await response.json()) == ["phones[1]"]
    people = await (await client.get("/api/v1/people", headers=auth(tokens["manager"]))).json()
    assert people["total"] == 0


async def test_a_strategy_is_created_active_at_version_1(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    response = await client.post(
        "/api/v1/strategies", json=strategy_body(person["id"]), headers=auth(tokens["manager"])
    )
    assert response.status == 201, await response.text()
    data = await response.json()
    assert data["status"] == "active"
    assert data["version"] == 1
    assert data["id"].startswith("str_")
    fetched = await client.get(f"/api/v1/strategies/{data['id']}", headers=auth(tokens["manager"]))
    assert (await fetched.json())["restrictions"][1] == {
        "kind": "spoc",
        "name": "Jo Bloggs",
        "phone": "+441772000001",
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"review_due": "2027-02-28"}, "review_due"),  # today is 2026-11-27: latest 2027-02-27
        ({"review_due": "2026-11-27"}, "review_due"),  # not after today
        ({"matter_ref": ""}, "matter_ref"),
        ({"matter_ref": "   "}, "matter_ref"),
        (
            {
                "restrictions": [
                    {
                        "kind": "call_windows",
                        "max_calls": 1,
                        "per": "week",
                        "windows": [{"days": ["tue"], "start": "12:00", "end": "09:00"}],
                    }
                ]
            },
            "restrictions[0].windows[0].end",
        ),
        (
            {
                "restrictions": [
                    {
                        "kind": "call_windows",
                        "max_calls": 1,
                        "per": "week",
                        "windows": [{"days": ["tue"], "start": "09:00", "end": "09:00"}],
                    }
                ]
            },
            "restrictions[0].windows[0].end",
        ),
        (
            {"restrictions": [{"kind": "spoc", "name": "Jo", "phone": "not a phone"}]},
            "restrictions[0].phone",
        ),
        (
            {"restrictions": [{"kind": "advocate_only", "advocate_phones": ["0161 496 000"]}]},
            "restrictions[0].advocate_phones[0]",
        ),
        ({"restrictions": []}, "restrictions"),
        ({"reason": ""}, "reason"),
    ],
)
async def test_invalid_strategies_are_422_naming_the_field_and_nothing_is_stored(
    client: Client, tokens: dict[str, str], overrides: dict[str, Any], field: str
) -> None:
    person = await create_person(client, tokens["manager"])
    response = await client.post(
        "/api/v1/strategies",
        json=strategy_body(person["id"], **overrides),
        headers=auth(tokens["manager"]),
    )
    assert response.status == 422, await response.text()
    assert field in fields_named(await response.json())
    assert await strategy_count(client, tokens["manager"]) == 0


async def test_review_due_exactly_three_calendar_months_ahead_is_accepted(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    response = await client.post(
        "/api/v1/strategies",
        json=strategy_body(person["id"], review_due="2027-02-27"),
        headers=auth(tokens["manager"]),
    )
    assert response.status == 201


async def test_no_response_needs_the_chief_executive(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    body = strategy_body(person["id"], restrictions=[{"kind": "no_response"}])
    refused = await client.post("/api/v1/strategies", json=body, headers=auth(tokens["manager"]))
    assert refused.status == 403
    assert await strategy_count(client, tokens["manager"]) == 0
    accepted = await client.post(
        "/api/v1/strategies", json=body, headers=auth(tokens["chief_executive"])
    )
    assert accepted.status == 201


async def test_written_only_overriding_a_phone_adjustment_needs_a_justification(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(
        client,
        tokens["manager"],
        reasonable_adjustments=[
            {"kind": "needs_phone_contact", "detail": "cannot read or write letters"}
        ],
    )
    body = strategy_body(
        person["id"], restrictions=[{"kind": "written_only", "email": "complaints@example.org"}]
    )
    refused = await client.post("/api/v1/strategies", json=body, headers=auth(tokens["manager"]))
    assert refused.status == 422
    assert fields_named(await refused.json()) == ["adjustment_override"]
    assert await strategy_count(client, tokens["manager"]) == 0

    body["adjustment_override"] = {
        "justification": "Phone contact abused; an advocate reads letters to them",
        "equality_advice_from": "E. Quality, Equality and Diversity Lead",
    }
    accepted = await client.post("/api/v1/strategies", json=body, headers=auth(tokens["manager"]))
    assert accepted.status == 201


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer cg_nonsense"}, {"Authorization": "Basic abc"}]
)
async def test_no_valid_token_is_a_401_and_nothing_is_stored(
    client: Client, tokens: dict[str, str], headers: dict[str, str]
) -> None:
    response = await client.post("/api/v1/people", json=PERSON, headers=headers)
    assert response.status == 401
    people = await (await client.get("/api/v1/people", headers=auth(tokens["manager"]))).json()
    assert people["total"] == 0


@pytest.mark.parametrize("role", ["staff", "admin"])
async def test_staff_and_admin_may_not_read_the_register(
    client: Client, tokens: dict[str, str], role: str
) -> None:
    person = await create_person(client, tokens["manager"])
    response = await client.get(f"/api/v1/people/{person['id']}", headers=auth(tokens[role]))
    assert response.status == 403


async def test_unknown_ids_are_404(client: Client, tokens: dict[str, str]) -> None:
    for path in ("/api/v1/people/per_missing", "/api/v1/strategies/str_missing"):
        response = await client.get(path, headers=auth(tokens["manager"]))
        assert response.status == 404


async def test_two_concurrent_revisions_of_one_version_one_wins_and_none_is_lost(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    created = await (
        await client.post(
            "/api/v1/strategies", json=strategy_body(person["id"]), headers=auth(tokens["manager"])
        )
    ).json()

    def revision(reason: str) -> dict[str, Any]:
        return {
            "expected_version": 1,
            "changes": {"reason": reason},
            "why": "behaviour changed",
            "notified_on": "2026-11-26",
        }

    first, second = await asyncio.gather(
        client.post(
            f"/api/v1/strategies/{created['id']}/revisions",
            json=revision("A"),
            headers=auth(tokens["manager"]),
        ),
        client.post(
            f"/api/v1/strategies/{created['id']}/revisions",
            json=revision("B"),
            headers=auth(tokens["manager"]),
        ),
    )
    assert sorted([first.status, second.status]) == [201, 409]
    winner = "A" if first.status == 201 else "B"
    stored = await (
        await client.get(f"/api/v1/strategies/{created['id']}", headers=auth(tokens["manager"]))
    ).json()
    assert stored["version"] == 2
    assert stored["reason"] == winner
    assert len(stored["revisions"]) == 1
    revision_entry = stored["revisions"][0]
    assert revision_entry["by"] == "mo.manager"
    assert revision_entry["changed"] == ["reason"]
    assert revision_entry["after"] == {"reason": winner}
    assert revision_entry["notified_on"] == "2026-11-26"


async def test_a_revision_against_an_old_version_is_a_409(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    created = await (
        await client.post(
            "/api/v1/strategies", json=strategy_body(person["id"]), headers=auth(tokens["manager"])
        )
    ).json()
    path = f"/api/v1/strategies/{created['id']}/revisions"
    body = {"expected_version": 1, "changes": {"reason": "first"}, "why": "x"}
    assert (await client.post(path, json=body, headers=auth(tokens["manager"]))).status == 201
    again = await client.post(path, json=body, headers=auth(tokens["manager"]))
    assert again.status == 409


async def test_reviews_continue_and_end_a_strategy(client: Client, tokens: dict[str, str]) -> None:
    person = await create_person(client, tokens["manager"])
    created = await (
        await client.post(
            "/api/v1/strategies", json=strategy_body(person["id"]), headers=auth(tokens["manager"])
        )
    ).json()
    path = f"/api/v1/strategies/{created['id']}/reviews"
    too_far = {
        "outcome": "continue",
        "notes": "Still needed",
        "expected_version": 1,
        "next_review_due": "2027-03-01",
    }
    refused = await client.post(path, json=too_far, headers=auth(tokens["manager"]))
    assert refused.status == 422
    assert fields_named(await refused.json()) == ["next_review_due"]

    ok = {**too_far, "next_review_due": "2027-02-26"}
    continued = await client.post(path, json=ok, headers=auth(tokens["manager"]))
    assert continued.status == 201
    data = await continued.json()
    assert (data["version"], data["review_due"]) == (2, "2027-02-26")
    assert data["reviews"][0]["outcome"] == "continue"

    ended = await client.post(
        path,
        json={
            "outcome": "end",
            "notes": "Behaviour improved",
            "expected_version": 2,
            "notified_on": "2026-11-27",
        },
        headers=auth(tokens["manager"]),
    )
    assert ended.status == 201
    data = await ended.json()
    assert data["status"] == "ended"
    assert data["revisions"][-1]["after"] == {"status": "ended"}
    active = await (
        await client.get(
            f"/api/v1/strategies?person_id={person['id']}&status=active",
            headers=auth(tokens["manager"]),
        )
    ).json()
    assert active["total"] == 0


async def test_a_review_that_revises_keeps_who_what_and_when_told(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    created = await (
        await client.post(
            "/api/v1/strategies", json=strategy_body(person["id"]), headers=auth(tokens["manager"])
        )
    ).json()
    response = await client.post(
        f"/api/v1/strategies/{created['id']}/reviews",
        json={
            "outcome": "revise",
            "notes": "Loosen to two calls",
            "expected_version": 1,
            "next_review_due": "2027-02-01",
            "revision": {
                "expected_version": 1,
                "why": "Calls now calmer",
                "notified_on": "2026-11-27",
                "changes": {"restrictions": [{"kind": "recorded"}]},
            },
        },
        headers=auth(tokens["manager"]),
    )
    assert response.status == 201, await response.text()
    data = await response.json()
    assert data["version"] == 2
    assert data["review_due"] == "2027-02-01"
    assert data["revisions"][0]["changed"] == ["restrictions", "review_due"]
    assert data["reviews"][0]["outcome"] == "revise"


async def test_reads_and_changes_are_audited_and_the_export_holds_everything(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    created = await (
        await client.post(
            "/api/v1/strategies", json=strategy_body(person["id"]), headers=auth(tokens["manager"])
        )
    ).json()
    await client.get(f"/api/v1/people/{person['id']}", headers=auth(tokens["manager"]))
    share = await client.post(
        f"/api/v1/strategies/{created['id']}/shares",
        json={
            "shared_with": "Lancashire Constabulary",
            "why": "Threats to staff reported",
            "lawful_basis": "UK GDPR Art. 6(1)(e); DPA 2018 s.35",
            "approved_by": "Head of Governance",
        },
        headers=auth(tokens["manager"]),
    )
    assert share.status == 201
    export = await (
        await client.get(f"/api/v1/people/{person['id']}/export", headers=auth(tokens["manager"]))
    ).json()
    assert export["person"]["phones"] == ["+447700900123"]
    assert [s["id"] for s in export["strategies"]] == [created["id"]]
    assert export["strategies"][0]["shares"][0]["shared_with"] == "Lancashire Constabulary"
    actions = [entry["action"] for entry in export["audit"]]
    assert actions[:4] == ["person.create", "strategy.create", "person.read", "strategy.share"]
    assert all(entry["who"] == "mo.manager" for entry in export["audit"])
    # Entry for entry, what the audit log of everyone holds about the person.
    everyone = await services(client).register.store.audit_log(100)
    about = [e for e in reversed(everyone) if e["person_id"] == person["id"]]
    assert export["audit"] == about
    assert actions[-2:] == ["person.read", "person.export"]  # this export, too


async def test_staff_may_not_record_a_share(client: Client, tokens: dict[str, str]) -> None:
    person = await create_person(client, tokens["manager"])
    created = await (
        await client.post(
            "/api/v1/strategies", json=strategy_body(person["id"]), headers=auth(tokens["manager"])
        )
    ).json()
    response = await client.post(
        f"/api/v1/strategies/{created['id']}/shares",
        json={"shared_with": "X", "why": "y", "lawful_basis": "z", "approved_by": "w"},
        headers=auth(tokens["staff"]),
    )
    assert response.status == 403


async def test_malformed_json_is_a_422_not_a_500(client: Client, tokens: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/people",
        data=b"{not json",
        headers={**auth(tokens["manager"]), "Content-Type": "application/json"},
    )
    assert response.status == 422
    assert fields_named(await response.json()) == ["(body)"]


async def test_the_openapi_document_describes_the_routes(client: Client) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    operation = document["paths"]["/api/v1/strategies"]["post"]
    schema_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = schema_ref.rsplit("/", 1)[1]
    assert set(document["components"]["schemas"][name]["required"]) >= {
        "person_id",
        "matter_ref",
        "reason",
        "restrictions",
        "review_due",
    }
    assert {"201", "401", "403", "422"} <= set(operation["responses"])
