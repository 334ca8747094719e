"""Changing a person's details: ``PATCH /api/v1/people/{id}`` on a real Redis."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import auth
from tests.helpers import services
from tests.integration.test_register_api import Client, create_person, fields_named, strategy_body

pytestmark = pytest.mark.timeout(30)


async def patch(client: Client, token: str, person_id: str, body: dict[str, Any]) -> Any:
    return await client.patch(f"/api/v1/people/{person_id}", json=body, headers=auth(token))


async def test_each_list_sent_replaces_the_old_one_and_the_phones_move_with_it(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    response = await patch(
        client,
        tokens["manager"],
        person["id"],
        {
            "phones": ["(01772) 533 587", "07700 900456"],
            "reasonable_adjustments": [{"kind": "needs_extra_time", "detail": "Speaks slowly"}],
        },
    )
    assert response.status == 200, await response.text()
    edited = await response.json()
    assert edited["phones"] == ["+441772533587", "+447700900456"]
    assert edited["emails"] == ["a@example.org"]  # not sent: kept
    assert edited["name"] == "A. Person"
    assert edited["reasonable_adjustments"][0]["kind"] == "needs_extra_time"
    store = services(client).register.store
    assert await store.person_for_phone("+447700900123") is None  # released
    assert await store.person_for_phone("+441772533587") == person["id"]
    assert (await store.get_person(person["id"])) is not None
    other = await create_person(client, tokens["manager"], name="B", phones=["07700 900123"])
    assert other["phones"] == ["+447700900123"]
    emptied = await patch(client, tokens["manager"], person["id"], {"emails": []})
    assert (await emptied.json())["emails"] == []
    fetched = await client.get(f"/api/v1/people/{person['id']}", headers=auth(tokens["manager"]))
    assert (await fetched.json())["emails"] == []
    audit = await store.audit_log(100)
    updates = [e for e in audit if e["action"] == "person.update"]
    assert [e["detail"] for e in updates] == ["emails", "phones, reasonable_adjustments"]


async def test_an_edit_that_breaks_an_active_strategy_is_422_in_words(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    written = strategy_body(
        person["id"],
        restrictions=[{"kind": "written_only", "email": "complaints@opcc.example"}],
    )
    created = await client.post("/api/v1/strategies", json=written, headers=auth(tokens["manager"]))
    assert created.status == 201, await created.text()
    response = await patch(
        client,
        tokens["manager"],
        person["id"],
        {"reasonable_adjustments": [{"kind": "needs_phone_contact", "detail": "Cannot read"}]},
    )
    assert response.status == 422
    data = await response.json()
    assert fields_named(data) == ["reasonable_adjustments"]
    assert "CMP-2026-0142 allows written contact only" in data["message"]
    kept = await services(client).register.store.get_person(person["id"])
    assert kept is not None and kept.reasonable_adjustments == []


async def test_bad_edits_are_refused_and_nothing_changes(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    await create_person(client, tokens["manager"], name="B", phones=["07700 900999"])
    taken = await patch(client, tokens["manager"], person["id"], {"phones": ["07700 900999"]})
    assert taken.status == 409
    bad = await patch(client, tokens["manager"], person["id"], {"phones": ["12345"]})
    assert bad.status == 422 and fields_named(await bad.json()) == ["phones[0]"]
    null = await patch(client, tokens["manager"], person["id"], {"name": None})
    assert null.status == 422 and fields_named(await null.json()) == ["name"]
    unknown = await patch(client, tokens["manager"], person["id"], {"nickname": "x"})
    assert unknown.status == 422
    staff = await patch(client, tokens["staff"], person["id"], {"name": "Other"})
    assert staff.status == 403
    missing = await patch(client, tokens["manager"], "per_0000000000000000", {"name": "X"})
    assert missing.status == 404
    kept = await services(client).register.store.get_person(person["id"])
    assert kept is not None and kept.phones == ["+447700900123"] and kept.name == "A. Person"
    store = services(client).register.store
    assert await store.person_for_phone("+447700900123") == person["id"]
