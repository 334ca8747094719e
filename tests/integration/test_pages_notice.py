"""Notice before effect (§3.6) and adjustments (§2, §8.4) on the managers' pages over HTTP:
the interim measure on the strategy form (chief executive only), the record-notice form's
errors beside their fields, and the adjustment conflicts in words. The browser test is
tests/e2e/test_notice.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from pydantic import TypeAdapter

from callguard.clock import FixedClock
from callguard.domain.models import Restriction, StrategyStatus
from callguard.policy import Policy
from callguard.services.controls import restriction_in_words
from callguard.settings import Settings
from tests.conftest import auth
from tests.e2e.support import (
    CEO,
    MANAGER,
    STAFF,
    Client,
    demo_pages,
    fast_passwords,
    sign_in,
)
from tests.helpers import (
    create_person,
    create_strategy,
    date_fields,
    inbound_call,
    new_call_sid,
    services,
)
from tests.integration.test_pages_register import error_beside, person_id, post_form

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]


@pytest.fixture
async def demo(settings: Settings, policy: Policy, clock: FixedClock) -> AsyncIterator[Client]:
    async with demo_pages(settings, policy, clock) as client:
        yield client


def blocked_form(pid: str, **extra: str) -> dict[str, object]:
    return {
        "person_id": pid,
        "matter_ref": "CMP-2026-2000",
        "reason": "Threats to a member of staff on the phone (§6.3)",
        "kinds": ["phone_blocked"],
        **date_fields("review_due", "2027-01-20"),
        **extra,
    }


async def test_the_chief_executive_applies_an_interim_measure_at_once(demo: Client) -> None:
    await sign_in(demo, CEO)
    form_page = await (await demo.get("/strategies/new")).text()
    assert "Apply at once as an interim measure" in form_page
    pid = await person_id(demo, "Cal Recorded")

    written = blocked_form(
        pid,
        kinds="written_only",
        interim="yes",
        **{"restrictions-written_only-email": "complaints@opcc.example"},
    )
    refused = await post_form(demo, "/strategies/new", written)
    assert refused.status == 422
    said = error_beside(await refused.text(), "restrictions")
    assert said == (
        "Error: An interim measure can only be telephone calls blocked, a single point of "
        "contact or no response: written contact only can apply only once the person has "
        "been told in writing (§3.6)"
    )

    created = await post_form(demo, "/strategies/new", blocked_form(pid, interim="yes"))
    assert created.status == 303
    strategy = next(
        s
        for s in await services(demo).register.store.strategies_of(pid)
        if s.matter_ref == "CMP-2026-2000"
    )
    assert (strategy.status, strategy.interim_versions) == (StrategyStatus.active, [1])
    page = await (await demo.get(f"/strategies/{strategy.id}")).text()
    assert "as an interim measure: a letter must follow" in page
    register = await (await demo.get("/people")).text()
    assert "Version 1, in force as an interim measure" in register


async def test_a_manager_is_not_offered_an_interim_measure(demo: Client) -> None:
    await sign_in(demo, MANAGER)
    form_page = await (await demo.get("/strategies/new")).text()
    assert "Apply at once as an interim measure" not in form_page
    pid = await person_id(demo, "Cal Recorded")
    response = await post_form(demo, "/strategies/new", blocked_form(pid, interim="yes"))
    assert response.status == 403
    assert "Only the chief executive may apply" in error_beside(
        await response.text(), "restrictions"
    )


async def test_the_notice_form_puts_each_error_beside_its_field(demo: Client) -> None:
    await sign_in(demo, MANAGER)
    ida = await person_id(demo, "Ida Waiting")
    [strategy] = await services(demo).register.store.strategies_of(ida)
    path = f"/strategies/{strategy.id}/versions/1/notice"
    future = {"notified_on-day": "28", "notified_on-month": "11", "notified_on-year": "2026"}

    response = await post_form(demo, path, {**future, "method": "pigeon"})
    assert response.status == 422
    html = await response.text()
    assert error_beside(html, "method") == "Error: Choose how the person was told"
    assert 'value="28"' in html  # what was typed is kept

    response = await post_form(demo, path, {**future, "method": "email"})
    assert response.status == 422
    assert "must be today or in the past" in error_beside(await response.text(), "notified_on")
    stored = await services(demo).register.strategy(strategy.id)
    assert (stored.status, stored.notices) == (StrategyStatus.awaiting_notice, [])

    assert (await demo.get(f"/strategies/{strategy.id}/versions/2/notice")).status == 404
    assert (await demo.get(f"/strategies/{strategy.id}/versions/x/notice")).status == 404


async def test_staff_may_not_record_notice(demo: Client) -> None:
    await sign_in(demo, STAFF)
    ida = await person_id(demo, "Ida Waiting")
    [strategy] = await services(demo).register.store.strategies_of(ida)
    response = await demo.get(f"/strategies/{strategy.id}/versions/1/notice", allow_redirects=False)
    assert response.status == 403


async def test_a_conflict_with_an_adjustment_is_named_in_words(demo: Client) -> None:
    await sign_in(demo, MANAGER)
    hal = await person_id(demo, "Hal Adjusted")  # needs phone contact
    response = await post_form(demo, "/strategies/new", blocked_form(hal))
    assert response.status == 422
    assert error_beside(await response.text(), "adjustment_override") == (
        "Error: The person needs phone contact (a reasonable adjustment): to set telephone "
        "calls blocked, enter the justification and who gave the equality advice "
        "(§2.4, §3.13–3.14)"
    )


async def test_a_refused_calls_page_names_the_strategy_that_refused_it(demo: Client) -> None:
    await sign_in(demo, MANAGER)
    call_sid = new_call_sid()
    await inbound_call(demo, "07700 900106", call_sid)  # Fay Blocked: phone blocked
    await services(demo).background.drain()
    record = await services(demo).call_events.get(call_sid)
    page = await (await demo.get(f"/calls/{call_sid}")).text()
    assert record.refused_by == record.strategy_ids and len(record.refused_by) == 1
    assert "Refused under" in page
    assert f"{record.matter_refs[0]}</a> (a breach of these only, §3.8)" in page


async def test_a_revision_not_yet_told_is_shown_apart_from_what_applies(
    demo: Client, tokens: dict[str, str]
) -> None:
    """The strategy's and the person's pages, and an appeal's outcome letter, give the
    restrictions that apply to calls now; a revision the person has not been told of is
    shown apart, as what applies once they are told, and is in no letter's "now"."""
    manager, ceo = auth(tokens["manager"]), auth(tokens["chief_executive"])
    person = await create_person(demo, tokens["manager"], phones=["+447700900988"])
    written = {"kind": "written_only", "email": "complaints@example.org"}
    strategy = await create_strategy(demo, tokens["manager"], person["id"], [written])
    revised = await demo.post(
        f"/api/v1/strategies/{strategy['id']}/revisions",
        json={
            "expected_version": 1,
            "changes": {"restrictions": [{"kind": "phone_blocked"}], "review_due": "2027-02-25"},
            "why": "Calls continued from this number",
        },
        headers=manager,
    )
    assert revised.status == 201, await revised.text()
    applies = restriction_in_words(TypeAdapter(Restriction).validate_python(written))
    not_yet = restriction_in_words(
        TypeAdapter(Restriction).validate_python({"kind": "phone_blocked"})
    )
    await sign_in(demo, MANAGER)

    page = await (await demo.get(f"/strategies/{strategy['id']}")).text()
    restrictions, pending = summary_row(page, "Restrictions"), summary_row(page, "Once the person")
    assert applies in restrictions and not_yet not in restrictions
    assert not_yet in pending and "Not yet told" in pending and applies not in pending
    assert "version 1 applies to calls until the person is told of version 2" in page
    person_page = await (await demo.get(f"/people/{person['id']}")).text()
    assert applies in person_page and not_yet not in person_page
    register = await (await demo.get("/people", params={"q": person["name"]})).text()
    assert applies in register and not_yet not in register
    review = await (await demo.get(f"/strategies/{strategy['id']}/review")).text()
    assert applies in review and not_yet not in review

    appealed = await demo.post(
        f"/api/v1/strategies/{strategy['id']}/appeals",
        json={"received_on": "2026-11-27", "grounds": "I was never abusive", "decider": "ceo"},
        headers=manager,
    )
    assert appealed.status == 201, await appealed.text()
    appeal_id = (await appealed.json())["id"]
    decided = await demo.post(
        f"/api/v1/appeals/{appeal_id}/decision",
        json={"outcome": "upheld", "reasons": "The calls recorded were abusive"},
        headers=ceo,
    )
    assert decided.status == 200, await decided.text()
    letter = await (await demo.get(f"/appeals/{appeal_id}/letter")).text()
    now = letter.split("The arrangements now", 1)[1]
    assert "Please contact us in writing only" in now
    assert "We will not take telephone calls from you" not in now
    assert "reviewed by 20 February 2027" in now  # the date they were told, not 25 February


def summary_row(page: str, key: str) -> str:
    """The value of the summary list's row whose key starts with ``key``."""
    found = re.search(rf'govuk-summary-list__key">{re.escape(key)}.*?</dt>(.*?)</div>', page, re.S)
    assert found is not None, key
    return found.group(1)
