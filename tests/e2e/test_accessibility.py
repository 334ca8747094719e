"""(d) axe-core (from npm, evaluated in the page) finds no serious or critical WCAG 2.2 A/AA
violations on the console (with a live call), the forms with errors, and every page a
manager can reach from the overview (a crawl of its links)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from callguard.domain.roles import Role
from callguard.domain.users import Actor
from tests.e2e.conftest import App, Tab, axe_violations
from tests.e2e.support import MANAGER, PASSWORD, STAFF
from tests.e2e.test_staff_console import connect_call
from tests.helpers import inbound_call, services

# The crawl stops after this many pages; one page of each kind is enough (an id in the path
# or a query string makes no new kind of page).
MOST_PAGES = 40
NOT_CRAWLED = re.compile(r"/sign-out|\.csv$|\.json$|/export|/static/|/demo/")
# A path segment that is an id: a prefix and hex (per_1a2b…), a call SID, a user name.
ID_SEGMENT = re.compile(r"^(?:[a-z]+_[0-9a-f]{6,}|CA[0-9a-f]{32}|[0-9][0-9a-f-]*)$")


def kind_of(path: str) -> str:
    return "/".join("{id}" if ID_SEGMENT.match(part) else part for part in path.split("/"))


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


async def test_every_page_a_manager_reaches_from_the_overview_has_no_serious_violations(
    tab: Tab, app: App
) -> None:
    """Breadth first from the overview: same-origin GET links, but sign-out and downloads."""
    await inbound_call(app.client, "07700 900106")  # a refused call
    call_sid = await connect_call(app, "07700 900103")
    manager = Actor(name=MANAGER, role=Role.manager)
    now = services(app.client).clock.now()
    await services(app.client).controls.end(call_sid, "threats", manager, now)  # a file note
    await tab.sign_in(MANAGER, PASSWORD)
    origin = urlsplit(tab.base_url).netloc
    queue, kinds, visited = ["/manage"], set[str](), list[str]()
    failures: dict[str, object] = {}
    while queue and len(visited) < MOST_PAGES:
        path = queue.pop(0)
        if kind_of(urlsplit(path).path) in kinds:
            continue
        kinds.add(kind_of(urlsplit(path).path))
        response = await tab.page.goto(tab.base_url + path)
        assert response is not None and response.ok, (path, response and response.status)
        visited.append(path)
        found = await axe_violations(tab.page)
        if found:
            failures[path] = found
        links = await tab.page.eval_on_selector_all(
            "a[href]:not([download])", "links => links.map(a => a.href)"
        )
        for link in links:
            parts = urlsplit(link)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.netloc == origin and not NOT_CRAWLED.search(parts.path):
                queue.append(target)
    # Every kind of page a manager works with was reached.
    for kind in (
        "/manage",
        "/people",
        "/people/{id}",
        "/people/{id}/change",
        "/strategies/{id}",
        "/calls",
        "/calls/{id}",
        "/notes",
        "/notes/{id}",
        "/reviews",
        "/welfare",
        "/preview",
        "/oversight",
        "/console",
    ):
        assert kind in kinds, (kind, sorted(kinds))
    assert failures == {}, failures
