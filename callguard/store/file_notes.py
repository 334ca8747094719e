"""File notes in Redis (§6.4–6.5).

Two steps must each happen once and only once, so each is one Lua script: ending a call
(the ``ended`` mark, the draft note, the line manager's notification and the audit entry,
together), and changing a note (compare-and-set on its version, with its audit entry).
Everything a script writes is built in Python first and passed in as a JSON plan, so no
Lua re-encodes JSON (cjson would turn an empty list into an object).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from callguard.domain.audit import AuditEntry
from callguard.domain.notes import FileNote, Notification
from callguard.domain.records import TERMINAL_STATUSES, CallEvent
from callguard.store import audit as audit_store
from callguard.store.keys import Keys
from callguard.store.notifications import notification_arg
from callguard.store.readable import all_of, read_each, read_one

# Shared Lua: audit(entry) appends one audit entry (callguard.store.audit.audit_arg).
_AUDIT = audit_store.LUA

# END_CALL: mark a live call ended by staff and draft its file note, once.
#   ARGV[1] JSON plan: call_key, warnings_key, playing_key, live_key, sid, ended (JSON text),
#     file_note_id (JSON text), warnings_seen, require_warning, terminal [statuses],
#     note {key, json, score, indexes}, audit (callguard.store.audit.audit_arg),
#     optional notification {key, flat, index, score}
# Returns {"ended"} | {"missing"} | {"already_ended", file_note_id JSON}
#   | {"not_in_progress", status JSON} | {"no_warning"}
#   | {"stale"} (a warning arrived since the plan was made: rebuild it and retry)
#   | {"playing"} (a warning is being played: the call is not ended on its strength yet)
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
if tonumber(redis.call('GET', plan.playing_key) or '0') > 0 then
  return {'playing'}
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


@dataclass(frozen=True)
class EndResult:
    """What END_CALL did: ``kind`` is one of the script's answers."""

    kind: str
    file_note_id: str | None = None
    status: str | None = None


def note_indexes(keys: Keys, author: str, person_id: str | None) -> list[str]:
    """Every index a file note is in: all notes, its author's, its person's if any."""
    indexes = [keys.NOTES, keys.notes_by_author(author)]
    if person_id:
        indexes.append(keys.notes_by_person(person_id))
    return indexes


class NoteStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
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
            "call_key": self.keys.call(sid),
            "warnings_key": self.keys.call_warnings(sid),
            "playing_key": self.keys.call_warnings_playing(sid),
            "live_key": self.keys.LIVE_CALLS,
            "sid": sid,
            "ended": ended.model_dump_json(),
            "file_note_id": json.dumps(note.id),
            "warnings_seen": warnings_seen,
            "require_warning": require_warning,
            "terminal": sorted(TERMINAL_STATUSES),
            "note": {
                "id": note.id,
                "key": self.keys.note(note.id),
                "json": note.model_dump_json(),
                "score": note.created_at.timestamp(),
                "indexes": note_indexes(self.keys, note.author, note.person_id),
            },
            "audit": audit_store.audit_arg(self.keys, audit),
        }
        if notification is not None:
            plan["notification"] = notification_arg(self.keys, notification)
        # KEYS[1] only routes the script to the call's node on a Redis Cluster (every key
        # of an office shares its slot); the script takes its keys from the plan.
        result = await self._end(keys=[self.keys.call(sid)], args=[json.dumps(plan)])
        kind = str(result[0])
        if kind == "already_ended":
            return EndResult(kind, file_note_id=json.loads(result[1]))
        if kind == "not_in_progress":
            return EndResult(kind, status=json.loads(result[1]))
        return EndResult(kind)

    async def create(self, note: FileNote, audit: AuditEntry) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.note(note.id), note.model_dump_json())
            score = note.created_at.timestamp()
            for index in note_indexes(self.keys, note.author, note.person_id):
                pipe.zadd(index, {note.id: score})
            audit_store.add(pipe, self.keys, audit)
            await pipe.execute()

    async def replace(self, note: FileNote, read_version: int, audit: AuditEntry) -> str:
        """ "replaced", "missing" or "stale"."""
        result = await self._replace(
            keys=[self.keys.note(note.id)],
            args=[
                read_version,
                note.model_dump_json(),
                json.dumps(audit_store.audit_arg(self.keys, audit)),
            ],
        )
        return str(result)

    async def audit(self, entry: AuditEntry) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            audit_store.add(pipe, self.keys, entry)
            await pipe.execute()

    async def get(self, note_id: str) -> FileNote | None:
        raw = await self.redis.get(self.keys.note(note_id))
        return read_one("the file note", note_id, raw, FileNote.model_validate_json)

    async def newest(self, author: str | None) -> list[FileNote]:
        """Every note (or one author's), newest first. Raises ``Unreadable`` if any is
        stored in a form this release cannot read (``store.readable``)."""
        return all_of("file notes", await self.read_newest(author))

    async def read_newest(self, author: str | None) -> tuple[list[FileNote], list[str]]:
        """``newest``'s notes that this release can read, and the ids of those it cannot
        (each logged): for a list shown to people."""
        return await self._newest(self.keys.notes_by_author(author) if author else self.keys.NOTES)

    async def of_person(self, person_id: str) -> list[FileNote]:
        """The notes of calls from one person, newest first (no others read). Raises
        ``Unreadable`` as ``newest`` does."""
        return all_of("file notes", await self.read_of_person(person_id))

    async def read_of_person(self, person_id: str) -> tuple[list[FileNote], list[str]]:
        """``of_person``'s notes that this release can read, and the ids of the others."""
        return await self._newest(self.keys.notes_by_person(person_id))

    async def _newest(self, index: str) -> tuple[list[FileNote], list[str]]:
        ids = cast(list[str], await self.redis.zrevrange(index, 0, -1))
        if not ids:
            return [], []
        raws = await self.redis.mget([self.keys.note(i) for i in ids])
        return read_each("the file note", zip(ids, raws, strict=True), FileNote.model_validate_json)
