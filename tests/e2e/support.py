"""Shared by the page tests (tests/integration/test_pages_*.py) and the browser tests: the
app on a real loopback port, users with passwords, and signing in over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from playwright.async_api import Locator

from callguard.bootstrap import build_app
from callguard.clock import FixedClock
from callguard.demo import load_demo_data
from callguard.domain.roles import Role
from callguard.policy import Policy
from callguard.settings import Settings
from callguard.store import users as store_users
from callguard.store.connection import connect
from callguard.store.users import UserStore
from tests.conftest import KEYS, USERS
from tests.helpers import services
from tests.processes import free_port

Client = TestClient[web.Request, web.Application]

PASSWORD = "correct horse battery staple"
# Names of the test users (tests/conftest.py USERS), by role.
_FIRST_OF = {u.role: u.name for u in reversed(USERS)}
STAFF, MANAGER, CEO, ADMIN = (
    _FIRST_OF[r] for r in (Role.staff, Role.manager, Role.chief_executive, Role.admin)
)
# How the pages name each of them: by their full name.
FULL_NAME = {u.name: u.display_name for u in USERS}


@pytest.fixture
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its lowest cost: the tests sign in many times on a 2-core machine. The
    production parameters are argon2-cffi's defaults (see callguard.store.users)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(store_users, "_HASHER", cheap)
    monkeypatch.setattr(store_users, "_DUMMY_HASH", cheap.hash("no such user"))


async def give_passwords(redis_url: str) -> None:
    """The conftest users, each with PASSWORD."""
    client = connect(redis_url)
    users = UserStore(client, KEYS)
    for user in USERS:
        await users.put_user(user)
        await users.set_password(user.name, PASSWORD)
    await client.aclose()


@asynccontextmanager
async def page_client(
    settings: Settings,
    policy: Policy,
    clock: FixedClock,
    *,
    demo: bool = False,
) -> AsyncIterator[Client]:
    """A client on the app on 127.0.0.1 that keeps cookies, Secure ones included (the
    test settings' public URL is https, as in production). The web settings (single
    sign-on) come from the environment, as in production: tests set them with monkeypatch.
    In the demo, the phone system is the demo's own stand-in, on this server (as in
    ``callguard demo``), so it answers the calls it is asked to connect."""
    port = free_port()
    if demo:
        api_base = f"http://127.0.0.1:{port}/demo/twilio"
        settings = settings.model_copy(update={"twilio_api_base": api_base})
    app = await build_app(settings, policy=policy, clock=clock, demo=demo)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    origin = f"http://127.0.0.1:{server.port}"
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[origin])
    async with TestClient(server, cookie_jar=jar) as client:
        yield client


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "no csrf_token in the page"
    return found.group(1)


async def sign_in(client: Client, name: str, password: str = PASSWORD) -> aiohttp.ClientResponse:
    page = await client.get("/sign-in")
    token = csrf_of(await page.text())
    return await client.post(
        "/sign-in",
        data={"username": name, "password": password, "csrf_token": token},
        allow_redirects=False,
    )


async def page_csrf(client: Client, path: str) -> str:
    response = await client.get(path)
    assert response.status == 200, await response.text()
    return csrf_of(await response.text())


@asynccontextmanager
async def demo_pages(
    settings: Settings,
    policy: Policy,
    clock: FixedClock,
    *,
    signed_in_as: str | None = None,
    demo: bool = False,
) -> AsyncIterator[Client]:
    """``page_client`` over the demo data, every conftest user with ``PASSWORD``; signed in
    as ``signed_in_as`` when it is given."""
    assert settings.redis_url
    async with page_client(settings, policy, clock, demo=demo) as client:
        await load_demo_data(services(client), clock.now())
        await give_passwords(settings.redis_url)
        if signed_in_as is not None:
            await sign_in(client, signed_in_as)
        yield client


async def fill_date(group: Locator, day: str, month: str, year: str) -> None:
    """Type a date into a GOV.UK date input (``group``: its fieldset, found by its legend)."""
    await group.get_by_label("Day").fill(day)
    await group.get_by_label("Month").fill(month)
    await group.get_by_label("Year").fill(year)
