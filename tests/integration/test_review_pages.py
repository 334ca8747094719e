"""What the review of today's merges found on the managers' pages, over HTTP with a signed-in
manager and the demo data (CONTRACT §7; GOV.UK words, not codes)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest

from callguard.clock import FixedClock
from callguard.domain.appeals import AppealDecisionIn
from callguard.domain.models import PersonIn, StrategyIn
from callguard.domain.roles import Role
from callguard.domain.users import Actor, User
from tests.e2e.support import (
    FULL_NAME,
    MANAGER,
    Client,
    fast_passwords,
    page_csrf,
)
from tests.helpers import inbound_call, new_call_sid, services
from tests.letter_support import RESTRICTIONS

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_the_strategy_page_gives_an_appeals_outcome_in_words(
    manager: Client, clock: FixedClock
) -> None:
    svc = services(manager)
    appeal = (await svc.appeals.all())[0]
    decider = Actor(name=appeal.decider, role=Role.chief_executive)
    body = AppealDecisionIn(outcome="varied", reasons="Two calls a week is fair")
    await svc.appeals.decide(appeal.id, body, decider, clock.now())
    page = await manager.get(f"/strategies/{appeal.strategy_id}")
    assert page.status == 200
    text = text_of(await page.text())
    assert "(varied)" not in text
    assert "The strategy will be changed" in text


async def test_the_subject_access_bundle_gives_restrictions_and_adjustments_in_words(
    manager: Client, clock: FixedClock
) -> None:
    """The bundle is sent to the person: each restriction as the register says it (the
    SPOC by name, the written contact details), each adjustment with what was recorded."""
    svc = services(manager)
    boss = Actor(name=MANAGER, role=Role.manager)
    person = await svc.register.create_person(
        PersonIn.model_validate(
            {
                "name": "Sam Sample",
                "phones": ["07700 900555"],
                "reasonable_adjustments": [{"kind": "needs_extra_time", "detail": "dyslexia"}],
            }
        ),
        boss,
        clock.now(),
    )
    await svc.register.create_strategy(
        StrategyIn.model_validate(
            {
                "person_id": person.id,
                "matter_ref": "CMP-2026-0777",
                "reason": "Repeated abusive calls",
                "restrictions": RESTRICTIONS,
                "notified_on": "2026-11-20",
                "review_due": "2027-02-20",
            }
        ),
        boss,
        clock.now(),
    )
    page = await manager.get(f"/people/{person.id}/subject-access-bundle")
    assert page.status == 200
    text = text_of(await page.text())
    assert "Single point of contact: Jo Bloggs" in text
    assert "post to PO Box 123, Preston PR1 2AB" in text
    assert "spoc" not in text and "call windows" not in text
    assert "Needs extra time: dyslexia" in text
    # Who did what is said by their name, as the person would know them, not their user name.
    assert f"by {FULL_NAME[MANAGER]}" in text and f"by {MANAGER}" not in text
    assert f"{MANAGER} (" not in text  # the audit's "who"


async def test_the_call_log_download_works_and_names_the_strategies_that_refused(
    manager: Client,
) -> None:
    """Two merges met here: the CSV gained ``refused_by`` and the page's headings did not,
    so every download of the call log answered 500."""
    sid = new_call_sid()
    assert (await inbound_call(manager, "07700 900107", sid)).status == 200  # Gus: refused
    response = await manager.get("/calls.csv")
    assert response.status == 200, await response.text()
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0][-1] == "Strategies that refused it"
    row = next(r for r in rows[1:] if r[0] == sid)
    assert row[-1].startswith("str_")


async def test_a_manager_is_not_offered_to_review_or_revise_a_no_response_strategy(
    manager: Client, clock: FixedClock
) -> None:
    svc = services(manager)
    chief = Actor(name="ceo", role=Role.chief_executive)
    people, _ = await svc.register.store.list_people(0, 100)
    strategy = await svc.register.create_strategy(
        StrategyIn.model_validate(
            {
                "person_id": people[0].id,
                "matter_ref": "CMP-2026-0888",
                "reason": "Repeated abusive calls",
                "restrictions": [{"kind": "no_response"}],
                "notified_on": "2026-11-20",
                "review_due": "2027-02-20",
            }
        ),
        chief,
        clock.now(),
    )
    html = await (await manager.get(f"/strategies/{strategy.id}")).text()
    assert "Record a review" not in html and ">Revise<" not in html
    assert "End the strategy" in html


async def test_the_person_page_names_adjustments_in_words(
    manager: Client, clock: FixedClock
) -> None:
    svc = services(manager)
    person = await svc.register.create_person(
        PersonIn.model_validate(
            {
                "name": "Ivy Interpreter",
                "phones": ["07700 900556"],
                "reasonable_adjustments": [{"kind": "needs_interpreter", "detail": "Polish"}],
            }
        ),
        Actor(name=MANAGER, role=Role.manager),
        clock.now(),
    )
    text = text_of(await (await manager.get(f"/people/{person.id}")).text())
    assert "Needs an interpreter: Polish" in text


async def test_a_manager_names_another_decider_on_the_appeal_page(manager: Client) -> None:
    svc = services(manager)
    await svc.users.put_user(
        User(name="max.manager", role=Role.manager, display_name="Max Manager")
    )
    appeal = (await svc.appeals.all())[0]
    page = f"/appeals/{appeal.id}"
    html = await (await manager.get(page)).text()
    assert "Change who will decide" in html and "Max Manager" in html
    token = await page_csrf(manager, page)
    empty = await manager.post(
        f"{page}/decider", data={"csrf_token": token, "decider": ""}, allow_redirects=False
    )
    assert empty.status == 422
    assert "Choose who will decide" in text_of(await empty.text())
    moved = await manager.post(
        f"{page}/decider",
        data={"csrf_token": token, "decider": "max.manager"},
        allow_redirects=False,
    )
    assert moved.status == 303, await moved.text()
    assert (await svc.appeals.get(appeal.id)).decider == "max.manager"
    refused = await manager.post(
        f"{page}/decider", data={"decider": "max.manager"}, allow_redirects=False
    )
    assert refused.status == 403  # no CSRF token


async def test_ending_a_strategy_takes_the_date_told_as_day_month_and_year(
    manager: Client, clock: FixedClock
) -> None:
    """The date the person was told is a GOV.UK date input: optional, refused beside the
    field when it is not a real date (nothing ended), stored when it is."""
    svc = services(manager)
    people, _ = await svc.register.store.list_people(0, 100)
    alex = next(p for p in people if p.name == "Alex Window")
    strategy = (await svc.register.store.strategies_of(alex.id))[0]
    page = f"/strategies/{strategy.id}/end"
    form = await (await manager.get(page)).text()
    assert 'name="notified_on-day"' in form and 'type="date"' not in form
    token = await page_csrf(manager, page)
    told = {"notified_on-day": "31", "notified_on-month": "11", "notified_on-year": "2026"}
    base = {"csrf_token": token, "why": "Calm for months", "expected_version": "1"}
    refused = await manager.post(page, data={**base, **told}, allow_redirects=False)
    assert refused.status == 422
    html = await refused.text()
    assert 'id="notified_on-error"' in html
    assert "must be a real date" in text_of(html)
    assert 'name="notified_on-day" type="text" value="31"' in html  # kept as typed
    still = await svc.register.store.get_strategy(strategy.id)
    assert still is not None and still.status.value == "active"

    told["notified_on-day"] = "20"
    ended = await manager.post(page, data={**base, **told}, allow_redirects=False)
    assert ended.status == 303, await ended.text()
    after = await svc.register.store.get_strategy(strategy.id)
    assert after is not None and after.status.value == "ended"
    assert after.revisions[-1].notified_on == date(2026, 11, 20)
