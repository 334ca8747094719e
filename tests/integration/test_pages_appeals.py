"""Letters and appeals on the managers' pages over HTTP (CONTRACT §7): the letter previewed
as HTML (the same template the PDF is printed from) with its download and the link to record
how it was sent; recording an appeal with errors in words beside their fields; only the named
decider decides; the strategy's history shows it. The demo data holds an appeal."""

from __future__ import annotations

import re
from typing import Any

import pytest

from callguard.clock import FixedClock
from callguard.domain.models import PersonIn, Strategy, StrategyIn
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.policy import Policy
from callguard.settings import Settings
from tests.e2e.support import (
    CEO,
    FULL_NAME,
    MANAGER,
    STAFF,
    Client,
    demo_pages,
    fast_passwords,
    page_csrf,
    sign_in,
)
from tests.helpers import services
from tests.letter_support import pdf_text

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]


async def demo_strategy(client: Client, name: str = "Alex Window") -> Strategy:
    people, _ = await services(client).register.store.list_people(0, 100)
    pid = next(p.id for p in people if p.name == name)
    return (await services(client).register.store.strategies_of(pid))[0]


def error_beside(html: str, input_id: str) -> str:
    found = re.search(
        rf'<p id="{re.escape(input_id)}-error" class="govuk-error-message">(.*?)</p>', html, re.S
    )
    assert found, f"no error beside {input_id}"
    return re.sub(r"<[^>]+>", "", found.group(1)).replace("Error:", "").strip()


def received(day: str, month: str = "11", year: str = "2026") -> dict[str, str]:
    """The appeal form's date input (day, month and year), as a browser posts it."""
    return {"received_on-day": day, "received_on-month": month, "received_on-year": year}


async def post_form(client: Client, path: str, form: dict[str, str], page: str) -> Any:
    token = await page_csrf(client, page)
    return await client.post(path, data={"csrf_token": token, **form}, allow_redirects=False)


async def test_a_letter_is_previewed_then_downloaded_and_links_to_the_notice_form(
    manager: Client, policy: Policy
) -> None:
    strategy = await demo_strategy(manager)
    page = await manager.get(f"/strategies/{strategy.id}")
    html = await page.text()
    preview_path = f"/strategies/{strategy.id}/versions/1/letter"
    assert f'href="{preview_path}"' in html  # the strategy page lists its letters

    preview = await manager.get(preview_path)
    assert preview.status == 200
    text = await preview.text()
    assert '<article class="letter"' in text
    assert "Arrangements for your contact with us" in text
    assert "then record how and when it was sent" in text  # with the link to do so
    assert "on Tuesdays between 9am and midday" in text
    assert "Jo Bloggs" in text
    assert f'href="{preview_path}.pdf"' in text and "Download the letter (PDF)" in text
    assert f'href="/strategies/{strategy.id}/versions/1/notice"' in text
    assert 'href="/letters/letter.css"' in text

    css = await manager.get("/letters/letter.css")
    assert css.status == 200 and css.content_type == "text/css"
    assert "letter--large" in await css.text()

    pdf = await manager.get(f"{preview_path}.pdf")
    assert pdf.status == 200 and pdf.content_type == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    words = pdf_text(await pdf.read())
    assert "on Tuesdays between 9am and midday" in words
    assert policy.emergency.written in words

    assert (await manager.get(f"/strategies/{strategy.id}/versions/9/letter")).status == 404


async def test_the_demo_appeal_awaits_a_decision_and_is_in_the_strategy_history(
    manager: Client,
) -> None:
    strategy = await demo_strategy(manager)
    listing = await (await manager.get("/appeals")).text()
    assert "Awaiting a decision" in listing and strategy.matter_ref in listing
    # The decider by their full name, not their user name (chris).
    assert "Chris Ward" in listing and ">chris<" not in listing
    page = await (await manager.get(f"/strategies/{strategy.id}")).text()
    assert "Appeal received" in page and "Chris Ward to decide" in page
    assert "Record an appeal" in page


async def test_recording_an_appeal_shows_errors_in_words_and_stores_nothing(
    manager: Client,
) -> None:
    strategy = await demo_strategy(manager, "Bea Spoc")
    form_path = f"/strategies/{strategy.id}/appeals/new"
    form = await (await manager.get(form_path)).text()
    # The date the appeal was received starts as today, in the GOV.UK date input.
    today = services(manager).register.today(services(manager).clock.now())
    for part, value in (("day", today.day), ("month", today.month), ("year", today.year)):
        assert f'name="received_on-{part}" type="text" value="{value}"' in form
    assert 'type="date"' not in form
    # Only people not involved in the strategy (morgan made it) may decide.
    options = re.findall(r'<option value="([^"]*)"', form)
    assert "morgan" not in options and "chris" in options and "ceo" in options
    assert "sam.staff" not in options and "ada.admin" not in options

    empty = await post_form(
        manager, form_path, {**received("", "", ""), "grounds": "", "decider": ""}, form_path
    )
    assert empty.status == 422
    html = await empty.text()
    assert error_beside(html, "received_on") == "Enter the date the appeal was received"
    assert error_beside(html, "grounds") == "Enter why the person disagrees"
    assert error_beside(html, "decider") == "Choose who will decide"

    involved = await post_form(
        manager,
        form_path,
        {**received("27"), "grounds": "Unfair", "decider": "morgan"},
        form_path,
    )
    assert involved.status == 422
    assert (
        error_beside(await involved.text(), "decider")
        == "Choose someone who did not create, revise or review the strategy"
    )
    future = await post_form(
        manager,
        form_path,
        {**received("25", "12"), "grounds": "Unfair", "decider": "chris"},
        form_path,
    )
    assert error_beside(await future.text(), "received_on") == (
        "The date the appeal was received must be today or in the past"
    )
    not_real = await post_form(
        manager,
        form_path,
        {**received("31", "2"), "grounds": "Unfair", "decider": "chris"},
        form_path,
    )
    assert not_real.status == 422
    html = await not_real.text()
    assert error_beside(html, "received_on") == "Enter a real date, like 15 2 2027"
    # What was typed is kept, to be corrected.
    assert 'name="received_on-day" type="text" value="31"' in html
    assert 'name="received_on-month" type="text" value="2"' in html
    # A year of two digits is not the year 26.
    short_year = await post_form(
        manager,
        form_path,
        {**received("27", "11", "26"), "grounds": "Unfair", "decider": "chris"},
        form_path,
    )
    assert short_year.status == 422
    assert error_beside(await short_year.text(), "received_on") == (
        "Enter a real date, like 15 2 2027"
    )
    assert await services(manager).appeals.of_strategy(strategy.id) == []


async def test_only_the_named_decider_decides_and_the_outcome_letter_follows(
    manager: Client, settings: Settings
) -> None:
    strategy = await demo_strategy(manager, "Bea Spoc")
    form_path = f"/strategies/{strategy.id}/appeals/new"
    created = await post_form(
        manager,
        form_path,
        {**received("27"), "grounds": "I need to speak to others", "decider": CEO},
        form_path,
    )
    assert created.status == 303
    appeal_path = created.headers["Location"]
    page = await (await manager.get(appeal_path)).text()
    assert "I need to speak to others" in page
    assert f"Appeal recorded. {FULL_NAME[CEO]} is to decide it by" in page
    assert "29 December 2026" in page  # 20 working days after 27 November 2026
    assert f"Only {FULL_NAME[CEO]} can decide this appeal" in page

    refused = await post_form(
        manager, f"{appeal_path}/decision", {"outcome": "ended", "reasons": "x"}, appeal_path
    )
    assert refused.status == 403

    await manager.post("/sign-out", data={"csrf_token": await page_csrf(manager, "/appeals")})
    await sign_in(manager, CEO)
    no_outcome = await post_form(
        manager, f"{appeal_path}/decision", {"outcome": "", "reasons": ""}, appeal_path
    )
    assert no_outcome.status == 422
    assert error_beside(await no_outcome.text(), "outcome") == "Choose the outcome"

    decided = await post_form(
        manager,
        f"{appeal_path}/decision",
        {"outcome": "upheld", "reasons": "The calls to many staff were disruptive"},
        appeal_path,
    )
    assert decided.status == 303
    assert decided.headers["Location"] == f"{appeal_path}/letter"
    letter = await (await manager.get(f"{appeal_path}/letter")).text()
    assert "The outcome of your request to look at our decision again" in letter
    assert "stay as they are" in letter
    # An outcome letter's sending is not recorded here: the page does not ask for it.
    assert "Download it to print or send it." in letter
    assert "record how and when it was sent" not in letter
    history = await (await manager.get(f"/strategies/{strategy.id}")).text()
    assert "Appeal decided: the strategy stays as it is" in history


async def test_staff_cannot_open_letters_or_appeals(
    settings: Settings, policy: Policy, clock: FixedClock
) -> None:
    async with demo_pages(settings, policy, clock, signed_in_as=STAFF) as client:
        strategy = await demo_strategy(client)
        for path in (
            "/appeals",
            f"/strategies/{strategy.id}/versions/1/letter",
            f"/strategies/{strategy.id}/versions/1/letter.pdf",
            f"/strategies/{strategy.id}/appeals/new",
        ):
            assert (await client.get(path)).status == 403, path


async def test_the_preview_of_a_large_print_letter_says_so_and_is_large(
    manager: Client, clock: FixedClock
) -> None:
    register = services(manager).register
    manager_actor = Actor(name=MANAGER, role=Role.manager)
    person = await register.create_person(
        PersonIn.model_validate(
            {
                "name": "Lee Large",
                "phones": ["07700 900199"],
                "reasonable_adjustments": [{"kind": "large_print", "detail": "Sight loss"}],
            }
        ),
        manager_actor,
        clock.now(),
    )
    strategy = await register.create_strategy(
        StrategyIn.model_validate(
            {
                "person_id": person.id,
                "matter_ref": "CMP-2026-0300",
                "reason": "Repeated calls to many staff",
                "restrictions": [{"kind": "recorded"}],
                "review_due": "2027-02-01",
            }
        ),
        manager_actor,
        clock.now(),
    )
    html = await (await manager.get(f"/strategies/{strategy.id}/versions/1/letter")).text()
    assert '<article class="letter letter--large"' in html
    assert "this letter is in large print" in html
