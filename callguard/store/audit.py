"""Audit entries in Redis: one stream of every entry, and each person's own list.

``audit`` is a STREAM of every entry, its fields those of ``AuditEntry.fields()``.
``audit:person:{id}`` is a LIST of the entries about one person (subject access), oldest
first, each a compact JSON array ``[at, who, role, action, target, detail]``: the person's
id is the key's. A list, not a stream: Redis 7 allocates 4 KB for a stream's first node,
which made the per-person stream two-thirds of the register's memory. Retention trims the
list by ``at`` (UTC ISO 8601 from the clock, so its text sorts as its time).

Every writer goes through here: ``add`` in a MULTI pipeline, ``audit_arg`` with ``LUA`` in
a script.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from redis.asyncio.client import Pipeline

from callguard.domain.audit import AuditEntry
from callguard.store.keys import Keys

# The fields of an entry, in order; a person's list leaves out person_id (the key's).
FIELDS = tuple(AuditEntry.model_fields)
PERSON_FIELDS = tuple(name for name in FIELDS if name != "person_id")

# Shared Lua: append one audit entry to the audit stream and, if it is about a person, to
# the person's list.  entry = {stream, flat [field, value, ...], person (key or ""), line}
LUA = """
local function audit(entry)
  redis.call('XADD', entry.stream, '*', unpack(entry.flat))
  if entry.person ~= '' then
    redis.call('RPUSH', entry.person, entry.line)
  end
end
"""


def person_line(entry: AuditEntry) -> str:
    """The entry as the person's list holds it."""
    return line_from_fields(entry.fields())


def line_from_fields(fields: Mapping[str, str]) -> str:
    """An entry given as the audit stream holds it (``AuditEntry.fields()``), as the
    person's list holds it."""
    return json.dumps(
        [fields.get(name, "") for name in PERSON_FIELDS], separators=(",", ":"), ensure_ascii=False
    )


def person_entries(person_id: str, lines: Sequence[str]) -> list[dict[str, str]]:
    """The entries of a person's list, each as ``AuditEntry.fields()`` gives it."""
    entries = []
    for line in lines:
        values = dict(zip(PERSON_FIELDS, json.loads(line), strict=True))
        entries.append({n: person_id if n == "person_id" else values[n] for n in FIELDS})
    return entries


def add(pipe: Pipeline, keys: Keys, entry: AuditEntry) -> None:
    """Queue the entry's writes on a (MULTI) pipeline."""
    pipe.xadd(keys.AUDIT, entry.fields())  # type: ignore[arg-type]
    if entry.person_id:
        pipe.rpush(keys.audit_person(entry.person_id), person_line(entry))


def audit_arg(keys: Keys, entry: AuditEntry) -> dict[str, Any]:
    """The entry as ``LUA``'s ``audit()`` takes it."""
    flat: list[str] = []
    for name, value in entry.fields().items():
        flat += [name, value]
    return {
        "stream": keys.AUDIT,
        "flat": flat,
        "person": keys.audit_person(entry.person_id) if entry.person_id else "",
        "line": person_line(entry) if entry.person_id else "",
    }
