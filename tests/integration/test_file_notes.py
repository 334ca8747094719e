"""File notes (CONTRACT §4, §6.5) through the HTTP API: the draft made when staff end a
call, completing it once, addenda, sign-off, who may see what, and the audit trail."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from callguard.clock import FixedClock
from callguard.domain.roles import Role
from callguard.domain.users import User
from tests.conftest import auth
from tests.helpers import Client, new_call_sid, services
from tests.integration.test_live_controls import (
    PERSON_PHONE,
    LiveCall,
    add_user,
    connect_call,
    end,
    live_call,
    warn,
)
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(30)

COMPLETE = {
    "summary": "The caller swore at me repeatedly about the outcome of the complaint.",
    "why_ended": "The abuse continued after a clear warning.",
    "actions_taken": "Told my line manager; letter to follow explaining the contact strategy.",
    "line_manager_informed": True,
    "status": "completed",
}


async def ended_call(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> tuple[LiveCall, str]:
    """A live call warned at 10:00 and ended at 10:03 by sam.staff: (call, file note id)."""
    call = await live_call(client, tokens)
    assert (await warn(client, tokens["staff"], call.call_sid)).status == 201
    clock.advance(timedelta(minutes=3))
    response = await end(client, tokens["staff"], call.call_sid)
    assert response.status == 200, await response.text()
    return call, (await response.json())["file_note_id"]


async def get_note(client: Client, token: str, note_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/file-notes/{note_id}", headers=auth(token))
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


async def patch(client: Client, token: str, note_id: str, body: dict[str, Any]) -> Any:
    return await client.patch(f"/api/v1/file-notes/{note_id}", json=body, headers=auth(token))


async def test_the_draft_holds_the_facts_of_the_call(
    client: Client, tokens: dict[str, str], clock: FixedClock, twilio: TwilioStandIn
) -> None:
    call, note_id = await ended_call(client, tokens, clock)

    note = await get_note(client, tokens["staff"], note_id)

    assert note["id"] == note_id
    assert note["status"] == "draft"
    assert note["call_sid"] == call.call_sid
    assert note["caller"] == "+44*******123"
    # Staff see no person id (CONTRACT §5); their managers do.
    assert note["person_id"] is None
    assert (await get_note(client, tokens["manager"], note_id))["person_id"] == call.person_id
    assert note["strategy_ids"] == [call.strategy_id]
    assert note["matter_refs"] == ["CMP-2026-0142"]
    assert note["received_at"] == "2026-11-27T10:00:00Z"
    assert note["warnings"] == [
        {"at": "2026-11-27T10:00:00Z", "reason": "verbal_abuse", "by": "sam.staff"}
    ]
    assert note["ended"] == {
        "at": "2026-11-27T10:03:00Z",
        "reason": "verbal_abuse",
        "by": "sam.staff",
    }
    assert (note["reason"], note["reason_label"]) == ("verbal_abuse", "Verbal abuse")
    assert note["author"] == "sam.staff"
    assert note["line_manager"] == "mo.manager"
    assert note["recorded"] is True
    # Ended on Friday 27 November 2026: due at the end of Monday, 17:00 GMT.
    assert note["due_at"] == "2026-11-30T17:00:00Z"
    assert (note["summary"], note["line_manager_informed"], note["addenda"]) == (None, None, [])
    assert PERSON_PHONE not in str(note)


async def test_the_recording_reference_appears_once_twilio_sends_it(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    from tests.helpers import post_signed

    call, note_id = await ended_call(client, tokens, clock)
    assert (await get_note(client, tokens["staff"], note_id))["recording_sid"] is None
    recording = await post_signed(
        client,
        f"/webhooks/twilio/recording?call_sid={call.call_sid}",
        [
            ("RecordingSid", "RE" + "1" * 32),
            ("RecordingUrl", "https://api.twilio.com/recordings/RE" + "1" * 32),
            ("RecordingStatus", "completed"),
        ],
    )
    assert recording.status == 200
    assert (await get_note(client, tokens["staff"], note_id))["recording_sid"] == "RE" + "1" * 32


async def test_completing_needs_all_four_fields_and_happens_once(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    _call, note_id = await ended_call(client, tokens, clock)

    partial = await patch(
        client, tokens["staff"], note_id, {"summary": COMPLETE["summary"], "status": "completed"}
    )
    assert partial.status == 422
    named = [f["field"] for f in (await partial.json())["fields"]]
    assert named == ["why_ended", "actions_taken", "line_manager_informed"]
    assert (await get_note(client, tokens["staff"], note_id))["summary"] is None  # nothing stored

    saved = await patch(client, tokens["staff"], note_id, {"summary": COMPLETE["summary"]})
    assert saved.status == 200
    assert (await saved.json())["status"] == "draft"
    blank = await patch(client, tokens["staff"], note_id, {"why_ended": "   "})
    assert blank.status == 422

    clock.advance(timedelta(hours=2))
    rest = {k: v for k, v in COMPLETE.items() if k != "summary"}
    done = await patch(client, tokens["staff"], note_id, rest)
    assert done.status == 200, await done.text()
    note = await done.json()
    assert note["status"] == "completed"
    assert note["summary"] == COMPLETE["summary"]
    assert (note["completed_by"], note["completed_at"]) == ("sam.staff", "2026-11-27T12:03:00Z")

    again = await patch(client, tokens["staff"], note_id, COMPLETE)
    assert again.status == 409
    edit = await patch(client, tokens["staff"], note_id, {"summary": "Something else"})
    assert edit.status == 409
    by_manager = await patch(client, tokens["manager"], note_id, {"actions_taken": "More"})
    assert by_manager.status == 409
    assert (await get_note(client, tokens["staff"], note_id))["summary"] == COMPLETE["summary"]


async def test_concurrent_completions_complete_once(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    _call, note_id = await ended_call(client, tokens, clock)
    responses = await asyncio.gather(
        *(patch(client, tokens["staff"], note_id, COMPLETE) for _ in range(4))
    )
    assert sorted(r.status for r in responses) == [200, 409, 409, 409]
    audit = await services(client).register.store.audit_log(200)
    assert [a["action"] for a in audit].count("file_note.complete") == 1


async def test_line_manager_informed_at_is_kept_and_never_in_the_future(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    _call, note_id = await ended_call(client, tokens, clock)
    future = await patch(
        client, tokens["staff"], note_id, {"line_manager_informed_at": "2026-11-28T09:00:00Z"}
    )
    assert future.status == 422
    assert (await future.json())["fields"][0]["field"] == "line_manager_informed_at"
    # JSON types as documented: a date-time is ISO 8601 text, a yes/no is a boolean.
    for wrong in ({"line_manager_informed_at": 0}, {"line_manager_informed": "yes"}):
        response = await patch(client, tokens["staff"], note_id, wrong)
        assert response.status == 422
        assert [f["field"] for f in (await response.json())["fields"]] == list(wrong)
    clock.advance(timedelta(minutes=10))
    body = {**COMPLETE, "line_manager_informed_at": "2026-11-27T10:05:00+00:00"}
    done = await patch(client, tokens["staff"], note_id, body)
    assert done.status == 200
    assert (await done.json())["line_manager_informed_at"] == "2026-11-27T10:05:00Z"


async def test_addenda_are_kept_with_author_and_time(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    _call, note_id = await ended_call(client, tokens, clock)
    assert (await patch(client, tokens["staff"], note_id, COMPLETE)).status == 200
    clock.advance(timedelta(days=1))

    first = await client.post(
        f"/api/v1/file-notes/{note_id}/addenda",
        json={"text": "Correction: the call was at 10:03, not 10:30."},
        headers=auth(tokens["staff"]),
    )
    clock.advance(timedelta(minutes=30))
    second = await client.post(
        f"/api/v1/file-notes/{note_id}/addenda",
        json={"text": "Spoke to Sam; support arranged."},
        headers=auth(tokens["manager"]),
    )
    empty = await client.post(
        f"/api/v1/file-notes/{note_id}/addenda", json={"text": ""}, headers=auth(tokens["staff"])
    )

    assert (first.status, second.status, empty.status) == (201, 201, 422)
    note = await get_note(client, tokens["staff"], note_id)
    assert note["addenda"] == [
        {
            "text": "Correction: the call was at 10:03, not 10:30.",
            "by": "sam.staff",
            "at": "2026-11-28T10:03:00Z",
        },
        {
            "text": "Spoke to Sam; support arranged.",
            "by": "mo.manager",
            "at": "2026-11-28T10:33:00Z",
        },
    ]
    assert note["summary"] == COMPLETE["summary"]  # the note itself is unchanged


async def test_sign_off_is_for_managers_on_completed_notes_once(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    _call, note_id = await ended_call(client, tokens, clock)
    path = f"/api/v1/file-notes/{note_id}/sign-off"

    assert (await client.post(path, headers=auth(tokens["manager"]))).status == 409  # a draft
    assert (await patch(client, tokens["staff"], note_id, COMPLETE)).status == 200
    assert (await client.post(path, headers=auth(tokens["staff"]))).status == 403
    assert (await client.post(path, headers=auth(tokens["admin"]))).status == 403

    signed = await client.post(path, headers=auth(tokens["manager"]))
    assert signed.status == 200
    assert (await signed.json())["signed_off"] == {
        "by": "mo.manager",
        "at": "2026-11-27T10:03:00Z",
    }
    assert (await client.post(path, headers=auth(tokens["chief_executive"]))).status == 409


async def test_a_manager_does_not_sign_off_their_own_note(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    call = await live_call(client, tokens)
    ended = await end(client, tokens["manager"], call.call_sid, "threats")
    note_id = (await ended.json())["file_note_id"]
    assert (await patch(client, tokens["manager"], note_id, COMPLETE)).status == 200
    path = f"/api/v1/file-notes/{note_id}/sign-off"
    assert (await client.post(path, headers=auth(tokens["manager"]))).status == 403
    assert (await client.post(path, headers=auth(tokens["chief_executive"]))).status == 200


async def test_staff_see_and_write_only_their_own_notes(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    other = await add_user(
        client, User(name="kim.staff", role=Role.staff, line_manager="mo.manager")
    )
    _call, note_id = await ended_call(client, tokens, clock)

    read = await client.get(f"/api/v1/file-notes/{note_id}", headers=auth(other))
    assert read.status == 403
    assert (await patch(client, other, note_id, {"summary": "Not mine"})).status == 403
    addendum = await client.post(
        f"/api/v1/file-notes/{note_id}/addenda", json={"text": "x"}, headers=auth(other)
    )
    assert addendum.status == 403
    listed = await (await client.get("/api/v1/file-notes", headers=auth(other))).json()
    assert listed["items"] == []
    # Asking for someone else's notes by author gives a staff member only their own.
    by_author = await client.get("/api/v1/file-notes?author=sam.staff", headers=auth(other))
    assert (await by_author.json())["items"] == []

    own = await (await client.get("/api/v1/file-notes", headers=auth(tokens["staff"]))).json()
    assert [n["id"] for n in own["items"]] == [note_id]
    everyone = await (
        await client.get("/api/v1/file-notes", headers=auth(tokens["manager"]))
    ).json()
    assert [n["id"] for n in everyone["items"]] == [note_id]
    assert (await client.get("/api/v1/file-notes", headers=auth(tokens["admin"]))).status == 403
    assert (await client.get("/api/v1/file-notes")).status == 401
    assert (await client.get("/api/v1/file-notes/fn_unknown", headers=auth(other))).status == 404


async def test_notes_are_listed_by_status(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    _first, done_id = await ended_call(client, tokens, clock)
    assert (await patch(client, tokens["staff"], done_id, COMPLETE)).status == 200
    call_sid, _conference = await connect_call(client)
    assert (await end(client, tokens["staff"], call_sid, "threats")).status == 200

    async def ids(status: str) -> list[str]:
        response = await client.get(
            f"/api/v1/file-notes?status={status}", headers=auth(tokens["staff"])
        )
        return [n["id"] for n in (await response.json())["items"]]

    drafts = await ids("draft")
    assert len(drafts) == 1 and done_id not in drafts
    assert await ids("completed") == [done_id]
    bad = await client.get("/api/v1/file-notes?status=lost", headers=auth(tokens["staff"]))
    assert bad.status == 422


async def test_staff_may_start_a_note_for_a_call_they_did_not_end(
    client: Client, tokens: dict[str, str]
) -> None:
    call = await live_call(client, tokens)

    response = await client.post(
        "/api/v1/file-notes",
        json={"call_sid": call.call_sid, "summary": "The caller was abusive to a colleague."},
        headers=auth(tokens["staff"]),
    )

    assert response.status == 201, await response.text()
    note = await response.json()
    assert (note["status"], note["author"], note["ended"], note["reason"]) == (
        "draft",
        "sam.staff",
        None,
        None,
    )
    assert note["summary"] == "The caller was abusive to a colleague."
    assert note["matter_refs"] == ["CMP-2026-0142"]
    assert (await get_note(client, tokens["staff"], note["id"]))["id"] == note["id"]
    unknown = await client.post(
        "/api/v1/file-notes", json={"call_sid": new_call_sid()}, headers=auth(tokens["staff"])
    )
    assert unknown.status == 422
    assert [f["field"] for f in (await unknown.json())["fields"]] == ["call_sid"]
    malformed = await client.post(
        "/api/v1/file-notes", json={"call_sid": "nope"}, headers=auth(tokens["staff"])
    )
    assert malformed.status == 422


async def test_every_change_is_audited_against_the_callers_person(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    call, note_id = await ended_call(client, tokens, clock)
    await get_note(client, tokens["staff"], note_id)
    assert (await patch(client, tokens["staff"], note_id, {"summary": "So far"})).status == 200
    assert (await patch(client, tokens["staff"], note_id, COMPLETE)).status == 200
    await client.post(
        f"/api/v1/file-notes/{note_id}/addenda",
        json={"text": "More"},
        headers=auth(tokens["staff"]),
    )
    await client.post(f"/api/v1/file-notes/{note_id}/sign-off", headers=auth(tokens["manager"]))

    audit = await services(client).register.store.audit_of_person(call.person_id)
    trail = [(a["action"], a["who"]) for a in audit if a["action"].startswith(("call.", "file_"))]
    assert trail == [
        ("call.warning", "sam.staff"),
        ("call.end", "sam.staff"),
        ("file_note.read", "sam.staff"),
        ("file_note.update", "sam.staff"),
        ("file_note.complete", "sam.staff"),
        ("file_note.addendum", "sam.staff"),
        ("file_note.sign_off", "mo.manager"),
    ]
    assert all(a["person_id"] == call.person_id for a in audit)
    # No caller's words and no phone number in the audit trail.
    assert not any("swore" in a["detail"] or PERSON_PHONE in a["detail"] for a in audit)
