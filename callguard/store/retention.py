"""Legal holds, retention disposals and the disposal log in Redis.

Each batch of disposals is one script: it checks every record's holds, deletes what is not
held, and appends the disposal-log entry for what it actually deleted, all in one step. So
a hold placed a moment before is always honoured, and a batch run twice (two replicas, or a
replica taken over midway) logs each record once: a record already gone counts for nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from redis.asyncio import Redis

from callguard.domain.audit import AuditEntry
from callguard.domain.retention import LegalHold
from callguard.store import audit as audit_store
from callguard.store.keys import Keys
from callguard.store.paging import list_in_pages
from callguard.store.readable import read_each, read_one

# The fields naming what a notification is about: a hold on any of them spares it.
NOTIFICATION_REFS = ("call_sid", "file_note_id", "strategy_id")

# Shared Lua: audit(entry) appends one audit entry (callguard.store.audit.audit_arg).
_AUDIT = audit_store.LUA

# Shared Lua: log one disposal of ``count`` records to ``stream`` (the entry without its
# count), if any went.
_LOG = """
local function log_disposal(stream, entry, count)
  if count > 0 then
    entry[#entry + 1] = 'count'
    entry[#entry + 1] = tostring(count)
    redis.call('XADD', stream, '*', unpack(entry))
  end
end
"""

# DISPOSE: delete a batch of records past retention, except those on hold, and log it.
#   ARGV[1] JSON plan: {stream, entry [field, value, ...] (the log entry without its count),
#     items [{holds [keys], primary {key, field?, member?}, del [keys],
#             zrem [[key, member]], srem [[key, member]], queue [[key, member]]}],
#     queued_at (epoch)}
#   ``queue``: members added (NX, scored ``queued_at``) to a work queue when the record goes,
#   in the same step: the Twilio recordings of a deleted call record, to delete there.
#   A primary with ``field`` is a hash field (gone when absent or JSON null); with
#   ``member`` a sorted-set member; else a whole key.
# Returns {records disposed, records kept because of a hold}
DISPOSE = (
    _LOG
    + """
local plan = cjson.decode(ARGV[1])
local disposed, held = 0, 0
for _, item in ipairs(plan.items) do
  local on_hold = false
  for _, hold in ipairs(item.holds) do
    if redis.call('EXISTS', hold) == 1 then
      on_hold = true
      break
    end
  end
  if on_hold then
    held = held + 1
  else
    local p = item.primary
    local gone = false
    if p.field then
      local value = redis.call('HGET', p.key, p.field)
      if value and value ~= 'null' then
        redis.call('HDEL', p.key, p.field)
        gone = true
      end
    elseif p.member then
      gone = redis.call('ZREM', p.key, p.member) == 1
    else
      gone = redis.call('DEL', p.key) == 1
    end
    for _, key in ipairs(item.del) do
      redis.call('DEL', key)
    end
    for _, z in ipairs(item.zrem) do
      redis.call('ZREM', z[1], z[2])
    end
    for _, s in ipairs(item.srem) do
      redis.call('SREM', s[1], s[2])
    end
    for _, q in ipairs(item.queue or {}) do
      redis.call('ZADD', q[1], 'NX', plan.queued_at, q[2])
    end
    if gone then
      disposed = disposed + 1
    end
  end
end
log_disposal(plan.stream, plan.entry, disposed)
return {disposed, held}
"""
)

# TRIM_STREAMS: trim audit streams to entries newer than a cutoff, except held ones, and log.
#   ARGV[1] JSON plan: {streams [{key, hold}], min_id, stream, entry [field, value, ...]}
#   (``hold`` is a hold key, or "" for none)
# Returns the number of entries trimmed.
TRIM_STREAMS = (
    _LOG
    + """
local plan = cjson.decode(ARGV[1])
local trimmed = 0
for _, s in ipairs(plan.streams) do
  if s.hold == '' or redis.call('EXISTS', s.hold) == 0 then
    trimmed = trimmed + redis.call('XTRIM', s.key, 'MINID', plan.min_id)
  end
end
log_disposal(plan.stream, plan.entry, trimmed)
return trimmed
"""
)

# TRIM_PERSON_AUDITS: drop the entries older than a cutoff from the head of each person's
# audit list (oldest first), except held ones, and log.
#   KEYS[1] disposals (named, so a Cluster client sends the script to the office's node)
#   ARGV[1] JSON plan: {lists [{key, hold}], cutoff (UTC ISO 8601: entries' ``at`` are too,
#   so comparing the text compares the times), entry [field, value, ...]}
# Returns the number of entries trimmed.
TRIM_PERSON_AUDITS = (
    _LOG
    + """
local plan = cjson.decode(ARGV[1])
local trimmed = 0
for _, l in ipairs(plan.lists) do
  if l.hold == '' or redis.call('EXISTS', l.hold) == 0 then
    while true do
      local head = redis.call('LINDEX', l.key, 0)
      if not head or cjson.decode(head)[1] >= plan.cutoff then break end
      redis.call('LPOP', l.key)
      trimmed = trimmed + 1
    end
  end
end
log_disposal(KEYS[1], plan.entry, trimmed)
return trimmed
"""
)

# PLACE_HOLD: place a legal hold unless one is in place; audit it in the same step.
#   KEYS[1] hold:{kind}:{id}  KEYS[2] holds
#   ARGV[1] hold JSON  ARGV[2] "{kind}:{id}"  ARGV[3] epoch  ARGV[4] JSON audit entry
# Returns 1 when placed, 0 when a hold was already in place.
PLACE_HOLD = (
    _AUDIT
    + """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
audit(cjson.decode(ARGV[4]))
return 1
"""
)

# LIFT_HOLD: lift a legal hold; audit it in the same step.
#   KEYS[1] hold:{kind}:{id}  KEYS[2] holds  ARGV[1] "{kind}:{id}"  ARGV[2] JSON audit
# Returns the lifted hold's JSON, or false when there was none.
LIFT_HOLD = (
    _AUDIT
    + """
local hold = redis.call('GET', KEYS[1])
if not hold then
  return false
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
audit(cjson.decode(ARGV[2]))
return hold
"""
)


@dataclass
class Disposable:
    """One record to dispose of: where it is, what holds protect it, what indexes name it."""

    primary: dict[str, str]
    holds: list[str] = field(default_factory=list)
    delete: list[str] = field(default_factory=list)
    zrem: list[tuple[str, str]] = field(default_factory=list)
    srem: list[tuple[str, str]] = field(default_factory=list)
    queue: list[tuple[str, str]] = field(default_factory=list)

    def plan(self) -> dict[str, Any]:
        return {
            "primary": self.primary,
            "holds": self.holds,
            "del": self.delete,
            "zrem": [list(z) for z in self.zrem],
            "srem": [list(s) for s in self.srem],
            "queue": [list(q) for q in self.queue],
        }


@dataclass(frozen=True)
class LogEntry:
    """The disposal-log entry for a batch (its ``count`` is added by the script)."""

    at: datetime
    kind: str
    rule: str
    days: int
    cutoff: str

    def flat(self) -> list[str]:
        return [
            "at",
            self.at.isoformat(),
            "kind",
            self.kind,
            "rule",
            self.rule,
            "days",
            str(self.days),
            "cutoff",
            self.cutoff,
        ]


class RetentionStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._dispose = redis.register_script(DISPOSE)
        self._trim = redis.register_script(TRIM_STREAMS)
        self._trim_people = redis.register_script(TRIM_PERSON_AUDITS)

    async def members_before(self, index: str, cutoff: datetime) -> list[str]:
        """Members of a time-scored index scored before ``cutoff``, oldest first."""
        found = await self.redis.zrangebyscore(index, "-inf", f"({cutoff.timestamp()}")
        return cast(list[str], found)

    async def notification_indexes(self) -> list[str]:
        """Every user's notification index (a recipient need not be a user any more)."""
        pattern = self.keys.notifications_of("*")
        return sorted([key async for key in self.redis.scan_iter(match=pattern, count=1000)])

    async def notification_refs(self, notification_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """What each notification is about (``NOTIFICATION_REFS`` it has), for legal holds."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for notification_id in notification_ids:
                pipe.hmget(self.keys.notification(notification_id), NOTIFICATION_REFS)
            found = await pipe.execute()
        return {
            notification_id: {
                name: json.loads(value)
                for name, value in zip(NOTIFICATION_REFS, values, strict=True)
                if value is not None and value != "null"
            }
            for notification_id, values in zip(notification_ids, found, strict=True)
        }

    def person_ids(self, page: int) -> AsyncIterator[list[str]]:
        """Everyone on the register's id, a page at a time."""
        return list_in_pages(self.redis, self.keys.PEOPLE, page)

    async def dispose(self, items: Sequence[Disposable], entry: LogEntry) -> tuple[int, int]:
        """(disposed, held) for one batch."""
        plan = {
            "stream": self.keys.DISPOSALS,
            "entry": entry.flat(),
            "items": [i.plan() for i in items],
            "queued_at": entry.at.timestamp(),
        }
        # KEYS[1] routes the script on a Redis Cluster (see _trim_people).
        result = await self._dispose(keys=[self.keys.DISPOSALS], args=[json.dumps(plan)])
        return int(result[0]), int(result[1])

    async def trim_streams(
        self, streams: Sequence[tuple[str, str]], cutoff: datetime, entry: LogEntry
    ) -> int:
        """Trim each (stream, hold key or "") to entries at or after ``cutoff``."""
        plan = {
            "streams": [{"key": key, "hold": hold} for key, hold in streams],
            "min_id": f"{int(cutoff.timestamp() * 1000)}-0",
            "stream": self.keys.DISPOSALS,
            "entry": entry.flat(),
        }
        return int(await self._trim(keys=[self.keys.DISPOSALS], args=[json.dumps(plan)]))

    async def trim_person_audits(
        self, lists: Sequence[tuple[str, str]], cutoff: datetime, entry: LogEntry
    ) -> int:
        """Trim each (person's audit list, hold key) to entries at or after ``cutoff``."""
        plan = {
            "lists": [{"key": key, "hold": hold} for key, hold in lists],
            "cutoff": cutoff.astimezone(UTC).isoformat(),
            "entry": entry.flat(),
        }
        return int(await self._trim_people(keys=[self.keys.DISPOSALS], args=[json.dumps(plan)]))

    async def disposals(self, count: int) -> list[tuple[str, dict[str, str]]]:
        """The newest ``count`` disposal-log entries, newest first, with their stream ids."""
        rows = await self.redis.xrevrange(self.keys.DISPOSALS, count=count) or []
        return [(str(i), cast(dict[str, str], f)) for i, f in rows]

    # --- Twilio recordings to delete (their call record gone) ----------------------------------

    async def recordings_due(self, now: datetime, limit: int) -> list[str]:
        """Recording sids whose next try to delete is due, oldest first."""
        key = self.keys.recordings_to_delete()
        return cast(
            list[str], await self.redis.zrangebyscore(key, "-inf", now.timestamp(), 0, limit)
        )

    async def recording_deleted(self, recording_sid: str) -> None:
        await self.redis.zrem(self.keys.recordings_to_delete(), recording_sid)

    async def recording_retry_at(self, recording_sid: str, at: datetime) -> None:
        """Try again at ``at`` (XX: only while it is still queued)."""
        await self.redis.zadd(
            self.keys.recordings_to_delete(), {recording_sid: at.timestamp()}, xx=True
        )

    async def recordings_waiting(self) -> int:
        return int(await self.redis.zcard(self.keys.recordings_to_delete()))


class HoldStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._place = redis.register_script(PLACE_HOLD)
        self._lift = redis.register_script(LIFT_HOLD)

    async def place(self, hold: LegalHold, audit: AuditEntry) -> bool:
        """False when ``hold``'s target is already on hold."""
        result = await self._place(
            keys=[self.keys.legal_hold(hold.kind, hold.id), self.keys.LEGAL_HOLDS],
            args=[
                hold.model_dump_json(),
                f"{hold.kind}:{hold.id}",
                hold.placed_at.timestamp(),
                json.dumps(audit_store.audit_arg(self.keys, audit)),
            ],
        )
        return bool(result)

    async def lift(self, kind: str, target_id: str, audit: AuditEntry) -> LegalHold | None:
        raw = await self._lift(
            keys=[self.keys.legal_hold(kind, target_id), self.keys.LEGAL_HOLDS],
            args=[f"{kind}:{target_id}", json.dumps(audit_store.audit_arg(self.keys, audit))],
        )
        return LegalHold.model_validate_json(raw) if raw else None

    async def get(self, kind: str, target_id: str) -> LegalHold | None:
        raw = await self.redis.get(self.keys.legal_hold(kind, target_id))
        return read_one("the legal hold", f"{kind}:{target_id}", raw, LegalHold.model_validate_json)

    async def read_all(self) -> tuple[list[LegalHold], list[str]]:
        """Every hold this release can read, and the others (kind:id), each logged
        (``store.readable``): for the list shown to people. Retention never reads holds
        from here: it checks each record's hold keys, so an unreadable hold still holds."""
        members = cast(list[str], await self.redis.zrange(self.keys.LEGAL_HOLDS, 0, -1))
        if not members:
            return [], []
        raws = await self.redis.mget([self.keys.legal_hold(*m.split(":", 1)) for m in members])
        stored = zip(members, raws, strict=True)
        return read_each("the legal hold", stored, LegalHold.model_validate_json)
