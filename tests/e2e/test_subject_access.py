"""A manager, in a real browser, handles a subject access request: logs it on the person's
page (fixing a date in the future), finds it in the subject access list from the menu with
its due date, marks it completed, and reads the bundle of everything held on the person.
The clock stands at Friday 27 November 2026."""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.conftest import App, Tab, axe_violations
from tests.e2e.support import FULL_NAME, MANAGER, PASSWORD
from tests.helpers import inbound_call, services


async def person_id(app: App, name: str) -> str:
    people, _ = await services(app.client).register.store.list_people(0, 100)
    return next(p.id for p in people if p.name == name)


async def test_manager_logs_completes_and_reads_a_subject_access_request(
    tab: Tab, app: App
) -> None:
    await inbound_call(app.client, "07700 900107")  # Gus Final: refused
    await services(app.client).background.drain()
    gus = await person_id(app, "Gus Final")
    page = tab.page
    await tab.sign_in(MANAGER, PASSWORD)
    await tab.open(f"/people/{gus}")
    await expect(page.get_by_role("heading", name="Subject access requests")).to_be_visible()
    await expect(page.get_by_text("No subject access request has been logged")).to_be_visible()

    await page.locator("#received_on-day").fill("30")
    await page.locator("#received_on-month").fill("11")
    await page.locator("#received_on-year").fill("2026")
    await page.get_by_role("button", name="Log the request").click()
    summary = page.locator(".govuk-error-summary")
    await expect(summary).to_be_visible()
    await expect(page.locator("#received_on-error")).to_contain_text(
        "The date the request was received must be today or in the past"
    )
    await page.locator("#received_on-day").fill("20")
    await page.get_by_role("button", name="Log the request").click()
    await expect(
        page.get_by_text("Subject access request logged. It must be answered by 20 December 2026.")
    ).to_be_visible()
    row = page.locator("#subject-access + .cg-table-scroll tbody tr")
    await expect(row).to_contain_text("20 November 2026")
    await expect(row).to_contain_text("Open")
    assert await axe_violations(page) == []

    await page.get_by_role("link", name="Subject access", exact=True).click()
    await expect(page.get_by_role("heading", name="Subject access requests")).to_be_visible()
    listed = page.locator("table tbody tr", has_text="Gus Final")
    await expect(listed).to_contain_text("20 December 2026")
    assert await axe_violations(page) == []
    await tab.screenshot("subject-access-list")
    await listed.get_by_role("button", name="Mark as completed").click()
    await expect(page.get_by_text("Subject access request marked completed.")).to_be_visible()
    await expect(page.locator("table tbody tr", has_text="Gus Final")).to_contain_text("Completed")

    await tab.open(f"/people/{gus}")
    await page.get_by_role("link", name="Everything held, to read or print").click()
    await expect(page.get_by_role("heading", name="Everything held on Gus Final")).to_be_visible()
    for section in ("Calls", "File notes", "Letters sent", "Appeals"):
        await expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    await expect(page.locator("#calls ~ h3").first).to_contain_text("27 November 2026")
    await expect(page.get_by_text("Told in writing on 20 November 2026")).to_be_visible()
    audit = page.locator("#audit + .cg-table-scroll table")
    await expect(audit).to_contain_text(f"{FULL_NAME[MANAGER]} (manager)")  # by name, not user name
    await expect(audit).to_contain_text("Logged your request for this information")
    assert await axe_violations(page) == []
    await tab.screenshot("subject-access-bundle")
