"""(d) axe-core (from npm, evaluated in the page) finds no serious or critical WCAG 2.2 A/AA
violations on the console (with a live call), the register, the strategy form with an
error, and the call log."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import App, Tab, axe_violations
from tests.e2e.support import MANAGER, PASSWORD, STAFF
from tests.e2e.test_staff_console import connect_call
from tests.helpers import inbound_call


async def test_the_console_with_a_live_call_has_no_serious_violations(tab: Tab, app: App) -> None:
    call_sid = await connect_call(app, "07700 900103")
    await tab.sign_in(STAFF, PASSWORD)
    await tab.page.locator(f"article[data-sid='{call_sid}']").wait_for()
    assert await axe_violations(tab.page) == []


@pytest.mark.parametrize(
    "path",
    ["/people", "/calls", "/manage", "/strategies/new", "/preview"],
)
async def test_manager_pages_have_no_serious_violations(tab: Tab, app: App, path: str) -> None:
    await inbound_call(app.client, "07700 900106")
    await tab.sign_in(MANAGER, PASSWORD)
    await tab.open(path)
    assert await axe_violations(tab.page) == []


async def test_a_form_with_errors_has_no_serious_violations(tab: Tab) -> None:
    await tab.sign_in(MANAGER, PASSWORD)
    await tab.open("/strategies/new")
    await tab.page.get_by_role("button", name="Create strategy").click()
    await tab.page.locator(".govuk-error-summary").wait_for()
    assert await axe_violations(tab.page) == []
