"""Call records in Redis: the inbound-call round trips, updates, and the call log."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from redis.asyncio import Redis

from callguard.domain.caller_match import CallerMatch, Decision, QuotaClaim, ScreeningEntry
from callguard.domain.fields import STORED
from callguard.domain.models import AdjustmentKind
from callguard.domain.records import STATUS_PROGRESS, TERMINAL_STATUSES, CallEvent, CallRecord
from callguard.store.call_plans import (
    PlanLines,
    RepeatCounter,
    kept_decision,
    plan_lines,
    record_lines,
    record_plan,
)
from callguard.store.call_scripts import (
    LOOKUP_CALLER,
    RECORD_CALL,
    RECORD_IF_UNCHANGED,
    REFRESH_KEPT_REFUSAL,
    SCREEN_CALL,
)
from callguard.store.call_update_scripts import (
    ADD_WARNING,
    DEGRADE_CALL,
    DROP_HELD,
    PLAYED_WARNING,
    UPDATE_CALL,
)
from callguard.store.keys import HELD_UPDATE_TTL_S, KEPT_REFUSAL_TTL_S, Keys
from callguard.store.readable import all_of, read_each, read_one
from callguard.store.script_sender import ScriptSender
from callguard.store.scripts import lua


@dataclass(frozen=True)
class Existing:
    record: CallRecord


@dataclass(frozen=True)
class Written:
    person_id: str | None
    # For a call written only if its lookup still stood: the lookup's fingerprint after it.
    fingerprint: str = ""


@dataclass(frozen=True)
class Matched:
    match: CallerMatch
    usage: dict[str, dict[str, int]]
    # A digest of what the lookup found (scripts' ``fingerprint``): a decision made on this
    # match and usage is written only while the stored lookup still has it.
    fingerprint: str = ""


@dataclass(frozen=True)
class Kept:
    """A refusal kept for the caller's lookup as it now is was used: the call's record is
    written."""

    decision: Decision


@dataclass(frozen=True)
class Unmatched:
    """No active strategy applies to the caller any more: nothing was written."""


@dataclass(frozen=True)
class QuotaFull:
    usage: dict[str, dict[str, int]]


def _decode_hash(flat: Sequence[str] | Mapping[str, str]) -> dict[str, Any]:
    if isinstance(flat, Mapping):
        items = list(flat.items())
    else:
        items = list(zip(flat[::2], flat[1::2], strict=True))
    return {name: json.loads(value) for name, value in items}


def _usage(flat: Sequence[Any]) -> dict[str, dict[str, int]]:
    usage: dict[str, dict[str, int]] = {}
    for strategy_id, counts in zip(flat[::2], flat[1::2], strict=True):
        usage[strategy_id] = {p: int(n) for p, n in zip(counts[::2], counts[1::2], strict=True)}
    return usage


# Entries already read, by their stored text and role: a registered person's calls read
# the same strategy text again and again, and an entry (frozen) is the same for the same
# text. A strategy written anew has new text, so is read afresh. Bounded: cleared when full.
_ENTRIES: dict[tuple[str, str], ScreeningEntry] = {}
_ENTRIES_KEPT = 1024
# UPDATE_CALL's ARGV[6]: how far along a call is by each status.
_PROGRESS = json.dumps(STATUS_PROGRESS)


def _entries(screens: Sequence[str], role: str) -> tuple[ScreeningEntry, ...]:
    """Strategies' screening fields (``store.stored_forms.screen_json``: id, person_id,
    matter_ref, restrictions) as the entries the decision reads."""
    entries = []
    for raw in screens:
        entry = _ENTRIES.get((raw, role))
        if entry is None:
            screen = json.loads(raw)
            screen["strategy_id"] = screen.pop("id")
            entry = ScreeningEntry.model_validate({**screen, "role": role}, context=STORED)
            if len(_ENTRIES) >= _ENTRIES_KEPT:
                _ENTRIES.clear()
            _ENTRIES[(raw, role)] = entry
        entries.append(entry)
    return tuple(entries)


def _matched(phone: str, found: Sequence[Any]) -> Matched:
    """A lookup's result: person_id, adjustments, own screens, advocate screens, quotas
    and, from the scripts that give one, the fingerprint."""
    person_id, adjustments, own, adv, quotas = found[:5]
    entries = _entries(own, "person") + _entries(adv, "advocate")
    match = CallerMatch(
        phone=phone,
        # An advocate's number belongs to no one here: the call is on the person's behalf.
        person_id=person_id or entries[0].person_id,
        adjustments=tuple(AdjustmentKind(a) for a in json.loads(adjustments)),
        entries=entries,
    )
    return Matched(match, _usage(quotas), found[5] if len(found) > 5 else "")


def _record_of(stored: tuple[dict[str, str], list[str]]) -> CallRecord:
    """A call record from its hash's fields and its warnings' JSON, as ``read_many`` reads."""
    fields, warnings = stored
    return CallRecord.model_validate(
        {**_decode_hash(fields), "warnings": [json.loads(w) for w in warnings]}
    )


# The longest a warning is counted as being played (a process that died while playing one
# leaves the count; ending the call waits at most this long for it).
WARNING_PLAYING_TTL_S = 30


class CallStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._screen = redis.register_script(lua(SCREEN_CALL, keys))
        self._record = redis.register_script(lua(RECORD_CALL, keys))
        self._record_if_unchanged = redis.register_script(lua(RECORD_IF_UNCHANGED, keys))
        self._update = redis.register_script(lua(UPDATE_CALL, keys))
        self._lookup = redis.register_script(lua(LOOKUP_CALLER, keys))
        self._degrade = redis.register_script(lua(DEGRADE_CALL, keys))
        self._drop_held = redis.register_script(lua(DROP_HELD, keys))
        self._add_warning = redis.register_script(lua(ADD_WARNING, keys))
        self._played_warning = redis.register_script(lua(PLAYED_WARNING, keys))
        self._refresh_kept = redis.register_script(lua(REFRESH_KEPT_REFUSAL, keys))
        # The two scripts of every inbound call, sent on connections kept for them.
        self.sender = ScriptSender(redis)

    async def screen(
        self, call_sid: str, phone: str | None, unrestricted: PlanLines
    ) -> Existing | Written | Kept | Matched:
        """Round trip 1: a repeated CallSid, or no strategy (the ``unrestricted`` record
        written), or a refusal kept for the caller's lookup (its record written), or a
        match."""
        number = phone or ""
        keys = self.keys
        result = await self.sender.run(
            self._screen,
            [
                keys.call(call_sid),
                keys.phone_owner(number),
                keys.advocate(number),
                keys.kept_refusal(number),
            ],
            [unrestricted],
        )
        kind = result[0]
        if kind == "existing":
            return Existing(await self._with_warnings(call_sid, _decode_hash(result[1])))
        if kind == "recorded":
            return Written(None)
        if kind == "kept":
            try:
                return Kept(kept_decision(result[1], result[2]))
            except ValueError:
                # A copy that cannot be read (none should: its form is checked) is not
                # used again: this call fails open, the next is decided afresh.
                await self.redis.delete(keys.kept_refusal(number))
                raise
        return _matched(number, result[1:])

    async def record_if_unchanged(
        self, call_sid: str, phone: str, fingerprint: str, plan: PlanLines, keep: str = ""
    ) -> Existing | Written | Matched | Unmatched:
        """Write a matched caller's call, decided on the lookup with ``fingerprint``, only if
        the lookup still finds the same (scripts.RECORD_IF_UNCHANGED); if not, the lookup as
        it is now, to decide again on. ``Written.fingerprint``: the lookup's after the write.
        ``keep``: the refusal to keep for the next calls (``call_plans.kept_refusal_text``),
        kept with the call's record."""
        keys = self.keys
        result = await self.sender.run(
            self._record_if_unchanged,
            [
                keys.call(call_sid),
                keys.phone_owner(phone),
                keys.advocate(phone),
                keys.kept_refusal(phone),
            ],
            [fingerprint, plan, keep, KEPT_REFUSAL_TTL_S],
        )
        kind = result[0]
        if kind == "recorded":
            return Written(None, result[1])
        if kind == "match":
            return _matched(phone, result[1:])
        if kind == "existing":
            return Existing(await self._with_warnings(call_sid, _decode_hash(result[1])))
        return Unmatched()

    async def lookup(self, phone: str) -> tuple[CallerMatch | None, dict[str, dict[str, int]]]:
        """Who the number belongs to and their usage, changing nothing (for previews)."""
        matched = await self.matched(phone)
        return (matched.match, matched.usage) if matched else (None, {})

    async def matched(self, phone: str) -> Matched | None:
        """The lookup a call from ``phone`` would get now, with its fingerprint; None when
        the number is neither a person's nor an advocate's. Changes nothing."""
        result = await self._lookup(keys=[self.keys.phone_owner(phone), self.keys.advocate(phone)])
        if not result[0] and not result[3]:
            return None
        return _matched(phone, result)

    async def refresh_kept(self, phone: str, fingerprint: str, keep: str) -> bool:
        """Replace the refusal kept for calls from ``phone`` with ``keep``
        (``call_plans.kept_refusal_text``), decided on the lookup with ``fingerprint``: only
        if one is kept and the lookup still has it."""
        replaced = await self._refresh_kept(
            keys=[
                self.keys.phone_owner(phone),
                self.keys.advocate(phone),
                self.keys.kept_refusal(phone),
            ],
            args=[fingerprint, keep],
        )
        return bool(replaced)

    async def forget_refusal(self, phone: str) -> None:
        """No refusal kept for ``phone`` (its lookup now gives another answer)."""
        await self.redis.delete(self.keys.kept_refusal(phone))

    async def record(self, plan: str, call_sid: str) -> Existing | Written | QuotaFull:
        """Round trip 2 for matched callers: count quotas and write the record, atomically.
        ``plan``: ``record_lines``, or ``record_plan``'s JSON (as spooled: a JSON object,
        where the lines start with a call SID)."""
        lines = plan_lines(json.loads(plan)) if plan.startswith("{") else plan
        result = await self._record(keys=[self.keys.call(call_sid)], args=[lines])
        kind = result[0]
        if kind == "existing":
            return Existing(await self._with_warnings(call_sid, _decode_hash(result[1])))
        if kind == "full":
            counts = result[1]
            usage: dict[str, dict[str, int]] = {}
            prefix = self.keys.quota("")
            for key, period, count in zip(counts[::3], counts[1::3], counts[2::3], strict=True):
                usage.setdefault(key.removeprefix(prefix), {})[period] = int(count)
            return QuotaFull(usage)
        return Written(None)

    async def degrade(self, degraded_plan: str, call_sid: str) -> bool:
        """Make an existing record say the fail-open path answered the call, if that answer
        was the last given (see scripts.DEGRADE_CALL); True when the record changed."""
        changed = await self._degrade(
            keys=[self.keys.call(call_sid), self.keys.CALLS, self.keys.LIVE_CALLS],
            args=[degraded_plan, json.dumps(sorted(TERMINAL_STATUSES))],
        )
        return bool(changed)

    async def update(
        self,
        call_sid: str,
        fields: Mapping[str, Any],
        finished: bool,
        index: tuple[str, float] | None = None,
        *,
        hold: str = "",
    ) -> bool:
        """Set fields on an existing record (and add it to ``index``, a ZSET and score);
        False when there is no record (yet). ``hold``: when there is none, keep this (the
        update as spooled) for it instead (``held``), and say True."""
        return bool(await self._updated(call_sid, fields, finished, index, hold=hold))

    async def triage(self, call_sid: str, message: Mapping[str, Any]) -> bool | None:
        """Write the call's message with its triage, unless someone triaged it otherwise
        meanwhile (``UPDATE_CALL``'s 3): whether this triage is the one kept; None when the
        record is gone."""
        updated = await self._updated(call_sid, {"message": message}, False)
        return None if updated == 0 else updated == 1

    async def _updated(
        self,
        call_sid: str,
        fields: Mapping[str, Any],
        finished: bool,
        index: tuple[str, float] | None = None,
        *,
        hold: str = "",
    ) -> int:
        """``UPDATE_CALL``'s answer for these fields (see ``update``)."""
        encoded = json.dumps({name: json.dumps(value) for name, value in fields.items()})
        index_key, score = index if index else ("", 0.0)
        keys = [
            self.keys.call(call_sid),
            self.keys.LIVE_CALLS,
            self.keys.call_held(call_sid),
            self.keys.HELD_CALLS,
        ]
        args = [encoded, "1" if finished else "0", call_sid, index_key, score, _PROGRESS]
        return int(await self._update(keys=keys, args=[*args, hold, HELD_UPDATE_TTL_S]))

    async def held(self, call_sid: str) -> list[str]:
        """Updates held for the record (``update``'s ``hold``), oldest first."""
        return cast(list[str], await self.redis.lrange(self.keys.call_held(call_sid), 0, -1))

    async def drop_held(self, call_sid: str, count: int) -> tuple[int, bool]:
        """Forget the first ``count`` held updates (applied), keeping any held since. With
        none left, the call leaves ``held_calls``. How many are still held, and whether the
        call left ``held_calls`` now (False: it had left already, or something is held)."""
        keys = [self.keys.call_held(call_sid), self.keys.HELD_CALLS]
        left, removed = await self._drop_held(keys=keys, args=[count, call_sid])
        return int(left), bool(removed)

    async def held_calls(self) -> list[str]:
        """The calls with updates held for their record (or held once, and since expired),
        the longest held first."""
        return cast(list[str], await self.redis.zrange(self.keys.HELD_CALLS, 0, -1))

    async def has_record(self, call_sid: str) -> bool:
        return bool(await self.redis.exists(self.keys.call(call_sid)))

    async def get(self, call_sid: str) -> CallRecord | None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.call(call_sid))
            pipe.lrange(self.keys.call_warnings(call_sid), 0, -1)
            fields, warnings = await pipe.execute()
        stored = (fields, warnings) if fields else None
        return read_one("the record of call", call_sid, stored, _record_of)

    async def _with_warnings(self, call_sid: str, fields: dict[str, Any]) -> CallRecord:
        warnings = await self.redis.lrange(self.keys.call_warnings(call_sid), 0, -1)
        return CallRecord.model_validate({**fields, "warnings": [json.loads(w) for w in warnings]})

    async def add_warning(self, call_sid: str, warning: CallEvent) -> int | None:
        """Log ``warning`` on the call, as being played, unless staff have ended it
        (``ADD_WARNING``): its number in the call (1 for the first), 0 when the call was
        ended, None when there is no record. ``played_warning`` must follow."""
        number = int(
            await self._add_warning(
                keys=[
                    self.keys.call(call_sid),
                    self.keys.call_warnings(call_sid),
                    self.keys.call_warnings_playing(call_sid),
                ],
                args=[warning.model_dump_json(), WARNING_PLAYING_TTL_S],
            )
        )
        return None if number < 0 else number

    async def played_warning(self, call_sid: str, warning: CallEvent, *, played: bool) -> None:
        """A warning ``add_warning`` logged is no longer being played: it was, or it could
        not be and is taken back out of the record (``PLAYED_WARNING``)."""
        await self._played_warning(
            keys=[self.keys.call_warnings(call_sid), self.keys.call_warnings_playing(call_sid)],
            args=[warning.model_dump_json(), "1" if played else ""],
        )

    async def many(self, call_sids: Sequence[str]) -> list[CallRecord]:
        """The records of these calls that are stored, in order. Raises ``Unreadable`` if
        any is stored in a form this release cannot read: for work that acts on what it
        finds (disposal, counts, reminders), a record left out would be a record wrongly
        taken as gone. A list shown to people takes ``read_many``'s instead."""
        return all_of("call records", await self.read_many(call_sids))

    async def read_many(self, call_sids: Sequence[str]) -> tuple[list[CallRecord], list[str]]:
        """The records of these calls that are stored and this release can read, in order;
        and the SIDs of those stored that it cannot, each logged (``store.readable``)."""
        if not call_sids:
            return [], []
        async with self.redis.pipeline(transaction=False) as pipe:
            for sid in call_sids:
                pipe.hgetall(self.keys.call(sid))
                pipe.lrange(self.keys.call_warnings(sid), 0, -1)
            results = await pipe.execute()
        stored = [
            (sid, (fields, warnings) if fields else None)
            for sid, fields, warnings in zip(call_sids, results[::2], results[1::2], strict=True)
        ]
        return read_each("the record of call", stored, _record_of)

    async def page(
        self,
        index: str,
        since: datetime | None,
        until: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[list[str], int]:
        """Call sids from a time index, newest first, with the total in the range."""
        low = since.timestamp() if since else "-inf"
        high = until.timestamp() if until else "+inf"
        total = await self.redis.zcount(index, low, high)
        sids = await self.redis.zrevrangebyscore(index, high, low, start=offset, num=limit)
        return cast(list[str], sids), int(total)

    async def remove_from_messages(self, call_sid: str) -> None:
        """The call's message is no longer waiting to be triaged."""
        await self.redis.zrem(self.keys.MESSAGES, call_sid)

    async def repeat_callers(self, limit: int) -> list[tuple[str, float]]:
        """Numbers over the daily threshold, latest first, each with the epoch it crossed."""
        rows = await self.redis.zrevrange(self.keys.REPEAT_CALLERS, 0, limit - 1, withscores=True)
        return cast(list[tuple[str, float]], rows)

    async def live_sids(self) -> list[str]:
        return sorted(cast(set[str], await self.redis.smembers(self.keys.LIVE_CALLS)))

    def record_plan(
        self,
        record: CallRecord,
        *,
        repeat: RepeatCounter | None = None,
        claims: Sequence[QuotaClaim] = (),
    ) -> str:
        """``record_plan`` with this store's keys."""
        return record_plan(self.keys, record, repeat=repeat, claims=claims)

    def record_lines(
        self,
        record: CallRecord,
        *,
        repeat: RepeatCounter | None = None,
        claims: Sequence[QuotaClaim] = (),
    ) -> PlanLines:
        """``record_lines`` with this store's keys."""
        return record_lines(self.keys, record, repeat=repeat, claims=claims)
