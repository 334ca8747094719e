"""Letters as PDF and appeals through the real HTTP API on a real Redis (CONTRACT §7).

Each letter is read back with pypdf: its words must hold everything §7 lists."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient

from callguard.clock import FixedClock
from callguard.domain.roles import Role
from callguard.domain.users import User
from callguard.policy import Policy
from tests.conftest import auth
from tests.helpers import create_person, create_strategy, services
from tests.letter_support import RESTRICTIONS, pdf_text, text_sizes_pt

pytestmark = pytest.mark.timeout(60)

Client = TestClient[web.Request, web.Application]
PAT = {"kind": "spoc", "name": "Pat Jones", "phone": "+441772000002"}
REASON = "Repeated abusive calls to staff after the complaint was finalised"


async def letter(client: Client, token: str, path: str) -> bytes:
    response = await client.get(path, headers=auth(token))
    assert response.status == 200, await response.text()
    assert response.content_type == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    return await response.read()


async def a_strategy(client: Client, tokens: dict[str, str], **person: Any) -> dict[str, Any]:
    created = await create_person(client, tokens["manager"], **person)
    return await create_strategy(
        client, tokens["manager"], created["id"], RESTRICTIONS, reason=REASON
    )


async def test_the_strategy_letter_holds_every_element_the_contract_lists(
    client: Client, tokens: dict[str, str], policy: Policy
) -> None:
    strategy = await a_strategy(client, tokens, name="Alex Example")
    pdf = await letter(
        client, tokens["manager"], f"/api/v1/strategies/{strategy['id']}/versions/1/letter"
    )
    text = pdf_text(pdf)
    assert pdf.startswith(b"%PDF")
    # From whom: the manager who made it, by name and title.
    assert "Mo Manager Complaints Manager" in text
    assert "Dear Alex Example" in text
    # The behaviour and why.
    assert REASON in text
    # Each restriction in plain words: windows as days and times, the SPOC by name,
    # the written contact details.
    assert "on Tuesdays and Thursdays between 9am and midday" in text
    assert "1 call each week" in text
    assert "put through to Jo Bloggs" in text
    assert "will be recorded" in text
    assert "by email to casework@lancashire-pcc.example.org" in text
    assert "by post to PO Box 123, Preston PR1 2AB" in text
    # When it starts (the day the person was told) and when it will be reviewed.
    assert "start on 20 November 2026" in text
    assert "review them by 20 February 2027" in text
    # How to ask for the decision to be looked at again, and by whom.
    assert "looked at again" in text
    assert policy.letters.appeals_to in text
    assert "within 20 working days" in text
    # The emergency advice as written (a letter cannot be hung up), and the office's
    # contact details.
    assert policy.emergency.written in text and "hang up" not in text
    assert policy.emergency.written != policy.emergency.advice
    assert policy.letters.office_address in text
    assert policy.letters.office_email in text
    assert policy.letters.office_phone in text
    assert "CMP-2026-0142" in text
    # Body text at the ordinary size for a person without large print.
    assert min(text_sizes_pt(pdf)) < 16


async def test_a_large_print_person_gets_body_text_of_at_least_16pt(
    client: Client, tokens: dict[str, str]
) -> None:
    strategy = await a_strategy(
        client, tokens, reasonable_adjustments=[{"kind": "large_print", "detail": "sight loss"}]
    )
    pdf = await letter(
        client, tokens["manager"], f"/api/v1/strategies/{strategy['id']}/versions/1/letter"
    )
    sizes = text_sizes_pt(pdf)
    assert sizes and min(sizes) >= 16
    assert REASON in pdf_text(pdf)


async def test_an_easy_read_person_gets_the_simpler_letter(
    client: Client, tokens: dict[str, str]
) -> None:
    strategy = await a_strategy(client, tokens, reasonable_adjustments=[{"kind": "easy_read"}])
    text = pdf_text(
        await letter(
            client, tokens["manager"], f"/api/v1/strategies/{strategy['id']}/versions/1/letter"
        )
    )
    assert "How you can contact us" in text
    assert "If you do not agree" in text
    assert "Jo Bloggs" in text and "20 February 2027" in text


async def test_a_revision_gets_a_revision_letter_and_version_1_keeps_its_own(
    client: Client, tokens: dict[str, str]
) -> None:
    strategy = await a_strategy(client, tokens)
    revised = await client.post(
        f"/api/v1/strategies/{strategy['id']}/revisions",
        json={
            "expected_version": 1,
            "changes": {
                "restrictions": [{"kind": "spoc", "name": "Pat Jones", "phone": "+441772000002"}]
            },
            "why": "Calls have been calmer; the time limits are no longer needed",
        },
        headers=auth(tokens["manager"]),
    )
    assert revised.status == 201, await revised.text()
    base = f"/api/v1/strategies/{strategy['id']}/versions"
    second = pdf_text(await letter(client, tokens["manager"], f"{base}/2/letter"))
    assert "Changes to the arrangements" in second
    assert "Pat Jones" in second and "Jo Bloggs" not in second
    assert "the time limits are no longer needed" in second
    # Not yet told: it applies from the letter's own date (the fixed clock's day).
    assert "apply from 27 November 2026" in second
    first = pdf_text(await letter(client, tokens["manager"], f"{base}/1/letter"))
    assert "Jo Bloggs" in first and "Pat Jones" not in first
    missing = await client.get(f"{base}/3/letter", headers=auth(tokens["manager"]))
    assert missing.status == 404


async def test_the_chief_executives_no_response_letter(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    strategy = await create_strategy(
        client, tokens["chief_executive"], person["id"], [{"kind": "no_response"}]
    )
    text = pdf_text(
        await letter(
            client,
            tokens["chief_executive"],
            f"/api/v1/strategies/{strategy['id']}/versions/1/letter",
        )
    )
    assert "We will not respond further about your matter" in text
    assert "Chief Executive Chief Executive" in text  # display name, then title
    assert "still be read and kept on file" in text


async def test_letters_are_for_managers_and_audited(client: Client, tokens: dict[str, str]) -> None:
    strategy = await a_strategy(client, tokens)
    path = f"/api/v1/strategies/{strategy['id']}/versions/1/letter"
    assert (await client.get(path, headers=auth(tokens["staff"]))).status == 403
    assert (await client.get(path)).status == 401
    await letter(client, tokens["manager"], path)
    export = await client.get(
        f"/api/v1/people/{strategy['person_id']}/export", headers=auth(tokens["manager"])
    )
    actions = [e["action"] for e in (await export.json())["audit"]]
    assert "strategy.letter" in actions


async def test_the_pdf_is_drawn_off_the_event_loop(client: Client, tokens: dict[str, str]) -> None:
    strategy = await a_strategy(client, tokens)
    path = f"/api/v1/strategies/{strategy['id']}/versions/1/letter"
    await letter(client, tokens["manager"], path)  # warm up: fonts and the import
    started = time.monotonic()
    pdf_task = asyncio.ensure_future(client.get(path, headers=auth(tokens["manager"])))
    pings: list[float] = []
    while not pdf_task.done():
        sent = time.monotonic()
        assert (await client.get("/healthz")).status == 200
        pings.append(time.monotonic() - sent)
    assert (await pdf_task).status == 200
    drawing_s = time.monotonic() - started
    # While the letter was drawn the loop kept answering: had it drawn the PDF itself, one
    # ping would have waited for (nearly) the whole drawing.
    assert len(pings) >= 3
    assert max(pings) < drawing_s / 2


# --- appeals ------------------------------------------------------------------------------


async def another_manager(client: Client) -> str:
    name = "max.manager"
    users = services(client).users
    await users.put_user(User(name=name, role=Role.manager, display_name="Max Manager"))
    return await users.create_token(name, Role.manager)


async def record(client: Client, token: str, strategy_id: str, **overrides: Any) -> ClientResponse:
    body = {
        "received_on": "2026-11-27",
        "grounds": "I only called about my complaint and was never abusive",
        "decider": "ceo",
        **overrides,
    }
    return await client.post(
        f"/api/v1/strategies/{strategy_id}/appeals", json=body, headers=auth(token)
    )


@pytest.mark.parametrize(
    ("decider", "why"),
    [
        ("mo.manager", "was involved"),
        ("sam.staff", "must be a manager or the chief executive"),
        ("ada.admin", "must be a manager or the chief executive"),
        ("nobody.here", "there is no user called"),
    ],
)
async def test_the_decider_must_be_senior_and_not_involved(
    client: Client, tokens: dict[str, str], decider: str, why: str
) -> None:
    strategy = await a_strategy(client, tokens)
    response = await record(client, tokens["manager"], strategy["id"], decider=decider)
    assert response.status == 422
    fields = (await response.json())["fields"]
    assert [f["field"] for f in fields] == ["decider"]
    assert why in fields[0]["reason"]
    listed = await client.get("/api/v1/appeals", headers=auth(tokens["manager"]))
    assert (await listed.json())["total"] == 0


async def test_whoever_reviewed_or_revised_the_strategy_cannot_decide(
    client: Client, tokens: dict[str, str]
) -> None:
    max_token = await another_manager(client)
    strategy = await a_strategy(client, tokens)
    revised = await client.post(
        f"/api/v1/strategies/{strategy['id']}/revisions",
        json={"expected_version": 1, "changes": {"reason": REASON + " (updated)"}, "why": "typo"},
        headers=auth(max_token),
    )
    assert revised.status == 201
    response = await record(client, tokens["manager"], strategy["id"], decider="max.manager")
    assert response.status == 422
    assert (await response.json())["fields"][0]["field"] == "decider"


async def test_an_appeal_is_due_in_working_days_and_decided_only_by_its_decider(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    strategy = await a_strategy(client, tokens)
    early = await record(client, tokens["manager"], strategy["id"], received_on="2026-12-01")
    assert early.status == 422
    assert (await early.json())["fields"][0]["field"] == "received_on"

    response = await record(client, tokens["manager"], strategy["id"])
    assert response.status == 201, await response.text()
    appeal = await response.json()
    assert appeal["id"].startswith("apl_")
    assert appeal["status"] == "awaiting_decision"
    # 20 working days from Friday 27 November 2026, over Christmas Day and the Boxing Day
    # holiday (Monday 28 December): Tuesday 29 December.
    assert appeal["due_on"] == "2026-12-29"
    again = await record(client, tokens["manager"], strategy["id"])
    assert again.status == 409

    not_yet = await client.get(
        f"/api/v1/appeals/{appeal['id']}/letter", headers=auth(tokens["manager"])
    )
    assert not_yet.status == 409

    decision = {"outcome": "ended", "reasons": "The calls recorded were not abusive"}
    path = f"/api/v1/appeals/{appeal['id']}/decision"
    for role in ("manager", "staff"):
        refused = await client.post(path, json=decision, headers=auth(tokens[role]))
        assert refused.status == 403
    bad = await client.post(
        path,
        json={"outcome": "overturned", "reasons": "x"},
        headers=auth(tokens["chief_executive"]),
    )
    assert bad.status == 422
    assert (await bad.json())["fields"][0]["field"] == "outcome"

    decided = await client.post(path, json=decision, headers=auth(tokens["chief_executive"]))
    assert decided.status == 200, await decided.text()
    body = await decided.json()
    assert body["status"] == "decided" and body["outcome"] == "ended"
    twice = await client.post(path, json=decision, headers=auth(tokens["chief_executive"]))
    assert twice.status == 409

    # ``ended`` ends the strategy.
    read = await client.get(f"/api/v1/strategies/{strategy['id']}", headers=auth(tokens["manager"]))
    assert (await read.json())["status"] == "ended"

    got = await client.get(f"/api/v1/appeals/{appeal['id']}", headers=auth(tokens["manager"]))
    assert (await got.json())["outcome"] == "ended"
    listed = await client.get(
        "/api/v1/appeals", params={"status": "decided"}, headers=auth(tokens["manager"])
    )
    assert [a["id"] for a in (await listed.json())["items"]] == [appeal["id"]]

    text = pdf_text(
        await letter(client, tokens["manager"], f"/api/v1/appeals/{appeal['id']}/letter")
    )
    assert "The outcome of your request to look at our decision again" in text
    assert "On 27 November 2026 you asked us to look again" in text
    assert "I only called about my complaint and was never abusive" in text
    assert "the arrangements should end" in text
    assert "The calls recorded were not abusive" in text
    assert "Chief Executive Chief Executive" in text


async def test_an_upheld_appeal_leaves_the_strategy_in_force(
    client: Client, tokens: dict[str, str]
) -> None:
    max_token = await another_manager(client)
    strategy = await a_strategy(client, tokens)
    appeal = await (
        await record(client, tokens["manager"], strategy["id"], decider="max.manager")
    ).json()
    decided = await client.post(
        f"/api/v1/appeals/{appeal['id']}/decision",
        json={"outcome": "upheld", "reasons": "The recordings show repeated abuse"},
        headers=auth(max_token),
    )
    assert decided.status == 200
    read = await client.get(f"/api/v1/strategies/{strategy['id']}", headers=auth(tokens["manager"]))
    assert (await read.json())["status"] == "active"
    text = pdf_text(await letter(client, max_token, f"/api/v1/appeals/{appeal['id']}/letter"))
    assert "stay as they are" in text and "Max Manager" in text
    assert "Jo Bloggs" in text  # the arrangements as they stand


async def test_unknown_appeals_and_strategies_are_404(
    client: Client, tokens: dict[str, str]
) -> None:
    headers = auth(tokens["manager"])
    assert (await client.get("/api/v1/appeals/apl_nope", headers=headers)).status == 404
    assert (await client.get("/api/v1/appeals/apl_nope/letter", headers=headers)).status == 404
    response = await record(client, tokens["manager"], "str_nope")
    assert response.status == 404


async def test_the_subject_access_export_holds_the_appeals_and_the_letters_sent(
    client: Client, tokens: dict[str, str]
) -> None:
    strategy = await a_strategy(client, tokens)
    appeal = await (await record(client, tokens["manager"], strategy["id"])).json()
    response = await client.get(
        f"/api/v1/people/{strategy['person_id']}/export", headers=auth(tokens["manager"])
    )
    assert response.status == 200, await response.text()
    export = await response.json()
    [held] = export["appeals"]
    assert held["id"] == appeal["id"]
    assert held["grounds"] == "I only called about my complaint and was never abusive"
    assert held["decider"] == "ceo" and held["status"] == "awaiting_decision"
    assert [(s["strategy_id"], s["version"]) for s in export["letters_sent"]] == [
        (strategy["id"], 1)
    ]
    assert export["letters_sent"][0]["notified_on"] == strategy["notified_on"]
