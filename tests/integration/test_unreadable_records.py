"""A record this release cannot read (written by a later release, with a value this one
does not know, say: a replica not yet upgraded in a rolling upgrade, or a rollback) takes no
list shown to people down with it: call records, file notes, appeals, subject access
requests and legal holds alike. Retention keeps such a call record (whose it is, and so
whether it is held, cannot be known) and disposes of the rest; a subject access bundle or a
download, which would be incomplete without it, says so rather than leave it out; and work
that acts on what it reads (counts, reminders) is told, not given a list without it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import cast

import pytest

from callguard.clock import FixedClock
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.store.readable import Unreadable
from tests.conftest import KEYS, auth
from tests.e2e.support import (
    ADMIN,
    STAFF,
    fast_passwords,
    page_csrf,
    sign_in,
)
from tests.helpers import Client, create_person, create_strategy, inbound_call, new_call_sid
from tests.helpers import services as services_of
from tests.integration.scheduler_support import at

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]

PHONE = "+447700900123"


async def test_a_call_record_this_release_cannot_read_takes_nothing_down(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager, phones=[PHONE])
    await create_strategy(client, manager, person["id"], [{"kind": "phone_blocked"}])
    clock.set(at(2024, 1, 10, 11, 0))  # both past the call records' period by the run
    later, readable = new_call_sid(), new_call_sid()
    for sid in (later, readable):
        response = await inbound_call(client, PHONE, sid)
        assert response.headers["X-CallGuard-Outcome"] == "refuse"
    redis = services_of(client).calls.redis
    await redis.hset(KEYS.call(later), "outcome", '"an_outcome_of_a_later_release"')

    listed = await client.get("/api/v1/calls", headers=auth(manager))
    assert listed.status == 200
    assert [c["call_sid"] for c in (await listed.json())["items"]] == [readable]
    by_person = await client.get(f"/api/v1/calls?person_id={person['id']}", headers=auth(manager))
    assert by_person.status == 200
    one = await client.get(f"/api/v1/calls/{later}", headers=auth(manager))
    assert one.status == 409
    assert "written by another version of CallGuard" in (await one.json())["message"]
    # Acting on it is refused as plainly, and does nothing.
    for action in ("warnings", "end"):
        acted = await client.post(
            f"/api/v1/calls/{later}/{action}",
            json={"reason": "verbal_abuse"},
            headers=auth(tokens["staff"]),
        )
        assert acted.status == 409, action
        assert "so nothing was done" in (await acted.json())["message"]
    triaged = await client.post(
        f"/api/v1/calls/{later}/message/triage",
        json={"outcome": "no_action", "notes": "Nothing to act on"},
        headers=auth(tokens["staff"]),
    )
    assert triaged.status == 409, await triaged.text()

    export = await client.get(f"/api/v1/people/{person['id']}/export", headers=auth(manager))
    assert export.status == 409
    assert "1 of this person's call records cannot be read" in (await export.json())["message"]
    download = await client.get("/api/v1/calls.csv", headers=auth(manager))
    assert download.status == 409  # a download is every record, or says why not
    assert "so the download would not be complete" in (await download.json())["message"]

    with pytest.raises(Unreadable) as unread:
        await services_of(client).calls.many([readable, later])
    assert unread.value.ids == [later]

    clock.set(at(2026, 11, 27, 2, 30))
    run = await services_of(client).duties.run("retention", clock.now())
    assert run.outcome == "performed" and run.summary is not None
    assert run.summary["call_records_unreadable_kept"] == 1
    assert await redis.exists(KEYS.call(later))  # kept
    assert not await redis.exists(KEYS.call(readable))  # past its period: gone


@pytest.fixture
def manager_pages(manager: Client) -> Client:
    return manager


async def test_a_list_that_leaves_out_a_call_says_so(
    manager_pages: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    """Every page that lists or counts calls says how many it could not show, and the
    API's lists say how many they left out (``left_out``), beside a total that counts them."""
    client, manager = manager_pages, tokens["manager"]
    person = await create_person(client, manager, phones=["+447700900987"])
    strategy = await create_strategy(client, manager, person["id"], [{"kind": "phone_blocked"}])
    later, readable = new_call_sid(), new_call_sid()
    for sid in (later, readable):  # a minute apart: the readable one is the newer
        clock.advance(timedelta(minutes=1))
        response = await inbound_call(client, "+447700900987", sid)
        assert response.headers["X-CallGuard-Outcome"] == "refuse"
        await services_of(client).call_events.message_recorded(
            sid,
            recording_sid="RE" + "0" * 32,
            recording_url="https://api.twilio.com/recording",
            duration_s=30,
            new_matter=False,
            for_spoc=None,
            now=clock.now(),
        )
    redis = services_of(client).calls.redis
    await redis.hset(KEYS.call(later), "outcome", '"an_outcome_of_a_later_release"')

    said = "1 call cannot be shown here because another version of CallGuard saved it."
    pages = [f"/calls?person_id={person['id']}", f"/strategies/{strategy['id']}", "/manage"]
    for page in [*pages, f"/people/{person['id']}"]:
        shown = await client.get(page)
        assert shown.status == 200, page
        assert said in await shown.text(), page
    listed = await (await client.get(pages[0])).text()
    assert "Showing 1–2 of 2 calls" in listed  # the page's calls, one of them not shown
    console = await (await client.get("/console")).text()
    assert "1 message cannot be shown here because another version" in console

    for api in (
        f"/api/v1/calls?person_id={person['id']}",
        f"/api/v1/strategies/{strategy['id']}/breaches",
        "/api/v1/messages",
    ):
        body = await (await client.get(api, headers=auth(manager))).json()
        assert [c["call_sid"] for c in body["items"]] == [readable], api
        assert (body["total"], body["left_out"]) == (2, 1), api
    unfiltered = await (await client.get("/calls")).text()
    assert said in unfiltered

    # Filtered by outcome too: the call that cannot be read may have it, so it keeps its
    # place in the list (the newest first), and is counted on its own page only.
    by_outcome = f"/api/v1/calls?person_id={person['id']}&outcome="
    for outcome in ("refuse", "connect"):
        body = await (await client.get(by_outcome + outcome, headers=auth(manager))).json()
        expected = [readable] if outcome == "refuse" else []
        assert [c["call_sid"] for c in body["items"]] == expected, outcome
        assert (body["total"], body["left_out"]) == (len(expected) + 1, 1), outcome
    one_a_page = [f"{by_outcome}refuse&limit=1&offset={n}" for n in (0, 1)]
    paged = [await (await client.get(p, headers=auth(manager))).json() for p in one_a_page]
    assert [([c["call_sid"] for c in p["items"]], p["left_out"]) for p in paged] == [
        ([readable], 0),
        ([], 1),
    ]
    refused = await (await client.get(f"/calls?person_id={person['id']}&outcome=refuse")).text()
    assert "Showing 1–2 of 2 calls" in refused and said in refused


async def test_the_console_stays_up_for_the_other_calls(
    manager_pages: Client, clock: FixedClock
) -> None:
    client = manager_pages
    client.session.cookie_jar.clear()
    await sign_in(client, STAFF)
    calls = [new_call_sid(), new_call_sid()]
    for sid in calls:
        response = await inbound_call(client, "07911 123456", sid)
        assert response.headers["X-CallGuard-Outcome"] == "connect"
    redis = services_of(client).calls.redis
    assert await redis.sismember(KEYS.LIVE_CALLS, calls[0])
    await redis.hset(KEYS.call(calls[0]), "outcome", '"an_outcome_of_a_later_release"')

    shown = await client.get("/console")
    assert shown.status == 200
    assert calls[1] in await shown.text()
    said = "1 live call cannot be shown here because another version of CallGuard saved it."
    assert said in await shown.text()
    polled = await client.get("/console/live.json", headers={"Accept": "application/json"})
    body = await polled.json()
    assert body["live"] == [calls[1]] and said in body["left_out"]["html"]

    # Warning the caller of that call from the console: refused plainly, nothing played.
    token = await page_csrf(client, "/console")
    warned = await client.post(
        f"/console/calls/{calls[0]}/warning", data={"csrf_token": token, "reason": "verbal_abuse"}
    )
    assert warned.status == 409
    assert "written by another version of CallGuard" in await warned.text()


async def test_a_file_note_this_release_cannot_read_takes_no_list_down(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    """The same for file notes: the lists of notes (everyone's, the person's) leave it out;
    a subject access bundle, which would be incomplete without it, says so."""
    manager, staff = tokens["manager"], tokens["staff"]
    person = await create_person(client, manager, phones=[PHONE])
    await create_strategy(client, manager, person["id"], [{"kind": "recorded"}])
    note_ids = []
    for _ in range(2):
        sid = new_call_sid()
        await inbound_call(client, PHONE, sid)
        made = await client.post("/api/v1/file-notes", json={"call_sid": sid}, headers=auth(staff))
        assert made.status == 201, await made.text()
        note_ids.append((await made.json())["id"])
    redis = services_of(client).calls.redis
    key = KEYS.note(note_ids[0])
    stored = json.loads(cast(str, await redis.get(key)))
    await redis.set(key, json.dumps({**stored, "status": "a_status_of_a_later_release"}))

    listed = await client.get("/api/v1/file-notes", headers=auth(manager))
    assert listed.status == 200
    body = await listed.json()
    assert [n["id"] for n in body["items"]] == [note_ids[1]]
    assert (body["total"], body["unreadable"]) == (1, 1)  # it cannot be filtered, so apart
    manager_actor = Actor(name="mo.manager", role=Role.manager)
    of_person = await services_of(client).notes.of_person(manager_actor, person["id"])
    assert [n.id for n in of_person] == [note_ids[1]]  # the person's page lists these

    export = await client.get(f"/api/v1/people/{person['id']}/export", headers=auth(manager))
    assert export.status == 409
    assert "1 of this person's file notes cannot be read" in (await export.json())["message"]
    with pytest.raises(Unreadable):
        await services_of(client).notes.store.newest(None)
    # The late-file-notes duty acts on what it reads: it fails loudly, reminding no one
    # on a list without the note.
    with pytest.raises(Unreadable):
        await services_of(client).duties.run("file_notes", clock.now())


async def spoil(client: Client, key: str, field: str) -> None:
    """The stored JSON at ``key`` as a later release might write it: ``field`` holding a
    value this release does not know."""
    redis = services_of(client).calls.redis
    stored = json.loads(cast(str, await redis.get(key)))
    await redis.set(key, json.dumps({**stored, field: "a_value_of_a_later_release"}))


async def test_appeals_requests_and_holds_this_release_cannot_read_take_no_list_down(
    client: Client, tokens: dict[str, str]
) -> None:
    """The same for appeals, subject access requests and legal holds: their lists (on a
    strategy's page, on the person's, and everyone's) leave it out; the bundle refuses."""
    manager = tokens["manager"]
    person = await create_person(client, manager, phones=[PHONE])
    strategy = await create_strategy(client, manager, person["id"], [{"kind": "phone_blocked"}])
    appeal_path = f"/api/v1/strategies/{strategy['id']}/appeals"
    appealed = await client.post(
        appeal_path,
        json={"received_on": "2026-11-27", "grounds": "I was never abusive", "decider": "ceo"},
        headers=auth(manager),
    )
    assert appealed.status == 201, await appealed.text()
    request_path = f"/api/v1/people/{person['id']}/subject-access-requests"
    requested = []
    for received in ("2026-11-20", "2026-11-27"):
        made = await client.post(
            request_path, json={"received_on": received}, headers=auth(manager)
        )
        assert made.status == 201, await made.text()
        requested.append((await made.json())["id"])
    call_sid = new_call_sid()
    await inbound_call(client, PHONE, call_sid)
    for kind, target in (("person", person["id"]), ("call", call_sid)):
        held = await client.post(
            "/api/v1/legal-holds",
            json={"kind": kind, "id": target, "reason": "A claim is expected"},
            headers=auth(manager),
        )
        assert held.status == 201, await held.text()
    await spoil(client, KEYS.appeal((await appealed.json())["id"]), "status")
    await spoil(client, KEYS.subject_access(requested[0]), "received_on")
    await spoil(client, KEYS.legal_hold("person", person["id"]), "kind")

    assert await services_of(client).appeals.of_strategy(strategy["id"]) == []  # its page's
    everyone = await client.get("/api/v1/appeals", headers=auth(manager))
    assert everyone.status == 200
    assert {**(await everyone.json()), "limit": 0} == {
        "items": [],
        "total": 0,
        "offset": 0,
        "limit": 0,
        "unreadable": 1,
    }
    mine = await client.get(request_path, headers=auth(manager))
    assert [r["id"] for r in await mine.json()] == [requested[1]]
    all_requests = await client.get("/api/v1/subject-access-requests", headers=auth(manager))
    assert [r["id"] for r in await all_requests.json()] == [requested[1]]
    holds = await (await client.get("/api/v1/legal-holds", headers=auth(manager))).json()
    assert ([h["id"] for h in holds["items"]], holds["unreadable"]) == ([call_sid], 1)

    export = await client.get(f"/api/v1/people/{person['id']}/export", headers=auth(manager))
    assert export.status == 409
    assert "cannot be read by this version of CallGuard" in (await export.json())["message"]
    # A new appeal beside the unreadable one, and lifting the unreadable hold, are refused
    # plainly: nothing is recorded or lifted.
    again = await client.post(
        appeal_path,
        json={"received_on": "2026-11-27", "grounds": "Again", "decider": "ceo"},
        headers=auth(manager),
    )
    assert again.status == 409, await again.text()
    assert "so nothing was done" in (await again.json())["message"]
    lifted = await client.request(
        "DELETE",
        "/api/v1/legal-holds",
        json={"kind": "person", "id": person["id"], "reason": "The claim was settled"},
        headers=auth(manager),
    )
    assert lifted.status == 409 and "so nothing was done" in (await lifted.json())["message"]
    assert await services_of(client).calls.redis.exists(KEYS.legal_hold("person", person["id"]))

    # What acts on them reads strictly: the appeals duty and the report, retention and the
    # subject access duty are told, never given a list without the record.
    store = services_of(client).subject_access.store
    with pytest.raises(Unreadable):
        await services_of(client).appeals.store.all()
    with pytest.raises(Unreadable):
        await store.many(requested)
    with pytest.raises(Unreadable):
        await store.of_person(person["id"])


async def test_every_other_list_that_leaves_out_a_record_says_so(
    manager_pages: Client, tokens: dict[str, str]
) -> None:
    """File notes (the notes page, the overview, the console, the person's timeline),
    appeals (everyone's, a strategy's), subject access requests (everyone's, the person's)
    and accounts: each page says how many it could not show."""
    client, manager, staff = manager_pages, tokens["manager"], tokens["staff"]
    person = await create_person(client, manager, phones=["+447700900987"])
    strategy = await create_strategy(client, manager, person["id"], [{"kind": "recorded"}])
    notes = []
    for _ in range(2):
        sid = new_call_sid()
        await inbound_call(client, "+447700900987", sid)
        made = await client.post("/api/v1/file-notes", json={"call_sid": sid}, headers=auth(staff))
        assert made.status == 201, await made.text()
        notes.append((await made.json())["id"])
    appealed = await client.post(
        f"/api/v1/strategies/{strategy['id']}/appeals",
        json={"received_on": "2026-11-27", "grounds": "I was never abusive", "decider": "ceo"},
        headers=auth(manager),
    )
    assert appealed.status == 201, await appealed.text()
    requested = await client.post(
        f"/api/v1/people/{person['id']}/subject-access-requests",
        json={"received_on": "2026-11-27"},
        headers=auth(manager),
    )
    assert requested.status == 201, await requested.text()
    await spoil(client, KEYS.note(notes[0]), "status")
    await spoil(client, KEYS.appeal((await appealed.json())["id"]), "status")
    await spoil(client, KEYS.subject_access((await requested.json())["id"]), "received_on")
    redis = services_of(client).calls.redis
    later = {"name": "ali.auditor", "role": "auditor", "display_name": "Ali Auditor"}
    await redis.set(KEYS.user(later["name"]), json.dumps(later))
    await redis.sadd(KEYS.USERS, later["name"])

    def said(noun: str) -> str:
        return f"1 {noun} cannot be shown here because another version of CallGuard saved it."

    shown = {
        "/notes": ["file note"],
        "/manage": ["file note"],
        f"/people/{person['id']}": ["file note", "subject access request"],
        "/appeals": ["appeal"],
        f"/strategies/{strategy['id']}": ["appeal"],
        "/subject-access": ["subject access request"],
    }
    for page, nouns in shown.items():
        response = await client.get(page)
        assert response.status == 200, page
        text = await response.text()
        for noun in nouns:
            assert said(noun) in text, (page, noun)
        assert said("account") not in text, page  # the names of staff: no list is shown

    client.session.cookie_jar.clear()
    await sign_in(client, STAFF)
    assert said("file note") in await (await client.get("/console")).text()
    client.session.cookie_jar.clear()
    await sign_in(client, ADMIN)
    assert said("account") in await (await client.get("/admin/users")).text()
