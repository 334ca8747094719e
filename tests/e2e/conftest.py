"""Browser tests: Playwright for Python driving Debian's Chromium (never a downloaded
browser) against the app on a real loopback port, on the real Redis of the test suite.

Marked ``e2e`` (select with ``-m e2e``, leave out with ``-m 'not e2e'``); they run in the
default suite. Without /usr/bin/chromium they are skipped, except under CI (``CI=true``),
where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from callguard.clock import FixedClock
from callguard.demo import load_demo_data
from callguard.policy import Policy
from callguard.settings import Settings
from tests.e2e.support import Client, fast_passwords, give_passwords, page_client
from tests.helpers import services

__all__ = ["fast_passwords"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ACTION_TIMEOUT_MS = 10_000
# Screenshots go to an ignored folder, so running the tests changes no tracked file;
# scripts/screenshots points this at docs/screenshots to refresh the README's pictures.
SCREENSHOTS = Path(
    os.environ.get("CALLGUARD_SCREENSHOTS_DIR")
    or Path(__file__).resolve().parents[2] / "build" / "screenshots"
)
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.timeout(120))


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("Debian chromium is missing: .ci/run installs it (apt-get install chromium)")
    pytest.skip("no /usr/bin/chromium: apt-get install chromium")


@dataclass
class App:
    client: Client
    base_url: str


@pytest.fixture
async def app(
    settings: Settings, policy: Policy, clock: FixedClock, fast_passwords: None
) -> AsyncIterator[App]:
    """``callguard demo`` as a newcomer sees it: demo data, the simulate panel, and the test
    users (tests/conftest.py) with passwords."""
    assert settings.redis_url
    async with page_client(settings, policy, clock, demo=True) as client:
        await load_demo_data(services(client), clock.now())
        await give_passwords(settings.redis_url)
        yield App(client, str(client.make_url("")).rstrip("/"))


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    _need_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, timeout=30_000
        )
        yield launched
        await launched.close()


@dataclass
class Tab:
    """A page, and what its console said about the Content-Security-Policy."""

    page: Page
    context: BrowserContext
    base_url: str
    csp_violations: list[str] = field(default_factory=list)

    async def open(self, path: str) -> None:
        await self.page.goto(self.base_url + path)

    async def sign_in(self, name: str, password: str) -> None:
        await self.open("/sign-in")
        await self.page.get_by_label("User name").fill(name)
        await self.page.get_by_label("Password", exact=True).fill(password)
        await self.page.get_by_role("button", name="Sign in").click()
        await self.page.wait_for_load_state()

    async def screenshot(self, name: str) -> None:
        # Playwright creates the folder.
        await self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
async def tab(browser: Browser, app: App) -> AsyncIterator[Tab]:
    context = await browser.new_context(
        base_url=app.base_url,
        viewport={"width": 1200, "height": 900},
        accept_downloads=True,
        locale="en-GB",
        timezone_id="Europe/London",
    )
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = await context.new_page()
    tab = Tab(page, context, app.base_url)

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            tab.csp_violations.append(message.text)

    page.on("console", on_console)
    yield tab
    await context.close()
    assert tab.csp_violations == [], "the page broke its own Content-Security-Policy"


async def axe_violations(page: Page) -> list[dict[str, object]]:
    """Serious and critical WCAG 2.x A/AA violations axe-core finds on the page.

    axe-core comes from npm (``npm ci``); it is evaluated in the page by the test driver,
    which the page's Content-Security-Policy does not govern, so the CSP stays on.
    """
    if not AXE.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("node_modules/axe-core is missing: .ci/run runs npm ci")
        pytest.skip("no node_modules/axe-core: run npm ci")
    await page.evaluate(AXE.read_text(encoding="utf-8"))
    result = await page.evaluate(
        """async () => {
          const r = await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}
          });
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}));
        }"""
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]
