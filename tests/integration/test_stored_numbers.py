"""A number the register stored stays readable when libphonenumber's numbering plan no
longer has its range (an update of the library withdrew it, say): what the store holds was
checked when it was written, and is not checked again as it is read. Before, one such number
made its strategy unreadable: the person's calls were connected unscreened by the fail-open
path, and every page and duty listing strategies failed."""

from __future__ import annotations

from typing import Any, cast

import pytest

from callguard.clock import FixedClock
from callguard.phones import InvalidPhone, normalise_phone
from tests.conftest import KEYS, auth
from tests.e2e.support import fast_passwords
from tests.helpers import Client, create_person, create_strategy, inbound_call, services

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]


@pytest.fixture
def pages(manager: Client) -> Client:
    """The app, a manager signed in to its pages (the API takes the suite's tokens)."""
    return manager


PERSON_PHONE = "+447700900123"
ADVOCATE_PHONE = "+447700900456"
SPOC_PHONE = "+441772000001"
# As a number from a range the plan has since withdrawn would be stored: E.164, in the
# form the register writes, but not a number libphonenumber takes today.
WITHDRAWN = "+4420794600"


async def stored_as_before(client: Client, key: str, old: str, new: str) -> None:
    """Rewrite a stored value as an earlier numbering plan would have let it be written."""
    redis = services(client).register.store.redis
    if await redis.type(key) == "string":
        text = cast(str, await redis.get(key))
        assert old in text
        await redis.set(key, text.replace(old, new))
    else:
        fields = cast(dict[str, str], await redis.hgetall(key))
        changed = {name: value.replace(old, new) for name, value in fields.items() if old in value}
        assert changed
        for name, value in changed.items():
            await redis.hset(key, name, value)


async def test_a_number_todays_plan_does_not_take_leaves_its_records_readable(
    pages: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    client = pages
    with pytest.raises(InvalidPhone):
        normalise_phone(WITHDRAWN)  # so nothing may store it now
    manager = tokens["manager"]
    person = await create_person(client, manager, phones=[PERSON_PHONE, "07700 900789"])
    restrictions: list[dict[str, Any]] = [
        {"kind": "advocate_only", "advocate_phones": [ADVOCATE_PHONE]},
        {"kind": "spoc", "name": "Jo Bloggs", "phone": SPOC_PHONE},
    ]
    strategy = await create_strategy(client, manager, person["id"], restrictions)
    await stored_as_before(client, KEYS.strategy(strategy["id"]), ADVOCATE_PHONE, WITHDRAWN)
    await stored_as_before(client, KEYS.strategy(strategy["id"]), SPOC_PHONE, WITHDRAWN)
    await stored_as_before(client, KEYS.person(person["id"]), "+447700900789", WITHDRAWN)
    redis = services(client).register.store.redis
    await redis.rename(KEYS.phone_owner("+447700900789"), KEYS.phone_owner(WITHDRAWN))

    # The person's calls are screened as before, not connected by the fail-open path; and
    # from the number today's plan does not take too, not as if no one had registered it.
    for number in (PERSON_PHONE, WITHDRAWN):
        response = await inbound_call(client, number)
        assert response.headers["X-CallGuard-Degraded"] == "0", number
        assert response.headers["X-CallGuard-Outcome"] == "refuse", number

    # The register reads them, with the numbers as stored.
    read = await client.get(f"/api/v1/strategies/{strategy['id']}", headers=auth(manager))
    assert read.status == 200
    body = await read.json()
    assert body["restrictions"][0]["advocate_phones"] == [WITHDRAWN]
    listed = await client.get("/api/v1/strategies?limit=200", headers=auth(manager))
    assert listed.status == 200
    assert strategy["id"] in [s["id"] for s in (await listed.json())["items"]]
    someone = await client.get(f"/api/v1/people/{person['id']}", headers=auth(manager))
    assert (await someone.json())["phones"] == [PERSON_PHONE, WITHDRAWN]
    pages_read = ("/manage", "/reviews", "/people", f"/people/{person['id']}")
    for page in (*pages_read, f"/people/{person['id']}/subject-access-bundle"):
        shown = await client.get(page)
        assert shown.status == 200, page
        assert "Sign in" not in await shown.text(), page

    # And the duties that go through every strategy run.
    for job in ("reviews", "notice_reminders"):
        run = await services(client).duties.run(job, clock.now())
        assert run.outcome == "performed", job

    # A change through the register still checks every number it is given.
    changed = await client.patch(
        f"/api/v1/people/{person['id']}",
        json={"phones": [PERSON_PHONE, WITHDRAWN]},
        headers=auth(manager),
    )
    assert changed.status == 422


async def test_notice_of_an_earlier_version_that_held_such_a_number_is_recorded(
    pages: Client, tokens: dict[str, str]
) -> None:
    """Telling the person of a version before the latest reads that version's restrictions
    out of the revision history, as stored."""
    client, manager = pages, tokens["manager"]
    person = await create_person(client, manager, phones=[PERSON_PHONE])
    advocate_only = [{"kind": "advocate_only", "advocate_phones": [ADVOCATE_PHONE]}]
    strategy = await create_strategy(client, manager, person["id"], advocate_only, notified_on=None)
    revised = await client.post(
        f"/api/v1/strategies/{strategy['id']}/revisions",
        json={
            "expected_version": 1,
            "changes": {"restrictions": [{"kind": "phone_blocked"}]},
            "why": "Calls continued",
        },
        headers=auth(manager),
    )
    assert revised.status == 201, await revised.text()
    await stored_as_before(client, KEYS.strategy(strategy["id"]), ADVOCATE_PHONE, WITHDRAWN)

    told = await client.post(
        f"/api/v1/strategies/{strategy['id']}/versions/1/notified",
        json={"notified_on": "2026-11-24"},
        headers=auth(manager),
    )
    assert told.status == 200, await told.text()
    body = await told.json()
    assert (body["status"], body["applied_version"]) == ("active", 1)
    response = await inbound_call(client, PERSON_PHONE)
    assert response.headers["X-CallGuard-Rule"] == "advocate_only"
