"""Moving a register stored by an earlier CallGuard to the current layout (``callguard
migrate``; ``callguard demo`` does it by itself, ``serve`` refuses to start until it is done).

Layout 1 (CallGuard before 2026-11-28 evening), per person: ``person:{id}`` a JSON STRING,
``person:{id}:adj`` a STRING, ``person:{id}:active`` a ZSET, ``person:{id}:strategies`` a
SET, ``audit:person:{id}`` a STREAM; per strategy ``strategy:{id}`` one JSON line and
``strategy:{id}:screen``; ``people`` and ``strategies`` ZSETs by creation.
Layout 2: a person is one HASH, a strategy two JSON lines, a person's audit a LIST,
``people`` and ``strategies`` LISTs in creation order.
Layout 3 (``keys.py``): layout 2, and each file note in the index of the person the call was
from (``notes:person:{id}``), so a person's page and their subject access export read their
own notes, not every note.

Each person moves in one transaction (WATCHing their key: a person already moved, or
changed meanwhile, is looked at again), so a migration stopped half-way is simply run
again; the two indexes move last, then ``schema`` records layout 2. From layout 2, every
note is added to its person's index (adding one twice changes nothing, so this too is run
again if stopped), then ``schema`` records layout 3. Phones, advocates, calls and everything
else are the same in every layout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import WatchError

from callguard.domain.fields import STORED
from callguard.domain.models import Person, Strategy, StrategyStatus
from callguard.domain.notes import FileNote
from callguard.store import audit as audit_store
from callguard.store.keys import Keys
from callguard.store.stored_forms import (
    ACTIVE_FIELD,
    PAST_FIELD,
    parse_strategy,
    person_fields,
    strategy_text,
)

LAYOUT = 3
_CHUNK = 10_000
_NOTES_CHUNK = 1_000


class LayoutError(Exception):
    """The stored layout is not one this version reads or can migrate."""


@dataclass
class Migrated:
    people: int = 0
    strategies: int = 0
    audit_entries: int = 0
    file_notes: int = 0


async def stored_layout(redis: Redis, keys: Keys) -> int | None:
    """The layout of the stored register: None when there is none yet. The indexes' types
    decide between layouts 1 and 2 (they differ there), whatever ``schema`` says: a layout-1
    copy made over a store that once recorded layout 2 is still layout 1."""
    kinds = {await redis.type(keys.PEOPLE), await redis.type(keys.STRATEGIES)}
    if "zset" in kinds:
        return 1
    recorded = await redis.get(keys.SCHEMA)
    if recorded is not None:
        if not str(recorded).isdigit():
            raise LayoutError(f"the register's layout is recorded as {str(recorded)[:20]!r}")
        return int(recorded)
    if "list" in kinds:
        return LAYOUT
    return None


async def ensure_current(redis: Redis, keys: Keys) -> int | None:
    """The layout found; records this one on an empty or current store. LayoutError for one
    that needs ``callguard migrate`` or is newer than this version."""
    found = await stored_layout(redis, keys)
    if found is None or found == LAYOUT:
        await redis.set(keys.SCHEMA, str(LAYOUT))
        return found
    if found < LAYOUT:
        raise LayoutError(
            f"the register is stored in layout {found}, from an earlier CallGuard: stop every "
            "replica, run `callguard migrate` once, then start them again"
        )
    raise LayoutError(f"the register is stored in layout {found}, from a newer CallGuard")


async def migrate(
    redis: Redis, keys: Keys, progress: Callable[[int, int], None] | None = None
) -> Migrated:
    """Move a register of an earlier layout to this one (1 to 2 to 3); on this layout,
    bring each strategy's screening line up to date (nothing to do on an empty store)."""
    done = Migrated()
    found = await stored_layout(redis, keys)
    if found == 1:
        while True:
            person_ids = cast(list[str], await redis.zrange(keys.PEOPLE, 0, -1))
            for index, person_id in enumerate(person_ids, 1):
                await _migrate_person(redis, keys, person_id, done)
                if progress is not None:
                    progress(index, len(person_ids))
            if await _move_indexes(redis, keys, len(person_ids)):
                break
            # Someone was added meanwhile (an old replica still running): migrate them too.
        found = 2
    if found == 2:
        while True:
            indexed, seen = await _index_notes_by_person(redis, keys)
            done.file_notes += indexed
            if await _record_layout_3(redis, keys, seen):
                return done
            # A note was written meanwhile (an old replica still running): index again.
    await ensure_current(redis, keys)
    await _refresh_screens(redis, keys, done)
    return done


async def _index_notes_by_person(redis: Redis, keys: Keys) -> tuple[int, list[str]]:
    """Add every file note to its person's index (layout 2 to 3): the notes newly indexed,
    and the ids of every note seen."""
    indexed = 0
    entries = cast(list[tuple[str, float]], await redis.zrange(keys.NOTES, 0, -1, withscores=True))
    for start in range(0, len(entries), _NOTES_CHUNK):
        chunk = entries[start : start + _NOTES_CHUNK]
        raws = cast(list[str | None], await redis.mget([keys.note(i) for i, _ in chunk]))
        async with redis.pipeline(transaction=False) as pipe:
            for (note_id, score), raw in zip(chunk, raws, strict=True):
                person_id = FileNote.model_validate_json(raw).person_id if raw else None
                if person_id:
                    pipe.zadd(keys.notes_by_person(person_id), {note_id: score})
            indexed += sum(cast(list[int], await pipe.execute()))
    return indexed, [note_id for note_id, _score in entries]


async def _record_layout_3(redis: Redis, keys: Keys, seen: list[str]) -> bool:
    """``schema`` to 3, in one transaction, if the notes are still those indexed; False
    (nothing done) if one was written or removed since."""
    async with redis.pipeline(transaction=True) as pipe:
        try:
            await pipe.watch(keys.NOTES)
            if cast(list[str], await pipe.zrange(keys.NOTES, 0, -1)) != seen:
                return False
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.set(keys.SCHEMA, str(LAYOUT))
            await pipe.execute()
        except WatchError:
            return False
    return True


async def _move_indexes(redis: Redis, keys: Keys, people_seen: int) -> bool:
    """The two indexes to lists and ``schema`` to 2, in one transaction; False (nothing
    done) if people were added since they were migrated."""
    async with redis.pipeline(transaction=True) as pipe:
        try:
            await pipe.watch(keys.PEOPLE, keys.STRATEGIES)
            if await pipe.zcard(keys.PEOPLE) != people_seen:
                return False
            moved = {}
            for key in (keys.PEOPLE, keys.STRATEGIES):
                if await pipe.type(key) == "zset":
                    moved[key] = cast(list[str], await pipe.zrange(key, 0, -1))
            pipe.multi()  # type: ignore[no-untyped-call]
            for key, ids in moved.items():
                pipe.delete(key)
                for start in range(0, len(ids), _CHUNK):
                    pipe.rpush(key, *ids[start : start + _CHUNK])
            pipe.set(keys.SCHEMA, "2")
            await pipe.execute()
        except WatchError:
            return False
    return True


async def _migrate_person(redis: Redis, keys: Keys, person_id: str, done: Migrated) -> None:
    person_key = keys.person(person_id)
    old_keys = [keys.person(person_id) + suffix for suffix in (":adj", ":active", ":strategies")]
    audit_key = keys.audit_person(person_id)
    while True:
        async with redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(person_key, audit_key, *old_keys)
                if await pipe.type(person_key) != "string":
                    return  # moved already (or gone)
                raw = cast(str, await pipe.get(person_key))
                person = Person.model_validate_json(raw, context=STORED)
                strategy_ids = sorted(cast(set[str], await pipe.smembers(old_keys[2])))
                strategies = []
                for strategy_id in strategy_ids:
                    text = cast(str | None, await pipe.get(keys.strategy(strategy_id)))
                    if text is not None:
                        strategies.append(Strategy.model_validate_json(text, context=STORED))
                entries = cast(list[tuple[str, dict[str, str]]], await pipe.xrange(audit_key) or [])
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.delete(person_key, audit_key, *old_keys)
                fields = person_fields(person)
                active = sorted(
                    (s for s in strategies if s.status is StrategyStatus.active),
                    key=lambda s: (s.created_at.timestamp(), s.id),
                )
                if active:
                    fields[ACTIVE_FIELD] = " ".join(s.id for s in active)
                for strategy in strategies:
                    if strategy.status is not StrategyStatus.active:
                        fields[PAST_FIELD + strategy.id] = strategy.status.value
                    pipe.set(keys.strategy(strategy.id), strategy_text(strategy))
                    pipe.delete(keys.legacy_strategy_screen(strategy.id))
                pipe.hset(person_key, mapping=fields)  # type: ignore[arg-type]
                lines = [audit_store.line_from_fields(f) for _id, f in entries]
                if lines:
                    pipe.rpush(audit_key, *lines)
                await pipe.execute()
            except WatchError:
                continue  # changed meanwhile: look again
        done.people += 1
        done.strategies += len(strategies)
        done.audit_entries += len(entries)
        return


async def _refresh_screens(redis: Redis, keys: Keys, done: Migrated) -> None:
    """Rewrite each strategy whose stored text is not what this version writes: a screening
    line from before notice was tracked (§3.6) lacks whether the person was told in
    writing, so a refusal would not say so. Each strategy in its own WATCHed transaction,
    so a write meanwhile is looked at again; run again, it changes nothing."""
    for strategy_id in cast(list[str], await redis.lrange(keys.STRATEGIES, 0, -1)):
        key = keys.strategy(strategy_id)
        while True:
            async with redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = cast(str | None, await pipe.get(key))
                    current = strategy_text(parse_strategy(raw)) if raw else raw
                    if current == raw:
                        break
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, cast(str, current))
                    await pipe.execute()
                    done.strategies += 1
                    break
                except WatchError:
                    continue
