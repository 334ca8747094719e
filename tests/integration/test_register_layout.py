"""The register's layout in Redis (callguard/store/KEYS.py): which keys a person and their
strategies take, and that the inbound path's lookup reads them as the register means them:
a person's active strategies oldest first, an ended one no longer, an advocate's number
finding the strategy that names it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from callguard.domain.audit import AuditEntry
from callguard.domain.models import Person, Strategy, StrategyStatus
from callguard.store.call_records import CallStore
from callguard.store.connection import connect
from callguard.store.register import RegisterStore
from tests.conftest import KEYS

pytestmark = pytest.mark.timeout(30)

AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
PHONE = "+447700900123"
ADVOCATE = "+447700900999"


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    yield client
    await client.aclose()


def audit(action: str, target: str, person_id: str, at: datetime = AT) -> AuditEntry:
    return AuditEntry(
        at=at, who="mo.manager", role="manager", action=action, target=target, person_id=person_id
    )


def person(person_id: str = "per_00000000000000aa") -> Person:
    return Person.model_validate(
        {
            "name": "A. Person",
            "phones": [PHONE],
            "reasonable_adjustments": [{"kind": "needs_extra_time", "detail": "Speak slowly"}],
            "id": person_id,
            "created_at": AT,
            "created_by": "mo.manager",
            "updated_at": AT,
        }
    )


def strategy(strategy_id: str, created: datetime, **changes: object) -> Strategy:
    return Strategy.model_validate(
        {
            "id": strategy_id,
            "person_id": "per_00000000000000aa",
            "matter_ref": f"CMP-{strategy_id}",
            "reason": "Repeated abusive calls",
            "restrictions": [
                {"kind": "spoc", "name": f"SPOC {strategy_id}", "phone": "+441772000001"}
            ],
            "notified_on": None,
            "review_due": "2027-02-13",
            "starts_on": "2026-11-27",
            "created_at": created,
            "created_by": "mo.manager",
            "updated_at": created,
            **changes,
        }
    )


async def stored_keys(redis: Redis) -> set[str]:
    return {k async for k in redis.scan_iter(match=KEYS.prefix + "*")}


async def test_a_person_with_strategies_takes_one_hash_one_list_and_a_string_each(
    redis: Redis,
) -> None:
    store = RegisterStore(redis, KEYS)
    who = person()
    older = strategy("str_b", AT)
    newer = strategy("str_a", AT + timedelta(hours=1))  # sorts first by id, made later
    await store.create_person(who, audit("person.create", who.id, who.id))
    await store.create_strategy(older, audit("strategy.create", older.id, who.id))
    await store.create_strategy(newer, audit("strategy.create", newer.id, who.id))

    assert await stored_keys(redis) == {
        KEYS.person(who.id),
        KEYS.phone_owner(PHONE),
        KEYS.PEOPLE,
        KEYS.audit_person(who.id),
        KEYS.AUDIT,
        KEYS.strategy(older.id),
        KEYS.strategy(newer.id),
        KEYS.STRATEGIES,
    }
    assert await redis.type(KEYS.person(who.id)) == "hash"
    assert await redis.type(KEYS.audit_person(who.id)) == "list"
    assert await store.get_person(who.id) == who
    assert await store.list_people(0, 10) == ([who], 1)
    assert await store.get_strategy(older.id) == older
    assert await store.strategies_of(who.id) == [newer, older]  # by id, as before
    assert await store.list_strategies(0, 10) == ([older, newer], 2)  # oldest first
    assert await store.all_strategy_ids() == [older.id, newer.id]
    assert await store.active_strategy_ids(who.id) == [older.id, newer.id]

    match, usage = await CallStore(redis, KEYS).lookup(PHONE)

    assert match is not None
    assert match.person_id == who.id
    assert [a.value for a in match.adjustments] == ["needs_extra_time"]
    assert [e.strategy_id for e in match.entries] == [older.id, newer.id]  # oldest first
    assert match.entries[0].restrictions == tuple(older.restrictions)
    assert match.entries[0].matter_ref == older.matter_ref
    assert set(usage) == {older.id, newer.id}


async def test_an_ended_strategy_no_longer_applies_but_stays_the_persons(redis: Redis) -> None:
    store = RegisterStore(redis, KEYS)
    who = person()
    older = strategy("str_b", AT)
    newer = strategy("str_a", AT + timedelta(hours=1))
    await store.create_person(who, audit("person.create", who.id, who.id))
    await store.create_strategy(older, audit("strategy.create", older.id, who.id))
    await store.create_strategy(newer, audit("strategy.create", newer.id, who.id))
    ended = older.model_copy(
        update={"status": StrategyStatus.ended, "version": 2, "ended_at": AT, "ended_by": "lee"}
    )

    assert await store.replace_strategy(1, ended, audit("strategy.end", older.id, who.id))
    assert not await store.replace_strategy(1, ended, audit("strategy.end", older.id, who.id))

    match, _usage = await CallStore(redis, KEYS).lookup(PHONE)
    assert match is not None and [e.strategy_id for e in match.entries] == [newer.id]
    assert await store.active_strategy_ids(who.id) == [newer.id]
    assert await store.strategies_of(who.id) == [newer, ended]
    trail = await store.audit_of_person(who.id)
    assert [(e["action"], e["target"]) for e in trail] == [
        ("person.create", who.id),
        ("strategy.create", older.id),
        ("strategy.create", newer.id),
        ("strategy.end", older.id),
    ]
    assert all(e["person_id"] == who.id for e in trail)


async def test_an_advocates_number_finds_the_strategy_naming_it_until_it_ends(
    redis: Redis,
) -> None:
    store = RegisterStore(redis, KEYS)
    who = person()
    only = strategy(
        "str_c", AT, restrictions=[{"kind": "advocate_only", "advocate_phones": [ADVOCATE]}]
    )
    await store.create_person(who, audit("person.create", who.id, who.id))
    await store.create_strategy(only, audit("strategy.create", only.id, who.id))

    match, _usage = await CallStore(redis, KEYS).lookup(ADVOCATE)
    assert match is not None
    assert (match.person_id, match.adjustments) == (who.id, ())
    assert [(e.strategy_id, e.role) for e in match.entries] == [(only.id, "advocate")]

    ended = only.model_copy(update={"status": StrategyStatus.ended, "version": 2})
    assert await store.replace_strategy(1, ended, audit("strategy.end", only.id, who.id))
    assert (await CallStore(redis, KEYS).lookup(ADVOCATE))[0] is None


async def test_an_import_stores_what_one_by_one_would(redis: Redis) -> None:
    store = RegisterStore(redis, KEYS)
    one, other = person("per_00000000000000aa"), person("per_00000000000000bb")
    other = other.model_copy(update={"phones": ["+447700900124"], "reasonable_adjustments": []})
    first = strategy("str_a", AT)
    audits = [audit("person.import", one.id, one.id), audit("strategy.import", first.id, one.id)]

    assert await store.import_batch([one, other], [first], audits) == []

    assert await store.list_people(0, 10) == ([one, other], 2)
    assert await store.strategies_of(one.id) == [first]
    assert await store.strategies_of(other.id) == []
    assert await store.active_strategy_ids(one.id) == [first.id]
    assert [e["action"] for e in await store.audit_of_person(one.id)] == [
        "person.import",
        "strategy.import",
    ]
    assert await store.audit_of_person(other.id) == []
    match, _usage = await CallStore(redis, KEYS).lookup("+447700900124")
    assert match is not None and (match.person_id, match.entries) == (other.id, ())


async def test_the_duties_read_every_strategy_a_few_at_a_time_as_they_go(redis: Redis) -> None:
    """``every_strategy`` gives every strategy, oldest first, in chunks of a few (one MGET
    each); a chunk is read when it is reached, so one changed meanwhile is given as it is
    then."""
    store = RegisterStore(redis, KEYS)
    who = person()
    await store.create_person(who, audit("person.create", who.id, who.id))
    made = [strategy(f"str_{i}", AT + timedelta(minutes=i)) for i in range(5)]
    for each in made:
        await store.create_strategy(each, audit("strategy.create", each.id, who.id))
    await redis.delete(KEYS.strategy(made[1].id))  # listed, but gone: left out

    seen: list[Strategy] = []
    async for each in store.every_strategy(chunk=2, page=4):
        seen.append(each)
        if each.id == made[0].id:
            ended = made[3].model_copy(
                update={"status": StrategyStatus.ended, "version": 2, "ended_at": AT}
            )
            assert await store.replace_strategy(1, ended, audit("strategy.end", ended.id, who.id))

    assert [s.id for s in seen] == [made[0].id, made[2].id, made[3].id, made[4].id]
    assert seen[2].status is StrategyStatus.ended and seen[2].version == 2
    assert [s.id async for s in store.every_strategy()] == [s.id for s in seen]
    # A page of ids that ends just where the list does; one made during a run is read too.
    assert [s.id async for s in store.every_strategy(chunk=1, page=2)] == [s.id for s in seen]
    late = strategy("str_late", AT + timedelta(hours=1))
    found = []
    async for each in store.every_strategy(chunk=2, page=2):
        found.append(each.id)
        if len(found) == 1:
            await store.create_strategy(late, audit("strategy.create", late.id, who.id))
    assert found == [s.id for s in seen] + [late.id]
