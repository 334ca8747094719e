"""File notes, in-app notifications and welfare counts in Redis (§5.5, §6.4–6.5).

Three steps must each happen once and only once, so each is one Lua script:
ending a call (the ``ended`` mark, the draft note, the line manager's notification and the
audit entry, together), changing a note (compare-and-set on its version, with its audit
entry), and counting a call towards a member of staff's welfare week (with the week's one
alert). Everything a script writes is built in Python first and passed in as a JSON plan,
so no Lua re-encodes JSON (cjson would turn an empty list into an object).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from callguard.domain.audit import AuditEntry
from callguard.domain.notes import FileNote, Notification
from callguard.domain.records import TERMINAL_STATUSES, CallEvent
from callguard.store import audit as audit_store
from callguard.store import keys

# Shared Lua: audit(entry) appends one audit entry (callguard.store.audit.plan).
_AUDIT = audit_store.LUA

# END_CALL: mark a live call ended by staff and draft its file note, once.
#   ARGV[1] JSON plan: call_key, warnings_key, live_key, sid, ended (JSON text),
#     file_note_id (JSON text), warnings_seen, require_warning, terminal [statuses],
#     note {key, json, score, indexes}, audit (callguard.store.audit.plan),
#     optional notification {key, flat, index, score}
# Returns {"ended"} | {"missing"} | {"already_ended", file_note_id JSON}
#   | {"not_in_progress", status JSON} | {"no_warning"}
#   | {"stale"} (a warning arrived since the plan was made: rebuild it and retry)
END_CALL = (
    _AUDIT
    + """
local plan = cjson.decode(ARGV[1])
if redis.call('EXISTS', plan.call_key) == 0 then
  return {'missing'}
end
local ended = redis.call('HGET', plan.call_key, 'ended')
if ended and ended ~= 'null' then
  return {'already_ended', redis.call('HGET', plan.call_key, 'file_note_id') or 'null'}
end
local status_json = redis.call('HGET', plan.call_key, 'status') or '"ringing"'
local status = cjson.decode(status_json)
if redis.call('HGET', plan.call_key, 'outcome') == '"refuse"' then
  return {'not_in_progress', status_json}
end
for _, terminal in ipairs(plan.terminal) do
  if status == terminal then
    return {'not_in_progress', status_json}
  end
end
local warnings = redis.call('LLEN', plan.warnings_key)
if warnings ~= plan.warnings_seen then
  return {'stale'}
end
if plan.require_warning and warnings == 0 then
  return {'no_warning'}
end
redis.call('HSET', plan.call_key, 'ended', plan.ended, 'file_note_id', plan.file_note_id)
redis.call('SREM', plan.live_key, plan.sid)
redis.call('SET', plan.note.key, plan.note.json)
for _, index in ipairs(plan.note.indexes) do
  redis.call('ZADD', index, plan.note.score, plan.note.id)
end
audit(plan.audit)
local n = plan.notification
if n then
  redis.call('HSET', n.key, unpack(n.flat))
  redis.call('ZADD', n.index, n.score, n.id)
end
return {'ended'}
"""
)

# REPLACE_NOTE: replace a file note if nobody changed it since it was read.
#   KEYS[1] note:{id}
#   ARGV[1] the version read   ARGV[2] the new note JSON   ARGV[3] JSON audit entry
# Returns "replaced" | "missing" | "stale" (changed meanwhile: read again and retry)
REPLACE_NOTE = (
    _AUDIT
    + """
local current = redis.call('GET', KEYS[1])
if not current then
  return 'missing'
end
if cjson.decode(current).version ~= tonumber(ARGV[1]) then
  return 'stale'
end
redis.call('SET', KEYS[1], ARGV[2])
audit(cjson.decode(ARGV[3]))
return 'replaced'
"""
)

# WELFARE_COUNT: count a call towards a member of staff's ISO week (§5.5), and raise the
# week's one alert when the count reaches the threshold.
#   KEYS[1] welfare:{week}:calls:{name}  KEYS[2] welfare:{week}  KEYS[3] welfare:{week}:alerts
#   ARGV[1] staff name  ARGV[2] call sid  ARGV[3] threshold  ARGV[4] ttl_s
#   ARGV[5] alert id  ARGV[6] JSON notification {key, flat, index, score}, or "" for none
# Returns {count of distinct calls that week, 1 when this call raised the alert else 0}
WELFARE_COUNT = """
redis.call('SADD', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[4])
local count = redis.call('SCARD', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], count)
redis.call('EXPIRE', KEYS[2], ARGV[4])
if count < tonumber(ARGV[3]) then
  return {count, 0}
end
if redis.call('HSETNX', KEYS[3], ARGV[1], ARGV[5]) == 0 then
  return {count, 0}
end
redis.call('EXPIRE', KEYS[3], ARGV[4])
if ARGV[6] ~= '' then
  local n = cjson.decode(ARGV[6])
  redis.call('HSET', n.key, unpack(n.flat))
  redis.call('ZADD', n.index, n.score, n.id)
end
return {count, 1}
"""

# SET_NOTIFICATION_FIELD: set one field of a notification that exists; never create one
# (retention may have just disposed of it: a lone field would be a notification no index
# names, and invalid when read).
#   KEYS[1] notification:{id}  ARGV[1] field  ARGV[2] JSON value
# Returns 1 when set, 0 when there is no such notification.
SET_NOTIFICATION_FIELD = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""


def _notification_plan(notification: Notification) -> dict[str, Any]:
    flat: list[str] = []
    for name, value in notification.model_dump(mode="json").items():
        flat += [name, json.dumps(value)]
    return {
        "id": notification.id,
        "key": keys.notification(notification.id),
        "flat": flat,
        "index": keys.notifications_of(notification.user),
        "score": notification.at.timestamp(),
    }


@dataclass(frozen=True)
class EndResult:
    """What END_CALL did: ``kind`` is one of the script's answers."""

    kind: str
    file_note_id: str | None = None
    status: str | None = None


class NoteStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._end = redis.register_script(END_CALL)
        self._replace = redis.register_script(REPLACE_NOTE)

    async def end_call(
        self,
        *,
        ended: CallEvent,
        warnings_seen: int,
        require_warning: bool,
        note: FileNote,
        audit: AuditEntry,
        notification: Notification | None,
    ) -> EndResult:
        sid = note.call_sid
        plan: dict[str, Any] = {
            "call_key": keys.call(sid),
            "warnings_key": keys.call_warnings(sid),
            "live_key": keys.LIVE_CALLS,
            "sid": sid,
            "ended": ended.model_dump_json(),
            "file_note_id": json.dumps(note.id),
            "warnings_seen": warnings_seen,
            "require_warning": require_warning,
            "terminal": sorted(TERMINAL_STATUSES),
            "note": {
                "id": note.id,
                "key": keys.note(note.id),
                "json": note.model_dump_json(),
                "score": note.created_at.timestamp(),
                "indexes": [keys.NOTES, keys.notes_by_author(note.author)],
            },
            "audit": audit_store.plan(audit),
        }
        if notification is not None:
            plan["notification"] = _notification_plan(notification)
        # KEYS[1] only routes the script to the call's node on a Redis Cluster (every key
        # of an office shares its slot); the script takes its keys from the plan.
        result = await self._end(keys=[keys.call(sid)], args=[json.dumps(plan)])
        kind = str(result[0])
        if kind == "already_ended":
            return EndResult(kind, file_note_id=json.loads(result[1]))
        if kind == "not_in_progress":
            return EndResult(kind, status=json.loads(result[1]))
        return EndResult(kind)

    async def create(self, note: FileNote, audit: AuditEntry) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.note(note.id), note.model_dump_json())
            score = note.created_at.timestamp()
            pipe.zadd(keys.NOTES, {note.id: score})
            pipe.zadd(keys.notes_by_author(note.author), {note.id: score})
            audit_store.add(pipe, audit)
            await pipe.execute()

    async def replace(self, note: FileNote, read_version: int, audit: AuditEntry) -> str:
        """ "replaced", "missing" or "stale"."""
        result = await self._replace(
            keys=[keys.note(note.id)],
            args=[read_version, note.model_dump_json(), json.dumps(audit_store.plan(audit))],
        )
        return str(result)

    async def audit(self, entry: AuditEntry) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            audit_store.add(pipe, entry)
            await pipe.execute()

    async def get(self, note_id: str) -> FileNote | None:
        raw = await self.redis.get(keys.note(note_id))
        return FileNote.model_validate_json(raw) if raw else None

    async def newest(self, author: str | None) -> list[FileNote]:
        """Every note (or one author's), newest first."""
        index = keys.notes_by_author(author) if author else keys.NOTES
        ids = cast(list[str], await self.redis.zrevrange(index, 0, -1))
        if not ids:
            return []
        raws = await self.redis.mget([keys.note(i) for i in ids])
        return [FileNote.model_validate_json(r) for r in raws if r]


def _decode_notification(fields: dict[str, str]) -> Notification:
    return Notification.model_validate({k: json.loads(v) for k, v in fields.items()})


class NotificationStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._set_field = redis.register_script(SET_NOTIFICATION_FIELD)

    async def add(self, notification: Notification) -> None:
        plan = _notification_plan(notification)
        async with self.redis.pipeline(transaction=True) as pipe:
            flat = plan["flat"]
            pipe.hset(plan["key"], mapping=dict(zip(flat[::2], flat[1::2], strict=True)))
            pipe.zadd(plan["index"], {notification.id: plan["score"]})
            await pipe.execute()

    async def get(self, notification_id: str) -> Notification | None:
        fields = await self.redis.hgetall(keys.notification(notification_id))
        return _decode_notification(cast(dict[str, str], fields)) if fields else None

    async def of_user(self, user_name: str, limit: int) -> list[Notification]:
        ids = cast(
            list[str], await self.redis.zrevrange(keys.notifications_of(user_name), 0, limit - 1)
        )
        async with self.redis.pipeline(transaction=False) as pipe:
            for notification_id in ids:
                pipe.hgetall(keys.notification(notification_id))
            rows = await pipe.execute()
        return [_decode_notification(r) for r in rows if r]

    async def set_field(self, notification_id: str, name: str, value: Any) -> bool:
        """Set one field of an existing notification; False (and nothing written) when
        there is none, as when retention has disposed of it meanwhile."""
        done = await self._set_field(
            keys=[keys.notification(notification_id)], args=[name, json.dumps(value)]
        )
        return bool(done)


class WelfareStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._count = redis.register_script(WELFARE_COUNT)

    async def count(
        self,
        *,
        week: str,
        staff: str,
        call_sid: str,
        threshold: int,
        alert_id: str,
        alert: Notification | None,
    ) -> tuple[int, bool]:
        """Count ``call_sid`` for ``staff`` in ``week`` (once per call); True when this call
        raised the week's alert (``alert`` is stored with it, if there is one)."""
        result = await self._count(
            keys=[
                keys.welfare_calls(week, staff),
                keys.welfare_counts(week),
                keys.welfare_alerts(week),
            ],
            args=[
                staff,
                call_sid,
                threshold,
                keys.WELFARE_TTL_S,
                alert_id,
                json.dumps(_notification_plan(alert)) if alert else "",
            ],
        )
        return int(result[0]), bool(result[1])

    async def weeks(self, weeks: Sequence[str]) -> list[tuple[dict[str, str], dict[str, str]]]:
        """For each week: (staff name -> count, staff name -> alert id)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for week in weeks:
                pipe.hgetall(keys.welfare_counts(week))
                pipe.hgetall(keys.welfare_alerts(week))
            rows = await pipe.execute()
        return [
            (cast(dict[str, str], counts), cast(dict[str, str], alerts))
            for counts, alerts in zip(rows[::2], rows[1::2], strict=True)
        ]
