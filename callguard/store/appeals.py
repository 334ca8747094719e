"""Appeals in Redis: ``appeal:{id}`` JSON, indexed by recorded time overall and per strategy.

A decision replaces the appeal only if it is still as it was read (WATCH/MULTI on its key),
so of two decisions sent at once one is stored and the other is told it came too late.
"""

from __future__ import annotations

from typing import cast

from redis.asyncio import Redis
from redis.exceptions import WatchError

from callguard.domain.appeals import Appeal
from callguard.domain.audit import AuditEntry
from callguard.store import audit as audit_store
from callguard.store.keys import Keys
from callguard.store.readable import all_of, read_each, read_one


class AppealStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def create(self, appeal: Appeal, audit: AuditEntry) -> None:
        score = {appeal.id: appeal.recorded_at.timestamp()}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.appeal(appeal.id), appeal.model_dump_json())
            pipe.zadd(self.keys.APPEALS, score)
            pipe.zadd(self.keys.appeals_of_strategy(appeal.strategy_id), score)
            audit_store.add(pipe, self.keys, audit)
            await pipe.execute()

    async def get(self, appeal_id: str) -> Appeal | None:
        raw = await self.redis.get(self.keys.appeal(appeal_id))
        return read_one("the appeal", appeal_id, raw, Appeal.model_validate_json)

    async def replace(self, old: Appeal, new: Appeal, audit: AuditEntry) -> bool:
        """Store ``new`` only if the stored appeal is still ``old``; False otherwise."""
        key = self.keys.appeal(new.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(key)
                raw = await pipe.get(key)
                if raw is None or Appeal.model_validate_json(raw) != old:
                    return False
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(key, new.model_dump_json())
                audit_store.add(pipe, self.keys, audit)
                await pipe.execute()
                return True
            except WatchError:
                return False

    async def all(self) -> list[Appeal]:
        """Every appeal, newest first. Raises ``Unreadable`` if any is stored in a form this
        release cannot read (``store.readable``); a list shown to people takes ``read_all``."""
        return all_of("appeals", await self.read_all())

    async def read_all(self) -> tuple[list[Appeal], list[str]]:
        """``all``'s appeals that this release can read, and the ids of the others."""
        ids = cast(list[str], await self.redis.zrevrange(self.keys.APPEALS, 0, -1))
        return await self._many(ids)

    async def of_strategy(self, strategy_id: str) -> list[Appeal]:
        """A strategy's appeals, oldest first; ``Unreadable`` as ``all``."""
        return all_of("appeals", await self.read_of_strategy(strategy_id))

    async def read_of_strategy(self, strategy_id: str) -> tuple[list[Appeal], list[str]]:
        """``of_strategy``'s appeals that this release can read, and the ids of the others."""
        ids = cast(
            list[str], await self.redis.zrange(self.keys.appeals_of_strategy(strategy_id), 0, -1)
        )
        return await self._many(ids)

    async def _many(self, ids: list[str]) -> tuple[list[Appeal], list[str]]:
        if not ids:
            return [], []
        raws = cast(list[str | None], await self.redis.mget([self.keys.appeal(i) for i in ids]))
        return read_each("the appeal", zip(ids, raws, strict=True), Appeal.model_validate_json)
