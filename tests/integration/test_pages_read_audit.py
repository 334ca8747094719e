"""Reads are audited (CONTRACT §7): reading a person, a strategy, a call record, the call
log (and its CSV) and a file note, through the pages and the API, adds who read what and
when to the audit of each person shown, and the subject access export shows it."""

from __future__ import annotations

from datetime import date

import pytest

from callguard.clock import FixedClock
from callguard.domain.notes import NoteCreateIn
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.policy import Policy
from callguard.settings import Settings
from tests.conftest import DEFAULT_NOW, auth
from tests.e2e.support import (
    MANAGER,
    STAFF,
    Client,
    csrf_of,
    demo_pages,
    fast_passwords,
)
from tests.helpers import Client as ApiClient
from tests.helpers import create_person, create_strategy, inbound_call, new_call_sid, services

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]

GUS_PHONE = "07700 900107"  # Gus Final in the demo data: every call refused


async def audit_of(client: Client | ApiClient, person_id: str) -> list[dict[str, str]]:
    return await services(client).register.store.audit_of_person(person_id)


async def test_reading_pages_adds_who_what_and_when_to_the_persons_audit(
    manager: Client,
) -> None:
    svc = services(manager)
    people, _ = await svc.register.store.list_people(0, 100)
    gus = next(p for p in people if p.name == "Gus Final")
    strategy = (await svc.register.store.strategies_of(gus.id))[0]
    sid = new_call_sid()
    assert (await inbound_call(manager, GUS_PHONE, sid)).status == 200
    note = await svc.notes.create(
        NoteCreateIn(call_sid=sid), Actor(name="morgan", role=Role.manager), DEFAULT_NOW
    )
    before = len(await audit_of(manager, gus.id))

    for path in (
        f"/people/{gus.id}",
        f"/strategies/{strategy.id}",
        f"/calls/{sid}",
        "/calls",
        "/calls.csv",
        f"/notes/{note.id}",
    ):
        response = await manager.get(path)
        assert response.status == 200, (path, await response.text())

    read = (await audit_of(manager, gus.id))[before:]
    actions = [e["action"] for e in read]
    for expected in (
        "person.read",
        "strategy.read",
        "call.read",
        "call_log.read",
        "call_log.csv",
        "file_note.read",
    ):
        assert expected in actions, (expected, actions)
    assert {e["who"] for e in read} == {MANAGER}
    assert {e["at"] for e in read} == {DEFAULT_NOW.isoformat()}
    targets = {e["action"]: e["target"] for e in read}
    assert targets["call.read"] == sid and targets["strategy.read"] == strategy.id
    assert targets["file_note.read"] == note.id
    # The call log's entry says what was shown, never a phone number.
    log_entry = next(e for e in read if e["action"] == "call_log.read")
    assert log_entry["detail"].startswith("1 calls from 1")
    assert "7700" not in str(read)
    # Someone not on the page is not touched by it.
    others = [p for p in people if p.id != gus.id]
    for other in others:
        assert "call_log.read" not in [e["action"] for e in await audit_of(manager, other.id)]


async def test_api_reads_are_audited_and_shown_in_the_export(
    client: ApiClient, tokens: dict[str, str]
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager, phones=["07700 900555"])
    strategy = await create_strategy(client, manager, person["id"], [{"kind": "phone_blocked"}])
    sid = new_call_sid()
    assert (await inbound_call(client, "07700 900555", sid)).status == 200
    note = await client.post("/api/v1/file-notes", json={"call_sid": sid}, headers=auth(manager))
    assert note.status == 201
    note_id = (await note.json())["id"]
    for path in (
        f"/api/v1/people/{person['id']}",
        f"/api/v1/strategies/{strategy['id']}",
        f"/api/v1/calls/{sid}",
        "/api/v1/calls",
        "/api/v1/calls.csv",
        f"/api/v1/strategies/{strategy['id']}/breaches",
        f"/api/v1/file-notes/{note_id}",
        "/api/v1/file-notes",
    ):
        response = await client.get(path, headers=auth(tokens["chief_executive"]))
        assert response.status == 200, (path, await response.text())
    export = await (
        await client.get(f"/api/v1/people/{person['id']}/export", headers=auth(manager))
    ).json()
    by_ceo = [e["action"] for e in export["audit"] if e["who"] == "ceo"]
    assert by_ceo == [
        "person.read",
        "strategy.read",
        "call.read",
        "call_log.read",
        "call_log.csv",
        "call_log.breaches",
        "file_note.read",
        "file_note.list",
    ]


async def test_reading_calls_of_unknown_callers_is_audited_about_no_one(
    client: ApiClient, tokens: dict[str, str]
) -> None:
    assert (await inbound_call(client, "07700 900777")).status == 200
    response = await client.get("/api/v1/calls", headers=auth(tokens["manager"]))
    assert response.status == 200
    latest = (await services(client).register.store.audit_log(1))[0]
    assert latest["action"] == "call_log.read" and latest["person_id"] == ""
    assert latest["who"] == "mo.manager"


async def test_a_missing_call_is_not_found_and_not_audited(
    client: ApiClient, tokens: dict[str, str]
) -> None:
    response = await client.get("/api/v1/calls/CA" + "0" * 32, headers=auth(tokens["manager"]))
    assert response.status == 404
    assert await services(client).register.store.audit_log(5) == []


async def test_the_subject_access_pages_refuse_a_bad_date_beside_its_field(
    manager: Client,
) -> None:
    svc = services(manager)
    people, _ = await svc.register.store.list_people(0, 100)
    gus = next(p for p in people if p.name == "Gus Final")
    page = await manager.get(f"/people/{gus.id}")
    html = await page.text()
    token = csrf_of(html)
    # The date is a GOV.UK date input (day, month, year), starting as today.
    today = svc.register.today(svc.clock.now())
    for part, value in (("day", today.day), ("month", today.month), ("year", today.year)):
        assert f'name="received_on-{part}" type="text" value="{value}"' in html
    path = f"/people/{gus.id}/subject-access-requests"
    blank = {"received_on-day": "", "received_on-month": "", "received_on-year": ""}
    bad = await manager.post(path, data={**blank, "csrf_token": token})
    assert bad.status == 422
    assert "Enter the date the request was received" in await bad.text()
    not_real = {"received_on-day": "31", "received_on-month": "11", "received_on-year": "2026"}
    refused = await manager.post(path, data={**not_real, "csrf_token": token})
    assert refused.status == 422
    refused_html = await refused.text()
    assert 'id="received_on-error"' in refused_html
    assert "The date the request was received must be a real date, like 15 2 2027" in refused_html
    assert 'name="received_on-day" type="text" value="31"' in refused_html  # kept as typed
    when = {"received_on-day": "20", "received_on-month": "11", "received_on-year": "2026"}
    logged = await manager.post(path, data={**when, "csrf_token": token}, allow_redirects=False)
    assert logged.status == 303
    (request,) = await svc.subject_access.requests_of(gus.id)
    field = f"completed_on-{request.id}"
    # The date the response was sent is a date input too, starting as today.
    listed = await (await manager.get("/subject-access")).text()
    for part, value in (("day", today.day), ("month", today.month), ("year", today.year)):
        assert f'name="{field}-{part}" type="text" value="{value}"' in listed
    assert 'type="date"' not in listed
    completed = f"/subject-access/{request.id}/completed"

    def sent(day: str, month: str, year: str) -> dict[str, str]:
        parts = {f"{field}-day": day, f"{field}-month": month, f"{field}-year": year}
        return {**parts, "csrf_token": token}

    early = await manager.post(completed, data=sent("19", "11", "2026"))
    assert early.status == 422
    text = await early.text()
    assert f'id="{field}-error"' in text
    assert (
        "The date the response was sent must be on or after the date the request was received"
        in text
    )
    assert f'name="{field}-day" type="text" value="19"' in text  # kept as typed
    unreal = await manager.post(completed, data=sent("31", "11", "2026"))
    assert unreal.status == 422
    assert "The date the response was sent must be a real date" in await unreal.text()
    unsent = await manager.post(completed, data=sent("", "", ""))
    assert unsent.status == 422
    assert "Enter the date the response was sent" in await unsent.text()
    assert (await svc.subject_access.requests_of(gus.id))[0].completed_on is None
    done = await manager.post(completed, data=sent("25", "11", "2026"), allow_redirects=False)
    assert done.status == 303
    assert (await svc.subject_access.requests_of(gus.id))[0].completed_on == date(2026, 11, 25)
    # Without the form's token nothing is logged.
    forged = await manager.post(path, data={**when, "received_on-day": "21"})
    assert forged.status == 403
    assert len(await svc.subject_access.requests_of(gus.id)) == 1


async def test_staff_may_not_open_the_subject_access_pages(
    settings: Settings, policy: Policy, clock: FixedClock
) -> None:
    async with demo_pages(settings, policy, clock, signed_in_as=STAFF) as client:
        for path in ("/subject-access", "/people/per_x/subject-access-bundle"):
            response = await client.get(path)
            assert response.status == 403, path
