"""What happens to a call after it was screened, through the real signed callbacks at the
URLs CallGuard itself handed to Twilio (in its TwiML or its REST requests): status,
conference and other-leg events, the different-matter key, messages and recordings."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from callguard import urls
from callguard.domain.records import TriageOutcome
from callguard.services.errors import Conflict
from tests.conftest import PUBLIC_URL, auth
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
SPOC_PHONE = "+441772000001"
SPOC = {"kind": "spoc", "name": "Jo Bloggs", "phone": SPOC_PHONE}
RECORDED = {"kind": "recorded"}
BLOCKED = {"kind": "phone_blocked"}
ACCOUNT = "AC" + "0" * 32


def parse(twiml: str) -> ET.Element:
    root = ET.fromstring(twiml)  # noqa: S314 - our own TwiML, not untrusted input
    assert root.tag == "Response"
    return root


def only(root: ET.Element, path: str) -> ET.Element:
    found = root.findall(path)
    assert len(found) == 1, f"{path}: {len(found)} in {ET.tostring(root, encoding='unicode')}"
    return found[0]


def spoken(root: ET.Element) -> str:
    return " ".join("".join(say.itertext()) for say in root.iter("Say"))


async def post_to(client: Client, url: str, params: list[tuple[str, str]]) -> str:
    """POST to a callback URL CallGuard gave Twilio, signed as Twilio signs it."""
    assert url.startswith(PUBLIC_URL + "/webhooks/twilio/"), url
    response = await post_signed(client, url.removeprefix(PUBLIC_URL), params)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/xml"
    return await response.text()


async def connected_call(
    client: Client, tokens: dict[str, str], restrictions: list[dict[str, Any]]
) -> tuple[str, ET.Element]:
    if restrictions:
        person = await create_person(client, tokens["manager"], phones=[PERSON_PHONE])
        await create_strategy(client, tokens["manager"], person["id"], restrictions)
    call_sid = new_call_sid()
    response = await inbound_call(client, PERSON_PHONE, call_sid)
    assert response.status == 200
    assert response.headers["X-CallGuard-Outcome"] in ("connect", "divert_spoc")
    root = parse(await response.text())
    await services(client).background.drain()
    return call_sid, root


async def refused_call(
    client: Client, tokens: dict[str, str], phone: str = PERSON_PHONE, **person: Any
) -> tuple[str, ET.Element]:
    created = await create_person(client, tokens["manager"], phones=[phone], **person)
    await create_strategy(client, tokens["manager"], created["id"], [BLOCKED])
    call_sid = new_call_sid()
    response = await inbound_call(client, phone, call_sid)
    assert response.headers["X-CallGuard-Outcome"] == "refuse"
    return call_sid, parse(await response.text())


def status_params(call_sid: str, status: str, **extra: str) -> list[tuple[str, str]]:
    return [
        ("AccountSid", ACCOUNT),
        ("CallSid", call_sid),
        ("CallStatus", status),
        *extra.items(),
    ]


async def test_status_callbacks_update_the_record_and_the_live_set(
    client: Client, tokens: dict[str, str]
) -> None:
    call_sid, _ = await connected_call(client, tokens, [])
    calls = services(client).calls
    assert call_sid in await calls.live_sids()

    await post_to(client, PUBLIC_URL + urls.STATUS, status_params(call_sid, "in-progress"))
    record = await call_record(client, tokens["manager"], call_sid)
    assert record["status"] == "in-progress"
    assert call_sid in await calls.live_sids()

    await post_to(
        client,
        PUBLIC_URL + urls.STATUS,
        status_params(call_sid, "completed", CallDuration="42"),
    )
    record = await call_record(client, tokens["manager"], call_sid)
    assert (record["status"], record["duration_s"]) == ("completed", 42)
    assert call_sid not in await calls.live_sids()


@pytest.mark.parametrize("terminal", ["busy", "failed", "no-answer", "canceled"])
async def test_every_terminal_status_leaves_the_live_set(
    client: Client, tokens: dict[str, str], terminal: str
) -> None:
    call_sid, _ = await connected_call(client, tokens, [])
    await post_to(client, PUBLIC_URL + urls.STATUS, status_params(call_sid, terminal))
    assert (await call_record(client, tokens["manager"], call_sid))["status"] == terminal
    assert call_sid not in await services(client).calls.live_sids()


async def test_a_refused_call_is_never_live(client: Client, tokens: dict[str, str]) -> None:
    call_sid, _ = await refused_call(client, tokens)
    assert call_sid not in await services(client).calls.live_sids()


async def test_conference_participant_join_stores_the_conference_sid(
    client: Client, tokens: dict[str, str]
) -> None:
    call_sid, root = await connected_call(client, tokens, [])
    conference = only(root, "Dial/Conference")
    assert conference.text == f"cg-{call_sid}"
    callback = conference.attrib["statusCallback"]
    conference_sid = "CF" + "1" * 32

    # An event that carries no conference worth keeping changes nothing.
    await post_to(
        client,
        callback,
        [("ConferenceSid", conference_sid), ("StatusCallbackEvent", "announcement-end")],
    )
    assert (await call_record(client, tokens["manager"], call_sid))["conference_sid"] is None

    await post_to(
        client,
        callback,
        [
            ("AccountSid", ACCOUNT),
            ("CallSid", call_sid),
            ("ConferenceSid", conference_sid),
            ("FriendlyName", f"cg-{call_sid}"),
            ("StatusCallbackEvent", "participant-join"),
        ],
    )
    assert (await call_record(client, tokens["manager"], call_sid))[
        "conference_sid"
    ] == conference_sid


@pytest.mark.parametrize("leg_status", ["no-answer", "busy", "failed"])
@pytest.mark.parametrize("route", ["default", "spoc"])
async def test_an_unanswered_other_leg_takes_the_caller_to_a_message(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, leg_status: str, route: str
) -> None:
    call_sid, _ = await connected_call(client, tokens, [SPOC] if route == "spoc" else [])
    (dial,) = twilio.matching(r"/Participants\.json$")
    leg_callback = dial.form["StatusCallback"]
    assert leg_callback == f"{PUBLIC_URL}{urls.LEG}?call_sid={call_sid}"

    other_leg = new_call_sid()
    await post_to(client, leg_callback, status_params(other_leg, leg_status))

    # The caller is taken out of the conference through Twilio's REST API.
    (redirect,) = twilio.matching(r"/Calls/.+\.json$")
    assert redirect.method == "POST"
    assert redirect.path == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{call_sid}.json"
    unanswered_url = redirect.form["Url"]
    assert unanswered_url == f"{PUBLIC_URL}{urls.UNANSWERED}?call_sid={call_sid}"
    assert redirect.form["Method"] == "POST"
    record = await call_record(client, tokens["manager"], call_sid)
    assert record["other_leg_status"] == leg_status

    # ... to TwiML (fetched, signed, from the URL it was given) that offers a message.
    root = parse(await post_to(client, unanswered_url, status_params(call_sid, "in-progress")))
    record_verb = only(root, "Record")
    words = spoken(root)
    assert "Sorry" in words and "leave a message" in words
    if route == "spoc":
        assert "Jo Bloggs" in words
        assert "for_spoc=1" in record_verb.attrib["action"]
    else:
        assert "Jo Bloggs" not in words
        assert "for_spoc=0" in record_verb.attrib["action"]

    await post_to(
        client,
        record_verb.attrib["action"],
        [
            ("CallSid", call_sid),
            ("RecordingSid", "RE" + "2" * 32),
            ("RecordingUrl", "https://api.twilio.com/recordings/RE2"),
            ("RecordingDuration", "17"),
        ],
    )
    message = (await call_record(client, tokens["manager"], call_sid))["message"]
    assert message["for_spoc"] == ("Jo Bloggs" if route == "spoc" else None)
    assert message["duration_s"] == 17


@pytest.mark.parametrize("leg_status", ["initiated", "ringing", "answered", "in-progress"])
async def test_a_leg_in_progress_does_not_redirect_the_caller(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, leg_status: str
) -> None:
    call_sid, _ = await connected_call(client, tokens, [])
    (dial,) = twilio.matching(r"/Participants\.json$")
    await post_to(client, dial.form["StatusCallback"], status_params(new_call_sid(), leg_status))
    assert twilio.matching(r"/Calls/") == []
    assert (await call_record(client, tokens["manager"], call_sid))[
        "other_leg_status"
    ] == leg_status


async def test_no_redirect_once_the_caller_has_hung_up(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    call_sid, _ = await connected_call(client, tokens, [])
    (dial,) = twilio.matching(r"/Participants\.json$")
    await post_to(client, PUBLIC_URL + urls.STATUS, status_params(call_sid, "completed"))
    await post_to(client, dial.form["StatusCallback"], status_params(new_call_sid(), "canceled"))
    assert twilio.matching(r"/Calls/") == []


async def test_the_redirect_failing_at_twilio_still_answers_the_leg_callback(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    """Twilio refuses to redirect a call that has just ended (a race with the caller
    hanging up): the callback is still answered, and the leg's status kept."""
    call_sid, _ = await connected_call(client, tokens, [])
    (dial,) = twilio.matching(r"/Participants\.json$")
    twilio.fail_with = 400
    await post_to(client, dial.form["StatusCallback"], status_params(new_call_sid(), "no-answer"))
    assert len(twilio.matching(r"/Calls/")) == 1
    record = await call_record(client, tokens["manager"], call_sid)
    assert record["other_leg_status"] == "no-answer"


async def test_the_new_matter_key_is_recorded_and_offers_a_new_matter_message(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    call_sid, root = await refused_call(client, tokens)
    gather = only(root, "Gather")
    assert "press 1" in spoken(gather)
    digit = services(client).policy.new_matter.digit

    answer = parse(await post_to(client, gather.attrib["action"], [("Digits", digit)]))
    record = await call_record(client, tokens["manager"], call_sid)
    assert record["new_matter_claimed"] is True
    assert "describe the new matter" in spoken(answer)
    action = only(answer, "Record").attrib["action"]
    assert "new_matter=1" in action

    await post_to(
        client,
        action,
        [
            ("RecordingSid", "RE" + "3" * 32),
            ("RecordingUrl", "https://api.twilio.com/recordings/RE3"),
            ("RecordingDuration", "30"),
        ],
    )
    message = (await call_record(client, tokens["manager"], call_sid))["message"]
    assert message["new_matter"] is True
    assert twilio.requests == []


async def test_another_key_offers_an_ordinary_message(
    client: Client, tokens: dict[str, str]
) -> None:
    call_sid, root = await refused_call(client, tokens)
    answer = parse(await post_to(client, only(root, "Gather").attrib["action"], [("Digits", "7")]))
    assert "new_matter=0" in only(answer, "Record").attrib["action"]
    assert (await call_record(client, tokens["manager"], call_sid))["new_matter_claimed"] is False


async def test_a_message_is_kept_listed_and_triaged_once(
    client: Client, tokens: dict[str, str]
) -> None:
    call_sid, root = await refused_call(client, tokens)
    action = only(root, "Record").attrib["action"]
    recording_url = "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE4"
    thanks = parse(
        await post_to(
            client,
            action,
            [
                ("AccountSid", ACCOUNT),
                ("CallSid", call_sid),
                ("RecordingSid", "RE" + "4" * 32),
                ("RecordingUrl", recording_url),
                ("RecordingDuration", "25"),
            ],
        )
    )
    assert "Thank you" in spoken(thanks)
    assert thanks.find("Hangup") is not None

    message = (await call_record(client, tokens["manager"], call_sid))["message"]
    assert message["recording_sid"] == "RE" + "4" * 32
    assert message["recording_url"] == recording_url
    assert (message["duration_s"], message["new_matter"], message["triage"]) == (25, False, None)

    staff = auth(tokens["staff"])
    listed = await (await client.get("/api/v1/messages", headers=staff)).json()
    assert [c["call_sid"] for c in listed["items"]] == [call_sid]
    assert listed["total"] == 1

    triage = {"outcome": "no_action", "notes": "Listened: nothing new."}
    first = await client.post(
        f"/api/v1/calls/{call_sid}/message/triage", json=triage, headers=staff
    )
    assert first.status == 200, await first.text()
    assert (await first.json())["message"]["triage"]["by"] == "sam.staff"
    listed = await (await client.get("/api/v1/messages", headers=staff)).json()
    assert (listed["items"], listed["total"]) == ([], 0)
    stored = (await call_record(client, tokens["manager"], call_sid))["message"]
    assert stored["triage"]["outcome"] == "no_action"

    second = await client.post(
        f"/api/v1/calls/{call_sid}/message/triage", json=triage, headers=staff
    )
    assert second.status == 409


async def test_a_message_triaged_by_several_at_once_keeps_the_first_only(
    client: Client, tokens: dict[str, str]
) -> None:
    """Ten people triage one message at once, each differently: one is told it is done and
    that triage is the one kept; the others are told it was triaged already."""
    call_sid, root = await refused_call(client, tokens)
    await post_to(
        client,
        only(root, "Record").attrib["action"],
        [
            ("AccountSid", ACCOUNT),
            ("CallSid", call_sid),
            ("RecordingSid", "RE" + "6" * 32),
            ("RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE6"),
            ("RecordingDuration", "12"),
        ],
    )
    outcomes: list[TriageOutcome] = ["new_complaint", "criminal_matter", "safeguarding"]
    # Each reads the message untriaged before any of them writes (the real store, its reads
    # held until all ten have read): the check before the write cannot stop the others;
    # the write must.
    call_log = services(client).call_log
    store = call_log.store
    all_read = asyncio.Barrier(10)

    class ReadTogether:
        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        async def get(self, sid: str) -> Any:
            record = await store.get(sid)
            await all_read.wait()
            return record

    call_log.store = ReadTogether()  # type: ignore[assignment]
    try:
        answers = await asyncio.gather(
            *(
                call_log.triage(call_sid, outcomes[n % 3], f"Triage {n}", "sam.staff")
                for n in range(10)
            ),
            return_exceptions=True,
        )
    finally:
        call_log.store = store
    [won] = [a for a in answers if not isinstance(a, BaseException)]
    refused = [a for a in answers if isinstance(a, Conflict)]
    assert len(refused) == 9, answers
    stored = (await call_record(client, tokens["manager"], call_sid))["message"]["triage"]
    assert won.message is not None and won.message.triage is not None
    assert (stored["outcome"], stored["notes"]) == (
        won.message.triage.outcome,
        won.message.triage.notes,
    )
    # The same triage written again (a replay) is no conflict; another one is.
    again = await services(client).calls.triage(call_sid, won.message.model_dump(mode="json"))
    assert again is True


async def test_the_recording_status_callback_stores_the_recording(
    client: Client, tokens: dict[str, str]
) -> None:
    call_sid, root = await connected_call(client, tokens, [RECORDED])
    conference = only(root, "Dial/Conference")
    assert conference.attrib["record"] == "record-from-start"
    callback = conference.attrib["recordingStatusCallback"]
    recording_url = "https://api.twilio.com/2010-04-01/Accounts/AC/Recordings/RE5"

    # In progress: nothing to keep yet.
    await post_to(
        client,
        callback,
        [("RecordingStatus", "in-progress"), ("RecordingSid", "RE" + "5" * 32)],
    )
    assert (await call_record(client, tokens["manager"], call_sid))["recording_sid"] is None

    await post_to(
        client,
        callback,
        [
            ("AccountSid", ACCOUNT),
            ("ConferenceSid", "CF" + "5" * 32),
            ("RecordingSid", "RE" + "5" * 32),
            ("RecordingStatus", "completed"),
            ("RecordingUrl", recording_url),
        ],
    )
    record = await call_record(client, tokens["manager"], call_sid)
    assert (record["recording_sid"], record["recording_url"]) == ("RE" + "5" * 32, recording_url)


async def test_a_refusal_for_someone_who_needs_extra_time_is_slower_and_longer(
    client: Client, tokens: dict[str, str]
) -> None:
    policy = services(client).policy
    _, plain = await refused_call(client, tokens)
    assert plain.find(".//prosody") is None
    assert only(plain, "Record").attrib["maxLength"] == str(policy.messages.max_seconds)

    _, slow = await refused_call(
        client,
        tokens,
        phone="+447700900456",
        reasonable_adjustments=[{"kind": "needs_extra_time", "detail": "processing difficulty"}],
    )
    says = list(slow.iter("Say"))
    assert says
    for say in says:
        prosody = only(say, "prosody")
        assert prosody.attrib["rate"].endswith("%")
        assert int(prosody.attrib["rate"].rstrip("%")) < 100
    factor = policy.messages.extra_time_factor
    assert factor == 2
    record_verb = only(slow, "Record")
    assert record_verb.attrib["maxLength"] == str(policy.messages.max_seconds * 2)
    assert int(record_verb.attrib["timeout"]) == 2 * int(only(plain, "Record").attrib["timeout"])
    assert int(only(slow, "Gather").attrib["timeout"]) > int(
        only(plain, "Gather").attrib["timeout"]
    )
