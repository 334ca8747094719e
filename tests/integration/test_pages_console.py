"""The staff console over HTTP (no browser): live calls with the caller alert, the two
controls with and without JavaScript, the file note, messages, and the demo panel."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from callguard.clock import FixedClock
from callguard.demo_phone import recording_wav
from callguard.policy import Policy
from callguard.settings import Settings
from tests.conftest import KEYS
from tests.e2e.support import (
    FULL_NAME,
    MANAGER,
    STAFF,
    Client,
    demo_pages,
    fast_passwords,
    page_csrf,
    sign_in,
)
from tests.helpers import inbound_call, new_call_sid, services
from tests.twilio_standin import TwilioStandIn

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]

CAL_RECORDED = "07700 900103"  # demo person with a "recorded" strategy: calls connect


@pytest.fixture
async def demo(settings: Settings, policy: Policy, clock: FixedClock) -> AsyncIterator[Client]:
    async with demo_pages(settings, policy, clock, demo=True) as client:
        yield client


async def simulate(client: Client, caller: str) -> None:
    token = await page_csrf(client, "/console")
    response = await client.post(
        "/demo/simulate",
        data={"csrf_token": token, "caller": caller, "back": "/console"},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()


async def live_sid(client: Client) -> str:
    sids = await services(client).calls.live_sids()
    assert len(sids) == 1
    return sids[0]


async def test_a_simulated_call_from_a_restricted_caller_shows_live_with_its_alert(
    demo: Client,
) -> None:
    await sign_in(demo, STAFF)
    await simulate(demo, CAL_RECORDED)
    page = await (await demo.get("/console")).text()
    assert "Simulated call from +44*******103: connected" in page
    assert "Cal Recorded" in page
    assert "Calls are recorded" in page
    assert "+44*******103" in page  # staff see the number masked
    assert "Play warning" in page and "End call" in page


async def test_the_alert_shows_what_awaits_notice_and_the_interpreters_language(
    demo: Client,
) -> None:
    # Ida Waiting (demo): her strategy awaits notice, so her call connects; she needs an
    # interpreter for Polish (§2, §3.6, §8.4).
    await sign_in(demo, STAFF)
    await simulate(demo, "07700 900109")
    page = await (await demo.get("/console")).text()
    assert "Ida Waiting" in page
    assert "Needs an interpreter: Polish" in page
    assert "(awaiting notice, not applied to calls): Phone calls from this person" in page
    assert "No contact strategy applies to this caller." in page
    # Tagged as what it is, not as a strategy in force; the interpreter said once.
    assert "Strategy awaiting notice</strong> Caller alert" in page
    assert ">Contact strategy</strong>" not in page and "cg-alert--restricted" not in page
    assert page.count("interpreter") == 1 and "needs interpreter" not in page


def assert_not_done(page: str, problem: str) -> None:
    """What was not done is said in an error summary ("There is a problem"), never in the
    success banner."""
    listed = re.search(r'govuk-error-summary__list">\s*<li>\s*(.*?)\s*</li>', page, re.S)
    assert listed is not None, "no error summary"
    assert problem in listed.group(1)
    assert "govuk-notification-banner--success" not in page
    assert "<title>Error: " in page


async def test_live_json_sends_only_new_or_changed_cards(demo: Client) -> None:
    await sign_in(demo, STAFF)
    await simulate(demo, CAL_RECORDED)
    sid = await live_sid(demo)
    first = json.loads(await (await demo.get("/console/live.json")).text())
    assert first["live"] == [sid]
    [card] = first["changed"]
    assert "You have no file notes to complete." in first["notes"]["html"]
    assert "No messages are waiting." in first["messages"]["html"]
    assert first["left_out"]["html"] == ""  # every live call shown
    shown = "&".join(
        f"{part}={first[part]['version']}" for part in ("left_out", "notes", "messages")
    )
    again = await demo.get(f"/console/live.json?have={sid}:{card['version']}&{shown}")
    assert json.loads(await again.text()) == {"live": [sid], "changed": []}


async def test_warning_then_end_without_javascript_then_complete_the_note(demo: Client) -> None:
    await sign_in(demo, STAFF)
    await simulate(demo, CAL_RECORDED)
    sid = await live_sid(demo)
    token = await page_csrf(demo, "/console")
    ended_early = await demo.post(
        f"/console/calls/{sid}/end", data={"csrf_token": token, "reason": "verbal_abuse"}
    )
    assert_not_done(await ended_early.text(), "Warn the caller first")
    warned = await demo.post(
        f"/console/calls/{sid}/warning", data={"csrf_token": token, "reason": "verbal_abuse"}
    )
    assert "Warning played to the caller" in await warned.text()
    # The live card names who gave the warning by their full name, on the page and as polled.
    card = f"verbal abuse at 10am by {FULL_NAME[STAFF]}"
    assert card in await (await demo.get("/console")).text()
    live = json.loads(await (await demo.get("/console/live.json")).text())
    assert card in live["changed"][0]["html"]
    ended = await demo.post(
        f"/console/calls/{sid}/end",
        data={"csrf_token": token, "reason": "verbal_abuse"},
        allow_redirects=False,
    )
    assert ended.status == 303
    record = await services(demo).calls.get(sid)
    assert record is not None and record.ended is not None and record.file_note_id
    console = await (await demo.get("/console")).text()
    assert "Call ended (Verbal abuse)" in console
    assert f"/notes/{record.file_note_id}" in console  # in "my file notes to complete"

    note_path = f"/notes/{record.file_note_id}"
    token = await page_csrf(demo, note_path)
    incomplete = await demo.post(
        note_path, data={"csrf_token": token, "action": "complete", "summary": "Shouted."}
    )
    assert incomplete.status == 422
    text = await incomplete.text()
    assert "Enter why the call was ended to complete the note" in text
    assert 'id="why_ended-error"' in text
    done = await demo.post(
        note_path,
        data={
            "csrf_token": token,
            "action": "complete",
            "summary": "Shouted abuse after a warning.",
            "why_ended": "Abuse continued after the warning.",
            "actions_taken": "None.",
            "line_manager_informed": "yes",
        },
        allow_redirects=False,
    )
    assert done.status == 303
    note = await services(demo).notes.store.get(record.file_note_id)
    assert note is not None and note.status == "completed"


async def test_the_controls_answer_json_to_the_console_script(demo: Client) -> None:
    await sign_in(demo, STAFF)
    await simulate(demo, CAL_RECORDED)
    sid = await live_sid(demo)
    token = await page_csrf(demo, "/console")
    headers = {"Accept": "application/json", "X-CSRF-Token": token}
    refused = await demo.post(
        f"/console/calls/{sid}/end", data={"reason": "verbal_abuse"}, headers=headers
    )
    assert refused.status == 409
    assert (await refused.json())["ok"] is False
    # A reason not on the list (a tampered form) is asked for again, in words.
    for action, said in (("warning", "the warning"), ("end", "ending the call")):
        odd = await demo.post(
            f"/console/calls/{sid}/{action}", data={"reason": "nonsense"}, headers=headers
        )
        assert (odd.status, (await odd.json())["message"]) == (422, f"Choose the reason for {said}")
    ended = await demo.post(
        f"/console/calls/{sid}/end", data={"reason": "threats"}, headers=headers
    )
    body = await ended.json()
    assert ended.status == 200 and body["ok"] is True
    assert body["note_url"] == f"/notes/{body['file_note_id']}"
    again = await demo.post(
        f"/console/calls/{sid}/warning", data={"reason": "threats"}, headers=headers
    )
    assert again.status == 409  # said in words, as a sentence, no note's id
    assert (await again.json())["message"] == (
        "Staff have already ended this call, and its file note has been drafted"
    )
    no_token = await demo.post(
        f"/console/calls/{sid}/warning",
        data={"reason": "threats"},
        headers={"Accept": "application/json"},
    )
    assert no_token.status == 403


async def test_a_manager_signs_off_a_completed_note(demo: Client) -> None:
    await sign_in(demo, STAFF)
    await simulate(demo, CAL_RECORDED)
    sid = await live_sid(demo)
    token = await page_csrf(demo, "/console")
    await demo.post(f"/console/calls/{sid}/end", data={"csrf_token": token, "reason": "threats"})
    record = await services(demo).calls.get(sid)
    assert record is not None and record.file_note_id
    note_path = f"/notes/{record.file_note_id}"
    token = await page_csrf(demo, note_path)
    await demo.post(
        note_path,
        data={
            "csrf_token": token,
            "action": "complete",
            "summary": "A threat.",
            "why_ended": "Threat to staff.",
            "actions_taken": "Reported to police.",
            "line_manager_informed": "yes",
        },
    )
    demo.session.cookie_jar.clear()
    await sign_in(demo, MANAGER)
    notes = await (await demo.get("/notes")).text()
    assert note_path in notes
    token = await page_csrf(demo, note_path)
    signed = await demo.post(
        f"{note_path}/sign-off", data={"csrf_token": token}, allow_redirects=False
    )
    assert signed.status == 303
    note = await services(demo).notes.store.get(record.file_note_id)
    assert note is not None and note.signed_off is not None


async def test_a_refused_caller_is_not_live(demo: Client) -> None:
    await sign_in(demo, STAFF)
    await simulate(demo, "07700 900106")  # Fay Blocked: phone_blocked
    page = await (await demo.get("/console")).text()
    assert "refused" in page and "(telephone calls blocked)" in page
    assert await services(demo).calls.live_sids() == []


async def test_staff_triage_a_callers_message(demo: Client, clock: FixedClock) -> None:
    await sign_in(demo, STAFF)
    await simulate(demo, "07700 900106")  # refused, then the caller leaves a message
    calls = services(demo).calls
    sids, _ = await calls.page(KEYS.CALLS, None, None, 0, 1)
    await services(demo).call_events.message_recorded(
        sids[0],
        recording_sid="RE" + "0" * 32,
        recording_url="https://api.twilio.com/recording",
        duration_s=42,
        new_matter=True,
        for_spoc=None,
        now=clock.now(),
    )
    page = await (await demo.get("/console")).text()
    assert "1 message waiting." in page and "new matter" in page
    assert "42 seconds" in page
    token = await page_csrf(demo, "/console")
    triage = f"/console/messages/{sids[0]}/triage"
    unchosen = await demo.post(triage, data={"csrf_token": token, "outcome": ""})
    which = "the message from +44*******106"
    assert_not_done(await unchosen.text(), f"Choose what {which} turned out to be")
    long_notes = {"csrf_token": token, "outcome": "new_complaint", "notes": "x" * 4001}
    too_long = await demo.post(triage, data=long_notes)
    assert_not_done(await too_long.text(), f"The notes on {which} must be 4,000 characters")
    untriaged = await calls.get(sids[0])
    assert untriaged is not None and untriaged.message and untriaged.message.triage is None
    done = await demo.post(
        f"/console/messages/{sids[0]}/triage",
        data={"csrf_token": token, "outcome": "new_complaint", "notes": "About a new matter"},
    )
    text = await done.text()
    assert "Message triaged: A new complaint." in text
    assert "No messages are waiting." in text
    record = await calls.get(sids[0])
    assert record is not None and record.message and record.message.triage
    assert record.message.triage.by == STAFF
    # Sent again (a second press, or a second person): the console says who triaged it and
    # how, in its error summary; nothing changes.
    again = await demo.post(
        f"/console/messages/{sids[0]}/triage",
        data={"csrf_token": token, "outcome": "no_action", "notes": ""},
    )
    assert again.status == 200 and "There is a problem" in (said := await again.text())
    assert f"{FULL_NAME[STAFF]} had already triaged the message from" in said
    assert ": a new complaint. Nothing was changed" in said
    kept = await calls.get(sids[0])
    assert kept is not None and kept.message and kept.message.triage
    assert kept.message.triage.outcome == "new_complaint"
    demo.session.cookie_jar.clear()
    await sign_in(demo, MANAGER)
    call_page = await (await demo.get(f"/calls/{sids[0]}")).text()
    assert "42 seconds long, new matter" in call_page
    assert "RE" + "0" * 32 not in call_page  # the phone system's reference is no use to people


async def test_a_simulated_caller_is_said_to_hear_only_what_they_would(demo: Client) -> None:
    """One who leaves a message hears the thanks, not the words for a caller who left none;
    one who leaves none hears those words."""
    await sign_in(demo, STAFF)
    for message, heard, unheard in (
        ("Please ring me back", "Thank you. Your message will be listened to", "No message was"),
        ("", "No message was recorded. Goodbye.", "Your message will be listened to"),
    ):
        token = await page_csrf(demo, "/console")
        form = {"csrf_token": token, "caller": "07700 900106", "back": "/console"}
        shown = await demo.post("/demo/simulate", data={**form, "message": message})
        banner = re.search(r"Simulated call from (.*?)</", await shown.text(), re.S)
        assert banner is not None
        assert heard in banner.group(1) and unheard not in banner.group(1), message


@pytest.fixture
async def staff(settings: Settings, policy: Policy, clock: FixedClock) -> AsyncIterator[Client]:
    """Signed in as staff, with the tests' stand-in for Twilio (not the demo's own)."""
    async with demo_pages(settings, policy, clock, signed_in_as=STAFF) as client:
        yield client


async def test_staff_listen_to_a_message_fetched_from_the_phone_system(
    staff: Client, clock: FixedClock, twilio: TwilioStandIn
) -> None:
    """The console plays a message from CallGuard itself, which fetches it from the phone
    system with the account's credentials and audits the listen as a read; one the phone
    system no longer keeps, or cannot give, is said so in words."""
    demo = staff
    sids = [new_call_sid()]
    refused = await inbound_call(demo, "07700 900106", sids[0])  # Fay Blocked
    assert refused.headers["X-CallGuard-Outcome"] == "refuse"
    recording = "RE" + "a" * 32
    await services(demo).call_events.message_recorded(
        sids[0],
        recording_sid=recording,
        recording_url="https://api.twilio.com/recording",
        duration_s=12,
        new_matter=False,
        for_spoc=None,
        now=clock.now(),
    )
    path = f"/console/messages/{sids[0]}/recording.wav"
    assert f'src="{path}"' in await (await demo.get("/console")).text()

    twilio.recording_seconds = 60  # about 1 MB: it arrives in many parts, every one kept
    whole = recording_wav(60)
    listened = await demo.get(path)
    assert listened.status == 200 and listened.content_type == "audio/wav"
    assert await listened.read() == whole
    [fetched] = twilio.matching(rf"/Recordings/{recording}\.wav$")
    assert fetched.method == "GET" and fetched.authorization.startswith("Basic ")
    record = await services(demo).calls.get(sids[0])
    assert record is not None and record.person_id

    async def listens() -> list[str]:
        assert record is not None and record.person_id
        audit = await services(demo).register.store.audit_of_person(record.person_id)
        return [e["target"] for e in audit if e["action"] == "call.message.listen"]

    assert await listens() == [sids[0]]
    # A player asks for parts (to seek; Safari plays nothing without them): each is given,
    # and only one that starts at the beginning counts as a new listen.
    start = await demo.get(path, headers={"Range": "bytes=0-"})
    assert (
        start.status == 206
        and start.headers["Content-Range"] == f"bytes 0-{len(whole) - 1}/{len(whole)}"
    )
    part = await demo.get(path, headers={"Range": "bytes=100-199"})
    assert part.status == 206 and await part.read() == whole[100:200]
    assert part.headers["Accept-Ranges"] == "bytes"
    past = await demo.get(path, headers={"Range": f"bytes={len(whole)}-"})
    assert past.status == 416 and past.headers["Content-Range"] == f"bytes */{len(whole)}"
    assert await listens() == [sids[0], sids[0]]
    # Every part came from the one fetch, kept for five minutes; after them it is fetched
    # again (and what the phone system says then is what the page says).
    assert len(twilio.matching(rf"/Recordings/{recording}\.wav$")) == 1
    clock.advance(timedelta(minutes=4, seconds=59))
    assert (await demo.get(path)).status == 200
    assert len(twilio.matching(rf"/Recordings/{recording}\.wav$")) == 1
    clock.advance(timedelta(seconds=1))

    twilio.fail_with = 500
    failed = await demo.get(path)
    assert failed.status == 502 and "did not give the message" in await failed.text()
    twilio.fail_with = None
    twilio.recordings_gone.add(recording)
    gone = await demo.get(path)
    assert gone.status == 410 and "does not have this message" in await gone.text()
    no_message = await demo.get(f"/console/messages/{new_call_sid()}/recording.wav")
    assert no_message.status == 404
