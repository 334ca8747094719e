"""Notice before effect (§3.6), in a real browser: the register shows what awaits notice
(the demo's Ida Waiting), a manager records that the person was told (GOV.UK date input,
method radios, errors beside their fields), and the strategy becomes active and refuses
her calls from then on."""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.conftest import App, Tab, axe_violations
from tests.e2e.support import FULL_NAME, MANAGER, PASSWORD
from tests.helpers import inbound_call, new_call_sid, services

IDA_PHONE = "07700 900109"


async def ida_call(app: App) -> tuple[str, list[str]]:
    call_sid = new_call_sid()
    await inbound_call(app.client, IDA_PHONE, call_sid)
    await services(app.client).background.drain()
    record = await services(app.client).call_events.get(call_sid)
    return record.outcome, record.strategy_ids


async def test_the_register_shows_awaiting_notice_and_recording_it_makes_it_active(
    tab: Tab, app: App
) -> None:
    # Before she is told, Ida's strategy does not apply: her call is put through.
    assert await ida_call(app) == ("connect", [])

    page = tab.page
    await tab.sign_in(MANAGER, PASSWORD)
    await page.get_by_role("link", name="Register").click()
    awaiting = page.locator("#awaiting-table tbody tr")
    await expect(awaiting).to_have_count(1)
    await expect(awaiting).to_contain_text("Ida Waiting")
    await expect(awaiting).to_contain_text("The strategy")
    await tab.screenshot("register-awaiting-notice")

    await awaiting.get_by_role("link", name="Record that the person was told").click()
    await expect(
        page.get_by_role("heading", name="Record that the person was told of version 1")
    ).to_be_visible()
    assert await axe_violations(page) == []

    await page.get_by_role("button", name="Record that the person was told").click()
    summary = page.locator(".govuk-error-summary")
    await expect(summary).to_be_visible()
    await expect(page.locator("#notified_on-error")).to_contain_text(
        "Enter the date the person was told"
    )
    await expect(page.locator("#method-error")).to_contain_text("Choose how the person was told")

    await page.get_by_label("Day").fill("31")
    await page.get_by_label("Month").fill("2")
    await page.get_by_label("Year").fill("2026")
    await page.get_by_label("By post").check()
    await page.get_by_role("button", name="Record that the person was told").click()
    await expect(page.locator("#notified_on-error")).to_contain_text(
        "The date the person was told must be a real date"
    )
    await expect(page.get_by_label("By post")).to_be_checked()  # what was chosen is kept

    await page.get_by_label("Day").fill("26")
    await page.get_by_label("Month").fill("11")
    await page.get_by_role("button", name="Record that the person was told").click()
    await expect(
        page.get_by_text(
            "Recorded: the person was told of version 1 on 26 November 2026. "
            "Version 1 now applies to calls."
        )
    ).to_be_visible()
    await expect(page.locator("h1 .govuk-tag")).to_have_text("Active")
    told = page.locator("#notice tbody tr")
    await expect(told).to_contain_text("26 November 2026")
    await expect(told).to_contain_text(f"By post (recorded by {FULL_NAME[MANAGER]})")
    await tab.screenshot("strategy-told-in-writing")

    outcome, strategy_ids = await ida_call(app)
    assert outcome == "refuse"
    assert len(strategy_ids) == 1

    await page.get_by_role("link", name="Register").click()
    await expect(page.get_by_text("Nothing awaits notice.")).to_be_visible()
