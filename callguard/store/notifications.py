"""In-app notifications in Redis: one HASH each, and a ZSET of each user's, newest last."""

from __future__ import annotations

import json
from typing import Any, cast

from redis.asyncio import Redis

from callguard.domain.notes import Notification
from callguard.store.keys import Keys

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


def notification_arg(keys: Keys, notification: Notification) -> dict[str, Any]:
    """A notification as the scripts that store one take it: {id, key, flat, index, score}."""
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


def _decode_notification(fields: dict[str, str]) -> Notification:
    return Notification.model_validate({k: json.loads(v) for k, v in fields.items()})


class NotificationStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._set_field = redis.register_script(SET_NOTIFICATION_FIELD)

    async def add(self, notification: Notification) -> None:
        plan = notification_arg(self.keys, notification)
        async with self.redis.pipeline(transaction=True) as pipe:
            flat = plan["flat"]
            pipe.hset(plan["key"], mapping=dict(zip(flat[::2], flat[1::2], strict=True)))
            pipe.zadd(plan["index"], {notification.id: plan["score"]})
            await pipe.execute()

    async def get(self, notification_id: str) -> Notification | None:
        fields = await self.redis.hgetall(self.keys.notification(notification_id))
        return _decode_notification(cast(dict[str, str], fields)) if fields else None

    async def of_user(self, user_name: str, limit: int) -> list[Notification]:
        ids = cast(
            list[str],
            await self.redis.zrevrange(self.keys.notifications_of(user_name), 0, limit - 1),
        )
        async with self.redis.pipeline(transaction=False) as pipe:
            for notification_id in ids:
                pipe.hgetall(self.keys.notification(notification_id))
            rows = await pipe.execute()
        return [_decode_notification(r) for r in rows if r]

    async def set_field(self, notification_id: str, name: str, value: Any) -> bool:
        """Set one field of an existing notification; False (and nothing written) when
        there is none, as when retention has disposed of it meanwhile."""
        done = await self._set_field(
            keys=[self.keys.notification(notification_id)], args=[name, json.dumps(value)]
        )
        return bool(done)
