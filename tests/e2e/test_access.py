"""(c) What the browser may not do: post a form without its CSRF token (403, nothing
changes), or open a manager's page as staff (403)."""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.conftest import App, Tab
from tests.e2e.support import ADMIN, MANAGER, PASSWORD, STAFF
from tests.helpers import services


async def test_a_form_post_without_the_csrf_token_is_refused(tab: Tab, app: App) -> None:
    await tab.sign_in(MANAGER, PASSWORD)
    people_before, _ = await services(app.client).register.store.list_people(0, 100)
    # The signed-in browser's own cookies, but no token: as a forged cross-site form would.
    response = await tab.context.request.post(
        "/people/new", form={"name": "Forged Person", "phones": "07700 900777"}
    )
    assert response.status == 403
    assert "This form has expired" in await response.text()
    forged = await tab.context.request.post(
        "/people/new",
        form={"name": "Forged Person", "phones": "07700 900777", "csrf_token": "guess"},
    )
    assert forged.status == 403
    people_after, _ = await services(app.client).register.store.list_people(0, 100)
    assert len(people_after) == len(people_before)

    # The same post from the page itself, with its token, works.
    await tab.open("/people/new")
    await tab.page.get_by_label("Name").fill("Real Person")
    await tab.page.get_by_label("Phone numbers").fill("07700 900777")
    await tab.page.get_by_role("button", name="Add person").click()
    await expect(tab.page.get_by_text("Real Person was added to the register.")).to_be_visible()


async def test_staff_opening_a_manager_page_get_403(tab: Tab) -> None:
    await tab.sign_in(STAFF, PASSWORD)
    for path in ("/manage", "/people", "/calls", "/strategies/new", "/admin/users"):
        response = await tab.page.goto(tab.base_url + path)
        assert response is not None and response.status == 403, path
        await expect(
            tab.page.get_by_role("heading", name="You do not have access to this page")
        ).to_be_visible()
    nav = tab.page.get_by_role("navigation", name="Main menu")
    await expect(nav.get_by_role("link")).to_have_count(1)  # staff see only the console


async def test_sign_in_page_and_user_admin(tab: Tab) -> None:
    await tab.open("/sign-in")
    await tab.page.get_by_label("User name").fill(STAFF)
    await tab.page.get_by_label("Password", exact=True).fill("wrong password")
    await tab.page.get_by_role("button", name="Sign in").click()
    await expect(tab.page.locator(".govuk-error-summary")).to_contain_text(
        "The user name or password is not right"
    )
    await tab.screenshot("sign-in")
    await tab.sign_in(ADMIN, PASSWORD)
    await expect(tab.page.get_by_role("heading", name="Users")).to_be_visible()
    await tab.screenshot("admin-users")
