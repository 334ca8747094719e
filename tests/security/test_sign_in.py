"""Sign-in (CONTRACT §5): ``next`` never leaves CallGuard; the lock-out holds when wrong
passwords arrive at the same moment (each attempt is reserved in Redis before its password
is hashed); a user name outside the rule is a failed sign-in that reads nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from callguard.store.connection import connect
from tests.conftest import KEYS
from tests.e2e.support import (
    PASSWORD,
    STAFF,
    Client,
    csrf_of,
    fast_passwords,
    give_passwords,
    page_client,
    page_csrf,
    sign_in,
)
from tests.helpers import services

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]

OFF_SITE = [
    "//evil.example/",
    "/\\evil.example/",
    "/\\/evil.example/",
    "/%5Cevil.example/",
    "/%5cevil.example/",
    "/%2F%2Fevil.example/",
    "/%2f/evil.example/",
    "https://evil.example/",
    "http:/evil.example/",
    "javascript:alert(1)",
    "/\t/evil.example/",
    "/%09/evil.example/",
    "/\r\n/evil.example/",
    "/%0d%0aSet-Cookie:x=1",
    " //evil.example/",
    "evil.example",
    "/sign-in",
    "/sign-out",
]


@pytest.fixture
async def pages(settings: Settings, policy: Policy, clock: FixedClock) -> AsyncIterator[Client]:
    assert settings.redis_url
    await give_passwords(settings.redis_url)
    async with page_client(settings, policy, clock) as client:
        yield client


async def _sign_in_with_next(pages: Client, target: str) -> str:
    page = await pages.get("/sign-in")
    token = csrf_of(await page.text())
    response = await pages.post(
        "/sign-in",
        data={"username": STAFF, "password": PASSWORD, "csrf_token": token, "next": target},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    pages.session.cookie_jar.clear()
    return response.headers["Location"]


async def test_next_after_sign_in_only_ever_leads_to_a_path_on_callguard(pages: Client) -> None:
    for target in OFF_SITE:
        assert await _sign_in_with_next(pages, target) == "/console", target
    # A path on CallGuard is kept as it was given.
    assert await _sign_in_with_next(pages, "/notes/abc?x=1%202") == "/notes/abc?x=1%202"


async def test_the_sign_in_page_never_carries_an_off_site_next(pages: Client) -> None:
    page = await pages.get("/sign-in", params={"next": "/\\evil.example/"})
    assert page.status == 200
    assert "evil.example" not in await page.text()


async def test_the_demo_back_link_only_ever_leads_to_a_path_on_callguard(
    settings: Settings, policy: Policy, clock: FixedClock
) -> None:
    assert settings.redis_url
    await give_passwords(settings.redis_url)
    async with page_client(settings, policy, clock, demo=True) as pages:
        assert (await sign_in(pages, STAFF)).status == 303
        token = await page_csrf(pages, "/console")
        for back in ("//evil.example/", "/\\evil.example/", "/%5Cevil.example/"):
            response = await pages.post(
                "/demo/simulate",
                data={"csrf_token": token, "caller": "", "back": back},
                allow_redirects=False,
            )
            assert response.status == 303
            assert response.headers["Location"] == "/console", back


async def test_sixty_wrong_passwords_at_once_check_at_most_five_and_lock_the_name(
    pages: Client,
) -> None:
    page = await pages.get("/sign-in")
    token = csrf_of(await page.text())
    users = services(pages).users
    before = users.passwords_checked

    async def attempt(password: str) -> int:
        response = await pages.post(
            "/sign-in",
            data={"username": STAFF, "password": password, "csrf_token": token},
            allow_redirects=False,
        )
        return response.status

    statuses = await asyncio.gather(*(attempt(f"wrong password {i:03}") for i in range(60)))
    assert users.passwords_checked - before <= 5
    assert statuses.count(401) == 5
    assert statuses.count(429) == 55
    # The right password, now and in a burst of wrong ones, does not sign in.
    burst = [f"wrong password {i:03}" for i in range(10)]
    burst.insert(6, PASSWORD)
    statuses = await asyncio.gather(*(attempt(p) for p in burst))
    assert set(statuses) == {429}
    assert users.passwords_checked - before <= 5
    assert "callguard_session" not in {c.key for c in pages.session.cookie_jar}


async def test_a_right_password_in_a_burst_after_the_fifth_attempt_does_not_sign_in(
    pages: Client,
) -> None:
    page = await pages.get("/sign-in")
    token = csrf_of(await page.text())
    users = services(pages).users
    before = users.passwords_checked
    passwords = [f"wrong password {i:03}" for i in range(30)]
    passwords.insert(20, PASSWORD)  # position 21, as in the red team's burst

    async def attempt(password: str) -> int:
        response = await pages.post(
            "/sign-in",
            data={"username": STAFF, "password": password, "csrf_token": token},
            allow_redirects=False,
        )
        return response.status

    # The first five attempts go in first (each reserved in order), then the rest at once.
    first = [await attempt(p) for p in passwords[:5]]
    rest = await asyncio.gather(*(attempt(p) for p in passwords[5:]))
    assert first == [401] * 5
    assert set(rest) == {429}
    assert users.passwords_checked - before == 5


async def test_a_user_name_outside_the_rule_fails_without_reading_other_keys(
    pages: Client, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    users = services(pages).users
    before = users.passwords_checked
    caplog.set_level(logging.DEBUG)
    for name in (f"{STAFF}:password", "sam:password", "a b", "../x", "x" * 65, "ü"):
        response = await sign_in(pages, name, PASSWORD)
        assert response.status == 401, name
        assert "The user name or password is not right" in await response.text()
    assert users.passwords_checked == before
    assert "argon2" not in caplog.text
    assert all(r.levelno < logging.ERROR for r in caplog.records)
    # Nothing was counted against any name either.
    redis = connect(settings.redis_url or "")
    assert [k async for k in redis.scan_iter(KEYS.login_failures("*"))] == []
    await redis.aclose()
