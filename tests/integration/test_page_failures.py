"""A page that fails before anyone is known to be signed in (reading the session while the
store is away, or an account this release cannot read) is still a page in the site's
layout that says what went wrong, not the API's JSON; the API still answers JSON."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import pytest
from aiohttp import ClientResponse

from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from tests.conftest import KEYS, auth
from tests.e2e.support import MANAGER, STAFF, Client, demo_pages, fast_passwords, sign_in
from tests.fault_helpers import KillableRedis, create_tokens
from tests.helpers import UNREADABLE_FORMS, services

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]

HTML = "text/html"


async def assert_page(response: ClientResponse, status: int, *words: str) -> None:
    text = await response.text()
    assert response.status == status, text
    assert response.content_type == HTML, text
    assert "govuk-template" in text and "govuk-footer" in text  # the site's layout
    for said in words:
        assert said in text


async def test_pages_asked_for_while_the_store_is_away_say_so_in_the_sites_layout(
    killable: KillableRedis, settings: Settings, policy: Policy, clock: FixedClock, tmp_path: Path
) -> None:
    own = settings.model_copy(update={"redis_url": killable.url, "data_dir": tmp_path / "data"})
    tokens = await create_tokens(killable.url)
    async with demo_pages(own, policy, clock, signed_in_as=MANAGER) as client:
        assert (await client.get("/console")).status == 200
        await killable.kill()

        away = "Sorry, CallGuard cannot reach its store"
        await assert_page(await client.get("/console"), 503, away)
        await assert_page(await client.get("/no-such-page"), 404, "Page not found")
        api = await client.get("/api/v1/calls", headers=auth(tokens["manager"]))
        assert api.status == 503
        assert (await api.json())["error"] == "unavailable"
        # Not pages: the probes answer as they always do.
        assert (await client.get("/healthz")).content_type == "application/json"
        ready = await client.get("/readyz")
        assert (ready.status, ready.content_type) == (503, "application/json")

        client.session.cookie_jar.clear()  # signed out: signing in needs the store
        await assert_page(await sign_in(client, STAFF), 503, away)


@pytest.fixture
async def pages(settings: Settings, policy: Policy, clock: FixedClock) -> AsyncIterator[Client]:
    async with demo_pages(settings, policy, clock, signed_in_as=STAFF) as client:
        yield client


async def test_the_pages_of_an_account_this_release_cannot_read_say_so_in_the_sites_layout(
    pages: Client,
) -> None:
    """Its own page requests get the plain 409 as a page; nothing is done to the account."""
    assert (await pages.get("/")).status == 200
    redis = services(pages).users.redis
    key = KEYS.user(STAFF)
    stored = json.loads(cast(str, await redis.get(key)))
    await redis.set(key, json.dumps({**stored, "role": "a_role_of_a_later_release"}))

    later = "written by another version of CallGuard"
    await assert_page(await pages.get("/"), 409, "This could not be done", later)
    await assert_page(await pages.get("/no-such-page"), 404, "Page not found")
    assert json.loads(cast(str, await redis.get(key)))["role"] == "a_role_of_a_later_release"

    # The sign-in form is open to anyone on this browser; signing in to that account is
    # refused as plainly, and says so only to someone with its password.
    await assert_page(await pages.get("/sign-in"), 200, "Sign in")
    wrong = await sign_in(pages, STAFF, password="not the password")
    await assert_page(wrong, 401, "The user name or password is not right")
    await assert_page(await sign_in(pages, STAFF), 409, later)
    await sign_in(pages, MANAGER)
    assert (await pages.get("/manage")).status == 200


async def test_a_form_that_cannot_be_read_is_said_so_and_changes_nothing(manager: Client) -> None:
    """A form its sender made so that it cannot be read (see the webhooks' test) is a 400
    that says so in words, whether or not anyone is signed in; nothing is done."""
    redis = services(manager).redis
    people_before = await redis.llen(KEYS.PEOPLE)
    for path in ("/people/new", "/sign-in"):
        for content_type, body, headers in UNREADABLE_FORMS:
            response = await manager.post(
                path,
                data=body,
                headers={**headers, "Content-Type": content_type, "Connection": "close"},
                allow_redirects=False,
            )
            text = await response.text()
            assert response.status == 400, (path, content_type, text)
            assert text == "The form could not be read. Go back to the page and try again."
    assert await redis.llen(KEYS.PEOPLE) == people_before
