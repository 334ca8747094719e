"""Letters and appeals in a real browser: a manager previews a strategy's letter, downloads
the PDF (read back with pypdf) and finds the link to record how it was sent; records an
appeal after fixing an error; the chief executive, named to decide, decides it and gets the
outcome letter. axe-core finds no serious violations on the preview or the appeal pages."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from callguard.domain.models import Strategy
from tests.e2e.conftest import App, Tab, axe_violations
from tests.e2e.support import CEO, FULL_NAME, MANAGER, PASSWORD
from tests.helpers import services
from tests.letter_support import pdf_text


async def demo_strategy(app: App, name: str) -> Strategy:
    people, _ = await services(app.client).register.store.list_people(0, 100)
    pid = next(p.id for p in people if p.name == name)
    return (await services(app.client).register.store.strategies_of(pid))[0]


async def test_a_manager_previews_and_downloads_a_letter(tab: Tab, app: App) -> None:
    page = tab.page
    strategy = await demo_strategy(app, "Alex Window")
    await tab.sign_in(MANAGER, PASSWORD)
    await tab.open(f"/strategies/{strategy.id}")
    await page.get_by_role("link", name="Letter for version 1").click()

    await expect(page.get_by_role("heading", name="Strategy letter (version 1)")).to_be_visible()
    letter = page.locator("article.letter")
    await expect(letter).to_contain_text("on Tuesdays between 9am and midday")
    await expect(letter).to_contain_text("Jo Bloggs")
    notice = page.get_by_role("link", name="Record how and when it was sent")
    assert await notice.get_attribute("href") == f"/strategies/{strategy.id}/versions/1/notice"
    assert await axe_violations(page) == []
    await tab.screenshot("letter-preview")

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download the letter (PDF)").click()
    download = await download_info.value
    assert download.suggested_filename == f"letter-{strategy.matter_ref}-v1.pdf"
    saved = await download.path()
    text = pdf_text(await asyncio.to_thread(saved.read_bytes))
    assert "on Tuesdays between 9am and midday" in text
    assert "Morgan Lee" in text  # who made the decision signs it


async def test_an_appeal_is_recorded_then_decided_by_its_decider(tab: Tab, app: App) -> None:
    page = tab.page
    strategy = await demo_strategy(app, "Bea Spoc")
    await tab.sign_in(MANAGER, PASSWORD)
    await tab.open(f"/strategies/{strategy.id}")
    await page.get_by_role("button", name="Record an appeal").click()

    await page.get_by_label("Who will decide").select_option(label="Chief Executive")
    await page.get_by_role("button", name="Record the appeal").click()
    summary = page.locator(".govuk-error-summary")
    await expect(summary).to_be_visible()
    await expect(page.locator("#grounds-error")).to_contain_text("Enter why the person disagrees")
    assert await axe_violations(page) == []

    await page.get_by_label("Why the person disagrees").fill("I need to reach more than one person")
    await page.get_by_role("button", name="Record the appeal").click()
    await expect(page.get_by_text("Appeal recorded.")).to_be_visible()
    await expect(page.get_by_text(f"Only {FULL_NAME[CEO]} can decide this appeal")).to_be_visible()

    await tab.context.clear_cookies()
    await tab.sign_in(CEO, PASSWORD)
    await page.get_by_role("link", name="Appeals").click()
    await page.locator("#appeals-waiting").get_by_role("link", name=strategy.matter_ref).click()
    await page.get_by_label("The strategy ends now").check()
    await page.get_by_label("Your reasons").fill("A single point of contact is enough")
    assert await axe_violations(page) == []
    await page.get_by_role("button", name="Record the decision").click()

    await expect(page.get_by_role("heading", name="Appeal outcome letter")).to_be_visible()
    await expect(page.locator("article.letter")).to_contain_text("the arrangements should end")
    await tab.screenshot("appeal-outcome-letter")
    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Download the letter (PDF)").click()
    saved = await (await download_info.value).path()
    text = pdf_text(await asyncio.to_thread(saved.read_bytes))
    assert "A single point of contact is enough" in text

    await tab.open(f"/strategies/{strategy.id}")
    await expect(page.locator("#history")).to_contain_text("Appeal decided: the strategy ends now")
