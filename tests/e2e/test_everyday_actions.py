"""Everyday actions in a real browser (issue 16, point 8): a manager adds a person and
changes their details; staff find them in the demo's simulate list, numbers masked; a
refused caller's message, left from the simulate form, waits to be triaged."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from tests.e2e.conftest import ACTION_TIMEOUT_MS, App, Tab
from tests.e2e.support import MANAGER, PASSWORD, STAFF
from tests.helpers import services


@pytest.fixture
async def staff_tab(browser: Browser, app: App) -> AsyncIterator[Tab]:
    context = await browser.new_context(base_url=app.base_url, locale="en-GB")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    tab = Tab(await context.new_page(), context, app.base_url)
    yield tab
    await context.close()


async def test_a_manager_changes_a_persons_details_and_staff_can_simulate_their_call(
    tab: Tab, staff_tab: Tab, app: App
) -> None:
    page = tab.page
    await tab.sign_in(MANAGER, PASSWORD)
    await tab.open("/people/new")
    await page.get_by_label("Name").fill("Ivy Newcomer")
    await page.get_by_label("Phone numbers").fill("07700 900321")
    await page.get_by_role("button", name="Add person").click()
    await expect(page.get_by_role("heading", name="Ivy Newcomer")).to_be_visible()

    await page.get_by_role("link", name="Change their details").click()
    await expect(page.get_by_role("heading", name="Change their details")).to_be_visible()
    await expect(page.get_by_label("Phone numbers")).to_have_value("+447700900321")
    await page.get_by_label("Phone numbers").fill("07700 900321\n12345")
    await page.get_by_role("button", name="Save changes").click()
    summary = page.locator(".govuk-error-summary")
    await expect(summary).to_be_visible()
    await expect(summary).to_contain_text("like 07700 900 982")
    await tab.screenshot("person-change")
    await page.get_by_label("Phone numbers").fill("07700 900321\n(01772) 533 587")
    await page.get_by_label("Email addresses (optional)").fill("ivy@example.org")
    await page.get_by_label("Needs extra time").check()
    await page.locator("#reasonable_adjustments-needs_extra_time-detail").fill("Speaks slowly")
    await tab.screenshot("person-change")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_text("Ivy Newcomer’s details were changed.")).to_be_visible()
    await expect(page.get_by_text("01772 533587")).to_be_visible()
    await expect(page.get_by_text("ivy@example.org")).to_be_visible()
    await expect(page.get_by_text("Speaks slowly")).to_be_visible()
    audit = await services(app.client).register.store.audit_log(50)
    assert [e["who"] for e in audit if e["action"] == "person.update"] == [MANAGER]

    staff = staff_tab.page
    await staff_tab.sign_in(STAFF, PASSWORD)
    caller = staff.get_by_label("The call comes from")
    options = await caller.locator("option").all_inner_texts()
    assert "Ivy Newcomer — +44*******587" in options
    assert not any("533587" in o or "900321" in o for o in options)  # masked for staff
    await caller.select_option(label="Fay Blocked — +44*******106")
    await staff.get_by_label("Leave a message (optional)").fill("Please ring me back")
    await staff.get_by_role("button", name="Simulate an inbound call").click()
    await expect(staff.get_by_text("They left a message")).to_be_visible()
    messages = staff.locator("#messages")
    await expect(messages).to_contain_text("Message from +44*******106")
    await expect(messages).to_contain_text("1 message waiting")
