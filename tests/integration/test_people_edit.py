"""Changing a person's details: ``PATCH /api/v1/people/{id}`` on a real Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from callguard.domain.audit import AuditEntry
from callguard.store.register import PersonAsRead, PersonChanged
from tests.conftest import auth
from tests.helpers import services
from tests.integration.test_register_api import Client, create_person, fields_named, strategy_body

pytestmark = pytest.mark.timeout(30)


async def patch(client: Client, token: str, person_id: str, body: dict[str, Any]) -> Any:
    return await client.patch(f"/api/v1/people/{person_id}", json=body, headers=auth(token))


async def post(client: Client, token: str, path: str, body: dict[str, Any]) -> Any:
    return await client.post(path, json=body, headers=auth(token))


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


async def test_edits_of_different_fields_at_the_same_time_all_stand(
    client: Client, tokens: dict[str, str]
) -> None:
    """Each edit is applied to the person as they are when it is written, not as they were
    when it was read: three managers changing three things at once lose none of them."""
    person = await create_person(client, tokens["manager"])
    edits: list[dict[str, Any]] = [
        {"name": "Alex Person"},
        {"emails": ["alex@example.org"]},
        {"reasonable_adjustments": [{"kind": "needs_extra_time", "detail": "Speaks slowly"}]},
    ]
    for _round in range(3):
        responses = await asyncio.gather(
            *(patch(client, tokens["manager"], person["id"], edit) for edit in edits)
        )
        assert [r.status for r in responses] == [200, 200, 200]
        stored = await services(client).register.store.get_person(person["id"])
        assert stored is not None
        assert stored.name == "Alex Person"
        assert stored.emails == ["alex@example.org"]
        assert [a.kind.value for a in stored.reasonable_adjustments] == ["needs_extra_time"]
        edits = edits[1:] + edits[:1]
        reset = {"name": "A. Person", "emails": [], "reasonable_adjustments": []}
        await patch(client, tokens["manager"], person["id"], reset)


WRITTEN_ONLY = [{"kind": "written_only", "email": "complaints@opcc.example"}]
NEEDS_PHONE = [{"kind": "needs_phone_contact", "detail": "Cannot read"}]


async def test_a_strategy_and_an_edit_that_clash_made_at_once_one_stands_one_is_refused(
    client: Client, tokens: dict[str, str]
) -> None:
    """Written contact only cannot bind someone who needs phone contact (§2, without an
    override): made at the same moment, the later one is checked against the earlier, never
    both against the person as they were."""
    manager = tokens["manager"]
    for _round in range(4):
        person = await create_person(client, manager, phones=[])
        strategy = post(
            client,
            manager,
            "/api/v1/strategies",
            strategy_body(person["id"], restrictions=WRITTEN_ONLY),
        )
        edit = patch(client, manager, person["id"], {"reasonable_adjustments": NEEDS_PHONE})
        created, edited = await asyncio.gather(strategy, edit)
        assert sorted([created.status, edited.status]) in ([200, 422], [201, 422])
        stored = await services(client).register.store.read_person(person["id"])
        assert stored is not None
        needs_phone = stored.person.reasonable_adjustments != []
        assert needs_phone == (edited.status == 200)
        assert len(stored.strategies) == (created.status == 201)


async def test_a_revision_and_an_edit_that_clash_made_at_once_one_stands_one_is_refused(
    client: Client, tokens: dict[str, str]
) -> None:
    manager = tokens["manager"]
    for _round in range(4):
        person = await create_person(client, manager, phones=[])
        created = await client.post(
            "/api/v1/strategies", json=strategy_body(person["id"]), headers=auth(manager)
        )
        strategy = await created.json()
        revision = post(
            client,
            manager,
            f"/api/v1/strategies/{strategy['id']}/revisions",
            {
                "expected_version": 1,
                "changes": {"restrictions": WRITTEN_ONLY},
                "why": "Calls have become abusive; letters only from now on",
            },
        )
        edit = patch(client, manager, person["id"], {"reasonable_adjustments": NEEDS_PHONE})
        revised, edited = await asyncio.gather(revision, edit)
        assert sorted([revised.status, edited.status]) in ([200, 422], [201, 422])
        stored = await services(client).register.store.read_person(person["id"])
        assert stored is not None
        kinds = [r.kind for r in stored.strategies[0].restrictions]
        needs_phone = stored.person.reasonable_adjustments != []
        assert needs_phone == (edited.status == 200)
        assert ("written_only" in kinds) == (revised.status == 201)


async def test_an_edit_read_before_another_change_is_not_written(
    client: Client, tokens: dict[str, str]
) -> None:
    """The store's own check, without timing: an edit whose reading is out of date (a name
    changed, or a strategy made, since) writes nothing; one read afresh does."""
    svc = services(client)
    store = svc.register.store
    person = await create_person(client, tokens["manager"])
    stale = await store.read_person(person["id"])
    assert stale is not None
    await patch(client, tokens["manager"], person["id"], {"name": "Alex Person"})
    renamed = stale.person.model_copy(update={"emails": []})
    audit = AuditEntry(
        at=stale.person.updated_at, who="t", role="manager", action="person.update", target="x"
    )
    assert await store.update_person(renamed, stale, audit) == "changed"
    fresh = await store.read_person(person["id"])
    assert fresh is not None and fresh.person.name == "Alex Person"
    created = await client.post(
        "/api/v1/strategies", json=strategy_body(person["id"]), headers=auth(tokens["manager"])
    )
    assert created.status == 201
    assert await store.update_person(renamed, fresh, audit) == "changed"
    with_strategy = await store.read_person(person["id"])
    assert with_strategy is not None and len(with_strategy.strategies) == 1
    revised = await post(
        client,
        tokens["manager"],
        f"/api/v1/strategies/{with_strategy.strategies[0].id}/revisions",
        {"expected_version": 1, "changes": {"reason": "Abusive calls (§5.3)"}, "why": "Clearer"},
    )
    assert revised.status == 201, await revised.text()
    # The revision left the person's own record as it was: only the strategy's text changed.
    assert await store.update_person(renamed, with_strategy, audit) == "changed"
    kept = await store.read_person(person["id"])
    assert kept is not None and kept.fields == with_strategy.fields
    assert kept.person.emails == ["a@example.org"] and kept.strategies[0].version == 2
    assert await store.update_person(renamed, kept, audit) == "updated"
    stranger = stale.person.model_copy(update={"id": "per_nobody"})
    assert await store.update_person(stranger, kept, audit) == "missing"
    with pytest.raises(PersonChanged):
        await store.create_strategy(kept.strategies[0], audit, checked_against=stale.person)


async def test_an_edit_that_keeps_losing_to_other_changes_is_409_and_changes_nothing(
    client: Client, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone else renames the person just after every reading of this edit (a real write
    to Redis): after 20 tries it gives up, in words, and its own change is not made."""
    store = services(client).register.store
    person = await create_person(client, tokens["manager"])
    read_person = store.read_person
    renames = 0

    async def read_then_renamed(person_id: str) -> PersonAsRead | None:
        nonlocal renames
        read = await read_person(person_id)
        renames += 1
        await store.redis.hset(store.keys.person(person_id), "name", f'"Renamed {renames}"')
        return read

    monkeypatch.setattr(store, "read_person", read_then_renamed)
    response = await patch(client, tokens["manager"], person["id"], {"emails": []})
    assert response.status == 409
    body = await response.json()
    assert "kept being changed by someone else" in body["message"]
    assert "Nothing was changed. Try again." in body["message"]
    monkeypatch.undo()
    kept = await store.read_person(person["id"])
    assert kept is not None
    assert (kept.person.name, kept.person.emails, renames) == ("Renamed 20", ["a@example.org"], 20)


async def test_a_person_with_any_characters_in_their_details_can_be_changed(
    client: Client, tokens: dict[str, str]
) -> None:
    """The check that the person is as read compares the stored text in Lua: accents,
    curly quotes, an emoji, a line break and a backslash must compare equal to themselves."""
    person = await create_person(
        client,
        tokens["manager"],
        name='Siân O’Brien 😀 \\ "Jr"',
        reasonable_adjustments=[{"kind": "other", "detail": "Line one\nline two\t€"}],
    )
    response = await patch(client, tokens["manager"], person["id"], {"emails": []})
    assert response.status == 200, await response.text()
    stored = await services(client).register.store.get_person(person["id"])
    assert stored is not None and stored.emails == [] and stored.name.startswith("Siân O’Brien")
