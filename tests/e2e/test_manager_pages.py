"""(b) A manager, in a real browser: creates a strategy, sees a validation error beside the
field, fixes it and finds it in the register; filters the call log and downloads the CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from playwright.async_api import expect

from callguard.clock import FixedClock
from tests.e2e.conftest import App, Tab
from tests.e2e.support import MANAGER, PASSWORD, fill_date
from tests.helpers import inbound_call, services


async def test_manager_creates_a_strategy_fixing_a_validation_error(tab: Tab) -> None:
    page = tab.page
    await tab.sign_in(MANAGER, PASSWORD)
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await page.get_by_role("link", name="Register").click()
    await tab.screenshot("register")
    await page.get_by_role("button", name="Create a contact strategy").click()

    await page.get_by_label("Person", exact=True).select_option(label="Cal Recorded")
    await page.get_by_label("Matter reference").fill("CMP-2026-0777")
    await page.get_by_label("Reason for the strategy").fill(
        "Calls to several members of staff seeking a different outcome (§5.3)"
    )
    await page.get_by_label("Calls only at set times (call windows)").check()
    window = page.locator("#restrictions-call_windows-windows-0")
    await window.get_by_label("Tuesday").check()
    await window.get_by_label("Thursday").check()
    await window.get_by_label("From", exact=True).fill("14:00")
    await window.get_by_label("Until", exact=True).fill("11:00")
    await page.get_by_label("Calls allowed").fill("1")
    await page.get_by_label("Per", exact=True).select_option("week")
    await page.get_by_label("Calls are recorded").check()
    await fill_date(page.get_by_role("group", name="When is the review due?"), "15", "2", "2027")
    # Told in writing, so it applies at once and is listed with the active ones (§3.6).
    told = page.get_by_role("group", name="When was the person told? (optional)")
    await fill_date(told, "20", "11", "2026")
    await page.get_by_role("button", name="Create strategy").click()

    summary = page.locator(".govuk-error-summary")
    await expect(summary).to_be_visible()
    await expect(summary).to_be_focused()  # GOV.UK Frontend moves focus to the summary
    beside = page.locator("#restrictions-call_windows-windows-0-end-error")
    await expect(beside).to_contain_text("The end time must be later than the start time, 2pm")
    await expect(window.get_by_label("From", exact=True)).to_have_value("14:00")
    await tab.screenshot("strategy-validation-error")
    await summary.get_by_role("link").first.click()
    await expect(page.locator("#restrictions-call_windows-windows-0-end")).to_be_focused()

    await page.locator("#restrictions-call_windows-windows-0-end").fill("16:00")
    await page.get_by_role("button", name="Create strategy").click()
    await expect(page.get_by_text("Contact strategy CMP-2026-0777 created.")).to_be_visible()
    await tab.screenshot("strategy")

    await page.get_by_role("link", name="Register").click()
    await page.get_by_label("Name or matter reference").fill("0777")
    await page.get_by_role("button", name="Search").click()
    row = page.locator("#strategies-table tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("CMP-2026-0777")
    await expect(row).to_contain_text(
        "Calls only Tuesdays and Thursdays 2pm to 4pm, 1 call per week"
    )
    await row.get_by_role("link", name="Cal Recorded").click()
    await expect(page.get_by_role("heading", name="Cal Recorded")).to_be_visible()


async def test_manager_filters_the_call_log_and_downloads_the_csv(tab: Tab, app: App) -> None:
    for caller in ("07700 900106", "07700 900106", "07700 900104", "07700 900103"):
        await inbound_call(app.client, caller)
    await services(app.client).background.drain()
    page = tab.page
    await tab.sign_in(MANAGER, PASSWORD)
    await page.get_by_role("link", name="Call log").click()
    await expect(page.get_by_text("Showing 1–4 of 4 calls")).to_be_visible()
    await page.get_by_label("Outcome", exact=True).select_option(label="Refused")
    await page.get_by_label("Person", exact=True).select_option(label="Fay Blocked")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_text("Showing 1–2 of 2 calls")).to_be_visible()
    rows = page.locator("#calls-table tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("Refused")
    await expect(rows.first).to_contain_text("Telephone calls blocked")
    await tab.screenshot("call-log")

    async with page.expect_download() as download_info:
        await page.get_by_role("link", name="Download these calls as CSV").click()
    download = await download_info.value
    assert download.suggested_filename.startswith("calls-")
    path = await download.path()
    rows_csv = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert len(rows_csv) == 2
    # Headings and codes in words, for people reading it in a spreadsheet.
    assert list(rows_csv[0])[:7] == [
        "Call reference",
        "Received at",
        "From",
        "To",
        "Person reference",
        "Person",
        "Strategy references",
    ]
    assert {r["Outcome"] for r in rows_csv} == {"Refused"}
    assert {r["Why"] for r in rows_csv} == {"Telephone calls blocked"}
    assert {r["Person"] for r in rows_csv} == {"Fay Blocked"}


async def test_manager_previews_a_call_and_reads_a_person_chart(
    tab: Tab, app: App, clock: FixedClock
) -> None:
    # Alex Window may call on Tuesdays 09:00-12:00, once a week: over five weeks, a call
    # that connects and one that is refused each Tuesday, and one on a Friday.
    friday = clock.now()
    for weeks_ago in range(5, 0, -1):
        clock.set(friday - timedelta(weeks=weeks_ago, days=3))
        for _ in range(2):
            await inbound_call(app.client, "07700 900101")
    clock.set(friday)
    await inbound_call(app.client, "07700 900101")
    await services(app.client).background.drain()
    page = tab.page
    await tab.sign_in(MANAGER, PASSWORD)
    await page.get_by_role("link", name="Preview").click()
    await page.get_by_label("Phone number the call comes from").fill("07700 900101")
    date = page.get_by_role("group", name="Date")
    for part, value in (("Day", "1"), ("Month", "12"), ("Year", "2026")):
        await date.get_by_label(part, exact=True).fill(value)
    await page.get_by_label("Time", exact=True).fill("10:30")
    await page.get_by_role("button", name="Preview").click()
    await expect(page.get_by_role("heading", name="The call would be put through")).to_be_visible()
    await tab.screenshot("preview")
    await page.get_by_role("link", name="Register").click()
    await page.locator("#strategies-table").get_by_role("link", name="Alex Window").click()
    chart = page.locator("svg.cg-chart")
    await expect(chart).to_be_visible()
    await expect(chart).to_contain_text("Refused (striped)")
    await expect(page.locator(".cg-timeline")).to_contain_text("Call refused")
    await tab.screenshot("person-chart")
    await page.get_by_role("link", name="Oversight").click()
    await expect(page.get_by_role("heading", name="Oversight report")).to_be_visible()
    await expect(page.get_by_role("table").first).to_contain_text("In force")
    await tab.screenshot("oversight")
    await page.get_by_role("link", name="Overview").click()
    await expect(page.locator("svg.cg-chart")).to_contain_text("Refused (striped)")
    await tab.screenshot("manager-overview")


async def test_on_a_phone_wide_tables_scroll_within_the_page(tab: Tab) -> None:
    """At 375 pixels wide the register, the call log and the overview fit the screen: a
    wide table scrolls sideways within itself, and the page does not."""
    page = tab.page
    await tab.sign_in(MANAGER, PASSWORD)
    await page.set_viewport_size({"width": 375, "height": 800})
    for path in ("/people", "/calls", "/manage"):
        await tab.open(path)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
