"""What the review of today's merges found in letters, appeals and changing a person, each
through the real HTTP API on a real Redis (CONTRACT §4, §7)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from callguard.clock import FixedClock
from callguard.domain.roles import Role
from callguard.domain.users import User
from callguard.web.pages import messages
from tests.conftest import auth
from tests.helpers import create_person, create_strategy, services
from tests.letter_support import RESTRICTIONS, pdf_text

pytestmark = pytest.mark.timeout(60)

Client = TestClient[web.Request, web.Application]
WRITTEN_ONLY: list[dict[str, Any]] = [
    {"kind": "written_only", "email": "casework@lancashire-pcc.example.org"}
]


async def test_a_matter_reference_with_quotes_or_line_breaks_still_downloads_its_letter(
    client: Client, tokens: dict[str, str]
) -> None:
    """The letter's file name comes from the matter reference, which is free text: a quote
    or a line break in it must not break the download header (no 5xx, no header split)."""
    person = await create_person(client, tokens["manager"], name="Alex Example")
    strategy = await create_strategy(
        client,
        tokens["manager"],
        person["id"],
        RESTRICTIONS,
        matter_ref='CMP "2026"\r\nSet-Cookie: x=1',
    )
    response = await client.get(
        f"/api/v1/strategies/{strategy['id']}/versions/1/letter", headers=auth(tokens["manager"])
    )
    assert response.status == 200, await response.text()
    assert "Set-Cookie" not in response.headers
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.count('"') == 2


async def test_an_easy_read_persons_letter_for_an_ended_strategy_says_it_has_ended(
    client: Client, tokens: dict[str, str]
) -> None:
    """Not the arrangements as if they were starting: the person must learn they are over."""
    person = await create_person(
        client, tokens["manager"], reasonable_adjustments=[{"kind": "easy_read"}]
    )
    strategy = await create_strategy(client, tokens["manager"], person["id"], RESTRICTIONS)
    ended = await client.post(
        f"/api/v1/strategies/{strategy['id']}/end",
        json={"expected_version": 1, "why": "The calls have been calm for three months"},
        headers=auth(tokens["manager"]),
    )
    assert ended.status == 200, await ended.text()
    response = await client.get(
        f"/api/v1/strategies/{strategy['id']}/versions/2/letter", headers=auth(tokens["manager"])
    )
    assert response.status == 200, await response.text()
    text = pdf_text(await response.read())
    assert "ended" in text
    assert "The calls have been calm for three months" in text
    assert "in the usual way" in text
    assert "put through to Jo Bloggs" not in text
    assert "This starts on" not in text


async def test_a_phone_contact_need_added_while_a_written_only_strategy_awaits_notice(
    client: Client, tokens: dict[str, str]
) -> None:
    """§2.4, §8.4: the strategy will apply once the person is told, so the need conflicts
    with it just as with an active one: refused, naming the field, nothing stored."""
    person = await create_person(client, tokens["manager"])
    await create_strategy(client, tokens["manager"], person["id"], WRITTEN_ONLY, notified_on=None)
    response = await client.patch(
        f"/api/v1/people/{person['id']}",
        json={"reasonable_adjustments": [{"kind": "needs_phone_contact"}]},
        headers=auth(tokens["manager"]),
    )
    assert response.status == 422, await response.text()
    assert "reasonable_adjustments" in await response.text()
    read = await client.get(f"/api/v1/people/{person['id']}", headers=auth(tokens["manager"]))
    assert (await read.json())["reasonable_adjustments"] == []


async def test_listing_people_and_strategies_through_the_api_is_audited_for_each_person(
    client: Client, tokens: dict[str, str]
) -> None:
    """CONTRACT §7: reading a person or a strategy leaves who, when and what in their audit;
    a list returns whole records, so a list is a read of each person it shows."""
    person = await create_person(client, tokens["manager"], name="Alex Example")
    strategy = await create_strategy(client, tokens["manager"], person["id"], RESTRICTIONS)
    chief = auth(tokens["chief_executive"])
    for path in ("/api/v1/people", f"/api/v1/strategies?person_id={person['id']}"):
        listed = await client.get(path, headers=chief)
        assert listed.status == 200, await listed.text()
    export = await client.get(
        f"/api/v1/people/{person['id']}/export", headers=auth(tokens["manager"])
    )
    entries = [(e["who"], e["action"]) for e in (await export.json())["audit"]]
    assert ("ceo", "person.list") in entries
    assert ("ceo", "strategy.list") in entries
    assert strategy["id"]


async def test_an_appeal_cannot_be_given_to_a_decider_whose_account_is_disabled(
    client: Client, tokens: dict[str, str]
) -> None:
    """A disabled manager cannot sign in, so the person's appeal would never be decided:
    refused naming ``decider``, and not offered on the form's list."""
    users = services(client).users
    await users.put_user(
        User(name="max.manager", role=Role.manager, display_name="Max Manager", disabled=True)
    )
    person = await create_person(client, tokens["manager"])
    strategy = await create_strategy(client, tokens["manager"], person["id"], RESTRICTIONS)
    response = await client.post(
        f"/api/v1/strategies/{strategy['id']}/appeals",
        json={"received_on": "2026-11-27", "grounds": "Unfair", "decider": "max.manager"},
        headers=auth(tokens["manager"]),
    )
    assert response.status == 422, await response.text()
    fields = (await response.json())["fields"]
    assert [f["field"] for f in fields] == ["decider"]
    assert "disabled" in fields[0]["reason"]
    # The appeal form says it in words.
    shown = messages.words_for_reason("decider", fields[0]["reason"], "appeal")
    assert shown == "Choose someone who can sign in: this person's account is disabled"
    deciders = await services(client).appeals.eligible_deciders(strategy["id"])
    assert "max.manager" not in deciders and "ceo" in deciders


async def test_an_unknown_persons_subject_access_requests_are_404(
    client: Client, tokens: dict[str, str]
) -> None:
    """CONTRACT §4: unknown id → 404 (not an empty list, which says the person is held and
    has made no request)."""
    response = await client.get(
        "/api/v1/people/per_0000000000000000/subject-access-requests",
        headers=auth(tokens["manager"]),
    )
    assert response.status == 404, await response.text()


async def test_an_appeal_decided_ended_ends_a_strategy_still_awaiting_notice(
    client: Client, tokens: dict[str, str]
) -> None:
    """Otherwise the outcome letter says the arrangements ended while the strategy waits,
    and recording the notice later would put it into effect."""
    person = await create_person(client, tokens["manager"])
    strategy = await create_strategy(
        client, tokens["manager"], person["id"], RESTRICTIONS, notified_on=None
    )
    assert strategy["status"] == "awaiting_notice"
    recorded = await client.post(
        f"/api/v1/strategies/{strategy['id']}/appeals",
        json={"received_on": "2026-11-27", "grounds": "Unfair", "decider": "ceo"},
        headers=auth(tokens["manager"]),
    )
    assert recorded.status == 201, await recorded.text()
    decided = await client.post(
        f"/api/v1/appeals/{(await recorded.json())['id']}/decision",
        json={"outcome": "ended", "reasons": "The calls were not abusive"},
        headers=auth(tokens["chief_executive"]),
    )
    assert decided.status == 200, await decided.text()
    read = await client.get(f"/api/v1/strategies/{strategy['id']}", headers=auth(tokens["manager"]))
    assert (await read.json())["status"] == "ended"


async def test_only_the_chief_executive_continues_or_changes_a_no_response_strategy(
    client: Client, tokens: dict[str, str]
) -> None:
    """§8.3: no response is the chief executive's decision. A manager's review or revision
    would extend it under a letter that says "I am the Chief Executive" and is signed by
    the manager; ending it (less restrictive) stays open to a manager."""
    person = await create_person(client, tokens["manager"])
    strategy = await create_strategy(
        client, tokens["chief_executive"], person["id"], [{"kind": "no_response"}]
    )
    path = f"/api/v1/strategies/{strategy['id']}"
    manager = auth(tokens["manager"])
    reviewed = await client.post(
        f"{path}/reviews",
        json={
            "outcome": "continue",
            "notes": "No change in behaviour",
            "expected_version": 1,
            "next_review_due": "2027-01-27",
        },
        headers=manager,
    )
    assert reviewed.status == 403, await reviewed.text()
    revised = await client.post(
        f"{path}/revisions",
        json={"expected_version": 1, "changes": {"reason": "Other words"}, "why": "Clearer"},
        headers=manager,
    )
    assert revised.status == 403, await revised.text()
    unchanged = await client.get(path, headers=manager)
    assert (await unchanged.json())["version"] == 1
    by_chief = await client.post(
        f"{path}/reviews",
        json={
            "outcome": "continue",
            "notes": "No change in behaviour",
            "expected_version": 1,
            "next_review_due": "2027-01-27",
        },
        headers=auth(tokens["chief_executive"]),
    )
    assert by_chief.status == 201, await by_chief.text()
    ended = await client.post(
        f"{path}/end", json={"expected_version": 2, "why": "Calm for months"}, headers=manager
    )
    assert ended.status == 200, await ended.text()


async def test_an_easy_read_person_gets_an_easy_read_appeal_outcome_letter(
    client: Client, tokens: dict[str, str]
) -> None:
    """§2: the adjustment holds for every letter, the appeal's outcome too."""
    person = await create_person(
        client, tokens["manager"], reasonable_adjustments=[{"kind": "easy_read"}]
    )
    strategy = await create_strategy(client, tokens["manager"], person["id"], RESTRICTIONS)
    recorded = await client.post(
        f"/api/v1/strategies/{strategy['id']}/appeals",
        json={"received_on": "2026-11-27", "grounds": "Unfair", "decider": "ceo"},
        headers=auth(tokens["manager"]),
    )
    appeal_id = (await recorded.json())["id"]
    decided = await client.post(
        f"/api/v1/appeals/{appeal_id}/decision",
        json={"outcome": "upheld", "reasons": "The calls were abusive"},
        headers=auth(tokens["chief_executive"]),
    )
    assert decided.status == 200, await decided.text()
    response = await client.get(
        f"/api/v1/appeals/{appeal_id}/letter", headers=auth(tokens["manager"])
    )
    assert response.status == 200, await response.text()
    text = pdf_text(await response.read())
    assert "We have looked at our decision again" in text
    assert "The arrangements will stay the same." in text
    assert "The calls were abusive" in text and "put through to Jo Bloggs" in text
    assert "Ombudsman" in text


async def test_an_appeal_whose_decider_can_no_longer_decide_is_given_to_another(
    client: Client, tokens: dict[str, str]
) -> None:
    """A decider disabled (or demoted, or since involved) after the appeal was recorded would
    leave the person's appeal undecided for ever: a manager names another decider, checked
    as when it was recorded, and audited."""
    users = services(client).users
    await users.put_user(User(name="max.manager", role=Role.manager, display_name="Max Manager"))
    person = await create_person(client, tokens["manager"])
    strategy = await create_strategy(client, tokens["manager"], person["id"], RESTRICTIONS)
    recorded = await client.post(
        f"/api/v1/strategies/{strategy['id']}/appeals",
        json={"received_on": "2026-11-27", "grounds": "Unfair", "decider": "max.manager"},
        headers=auth(tokens["manager"]),
    )
    appeal = await recorded.json()
    max_user = await users.get_user("max.manager")
    assert max_user is not None
    await users.put_user(max_user.model_copy(update={"disabled": True}))
    path = f"/api/v1/appeals/{appeal['id']}/decider"
    involved = await client.post(
        path, json={"decider": "mo.manager"}, headers=auth(tokens["manager"])
    )
    assert involved.status == 422, await involved.text()
    assert [f["field"] for f in (await involved.json())["fields"]] == ["decider"]
    staff = await client.post(path, json={"decider": "ceo"}, headers=auth(tokens["staff"]))
    assert staff.status == 403
    moved = await client.post(path, json={"decider": "ceo"}, headers=auth(tokens["manager"]))
    assert moved.status == 200, await moved.text()
    body = await moved.json()
    assert body["decider"] == "ceo" and body["due_on"] == appeal["due_on"]
    decided = await client.post(
        f"/api/v1/appeals/{appeal['id']}/decision",
        json={"outcome": "upheld", "reasons": "The calls were abusive"},
        headers=auth(tokens["chief_executive"]),
    )
    assert decided.status == 200, await decided.text()
    again = await client.post(path, json={"decider": "ceo"}, headers=auth(tokens["manager"]))
    assert again.status == 409
    export = await client.get(
        f"/api/v1/people/{person['id']}/export", headers=auth(tokens["manager"])
    )
    assert "appeal.decider" in [e["action"] for e in (await export.json())["audit"]]


async def test_an_interim_measures_letter_says_it_applied_from_when_it_was_made(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    """An interim measure applies at once, before the person is told: its letter, drawn
    days later, must not say it starts on the letter's date (calls were refused before)."""
    person = await create_person(client, tokens["manager"])
    strategy = await create_strategy(
        client,
        tokens["chief_executive"],
        person["id"],
        [{"kind": "phone_blocked"}],
        notified_on=None,
        interim=True,
    )
    assert strategy["status"] == "active"
    clock.advance(timedelta(days=3))
    response = await client.get(
        f"/api/v1/strategies/{strategy['id']}/versions/1/letter",
        headers=auth(tokens["manager"]),
    )
    assert response.status == 200, await response.text()
    text = pdf_text(await response.read())
    assert "30 November 2026" in text  # the letter's date
    assert "start on 27 November 2026" in text


async def test_a_letter_holds_no_one_elses_details(client: Client, tokens: dict[str, str]) -> None:
    """The review's check (it held already): the SPOC by name only (not their direct line),
    no advocate's number, nothing of another person on the register."""
    other = await create_person(
        client, tokens["manager"], name="Olive Other", phones=["07700 900999"]
    )
    await create_strategy(
        client, tokens["manager"], other["id"], RESTRICTIONS, reason="Olive's own reason"
    )
    person = await create_person(
        client,
        tokens["manager"],
        name="Alex Example",
        reasonable_adjustments=[{"kind": "needs_phone_contact", "detail": "cannot write"}],
    )
    restrictions: list[dict[str, Any]] = [
        {"kind": "spoc", "name": "Jo Bloggs", "phone": "+441772000001"},
        {"kind": "advocate_only", "advocate_phones": ["07700 900888"]},
    ]
    strategy = await create_strategy(client, tokens["manager"], person["id"], restrictions)
    response = await client.get(
        f"/api/v1/strategies/{strategy['id']}/versions/1/letter", headers=auth(tokens["manager"])
    )
    text = pdf_text(await response.read())
    assert "Jo Bloggs" in text and "Dear Alex Example" in text
    for private in ("1772000001", "772 000001", "900888", "900 888", "Olive", "900999"):
        assert private not in text


async def test_a_decider_who_has_since_revised_the_strategy_cannot_decide(
    client: Client, tokens: dict[str, str]
) -> None:
    """Not involved is checked when the appeal is recorded and again when it is decided: a
    decider who has meanwhile revised or reviewed the strategy is no longer independent."""
    person = await create_person(client, tokens["manager"])
    strategy = await create_strategy(client, tokens["manager"], person["id"], RESTRICTIONS)
    recorded = await client.post(
        f"/api/v1/strategies/{strategy['id']}/appeals",
        json={"received_on": "2026-11-27", "grounds": "Unfair", "decider": "ceo"},
        headers=auth(tokens["manager"]),
    )
    appeal_id = (await recorded.json())["id"]
    revised = await client.post(
        f"/api/v1/strategies/{strategy['id']}/revisions",
        json={"expected_version": 1, "changes": {"reason": "Clearer words"}, "why": "Clearer"},
        headers=auth(tokens["chief_executive"]),
    )
    assert revised.status == 201, await revised.text()
    decided = await client.post(
        f"/api/v1/appeals/{appeal_id}/decision",
        json={"outcome": "upheld", "reasons": "Fine"},
        headers=auth(tokens["chief_executive"]),
    )
    assert decided.status == 409, await decided.text()
    assert "another decider" in (await decided.json())["message"]
    read = await client.get(f"/api/v1/appeals/{appeal_id}", headers=auth(tokens["manager"]))
    assert (await read.json())["status"] == "awaiting_decision"


async def test_reading_appeals_is_audited_for_the_person(
    client: Client, tokens: dict[str, str]
) -> None:
    """An appeal holds the person's own words (their grounds): reading one, or a list of
    them, leaves who and when in their audit, as reading their strategy does."""
    person = await create_person(client, tokens["manager"])
    strategy = await create_strategy(client, tokens["manager"], person["id"], RESTRICTIONS)
    recorded = await client.post(
        f"/api/v1/strategies/{strategy['id']}/appeals",
        json={"received_on": "2026-11-27", "grounds": "Unfair", "decider": "ceo"},
        headers=auth(tokens["manager"]),
    )
    appeal_id = (await recorded.json())["id"]
    chief = auth(tokens["chief_executive"])
    assert (await client.get(f"/api/v1/appeals/{appeal_id}", headers=chief)).status == 200
    assert (await client.get("/api/v1/appeals", headers=chief)).status == 200
    export = await client.get(
        f"/api/v1/people/{person['id']}/export", headers=auth(tokens["manager"])
    )
    entries = [(e["who"], e["action"]) for e in (await export.json())["audit"]]
    assert ("ceo", "appeal.read") in entries
    assert ("ceo", "appeal.list") in entries


async def test_a_reviewed_versions_letter_leaves_out_the_internal_review_notes(
    client: Client, tokens: dict[str, str]
) -> None:
    """A review's notes record what staff considered (they may name others): they are for
    the file, not for the letter the person is sent; the letter gives the strategy's reason."""
    person = await create_person(client, tokens["manager"], name="Alex Example")
    strategy = await create_strategy(client, tokens["manager"], person["id"], RESTRICTIONS)
    notes = "Spoke to DS Kaur; neighbour Ms Patel also complained"
    reviewed = await client.post(
        f"/api/v1/strategies/{strategy['id']}/reviews",
        json={
            "outcome": "continue",
            "notes": notes,
            "expected_version": 1,
            "next_review_due": "2027-01-27",
        },
        headers=auth(tokens["chief_executive"]),
    )
    assert reviewed.status == 201, await reviewed.text()
    response = await client.get(
        f"/api/v1/strategies/{strategy['id']}/versions/2/letter", headers=auth(tokens["manager"])
    )
    assert response.status == 200, await response.text()
    text = " ".join(pdf_text(await response.read()).split())
    assert "reviewed the arrangements" in text
    assert "Kaur" not in text and "Patel" not in text
    assert " ".join(strategy["reason"].split()) in text
