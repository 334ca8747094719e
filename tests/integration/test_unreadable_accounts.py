"""An account this release cannot read (written by a later release, with a role this one
does not know, say: a replica not yet upgraded, or a rollback) takes no page, duty or other
account down with it: every page names staff from the list of accounts, and duties send
notices by role from it. It is logged and left out of the list."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import cast

import pytest

from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from tests.conftest import KEYS, auth
from tests.e2e.support import ADMIN, MANAGER, Client, demo_pages, fast_passwords, sign_in
from tests.helpers import services

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]

LATER = {"name": "ali.auditor", "role": "auditor", "display_name": "Ali Auditor"}


@pytest.fixture
async def pages(settings: Settings, policy: Policy, clock: FixedClock) -> AsyncIterator[Client]:
    async with demo_pages(settings, policy, clock) as client:
        redis = services(client).users.redis
        await redis.set(KEYS.user(LATER["name"]), json.dumps(LATER))
        await redis.sadd(KEYS.USERS, LATER["name"])
        yield client


async def test_an_account_this_release_cannot_read_takes_nothing_down(
    pages: Client, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    client = pages
    await sign_in(client, MANAGER)
    for page in ("/", "/console", "/manage", "/people"):
        shown = await client.get(page)
        assert shown.status == 200, page
    for job in ("reviews", "messages"):
        run = await services(client).duties.run(job, clock.now())
        assert run.outcome == "performed", job

    client.session.cookie_jar.clear()  # signed out
    await sign_in(client, ADMIN)
    listed = await client.get("/admin/users")
    assert listed.status == 200
    assert "Ali Auditor" not in await listed.text()
    assert "the account ali.auditor cannot be read by this release" in caplog.text


async def test_a_request_by_an_account_this_release_cannot_read_is_a_plain_409(
    client: Client, tokens: dict[str, str]
) -> None:
    """Its own requests are refused with a plain answer (not a 500), and nothing is done
    to it: it is not taken for an account that is gone, whose tokens and sessions end."""
    redis = services(client).users.redis
    key = KEYS.user("sam.staff")
    stored = json.loads(cast(str, await redis.get(key)))
    await redis.set(key, json.dumps({**stored, "role": "a_role_of_a_later_release"}))

    refused = await client.get("/api/v1/file-notes", headers=auth(tokens["staff"]))
    assert refused.status == 409
    assert "written by another version of CallGuard" in (await refused.json())["message"]
    assert await redis.get(key)  # still there, as it was
    others = await client.get("/api/v1/calls", headers=auth(tokens["manager"]))
    assert others.status == 200
