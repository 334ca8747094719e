"""Notifications for due events, each delivered once (reminders and escalations).

A due event (a review reminder at 14 days, one day's overdue escalation, a late file note)
has a marker key. ``DELIVER_ONCE`` sets the marker (NX) and writes the event's in-app
notifications in the same script, so the marker never exists without the notifications or
the notifications without the marker: a job that runs twice, or a replica that dies between
two events and is taken over, never sends one twice and never loses one.

Notifications are written in the layout ``callguard.store.notifications.NotificationStore`` reads
(``notification:{id}`` HASH with JSON-encoded fields, ``notifications:{user}`` ZSET), so
they appear in ``GET /api/v1/notifications`` beside the ones for ended calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from callguard.store.keys import Keys

# DELIVER_ONCE: write one due event's notifications unless the event was delivered before.
#   KEYS[1] once:{event}   KEYS[2..] once:{...} of events this one covers (set with it)
#   ARGV[1] marker ttl, ms   ARGV[2] marker value
#   ARGV[3] JSON [{id, key, flat [field, JSON value, ...], index, score}]
# Returns 1 when this call delivered the event, 0 when it had been delivered already.
DELIVER_ONCE = """
if not redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[1]) then
  return 0
end
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2], 'NX', 'PX', ARGV[1])
end
for _, n in ipairs(cjson.decode(ARGV[3])) do
  redis.call('HSET', n.key, unpack(n.flat))
  redis.call('ZADD', n.index, n.score, n.id)
end
return 1
"""


@dataclass(frozen=True)
class StoredNotice:
    """One notification as stored: its id, recipient, epoch and fields (JSON-encodable)."""

    id: str
    user: str
    score: float
    fields: Mapping[str, Any]


def _notice_arg(keys: Keys, notice: StoredNotice) -> dict[str, Any]:
    flat: list[str] = []
    for name, value in notice.fields.items():
        flat += [name, json.dumps(value)]
    return {
        "id": notice.id,
        "key": keys.notification(notice.id),
        "flat": flat,
        "index": keys.notifications_of(notice.user),
        "score": notice.score,
    }


class OutboxStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._deliver = redis.register_script(DELIVER_ONCE)

    async def deliver_once(
        self,
        event: str,
        notices: Sequence[StoredNotice],
        ttl_ms: int,
        covers: Sequence[str] = (),
    ) -> bool:
        """True when this call delivered ``event``; False when it had been delivered."""
        value = json.dumps([n.id for n in notices])
        result = await self._deliver(
            keys=[self.keys.once(event), *[self.keys.once(c) for c in covers]],
            args=[ttl_ms, value, json.dumps([_notice_arg(self.keys, n) for n in notices])],
        )
        return bool(result)

    async def delivered(self, event: str) -> bool:
        return bool(await self.redis.exists(self.keys.once(event)))
