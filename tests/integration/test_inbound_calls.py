"""Inbound calls through the real, signed voice webhook: every restriction kind and every
combination rule (CONTRACT §3–4), asserting the call record and the Twilio REST requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from callguard.clock import FixedClock
from tests.conftest import DEFAULT_ROUTE, KEYS, auth
from tests.helpers import (
    OFFICE_NUMBER,
    Client,
    call_record,
    create_person,
    create_strategy,
    inbound_call,
    new_call_sid,
    services,
)
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(30)

PERSON_PHONE = "+447700900123"
ADVOCATE_PHONE = "+447700900555"
SPOC_PHONE = "+441772000001"
# The clock stands at Friday 27 November 2026, 10:00 GMT.
INSIDE = {
    "kind": "call_windows",
    "windows": [{"days": ["fri"], "start": "09:00", "end": "12:00"}],
    "max_calls": 1,
    "per": "week",
}
OUTSIDE = {
    "kind": "call_windows",
    "windows": [{"days": ["tue"], "start": "09:00", "end": "12:00"}],
    "max_calls": 1,
    "per": "week",
}
SPOC = {"kind": "spoc", "name": "Jo Bloggs", "phone": SPOC_PHONE}
RECORDED = {"kind": "recorded"}
WRITTEN = {
    "kind": "written_only",
    "email": "complaints@example.org",
    "postal_address": "County Hall, Preston",
}
ADVOCATE = {"kind": "advocate_only", "advocate_phones": [ADVOCATE_PHONE]}
BLOCKED = {"kind": "phone_blocked"}
NO_RESPONSE = {"kind": "no_response"}


@dataclass
class Case:
    name: str
    strategies: list[list[dict[str, Any]]]
    outcome: str
    rule: str
    route_to: str | None
    recorded: bool = False
    caller: str = PERSON_PHONE
    hears: list[str] = field(default_factory=list)


CASES = [
    Case("no strategy", [], "connect", "none", DEFAULT_ROUTE),
    Case("inside a window", [[INSIDE]], "connect", "none", DEFAULT_ROUTE),
    Case(
        "outside a window",
        [[OUTSIDE]],
        "refuse",
        "call_windows.outside",
        None,
        hears=["You may next call on Tuesday the 1st of December, between 9 am and 12 noon"],
    ),
    Case("spoc", [[SPOC]], "divert_spoc", "spoc", SPOC_PHONE),
    Case(
        "recorded",
        [[RECORDED]],
        "connect",
        "none",
        DEFAULT_ROUTE,
        recorded=True,
        hears=["This call will be recorded"],
    ),
    Case(
        "written only",
        [[WRITTEN]],
        "refuse",
        "written_only",
        None,
        hears=["complaints@example.org", "County Hall, Preston"],
    ),
    Case("advocate only, the person", [[ADVOCATE]], "refuse", "advocate_only", None),
    Case(
        "advocate only, the advocate",
        [[ADVOCATE]],
        "connect",
        "advocate_only.advocate",
        DEFAULT_ROUTE,
        caller=ADVOCATE_PHONE,
    ),
    Case(
        "advocate only with a spoc, the advocate",
        [[ADVOCATE, SPOC]],
        "divert_spoc",
        "advocate_only.advocate",
        SPOC_PHONE,
        caller=ADVOCATE_PHONE,
    ),
    Case("phone blocked", [[BLOCKED]], "refuse", "phone_blocked", None),
    Case(
        "no response", [[NO_RESPONSE]], "refuse", "no_response", None, hears=["will still be read"]
    ),
    Case("any refusal wins over a spoc", [[BLOCKED, SPOC]], "refuse", "phone_blocked", None),
    Case(
        "a refusal in one strategy wins over another's spoc",
        [[SPOC], [WRITTEN]],
        "refuse",
        "written_only",
        None,
    ),
    Case(
        "the most final refusal is the rule",
        [[OUTSIDE, NO_RESPONSE]],
        "refuse",
        "no_response",
        None,
    ),
    Case(
        "outside a window wins over a spoc",
        [[OUTSIDE, SPOC]],
        "refuse",
        "call_windows.outside",
        None,
    ),
    Case("inside a window goes to the spoc", [[INSIDE, SPOC]], "divert_spoc", "spoc", SPOC_PHONE),
    Case(
        "spoc and recording together",
        [[SPOC, RECORDED]],
        "divert_spoc",
        "spoc",
        SPOC_PHONE,
        recorded=True,
    ),
    Case(
        "recording asked by any strategy",
        [[SPOC], [RECORDED]],
        "divert_spoc",
        "spoc",
        SPOC_PHONE,
        recorded=True,
    ),
    Case("a refusal is never recorded", [[RECORDED, BLOCKED]], "refuse", "phone_blocked", None),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_each_restriction_and_combination(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, case: Case, clock: FixedClock
) -> None:
    person = await create_person(client, tokens["manager"], phones=[PERSON_PHONE])
    strategy_ids: list[str] = []
    for restrictions in case.strategies:
        strategy = await create_strategy(
            client,
            tokens["chief_executive"],
            person["id"],
            restrictions,
            matter_ref=f"CMP-{len(strategy_ids)}",
        )
        strategy_ids.append(strategy["id"])
        clock.advance(timedelta(seconds=1))
    call_sid = new_call_sid()

    response = await inbound_call(client, case.caller, call_sid)
    assert response.status == 200
    assert response.content_type == "text/xml"
    twiml = await response.text()
    await services(client).background.drain()

    record = await call_record(client, tokens["manager"], call_sid)
    assert (record["outcome"], record["rule"], record["route_to"]) == (
        case.outcome,
        case.rule,
        case.route_to,
    )
    assert record["recorded"] is case.recorded
    assert record["from"] == case.caller
    assert record["person_id"] == person["id"]
    assert record["strategy_ids"] == (strategy_ids if case.strategies else [])
    assert record["degraded"] is False
    for phrase in case.hears:
        assert phrase in twiml

    dials = twilio.matching(r"/Conferences/.+/Participants\.json$")
    if case.outcome == "refuse":
        assert twilio.requests == []
        assert "<Record" in twiml and "999" in twiml and "press 1" in twiml
        # A breach only of the strategies whose restrictions refused it (§3.8, §3.11).
        refusing = [
            strategy_id
            for strategy_id, restrictions in zip(strategy_ids, case.strategies, strict=True)
            if any(r is not INSIDE and r["kind"] not in ("spoc", "recorded") for r in restrictions)
        ]
        assert record["refused_by"] == refusing
        for strategy_id in strategy_ids:
            breaches = await (
                await client.get(
                    f"/api/v1/strategies/{strategy_id}/breaches", headers=auth(tokens["manager"])
                )
            ).json()
            expected = [call_sid] if strategy_id in refusing else []
            assert [b["call_sid"] for b in breaches["items"]] == expected
    else:
        assert len(dials) == 1
        dial = dials[0]
        assert (
            dial.path
            == f"/2010-04-01/Accounts/{'AC' + '0' * 32}/Conferences/cg-{call_sid}/Participants.json"
        )
        assert dial.form["To"] == case.route_to
        assert dial.form["From"] == OFFICE_NUMBER
        assert dial.form["Label"] == "staff"
        assert "<Conference" in twiml and f">cg-{call_sid}</Conference>" in twiml
        assert ('record="record-from-start"' in twiml) is case.recorded


async def test_an_unknown_caller_is_connected_with_no_person(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    call_sid = new_call_sid()
    response = await inbound_call(client, "07911 123456", call_sid)
    assert response.headers["X-CallGuard-Outcome"] == "connect"
    record = await call_record(client, tokens["manager"], call_sid)
    assert record["from"] == "+447911123456"
    assert (record["person_id"], record["strategy_ids"], record["rule"]) == (None, [], "none")


@pytest.mark.parametrize("caller", ["anonymous", "+266696687", "", "Restricted"])
async def test_withheld_and_unparseable_numbers_match_nobody(
    client: Client, tokens: dict[str, str], caller: str
) -> None:
    call_sid = new_call_sid()
    response = await inbound_call(client, caller, call_sid)
    assert response.status == 200
    record = await call_record(client, tokens["manager"], call_sid)
    assert (record["outcome"], record["person_id"], record["from"]) == ("connect", None, caller)


@pytest.mark.parametrize(
    "form", ["07700 900123", "+44 7700 900123", "0044 7700 900123", "447700900123"]
)
async def test_a_restricted_caller_is_matched_in_any_common_form(
    client: Client, tokens: dict[str, str], form: str
) -> None:
    person = await create_person(client, tokens["manager"], phones=[PERSON_PHONE])
    await create_strategy(client, tokens["manager"], person["id"], [BLOCKED])
    response = await inbound_call(client, form)
    assert response.headers["X-CallGuard-Rule"] == "phone_blocked"


async def test_refusals_under_a_strategy_are_its_breaches(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"], phones=[PERSON_PHONE])
    strategy = await create_strategy(client, tokens["manager"], person["id"], [INSIDE])
    sids = [new_call_sid() for _ in range(3)]
    for sid in sids:
        await inbound_call(client, PERSON_PHONE, sid)
    breaches = await (
        await client.get(
            f"/api/v1/strategies/{strategy['id']}/breaches", headers=auth(tokens["manager"])
        )
    ).json()
    assert breaches["total"] == 2
    assert {b["call_sid"] for b in breaches["items"]} == set(sids[1:])
    assert {b["rule"] for b in breaches["items"]} == {"call_windows.quota"}


async def test_the_same_call_sid_twice_makes_one_record_and_one_count(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn
) -> None:
    person = await create_person(client, tokens["manager"], phones=[PERSON_PHONE])
    strategy = await create_strategy(client, tokens["manager"], person["id"], [INSIDE])
    call_sid = new_call_sid()
    first = await inbound_call(client, PERSON_PHONE, call_sid)
    second = await inbound_call(client, PERSON_PHONE, call_sid)
    assert (
        first.headers["X-CallGuard-Outcome"] == second.headers["X-CallGuard-Outcome"] == "connect"
    )
    assert await first.text() == await second.text()
    await services(client).background.drain()
    # One dial of the other leg, one record, one count against the quota.
    assert len(twilio.matching("Participants.json$")) == 1
    calls = await (
        await client.get(f"/api/v1/calls?person_id={person['id']}", headers=auth(tokens["manager"]))
    ).json()
    assert calls["total"] == 1
    quota = await services(client).redis.hgetall(KEYS.quota(strategy["id"]))
    assert list(quota.values()) == ["1"]
    # And the next distinct call in the same week is refused on the quota.
    third = await inbound_call(client, PERSON_PHONE)
    assert third.headers["X-CallGuard-Rule"] == "call_windows.quota"
