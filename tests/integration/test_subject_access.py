"""Subject access (CONTRACT §7): the export holds everything held on a person, and the
tracker of requests keeps the one-month clock. Everything made through the real webhooks
and API; the clock stands at Friday 27 November 2026."""

from __future__ import annotations

from typing import Any

import pytest

from callguard.clock import FixedClock
from tests.conftest import auth
from tests.helpers import Client, create_person, inbound_call, new_call_sid
from tests.helpers import services as services_of
from tests.integration.test_live_controls import end, live_call, warn

pytestmark = pytest.mark.timeout(30)

OTHER_PHONE = "+447700900999"


async def export_of(client: Client, token: str, person_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/people/{person_id}/export", headers=auth(token))
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def test_the_export_holds_every_section_of_what_is_held(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    manager, staff = tokens["manager"], tokens["staff"]
    call = await live_call(client, tokens)
    assert (await warn(client, staff, call.call_sid)).status == 201
    ended = await end(client, staff, call.call_sid)
    assert ended.status == 200, await ended.text()
    note_id = (await ended.json())["file_note_id"]
    addendum = await client.post(
        f"/api/v1/file-notes/{note_id}/addenda",
        json={"text": "Caller rang back to apologise."},
        headers=auth(staff),
    )
    assert addendum.status == 201, await addendum.text()
    # A revision the person was told of, and a share with the police.
    revised = await client.post(
        f"/api/v1/strategies/{call.strategy_id}/revisions",
        json={
            "expected_version": 1,
            "why": "Calls now only on Friday mornings",
            "changes": {"matter_ref": "CMP-2026-0199"},
            "notified_on": "2026-11-26",
        },
        headers=auth(manager),
    )
    assert revised.status == 201, await revised.text()
    shared = await client.post(
        f"/api/v1/strategies/{call.strategy_id}/shares",
        json={
            "shared_with": "Lancashire Constabulary",
            "why": "Threats to staff reported",
            "lawful_basis": "UK GDPR Art. 6(1)(e)",
            "approved_by": "Head of Governance",
        },
        headers=auth(manager),
    )
    assert shared.status == 201
    # A second call leaves a message, triaged.
    second = new_call_sid()
    assert (await inbound_call(client, "+447700900123", second)).status == 200
    await services_of(client).call_events.message_recorded(
        second,
        recording_sid="RE" + "3" * 32,
        recording_url="https://api.twilio.com/recordings/RE3",
        duration_s=20,
        new_matter=False,
        for_spoc=None,
        now=clock.now(),
    )
    triaged = await client.post(
        f"/api/v1/calls/{second}/message/triage",
        json={"outcome": "no_action", "notes": "Nothing new raised"},
        headers=auth(manager),
    )
    assert triaged.status == 200, await triaged.text()
    # Someone else's call must not appear.
    other = await create_person(client, manager, name="B. Other", phones=[OTHER_PHONE])
    assert (await inbound_call(client, OTHER_PHONE)).status == 200
    logged = await client.post(
        f"/api/v1/people/{call.person_id}/subject-access-requests",
        json={"received_on": "2026-11-20"},
        headers=auth(manager),
    )
    assert logged.status == 201

    export = await export_of(client, manager, call.person_id)

    assert export["person"]["id"] == call.person_id
    assert [s["id"] for s in export["strategies"]] == [call.strategy_id]
    versions = export["strategy_versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["terms"]["matter_ref"] == "CMP-2026-0142"
    assert versions[1]["terms"]["matter_ref"] == "CMP-2026-0199"
    assert versions[1]["why"] == "Calls now only on Friday mornings"
    assert [
        (s["strategy_id"], s["version"], s["notified_on"], s["recorded_by"])
        for s in export["letters_sent"]
    ] == [
        (call.strategy_id, 1, "2026-11-20", "mo.manager"),
        (call.strategy_id, 2, "2026-11-26", "mo.manager"),
    ]
    assert all(letter["recorded_by"] == "mo.manager" for letter in export["letters_sent"])
    assert export["appeals"] == []
    assert [s["shared_with"] for s in export["shares"]] == ["Lancashire Constabulary"]
    calls = {c["call_sid"]: c for c in export["calls"]}
    assert set(calls) == {call.call_sid, second}
    first = calls[call.call_sid]
    assert [w["reason"] for w in first["warnings"]] == ["verbal_abuse"]
    assert first["ended"]["reason"] == "verbal_abuse"
    assert calls[second]["message"]["triage"]["notes"] == "Nothing new raised"
    assert [n["id"] for n in export["file_notes"]] == [note_id]
    assert export["file_notes"][0]["addenda"][0]["text"] == "Caller rang back to apologise."
    assert [r["received_on"] for r in export["subject_access_requests"]] == ["2026-11-20"]
    actions = [e["action"] for e in export["audit"]]
    assert "subject_access.log" in actions
    assert actions[-2:] == ["person.read", "person.export"]
    assert other["id"] not in str(export)


async def test_a_request_is_due_one_calendar_month_after_it_was_received(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager)
    path = f"/api/v1/people/{person['id']}/subject-access-requests"
    due = {}
    for received in ("2026-10-31", "2026-01-31", "2026-11-27"):
        response = await client.post(path, json={"received_on": received}, headers=auth(manager))
        assert response.status == 201, await response.text()
        body = await response.json()
        assert body["logged_by"] == "mo.manager" and body["completed_on"] is None
        due[received] = body["due_on"]
    # No 31 November or 31 February: the last day of that month.
    assert due == {
        "2026-10-31": "2026-11-30",
        "2026-01-31": "2026-02-28",
        "2026-11-27": "2026-12-27",
    }
    listed = await (await client.get(path, headers=auth(manager))).json()
    assert sorted(r["received_on"] for r in listed) == sorted(due)
    everyone = await (
        await client.get("/api/v1/subject-access-requests", headers=auth(manager))
    ).json()
    assert len(everyone) == 3


async def test_completing_a_request_is_recorded_once(
    client: Client, tokens: dict[str, str]
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager)
    logged = await (
        await client.post(
            f"/api/v1/people/{person['id']}/subject-access-requests",
            json={"received_on": "2026-11-02"},
            headers=auth(manager),
        )
    ).json()
    path = f"/api/v1/subject-access-requests/{logged['id']}/completed"
    done = await client.post(path, json={"completed_on": "2026-11-25"}, headers=auth(manager))
    assert done.status == 200, await done.text()
    assert (await done.json())["completed_by"] == "mo.manager"
    again = await client.post(path, json={"completed_on": "2026-11-26"}, headers=auth(manager))
    assert again.status == 409
    assert "already" in (await again.json())["message"]
    listed = await (
        await client.get("/api/v1/subject-access-requests", headers=auth(manager))
    ).json()
    assert listed[0]["completed_on"] == "2026-11-25"


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"received_on": "2026-11-28"}, "received_on", "must not be in the future"),
        ({"received_on": "27/11/2026"}, "received_on", "date"),
        ({}, "received_on", "is required"),
    ],
)
async def test_a_bad_request_is_refused_naming_the_field(
    client: Client, tokens: dict[str, str], body: dict[str, str], field: str, reason: str
) -> None:
    person = await create_person(client, tokens["manager"])
    path = f"/api/v1/people/{person['id']}/subject-access-requests"
    response = await client.post(path, json=body, headers=auth(tokens["manager"]))
    assert response.status == 422
    text = await response.text()
    assert field in text and reason in text
    assert await (await client.get(path, headers=auth(tokens["manager"]))).json() == []


async def test_a_completion_before_the_request_was_received_is_refused(
    client: Client, tokens: dict[str, str]
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager)
    logged = await (
        await client.post(
            f"/api/v1/people/{person['id']}/subject-access-requests",
            json={"received_on": "2026-11-20"},
            headers=auth(manager),
        )
    ).json()
    response = await client.post(
        f"/api/v1/subject-access-requests/{logged['id']}/completed",
        json={"completed_on": "2026-11-19"},
        headers=auth(manager),
    )
    assert response.status == 422
    assert "completed_on" in await response.text()


async def test_staff_may_not_export_or_log_requests(client: Client, tokens: dict[str, str]) -> None:
    person = await create_person(client, tokens["manager"])
    staff = auth(tokens["staff"])
    assert (await client.get(f"/api/v1/people/{person['id']}/export", headers=staff)).status == 403
    logged = await client.post(
        f"/api/v1/people/{person['id']}/subject-access-requests",
        json={"received_on": "2026-11-20"},
        headers=staff,
    )
    assert logged.status == 403
    assert (await client.get("/api/v1/subject-access-requests")).status == 401


async def test_a_request_for_nobody_is_not_found(client: Client, tokens: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/people/per_0000000000000000/subject-access-requests",
        json={"received_on": "2026-11-20"},
        headers=auth(tokens["manager"]),
    )
    assert response.status == 404
    assert (
        await client.get(
            "/api/v1/people/per_0000000000000000/export", headers=auth(tokens["manager"])
        )
    ).status == 404


async def test_a_number_is_not_taken_for_a_date(client: Client, tokens: dict[str, str]) -> None:
    person = await create_person(client, tokens["manager"])
    response = await client.post(
        f"/api/v1/people/{person['id']}/subject-access-requests",
        json={"received_on": 0},
        headers=auth(tokens["manager"]),
    )
    assert response.status == 422
    assert "received_on" in await response.text()
