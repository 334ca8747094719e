"""The register in Redis: people, contact strategies, and their audit trail.

Each is stored in the compact forms of ``stored_forms``. Writes keep the index the inbound
path reads (a person's adjustment kinds and active strategies): the inbound path only
reads it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from callguard.domain.audit import AuditEntry
from callguard.domain.models import AdvocateOnly, Person, Strategy, StrategyStatus
from callguard.store import audit as audit_store
from callguard.store.keys import Keys
from callguard.store.paging import list_in_pages
from callguard.store.scripts import CREATE_PERSON, UPDATE_PERSON, lua
from callguard.store.stored_forms import (
    ACTIVE_FIELD,
    ADJUSTMENTS_FIELD,
    PAST_FIELD,
    PERSON_FIELDS,
    json_text,
    parse_strategy,
    person_fields,
    person_from,
    strategy_text,
)

# Tries at a strategy write whose person's index changed meanwhile (another strategy's write).
_ATTEMPTS = 100


class PersonChanged(Exception):
    """The person a strategy was checked against was changed before it was written."""


class PhoneTaken(Exception):
    def __init__(self, index: int) -> None:
        super().__init__(f"phone {index} is held by another person")
        self.index = index


def _strategy_ids(fields: dict[str, str]) -> list[str]:
    """Every strategy of a person (active or not), from person:{id} as read."""
    ids = fields.get(ACTIVE_FIELD, "").split()
    return ids + [n.removeprefix(PAST_FIELD) for n in fields if n.startswith(PAST_FIELD)]


@dataclass(frozen=True)
class PersonAsRead:
    """A person and their strategies, and the stored text they were read from: a change
    checked against them is written only while that text is unchanged."""

    person: Person
    strategies: list[Strategy]
    fields: dict[str, str]  # person:{id}
    texts: dict[str, str]  # strategy id -> strategy:{id}


def _oldest_first(created: dict[str, float]) -> list[str]:
    """Strategy ids by creation (then id: the order a sorted set kept before)."""
    return sorted(created, key=lambda strategy_id: (created[strategy_id], strategy_id))


# How many strategies a duty reads in one round trip (``RegisterStore.every_strategy``):
# about a third of the CPU of one round trip each; small enough that parsing a chunk holds
# the event loop (and the calls waiting on it) for a millisecond or two, not more.
STRATEGIES_READ_AT_ONCE = 50
STRATEGY_IDS_READ_AT_ONCE = 1000


def _advocate_phones(strategy: Strategy) -> list[str]:
    restriction = strategy.restriction("advocate_only")
    return list(restriction.advocate_phones) if isinstance(restriction, AdvocateOnly) else []


class RegisterStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._create_person = redis.register_script(CREATE_PERSON)
        self._update_person = redis.register_script(lua(UPDATE_PERSON, keys))

    # --- people ------------------------------------------------------------------------------

    async def create_person(self, person: Person, audit: AuditEntry) -> None:
        """Store a new person; raise PhoneTaken if any phone belongs to someone else."""
        flat = [v for pair in person_fields(person).items() for v in pair]
        result = await self._create_person(
            keys=[
                self.keys.person(person.id),
                self.keys.PEOPLE,
                *[self.keys.phone_owner(p) for p in person.phones],
            ],
            args=[person.id, json.dumps(flat), json.dumps(audit_store.audit_arg(self.keys, audit))],
        )
        if result[0] == "conflict":
            raise PhoneTaken(int(result[1]))

    async def read_person(self, person_id: str) -> PersonAsRead | None:
        """A person and all their strategies, as a change to their details is checked
        against; None when there is no such person."""
        fields = cast(dict[str, str], await self.redis.hgetall(self.keys.person(person_id)))
        person = person_from(person_id, [fields.get(name) for name in PERSON_FIELDS])
        if person is None:
            return None
        ids = sorted(_strategy_ids(fields))
        raws = cast(
            list[str | None],
            await self.redis.mget([self.keys.strategy(i) for i in ids]) if ids else [],
        )
        texts = {i: raw for i, raw in zip(ids, raws, strict=True) if raw}
        strategies = [parse_strategy(raw) for raw in texts.values()]
        return PersonAsRead(person, strategies, fields, texts)

    async def update_person(
        self, person: Person, read: PersonAsRead, audit: AuditEntry
    ) -> Literal["updated", "changed", "missing"]:
        """Replace a person's details (read as ``read``), moving the phone index with them;
        "changed" when the person or one of their strategies is no longer as read (nothing
        written); raise PhoneTaken if a new phone belongs to someone else."""
        fields = person_fields(person)
        clear = [*PERSON_FIELDS, ADJUSTMENTS_FIELD]
        old = read.person.phones
        result = await self._update_person(
            keys=[
                self.keys.person(person.id),
                *[self.keys.phone_owner(p) for p in person.phones],
                *[self.keys.phone_owner(p) for p in old if p not in person.phones],
            ],
            args=[
                person.id,
                len(person.phones),
                json_text({"fields": read.fields, "strategies": read.texts}),
                json.dumps(clear),
                json.dumps([v for pair in fields.items() for v in pair]),
                json.dumps(audit_store.audit_arg(self.keys, audit)),
            ],
        )
        if result[0] == "conflict":
            raise PhoneTaken(int(result[1]))
        return cast(Literal["updated", "changed", "missing"], result[0])

    async def get_person(self, person_id: str) -> Person | None:
        values = await self.redis.hmget(self.keys.person(person_id), PERSON_FIELDS)
        return person_from(person_id, cast(list[str | None], values))

    async def person_for_phone(self, e164: str) -> str | None:
        return cast(str | None, await self.redis.get(self.keys.phone_owner(e164)))

    async def list_people(self, offset: int, limit: int) -> tuple[list[Person], int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lrange(self.keys.PEOPLE, offset, offset + limit - 1)
            pipe.llen(self.keys.PEOPLE)
            ids, total = cast(tuple[list[str], int], await pipe.execute())
        if not ids:
            return [], int(total)
        async with self.redis.pipeline(transaction=False) as pipe:
            for person_id in ids:
                pipe.hmget(self.keys.person(person_id), PERSON_FIELDS)
            rows = await pipe.execute()
        people = [person_from(i, row) for i, row in zip(ids, rows, strict=True)]
        return [p for p in people if p is not None], int(total)

    # --- strategies --------------------------------------------------------------------------

    async def get_strategy(self, strategy_id: str) -> Strategy | None:
        raw = cast(str | None, await self.redis.get(self.keys.strategy(strategy_id)))
        return parse_strategy(raw) if raw else None

    async def strategies_of(self, person_id: str) -> list[Strategy]:
        fields = cast(dict[str, str], await self.redis.hgetall(self.keys.person(person_id)))
        return await self._strategies(sorted(_strategy_ids(fields)))

    async def active_strategy_ids(self, person_id: str) -> list[str]:
        """The person's active strategies, oldest first: what the inbound path applies."""
        active = await self.redis.hget(self.keys.person(person_id), ACTIVE_FIELD)
        return cast(str, active or "").split()

    async def _active_created(self, pipe: Pipeline, person_id: str) -> dict[str, float]:
        """Active strategy id -> created epoch, for the person (``pipe`` WATCHes the hash)."""
        active = cast(str, await pipe.hget(self.keys.person(person_id), ACTIVE_FIELD) or "").split()
        if not active:
            return {}
        # Read apart from the transaction: a strategy's creation never changes.
        raws = cast(
            list[str | None], await self.redis.mget([self.keys.strategy(i) for i in active])
        )
        return {
            i: parse_strategy(raw).created_at.timestamp()
            for i, raw in zip(active, raws, strict=True)
            if raw
        }

    async def list_strategies(self, offset: int, limit: int) -> tuple[list[Strategy], int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.lrange(self.keys.STRATEGIES, offset, offset + limit - 1)
            pipe.llen(self.keys.STRATEGIES)
            ids, total = cast(tuple[list[str], int], await pipe.execute())
        return await self._strategies(ids), int(total)

    async def all_strategy_ids(self) -> list[str]:
        return cast(list[str], await self.redis.lrange(self.keys.STRATEGIES, 0, -1))

    async def every_strategy(
        self, chunk: int = STRATEGIES_READ_AT_ONCE, page: int = STRATEGY_IDS_READ_AT_ONCE
    ) -> AsyncIterator[Strategy]:
        """Every strategy, oldest first, for the duties that look at them all: read ``chunk``
        at a time (one MGET each, not a round trip each), each chunk just before it is used,
        so a long run acts on what is stored then, not on what was stored when it started.
        The ids are read a page at a time too (``list_in_pages``)."""
        async for ids in list_in_pages(self.redis, self.keys.STRATEGIES, page):
            for start in range(0, len(ids), chunk):
                for strategy in await self._strategies(ids[start : start + chunk]):
                    yield strategy

    async def _strategies(self, ids: Sequence[str]) -> list[Strategy]:
        if not ids:
            return []
        raws = cast(list[str | None], await self.redis.mget([self.keys.strategy(i) for i in ids]))
        return [parse_strategy(r) for r in raws if r]

    async def create_strategy(
        self, strategy: Strategy, audit: AuditEntry, checked_against: Person | None = None
    ) -> None:
        await self._store_strategy(None, strategy, audit, checked_against)

    async def replace_strategy(
        self,
        expected_version: int,
        new: Strategy,
        audit: AuditEntry,
        checked_against: Person | None = None,
    ) -> bool:
        """Store ``new`` only if the stored version is still ``expected_version``.

        Optimistic concurrency (WATCH/MULTI): of two revisions of the same version, one
        is stored and the other gets False, so no update is lost.
        """
        return await self._store_strategy(expected_version, new, audit, checked_against)

    async def _store_strategy(
        self,
        expected_version: int | None,
        new: Strategy,
        audit: AuditEntry,
        checked_against: Person | None,
    ) -> bool:
        """Store a new strategy (``expected_version`` None) or a new version of one, with
        its person's index, in one transaction. The strategy and the person's hash are
        WATCHed: when another strategy of the person was written meanwhile, read again and
        retry; when this one was, False (unless it is new). ``checked_against``: the person
        as the strategy was checked against them; raise PersonChanged if they are not."""
        strategy_key, person_key = self.keys.strategy(new.id), self.keys.person(new.person_id)
        for _attempt in range(_ATTEMPTS):
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(strategy_key, person_key)
                    raw = cast(str | None, await pipe.get(strategy_key))
                    old = parse_strategy(raw) if raw else None
                    if expected_version is not None and (
                        old is None or old.version != expected_version
                    ):
                        return False
                    if checked_against is not None:
                        held = cast(list[str | None], await pipe.hmget(person_key, PERSON_FIELDS))
                        if person_from(new.person_id, held) != checked_against:
                            raise PersonChanged(new.person_id)
                    active = await self._active_created(pipe, new.person_id)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    self._write_strategy(pipe, old, new, active)
                    if expected_version is None:
                        pipe.rpush(self.keys.STRATEGIES, new.id)
                    audit_store.add(pipe, self.keys, audit)
                    await pipe.execute()
                    return True
                except WatchError:
                    continue
        raise WatchError(f"strategy {new.id}: its person's index kept changing")

    def _write_strategy(
        self, pipe: Pipeline, old: Strategy | None, new: Strategy, active: dict[str, float]
    ) -> None:
        """Queue the writes of ``new`` (replacing ``old``) and of its person's index, given
        the person's active strategies before (id -> created epoch; changed in place)."""
        pipe.set(self.keys.strategy(new.id), strategy_text(new))
        person_key = self.keys.person(new.person_id)
        active.pop(new.id, None)
        if new.status is StrategyStatus.active:
            active[new.id] = new.created_at.timestamp()
            if old is not None and old.status is not StrategyStatus.active:
                pipe.hdel(person_key, PAST_FIELD + new.id)
        else:
            pipe.hset(person_key, PAST_FIELD + new.id, new.status.value)
        if active:
            # Oldest first: "the first strategy's SPOC" is the oldest one's.
            pipe.hset(person_key, ACTIVE_FIELD, " ".join(_oldest_first(active)))
        else:
            pipe.hdel(person_key, ACTIVE_FIELD)
        created = {new.id: new.created_at.timestamp()}
        for phone in set(_advocate_phones(old) if old else []) - set(_advocate_phones(new)):
            pipe.zrem(self.keys.advocate(phone), new.id)
        for phone in _advocate_phones(new):
            if new.status is StrategyStatus.active:
                pipe.zadd(self.keys.advocate(phone), created)
            else:
                pipe.zrem(self.keys.advocate(phone), new.id)

    # --- audit -------------------------------------------------------------------------------

    async def audit(self, entry: AuditEntry) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            audit_store.add(pipe, self.keys, entry)
            await pipe.execute()

    async def audit_of_person(self, person_id: str) -> list[dict[str, str]]:
        """The person's audit entries, oldest first (subject access)."""
        lines = await self.redis.lrange(self.keys.audit_person(person_id), 0, -1)
        return audit_store.person_entries(person_id, cast(list[str], lines))

    async def audit_log(self, count: int) -> list[dict[str, str]]:
        entries = await self.redis.xrevrange(self.keys.AUDIT, count=count) or []
        return [cast(dict[str, str], fields) for _id, fields in entries]

    # --- bulk import -------------------------------------------------------------------------

    async def import_batch(
        self, people: Sequence[Person], strategies: Sequence[Strategy], audits: Sequence[AuditEntry]
    ) -> list[str]:
        """Store every person and strategy in one transaction, or nothing.

        Returns the phones already held by someone else (nothing is stored then). The phone
        keys are WATCHed, so a phone claimed concurrently also aborts the whole batch.
        """
        phone_keys = [self.keys.phone_owner(p) for person in people for p in person.phones]
        # Strategies of people stored before (not in this batch) join their index.
        earlier = sorted({s.person_id for s in strategies} - {p.id for p in people})
        async with self.redis.pipeline(transaction=True) as pipe:
            if phone_keys or earlier:
                await pipe.watch(*phone_keys, *[self.keys.person(i) for i in earlier])
            active = {i: await self._active_created(pipe, i) for i in earlier}
            if phone_keys:
                # Read after the WATCH (so a later claim still aborts the batch), on the
                # client rather than the watching pipeline: a Cluster transaction takes
                # single-key commands only, and every phone key shares the office's slot.
                owners = await self.redis.mget(phone_keys)
                taken = [
                    key.removeprefix(self.keys.phone_owner(""))
                    for key, owner in zip(phone_keys, owners, strict=True)
                    if owner is not None
                ]
                if taken:
                    await pipe.unwatch()  # type: ignore[no-untyped-call]
                    return taken
            pipe.multi()  # type: ignore[no-untyped-call]
            for person in people:
                pipe.hset(self.keys.person(person.id), mapping=person_fields(person))  # type: ignore[arg-type]
                for phone in person.phones:
                    pipe.set(self.keys.phone_owner(phone), person.id)
            if people:
                pipe.rpush(self.keys.PEOPLE, *[person.id for person in people])
            for strategy in strategies:
                self._write_strategy(
                    pipe, None, strategy, active.setdefault(strategy.person_id, {})
                )
            if strategies:
                pipe.rpush(self.keys.STRATEGIES, *[strategy.id for strategy in strategies])
            for entry in audits:
                audit_store.add(pipe, self.keys, entry)
            await pipe.execute()
        return []
