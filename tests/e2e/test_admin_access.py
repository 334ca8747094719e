"""An admin in the browser (issue 14 points 2, 3): disabling a member of staff signs them out
of their own open browser at once; a new password does too; the API tokens page lists a
token by its id (never the token) and revokes it, after asking. Checked with axe-core on
the new pages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, expect

from callguard.domain.roles import Role
from tests.conftest import auth
from tests.e2e.conftest import ACTION_TIMEOUT_MS, App, Tab, axe_violations
from tests.e2e.support import ADMIN, FULL_NAME, MANAGER, PASSWORD, STAFF
from tests.helpers import services

NEW_PASSWORD = "violet-harbour-42-ladder"


@pytest.fixture
async def staff_tab(browser: Browser, app: App) -> AsyncIterator[Tab]:
    """A second browser, the member of staff's own, signed in."""
    context = await browser.new_context(base_url=app.base_url, locale="en-GB")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    tab = Tab(await context.new_page(), context, app.base_url)
    await tab.sign_in(STAFF, PASSWORD)
    await expect(tab.page).to_have_url(app.base_url + "/console")
    yield tab
    await context.close()


async def _is_signed_out(tab: Tab) -> None:
    await tab.open("/console")
    await expect(tab.page.get_by_role("heading", name="Sign in")).to_be_visible()


async def test_disabling_a_user_signs_them_out_at_once_and_enabling_lets_them_back(
    tab: Tab, staff_tab: Tab
) -> None:
    await tab.sign_in(ADMIN, PASSWORD)
    await tab.open(f"/admin/users/{STAFF}")
    await tab.page.get_by_role("button", name=f"Disable {STAFF}").click()
    await expect(tab.page.get_by_text("signed out everywhere")).to_be_visible()
    await expect(tab.page.get_by_role("heading", name=STAFF)).to_contain_text("Disabled")
    await _is_signed_out(staff_tab)
    await staff_tab.sign_in(STAFF, PASSWORD)
    await expect(staff_tab.page.locator(".govuk-error-summary")).to_contain_text(
        "This account is disabled"
    )
    await tab.page.get_by_role("button", name=f"Enable {STAFF}").click()
    await expect(tab.page.get_by_text(f"{STAFF} can sign in again.")).to_be_visible()
    await staff_tab.sign_in(STAFF, PASSWORD)
    await expect(staff_tab.page).to_have_url(staff_tab.base_url + "/console")


async def test_a_new_password_set_by_an_admin_ends_the_users_sessions(
    tab: Tab, staff_tab: Tab
) -> None:
    await tab.sign_in(ADMIN, PASSWORD)
    await tab.open(f"/admin/users/{STAFF}")
    await tab.page.get_by_label("New password").fill("password1234")
    await tab.page.get_by_role("button", name="Set password").click()
    await expect(tab.page.locator(".govuk-error-summary")).to_contain_text(
        "Choose a less common password"
    )
    await tab.page.get_by_label("New password").fill(NEW_PASSWORD)
    await tab.page.get_by_role("button", name="Set password").click()
    await expect(tab.page.get_by_text("Any sessions of theirs have ended")).to_be_visible()
    await _is_signed_out(staff_tab)
    await staff_tab.sign_in(STAFF, NEW_PASSWORD)
    await expect(staff_tab.page).to_have_url(staff_tab.base_url + "/console")


async def test_the_tokens_page_lists_by_id_and_revokes(tab: Tab, app: App) -> None:
    accounts = services(app.client).accounts
    info, token = await accounts.create_token(
        MANAGER, Role.manager, services(app.client).clock.now()
    )
    assert (await app.client.get("/api/v1/people", headers=auth(token))).status == 200
    await tab.sign_in(ADMIN, PASSWORD)
    await tab.page.get_by_role("link", name="API tokens").first.click()
    await expect(tab.page.get_by_role("heading", name="API tokens")).to_be_visible()
    row = tab.page.get_by_role("row").filter(has_text=info.id)
    await expect(row).to_contain_text(MANAGER)
    await expect(row).to_contain_text("27 November 2026 at 10am")  # made, and last used
    await expect(row).to_contain_text("Does not expire")
    assert token not in await tab.page.content()
    assert await axe_violations(tab.page) == []
    await tab.screenshot("admin-tokens")
    await row.get_by_role("link", name="Revoke").click()  # asks first
    asked = f"Revoke token {info.id} of {FULL_NAME[MANAGER]}?"
    await expect(tab.page.get_by_role("heading", name=asked)).to_be_visible()
    assert await axe_violations(tab.page) == []
    assert (await app.client.get("/api/v1/people", headers=auth(token))).status == 200
    await tab.page.get_by_role("button", name="Revoke the token").click()
    await expect(tab.page.get_by_text(f"Token {info.id} of {MANAGER} revoked.")).to_be_visible()
    assert (await app.client.get("/api/v1/people", headers=auth(token))).status == 401
