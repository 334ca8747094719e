"""The register in Redis: people, contact strategies, and their audit trail."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import cast

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from callguard.domain.audit import AuditEntry
from callguard.domain.models import AdvocateOnly, Person, Strategy, StrategyStatus
from callguard.store import keys
from callguard.store.scripts import CREATE_PERSON


class PhoneTaken(Exception):
    def __init__(self, index: int) -> None:
        super().__init__(f"phone {index} is held by another person")
        self.index = index


def screen_json(strategy: Strategy) -> str:
    """The compact form the inbound path reads (see ``callguard.domain.calls.ScreeningEntry``)."""
    return json.dumps(
        {
            "strategy_id": strategy.id,
            "person_id": strategy.person_id,
            "matter_ref": strategy.matter_ref,
            "restrictions": [r.model_dump(mode="json") for r in strategy.restrictions],
        }
    )


def _advocate_phones(strategy: Strategy) -> list[str]:
    restriction = strategy.restriction("advocate_only")
    return list(restriction.advocate_phones) if isinstance(restriction, AdvocateOnly) else []


class RegisterStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._create_person = redis.register_script(CREATE_PERSON)

    # --- people ------------------------------------------------------------------------------

    async def create_person(self, person: Person, audit: AuditEntry) -> None:
        """Store a new person; raise PhoneTaken if any phone belongs to someone else."""
        adjustments = json.dumps([a.kind.value for a in person.reasonable_adjustments])
        result = await self._create_person(
            keys=[
                keys.person(person.id),
                keys.person_adjustments(person.id),
                keys.PEOPLE,
                keys.AUDIT,
                keys.audit_person(person.id),
                *[keys.phone_owner(p) for p in person.phones],
            ],
            args=[
                person.id,
                person.model_dump_json(),
                adjustments,
                person.created_at.timestamp(),
                audit.flat_json(),
            ],
        )
        if result[0] == "conflict":
            raise PhoneTaken(int(result[1]))

    async def get_person(self, person_id: str) -> Person | None:
        raw = await self.redis.get(keys.person(person_id))
        return Person.model_validate_json(raw) if raw else None

    async def person_for_phone(self, e164: str) -> str | None:
        return cast(str | None, await self.redis.get(keys.phone_owner(e164)))

    async def list_people(self, offset: int, limit: int) -> tuple[list[Person], int]:
        ids = cast(list[str], await self.redis.zrange(keys.PEOPLE, offset, offset + limit - 1))
        total = await self.redis.zcard(keys.PEOPLE)
        raws = await self.redis.mget([keys.person(i) for i in ids]) if ids else []
        return [Person.model_validate_json(r) for r in raws if r], int(total)

    # --- strategies --------------------------------------------------------------------------

    async def get_strategy(self, strategy_id: str) -> Strategy | None:
        raw = await self.redis.get(keys.strategy(strategy_id))
        return Strategy.model_validate_json(raw) if raw else None

    async def strategies_of(self, person_id: str) -> list[Strategy]:
        ids = sorted(cast(set[str], await self.redis.smembers(keys.person_strategies(person_id))))
        return await self._strategies(ids)

    async def list_strategies(self, offset: int, limit: int) -> tuple[list[Strategy], int]:
        ids = cast(list[str], await self.redis.zrange(keys.STRATEGIES, offset, offset + limit - 1))
        total = await self.redis.zcard(keys.STRATEGIES)
        return await self._strategies(ids), int(total)

    async def all_strategy_ids(self) -> list[str]:
        return cast(list[str], await self.redis.zrange(keys.STRATEGIES, 0, -1))

    async def _strategies(self, ids: Sequence[str]) -> list[Strategy]:
        if not ids:
            return []
        raws = await self.redis.mget([keys.strategy(i) for i in ids])
        return [Strategy.model_validate_json(r) for r in raws if r]

    async def create_strategy(self, strategy: Strategy, audit: AuditEntry) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            self._write_strategy(pipe, None, strategy)
            pipe.zadd(keys.STRATEGIES, {strategy.id: strategy.created_at.timestamp()})
            pipe.sadd(keys.person_strategies(strategy.person_id), strategy.id)
            self._audit(pipe, audit)
            await pipe.execute()

    async def replace_strategy(
        self, expected_version: int, new: Strategy, audit: AuditEntry
    ) -> bool:
        """Store ``new`` only if the stored version is still ``expected_version``.

        Optimistic concurrency (WATCH/MULTI): of two revisions of the same version, one
        is stored and the other gets False, so no update is lost.
        """
        key = keys.strategy(new.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(key)
                raw = await pipe.get(key)
                if raw is None:
                    return False
                old = Strategy.model_validate_json(raw)
                if old.version != expected_version:
                    return False
                pipe.multi()  # type: ignore[no-untyped-call]
                self._write_strategy(pipe, old, new)
                self._audit(pipe, audit)
                await pipe.execute()
            except WatchError:
                return False
        return True

    def _write_strategy(self, pipe: Pipeline, old: Strategy | None, new: Strategy) -> None:
        pipe.set(keys.strategy(new.id), new.model_dump_json())
        pipe.set(keys.strategy_screen(new.id), screen_json(new))
        # Sorted by creation, so "the first strategy's SPOC" is the oldest one's.
        active = new.status is StrategyStatus.active
        created = {new.id: new.created_at.timestamp()}
        if active:
            pipe.zadd(keys.person_active_strategies(new.person_id), created)
        else:
            pipe.zrem(keys.person_active_strategies(new.person_id), new.id)
        for phone in set(_advocate_phones(old) if old else []) - set(_advocate_phones(new)):
            pipe.zrem(keys.advocate(phone), new.id)
        for phone in _advocate_phones(new):
            if active:
                pipe.zadd(keys.advocate(phone), created)
            else:
                pipe.zrem(keys.advocate(phone), new.id)

    # --- audit -------------------------------------------------------------------------------

    def _audit(self, pipe: Pipeline, entry: AuditEntry) -> None:
        fields = entry.fields()
        pipe.xadd(keys.AUDIT, fields)  # type: ignore[arg-type]
        if entry.person_id:
            pipe.xadd(keys.audit_person(entry.person_id), fields)  # type: ignore[arg-type]

    async def audit(self, entry: AuditEntry) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            self._audit(pipe, entry)
            await pipe.execute()

    async def audit_of_person(self, person_id: str) -> list[dict[str, str]]:
        entries = await self.redis.xrange(keys.audit_person(person_id)) or []
        return [cast(dict[str, str], fields) for _id, fields in entries]

    async def audit_log(self, count: int) -> list[dict[str, str]]:
        entries = await self.redis.xrevrange(keys.AUDIT, count=count) or []
        return [cast(dict[str, str], fields) for _id, fields in entries]

    # --- bulk import -------------------------------------------------------------------------

    async def import_batch(
        self, people: Sequence[Person], strategies: Sequence[Strategy], audits: Sequence[AuditEntry]
    ) -> list[str]:
        """Store every person and strategy in one transaction, or nothing.

        Returns the phones already held by someone else (nothing is stored then). The phone
        keys are WATCHed, so a phone claimed concurrently also aborts the whole batch.
        """
        phone_keys = [keys.phone_owner(p) for person in people for p in person.phones]
        async with self.redis.pipeline(transaction=True) as pipe:
            if phone_keys:
                await pipe.watch(*phone_keys)
                owners = await pipe.mget(phone_keys)
                taken = [
                    key.removeprefix(keys.phone_owner(""))
                    for key, owner in zip(phone_keys, owners, strict=True)
                    if owner is not None
                ]
                if taken:
                    await pipe.unwatch()  # type: ignore[no-untyped-call]
                    return taken
            pipe.multi()  # type: ignore[no-untyped-call]
            for person in people:
                pipe.set(keys.person(person.id), person.model_dump_json())
                pipe.set(
                    keys.person_adjustments(person.id),
                    json.dumps([a.kind.value for a in person.reasonable_adjustments]),
                )
                pipe.zadd(keys.PEOPLE, {person.id: person.created_at.timestamp()})
                for phone in person.phones:
                    pipe.set(keys.phone_owner(phone), person.id)
            for strategy in strategies:
                self._write_strategy(pipe, None, strategy)
                pipe.zadd(keys.STRATEGIES, {strategy.id: strategy.created_at.timestamp()})
                pipe.sadd(keys.person_strategies(strategy.person_id), strategy.id)
            for entry in audits:
                self._audit(pipe, entry)
            await pipe.execute()
        return []
