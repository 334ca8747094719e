"""Issue 16, in a real browser: what a new user tripped on. Recording a review shows the
strategy's restrictions (not hundreds of one-letter bullets); the strategy form marks the
review date as required and fills in the latest date the policy allows; the console's
file notes agree with the banner after a call is ended; a strategy's history is one list,
oldest first, with every version."""

from __future__ import annotations

from datetime import timedelta

from playwright.async_api import expect

from callguard.clock import FixedClock
from callguard.domain.dates import add_months
from tests.e2e.conftest import App, Tab
from tests.e2e.support import MANAGER, PASSWORD, STAFF, fill_date
from tests.e2e.test_staff_console import CAL_RECORDED, connect_call
from tests.helpers import services


async def _strategy_of(app: App, name: str) -> str:
    people, _ = await services(app.client).register.store.list_people(0, 100)
    person = next(p for p in people if p.name == name)
    [strategy] = await services(app.client).register.store.strategies_of(person.id)
    return strategy.id


async def test_record_a_review_lists_the_restrictions_in_words(tab: Tab, app: App) -> None:
    page = tab.page
    strategy_id = await _strategy_of(app, "Bea Spoc")
    await tab.sign_in(MANAGER, PASSWORD)
    await tab.open(f"/strategies/{strategy_id}")
    await page.get_by_role("button", name="Record a review").click()
    await expect(page.get_by_role("heading", name="Record a review")).to_be_visible()
    bullets = page.locator("main ul.govuk-list--bullet li")
    await expect(bullets.first).to_contain_text("Jo Bloggs")
    assert await bullets.count() <= 7  # one line a restriction, at most one of each kind
    for text in await bullets.all_inner_texts():
        assert len(text.strip()) > 5, text
    height = await page.evaluate("document.documentElement.scrollHeight")
    assert height < 3000, height
    await tab.screenshot("strategy-review")


async def test_review_due_is_marked_required_and_prefilled(tab: Tab, clock: FixedClock) -> None:
    page = tab.page
    await tab.sign_in(MANAGER, PASSWORD)
    await tab.open("/strategies/new")
    review_due = page.get_by_role("group", name="When is the review due?")
    latest = add_months(clock.now().date(), 3)
    # A GOV.UK date input (day, month, year), not the browser's date picker.
    await expect(review_due.locator("input[type=date]")).to_have_count(0)
    for part, value in (("Day", latest.day), ("Month", latest.month), ("Year", latest.year)):
        await expect(review_due.get_by_label(part)).to_have_value(str(value))
    hint = page.locator("#review_due-hint")
    await expect(hint).to_contain_text("Required")
    await expect(hint).to_contain_text(f"{latest.day} {latest:%B %Y}")
    await expect(review_due.locator("legend")).not_to_contain_text("optional")
    # The manager can change it.
    sooner = clock.now().date() + timedelta(days=30)
    await fill_date(review_due, str(sooner.day), str(sooner.month), str(sooner.year))
    await expect(review_due.get_by_label("Day")).to_have_value(str(sooner.day))


async def test_the_console_lists_the_draft_note_as_soon_as_the_call_is_ended(
    tab: Tab, app: App
) -> None:
    page = tab.page
    await tab.sign_in(STAFF, PASSWORD)
    await expect(page.get_by_text("You have no file notes to complete.")).to_be_visible()
    call_sid = await connect_call(app, CAL_RECORDED)
    card = page.locator(f"article[data-sid='{call_sid}']")
    await card.get_by_label("Reason for the warning").select_option(label="Verbal abuse")
    await card.get_by_role("button", name="Play warning").click()
    await expect(card).to_contain_text("Warnings in this call 1")
    card = page.locator(f"article[data-sid='{call_sid}']")
    await card.get_by_label("Reason for ending the call").select_option(label="Verbal abuse")
    await card.get_by_role("button", name="End call").click()
    await expect(page.locator("#control-result")).to_contain_text("A draft file note is ready")
    notes = page.locator("#my-notes")
    await expect(notes.get_by_text("You have no file notes to complete.")).to_have_count(0)
    await expect(notes.get_by_role("link", name="Complete")).to_have_count(1)
    await tab.screenshot("console-after-end")


async def test_strategy_history_is_one_list_oldest_first(
    tab: Tab, app: App, clock: FixedClock
) -> None:
    page = tab.page
    strategy_id = await _strategy_of(app, "Bea Spoc")
    await tab.sign_in(MANAGER, PASSWORD)
    base = f"/strategies/{strategy_id}"

    clock.advance(timedelta(minutes=5))
    await tab.open(base + "/review")
    await page.get_by_label("Continue as it is").check()
    await page.get_by_label("Review notes").fill("Still needed after the review")
    await page.get_by_role("button", name="Record review").click()
    await expect(page.get_by_text("Review recorded")).to_be_visible()

    clock.advance(timedelta(minutes=5))
    await tab.open(base + "/revise")
    await page.get_by_label("Calls are recorded").check()
    await page.get_by_label("Why the strategy is being revised").fill("Calls to be recorded")
    await page.get_by_role("button", name="Save revision").click()
    await expect(page.get_by_text("now version 3")).to_be_visible()

    rows = page.locator("#history tbody tr")
    await expect(rows).to_have_count(3)
    what = [t.strip() for t in await rows.locator("td:nth-child(2)").all_inner_texts()]
    assert what[0].startswith("Version 1: created"), what
    assert what[1].startswith("Version 2: reviewed"), what
    assert what[2].startswith("Version 3: revised"), what
    await expect(page.locator("#history caption")).to_contain_text("oldest first")


async def test_signing_out_says_so_and_an_unknown_page_is_not_found(tab: Tab) -> None:
    page = tab.page
    await tab.sign_in(MANAGER, PASSWORD)
    response = await page.goto(tab.base_url + "/breaches")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    await expect(page.get_by_role("link", name="Register")).to_be_visible()  # the site's layout
    icon = await page.request.get(tab.base_url + "/favicon.ico")
    assert icon.status == 200 and icon.headers["content-type"] == "image/x-icon"
    await tab.open("/manage")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You have signed out.")).to_be_visible()
    await expect(page.get_by_role("heading", name="Sign in to CallGuard")).to_be_visible()
