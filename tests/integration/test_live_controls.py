"""Live call controls (CONTRACT §4, §6.4–6.5) through the HTTP API and the real, signed
webhooks: the exact Twilio REST requests, the TwiML the caller then hears, and the 409 rules.

A call is made live as Twilio would: the signed voice webhook for a restricted caller, then
the signed conference callback ``participant-join`` carrying the ConferenceSid.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse

from callguard.domain.users import User
from callguard.policy import Policy
from tests.conftest import ACCOUNT_SID, PUBLIC_URL, auth
from tests.helpers import (
    Client,
    call_record,
    create_person,
    create_strategy,
    inbound_call,
    new_call_sid,
    post_signed,
    services,
)
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(30)

PERSON_PHONE = "+447700900123"
# The clock stands at Friday 27 November 2026, 10:00 GMT.
FRIDAY_MORNINGS = {
    "kind": "call_windows",
    "windows": [{"days": ["fri"], "start": "09:00", "end": "12:00"}],
    "max_calls": 5,
    "per": "week",
}
SPOC = {"kind": "spoc", "name": "Jo Bloggs", "phone": "+441772000001"}
RECORDED = {"kind": "recorded"}
ACCOUNT_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}"


@dataclass
class LiveCall:
    call_sid: str
    conference_sid: str
    person_id: str
    strategy_id: str


async def restricted_person(
    client: Client,
    tokens: dict[str, str],
    restrictions: list[dict[str, Any]] | None = None,
    phone: str = PERSON_PHONE,
) -> tuple[str, str]:
    """A person with one strategy (matter CMP-2026-0142): (person id, strategy id)."""
    person = await create_person(
        client,
        tokens["manager"],
        phones=[phone],
        reasonable_adjustments=[{"kind": "needs_extra_time", "detail": "speaks slowly"}],
    )
    strategy = await create_strategy(
        client, tokens["manager"], person["id"], restrictions or [RECORDED]
    )
    return person["id"], strategy["id"]


async def connect_call(client: Client, phone: str = PERSON_PHONE) -> tuple[str, str]:
    """An inbound call that connects and joins its conference: (call sid, conference sid)."""
    call_sid = new_call_sid()
    response = await inbound_call(client, phone, call_sid)
    assert response.headers["X-CallGuard-Outcome"] in ("connect", "divert_spoc")
    await services(client).background.drain()
    conference_sid = "CF" + secrets.token_hex(16)
    joined = await post_signed(
        client,
        f"/webhooks/twilio/conference?call_sid={call_sid}",
        [
            ("StatusCallbackEvent", "participant-join"),
            ("ConferenceSid", conference_sid),
            ("CallSid", call_sid),
            ("FriendlyName", f"cg-{call_sid}"),
        ],
    )
    assert joined.status == 200
    return call_sid, conference_sid


async def live_call(
    client: Client, tokens: dict[str, str], restrictions: list[dict[str, Any]] | None = None
) -> LiveCall:
    person_id, strategy_id = await restricted_person(client, tokens, restrictions)
    call_sid, conference_sid = await connect_call(client)
    return LiveCall(call_sid, conference_sid, person_id, strategy_id)


async def warn(
    client: Client, token: str, call_sid: str, reason: str = "verbal_abuse"
) -> ClientResponse:
    return await client.post(
        f"/api/v1/calls/{call_sid}/warnings", json={"reason": reason}, headers=auth(token)
    )


async def end(
    client: Client, token: str, call_sid: str, reason: str = "verbal_abuse"
) -> ClientResponse:
    return await client.post(
        f"/api/v1/calls/{call_sid}/end", json={"reason": reason}, headers=auth(token)
    )


async def add_user(client: Client, user: User) -> str:
    """Another user, with a token."""
    users = services(client).users
    await users.put_user(user)
    return await users.create_token(user.name, user.role)


async def call_status(client: Client, call_sid: str, status: str) -> None:
    response = await post_signed(
        client, "/webhooks/twilio/status", [("CallSid", call_sid), ("CallStatus", status)]
    )
    assert response.status == 200


async def twiml_at(client: Client, url: str, call_sid: str) -> str:
    """What Twilio gets when it fetches a callback URL we gave it (signed, as Twilio does)."""
    assert url.startswith(PUBLIC_URL)
    response = await post_signed(
        client,
        url.removeprefix(PUBLIC_URL),
        [("AccountSid", ACCOUNT_SID), ("CallSid", call_sid), ("CallStatus", "in-progress")],
    )
    assert response.status == 200
    assert response.content_type == "text/xml"
    return await response.text()


def announce_url(call_sid: str, kind: str, reason: str) -> str:
    return f"{PUBLIC_URL}/webhooks/twilio/announce?call_sid={call_sid}&kind={kind}&reason={reason}"


# --- warnings -------------------------------------------------------------------------------


async def test_a_warning_is_played_to_the_callers_participant_and_logged(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, policy: Policy
) -> None:
    call = await live_call(client, tokens)
    before = len(twilio.requests)

    response = await warn(client, tokens["staff"], call.call_sid)

    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["warning"] == {
        "at": "2026-11-27T10:00:00Z",
        "reason": "verbal_abuse",
        "by": "sam.staff",
    }
    assert body["warnings_in_call"] == 1
    [request] = twilio.requests[before:]
    assert request.method == "POST"
    assert request.path == (
        f"{ACCOUNT_PATH}/Conferences/{call.conference_sid}/Participants/{call.call_sid}.json"
    )
    assert request.form["AnnounceUrl"] == announce_url(call.call_sid, "warning", "verbal_abuse")
    assert request.form["AnnounceMethod"] == "POST"
    record = await call_record(client, tokens["manager"], call.call_sid)
    assert record["warnings"] == [body["warning"]]
    assert record["ended"] is None

    twiml = await twiml_at(client, request.form["AnnounceUrl"], call.call_sid)
    assert policy.reasons["verbal_abuse"].warning in twiml
    assert "<Hangup" not in twiml


async def test_each_reason_has_its_own_warning_script(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, policy: Policy
) -> None:
    call = await live_call(client, tokens)
    for code in ("harassment", "threats", "coercive_behaviour"):
        response = await warn(client, tokens["staff"], call.call_sid, code)
        assert response.status == 201
        url = twilio.requests[-1].form["AnnounceUrl"]
        assert url == announce_url(call.call_sid, "warning", code)
        assert policy.reasons[code].warning in await twiml_at(client, url, call.call_sid)
    record = await call_record(client, tokens["manager"], call.call_sid)
    assert [w["reason"] for w in record["warnings"]] == [
        "harassment",
        "threats",
        "coercive_behaviour",
    ]


async def test_a_warning_needs_the_call_in_its_conference(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    await restricted_person(client, tokens)
    call_sid = new_call_sid()
    await inbound_call(client, PERSON_PHONE, call_sid)
    await services(client).background.drain()
    before = len(twilio.requests)

    response = await warn(client, tokens["staff"], call_sid)

    assert response.status == 409
    assert (await response.json())["error"] == "call_not_connected"
    assert len(twilio.requests) == before


async def test_a_warning_twilio_did_not_accept_is_not_logged(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    call = await live_call(client, tokens)
    twilio.fail_with = 500

    response = await warn(client, tokens["staff"], call.call_sid)

    assert response.status == 502
    twilio.fail_with = None
    assert (await call_record(client, tokens["manager"], call.call_sid))["warnings"] == []
    # And so it is not the earlier warning an end needs.
    assert (await end(client, tokens["staff"], call.call_sid)).status == 409


async def test_warnings_given_at_once_are_numbered_in_turn(
    client: Client, tokens: dict[str, str]
) -> None:
    call = await live_call(client, tokens)
    given = await asyncio.gather(*(warn(client, tokens["staff"], call.call_sid) for _ in range(8)))
    assert [r.status for r in given] == [201] * 8
    numbers = sorted([(await r.json())["warnings_in_call"] for r in given])
    assert numbers == list(range(1, 9))
    assert len((await call_record(client, tokens["manager"], call.call_sid))["warnings"]) == 8


async def test_a_warning_racing_the_end_is_in_the_file_note_or_refused(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    """Ending and warning at once: each warning is either logged before the end, and so in
    the file note drafted then, or refused (409) and not played; never logged after it. An
    end asked for while a warning is being played is refused until it has been (409)."""
    await restricted_person(client, tokens)
    for _round in range(3):
        call_sid, _conference = await connect_call(client)
        played_before = len(twilio.matching(r"/Participants/CA[0-9a-f]+\.json$"))
        ended, *warned = await asyncio.gather(
            end(client, tokens["manager"], call_sid, "threats"),
            *(warn(client, tokens["staff"], call_sid) for _ in range(4)),
        )
        assert {r.status for r in warned} <= {201, 409}
        if ended.status == 409:  # while a warning was being played: once it has been, it ends
            said = (await ended.json())["message"]
            assert said.startswith("a warning is being played to the caller"), said
            ended = await end(client, tokens["manager"], call_sid, "threats")
        assert ended.status == 200, await ended.text()
        record = await call_record(client, tokens["manager"], call_sid)
        note = await (
            await client.get(
                f"/api/v1/file-notes/{record['file_note_id']}", headers=auth(tokens["manager"])
            )
        ).json()
        logged = len(record["warnings"])
        assert logged == sum(r.status == 201 for r in warned)
        assert len(note["warnings"]) == logged  # the note has every warning the record has
        played = len(twilio.matching(r"/Participants/CA[0-9a-f]+\.json$")) - played_before
        assert played == logged  # none refused was played
        await call_status(client, call_sid, "completed")


async def test_a_call_is_not_ended_on_a_warning_the_phone_system_then_fails_to_play(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    """A warning is logged before it is played; an end that needs a warning, asked for
    meanwhile, is refused while it is being played, and the warning the phone system then
    refuses is taken back: no file note names it, and the call is not ended on it."""
    call = await live_call(client, tokens)
    twilio.hold = asyncio.Event()
    twilio.fail_with = 500
    warning = asyncio.create_task(warn(client, tokens["staff"], call.call_sid))
    await twilio.wait_for(len(twilio.requests) + 1)  # being played, the answer held
    ending = await end(client, tokens["manager"], call.call_sid)  # verbal abuse: needs one
    assert ending.status == 409
    assert (await ending.json())["message"].startswith("a warning is being played")
    twilio.hold.set()
    assert (await warning).status == 502
    twilio.hold, twilio.fail_with = None, None
    record = await call_record(client, tokens["manager"], call.call_sid)
    assert record["warnings"] == [] and record["file_note_id"] is None
    # Now the end needs a warning, as it did before any was asked for.
    assert (await end(client, tokens["manager"], call.call_sid)).status == 409
    assert (await warn(client, tokens["staff"], call.call_sid)).status == 201
    assert (await end(client, tokens["manager"], call.call_sid)).status == 200


# --- ending ---------------------------------------------------------------------------------


async def test_ending_after_a_warning_plays_the_closing_statement_and_hangs_up(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, policy: Policy
) -> None:
    call = await live_call(client, tokens)
    assert (await warn(client, tokens["staff"], call.call_sid)).status == 201
    before = len(twilio.requests)

    response = await end(client, tokens["staff"], call.call_sid)

    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["file_note_id"].startswith("fn_")
    assert body["closing_statement_sent"] is True
    assert body["line_manager"] == "mo.manager"
    [request] = twilio.requests[before:]
    assert (request.method, request.path) == ("POST", f"{ACCOUNT_PATH}/Calls/{call.call_sid}.json")
    assert request.form["Url"] == announce_url(call.call_sid, "closing", "verbal_abuse")
    assert request.form["Method"] == "POST"

    twiml = await twiml_at(client, request.form["Url"], call.call_sid)
    assert policy.reasons["verbal_abuse"].closing in twiml
    assert twiml.index(policy.reasons["verbal_abuse"].closing) < twiml.index("<Hangup")

    record = await call_record(client, tokens["manager"], call.call_sid)
    assert record["ended"] == {
        "at": "2026-11-27T10:00:00Z",
        "reason": "verbal_abuse",
        "by": "sam.staff",
    }
    assert record["file_note_id"] == body["file_note_id"]
    live = await services(client).calls.live_sids()
    assert call.call_sid not in live


async def test_an_end_without_an_earlier_warning_is_refused(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    call = await live_call(client, tokens)
    before = len(twilio.requests)

    response = await end(client, tokens["staff"], call.call_sid, "harassment")

    assert response.status == 409
    assert (await response.json())["error"] == "warning_required"
    assert len(twilio.requests) == before
    record = await call_record(client, tokens["manager"], call.call_sid)
    assert (record["ended"], record["file_note_id"]) == (None, None)
    notes = await client.get("/api/v1/file-notes", headers=auth(tokens["manager"]))
    assert (await notes.json())["total"] == 0


@pytest.mark.parametrize("reason", ["threats", "stalking"])
async def test_threats_and_stalking_end_at_once_without_a_warning(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, policy: Policy, reason: str
) -> None:
    assert policy.reasons[reason].end_immediately
    call = await live_call(client, tokens)

    response = await end(client, tokens["staff"], call.call_sid, reason)

    assert response.status == 200, await response.text()
    request = twilio.requests[-1]
    assert request.path == f"{ACCOUNT_PATH}/Calls/{call.call_sid}.json"
    assert request.form["Url"] == announce_url(call.call_sid, "closing", reason)
    twiml = await twiml_at(client, request.form["Url"], call.call_sid)
    assert policy.reasons[reason].closing in twiml and "<Hangup" in twiml


async def test_a_finished_call_cannot_be_warned_or_ended(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    call = await live_call(client, tokens)
    assert (await warn(client, tokens["staff"], call.call_sid)).status == 201
    await call_status(client, call.call_sid, "completed")
    before = len(twilio.requests)

    warned = await warn(client, tokens["staff"], call.call_sid)
    ended = await end(client, tokens["staff"], call.call_sid)
    at_once = await end(client, tokens["staff"], call.call_sid, "threats")

    assert [warned.status, ended.status, at_once.status] == [409, 409, 409]
    assert (await ended.json())["error"] == "call_not_in_progress"
    assert len(twilio.requests) == before
    assert (await call_record(client, tokens["manager"], call.call_sid))["ended"] is None


async def test_a_refused_call_cannot_be_warned_or_ended(
    client: Client, tokens: dict[str, str]
) -> None:
    await restricted_person(client, tokens, [{"kind": "phone_blocked"}])
    call_sid = new_call_sid()
    assert (await inbound_call(client, PERSON_PHONE, call_sid)).headers[
        "X-CallGuard-Outcome"
    ] == "refuse"
    assert (await warn(client, tokens["staff"], call_sid)).status == 409
    assert (await end(client, tokens["staff"], call_sid, "threats")).status == 409


async def test_a_second_end_is_refused_and_makes_no_second_note(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    call = await live_call(client, tokens)
    assert (await warn(client, tokens["staff"], call.call_sid)).status == 201
    first = await end(client, tokens["staff"], call.call_sid)
    note_id = (await first.json())["file_note_id"]
    redirects = len(twilio.matching(r"/Calls/CA[0-9a-f]+\.json$"))

    second = await end(client, tokens["manager"], call.call_sid, "threats")

    assert second.status == 409
    said = (await second.json())["message"]
    assert said == "staff have already ended this call, and its file note has been drafted"
    assert (await call_record(client, tokens["manager"], call.call_sid))["file_note_id"] == note_id
    assert len(twilio.matching(r"/Calls/CA[0-9a-f]+\.json$")) == redirects
    notes = await (await client.get("/api/v1/file-notes", headers=auth(tokens["manager"]))).json()
    assert [n["id"] for n in notes["items"]] == [note_id]


async def test_two_concurrent_ends_make_one_note_and_one_redirect(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    call = await live_call(client, tokens)
    assert (await warn(client, tokens["staff"], call.call_sid)).status == 201
    before = len(twilio.requests)

    responses = await asyncio.gather(
        *(end(client, tokens[role], call.call_sid) for role in ["staff", "manager"] * 3)
    )

    assert sorted(r.status for r in responses) == [200, 409, 409, 409, 409, 409]
    [winner] = [await r.json() for r in responses if r.status == 200]
    assert len(twilio.requests) - before == 1
    notes = await (await client.get("/api/v1/file-notes", headers=auth(tokens["manager"]))).json()
    assert [n["id"] for n in notes["items"]] == [winner["file_note_id"]]
    record = await call_record(client, tokens["manager"], call.call_sid)
    assert record["file_note_id"] == winner["file_note_id"]


async def test_when_twilio_refuses_the_redirect_the_end_stands_and_staff_are_told(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    call = await live_call(client, tokens)
    twilio.fail_with = 503

    response = await end(client, tokens["staff"], call.call_sid, "threats")

    assert response.status == 200
    body = await response.json()
    assert body["closing_statement_sent"] is False
    record = await call_record(client, tokens["manager"], call.call_sid)
    assert record["file_note_id"] == body["file_note_id"]
    audit = await services(client).register.store.audit_of_person(call.person_id)
    assert "call.end.redirect_failed" in [a["action"] for a in audit]


async def test_reasons_must_come_from_the_policy(client: Client, tokens: dict[str, str]) -> None:
    call = await live_call(client, tokens)
    for path in ("warnings", "end"):
        response = await client.post(
            f"/api/v1/calls/{call.call_sid}/{path}",
            json={"reason": "rudeness"},
            headers=auth(tokens["staff"]),
        )
        assert response.status == 422
        [problem] = (await response.json())["fields"]
        assert problem["field"] == "reason"
        assert "verbal_abuse" in problem["reason"]
        missing = await client.post(
            f"/api/v1/calls/{call.call_sid}/{path}", json={}, headers=auth(tokens["staff"])
        )
        assert missing.status == 422
        assert [f["field"] for f in (await missing.json())["fields"]] == ["reason"]
    assert (await call_record(client, tokens["manager"], call.call_sid))["warnings"] == []


async def test_an_unknown_call_is_404(client: Client, tokens: dict[str, str]) -> None:
    unknown = new_call_sid()
    assert (await warn(client, tokens["staff"], unknown)).status == 404
    assert (await end(client, tokens["staff"], unknown, "threats")).status == 404
    alert = await client.get(f"/api/v1/calls/{unknown}/alert", headers=auth(tokens["staff"]))
    assert alert.status == 404


async def test_roles_for_live_controls(client: Client, tokens: dict[str, str]) -> None:
    call = await live_call(client, tokens)
    paths = [
        ("POST", f"/api/v1/calls/{call.call_sid}/warnings"),
        ("POST", f"/api/v1/calls/{call.call_sid}/end"),
        ("GET", f"/api/v1/calls/{call.call_sid}/alert"),
    ]
    for method, path in paths:
        body = {"reason": "threats"} if method == "POST" else None
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status == 401
        # admin manages users and tokens, and may not use live controls (no personal data).
        admin = await client.request(method, path, json=body, headers=auth(tokens["admin"]))
        assert admin.status == 403
    # Staff use the controls and read the alert, but not the full call record.
    full = await client.get(f"/api/v1/calls/{call.call_sid}", headers=auth(tokens["staff"]))
    assert full.status == 403
    assert (await warn(client, tokens["staff"], call.call_sid)).status == 201
    # The chief executive carries every staff right.
    assert (await end(client, tokens["chief_executive"], call.call_sid)).status == 200


# --- the caller alert -----------------------------------------------------------------------


async def test_the_caller_alert_summarises_the_strategy_in_plain_words(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    call = await live_call(client, tokens, [FRIDAY_MORNINGS, SPOC, RECORDED])
    assert (await warn(client, tokens["staff"], call.call_sid, "harassment")).status == 201

    response = await client.get(
        f"/api/v1/calls/{call.call_sid}/alert", headers=auth(tokens["staff"])
    )

    assert response.status == 200, await response.text()
    alert = await response.json()
    assert alert["restrictions"] == [
        "Calls only Fridays 9am to midday, 5 calls per week",
        "Single point of contact: Jo Bloggs",
        "Calls are recorded",
    ]
    assert alert["spoc"] == "Jo Bloggs"
    assert alert["matter_refs"] == ["CMP-2026-0142"]
    assert alert["review_due"] == "2027-02-20"
    assert alert["reasonable_adjustments"] == [
        {"kind": "needs_extra_time", "detail": "speaks slowly"}
    ]
    assert alert["new_matter_claimed"] is False
    assert alert["in_progress"] is True
    assert [(w["reason"], w["by"]) for w in alert["warnings"]] == [("harassment", "sam.staff")]
    assert alert["caller"] == "+44*******123"
    assert PERSON_PHONE not in await response.text()
    assert {
        "code": "threats",
        "label": "Threats of harm to people or property",
        "end_immediately": True,
    } in alert["reasons"]
    audit = await services(client).register.store.audit_of_person(call.person_id)
    assert ("call.alert.read", "sam.staff") in [(a["action"], a["who"]) for a in audit]


async def test_the_caller_alert_for_an_unknown_caller(
    client: Client, tokens: dict[str, str]
) -> None:
    call_sid, _conference = await connect_call(client, "07911 123456")
    alert = await (
        await client.get(f"/api/v1/calls/{call_sid}/alert", headers=auth(tokens["staff"]))
    ).json()
    assert alert["known_caller"] is False
    assert alert["restrictions"] == ["No contact strategy applies to this caller."]
    assert alert["caller"] == "+44*******456"


async def test_the_line_manager_is_told_in_app_when_no_mail_server_is_set(
    client: Client, tokens: dict[str, str]
) -> None:
    call = await live_call(client, tokens)
    ended = await end(client, tokens["staff"], call.call_sid, "threats")
    note_id = (await ended.json())["file_note_id"]
    await services(client).background.drain()
    response = await client.get("/api/v1/notifications", headers=auth(tokens["manager"]))
    [notice] = (await response.json())["items"]
    assert (notice["kind"], notice["file_note_id"], notice["email"]) == (
        "call_ended",
        note_id,
        "not_configured",
    )
    assert "Threats of harm" in notice["title"]
    assert PERSON_PHONE not in str(notice)


async def test_a_manager_can_end_a_call_and_has_no_line_manager_to_tell(
    client: Client, tokens: dict[str, str]
) -> None:
    call = await live_call(client, tokens)
    response = await end(client, tokens["manager"], call.call_sid, "threats")
    assert response.status == 200
    assert (await response.json())["line_manager"] is None
