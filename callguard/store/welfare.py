"""Welfare counts in Redis (§5.5): calls each member of staff ended or warned on in an ISO
week, each call counted once, and the week's one alert, in one Lua script."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import cast

from redis.asyncio import Redis

from callguard.domain.notes import Notification
from callguard.store.keys import WELFARE_TTL_S, Keys
from callguard.store.notifications import notification_arg

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


class WelfareStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
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
                self.keys.welfare_calls(week, staff),
                self.keys.welfare_counts(week),
                self.keys.welfare_alerts(week),
            ],
            args=[
                staff,
                call_sid,
                threshold,
                WELFARE_TTL_S,
                alert_id,
                json.dumps(notification_arg(self.keys, alert)) if alert else "",
            ],
        )
        return int(result[0]), bool(result[1])

    async def weeks(self, weeks: Sequence[str]) -> list[tuple[dict[str, str], dict[str, str]]]:
        """For each week: (staff name -> count, staff name -> alert id)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for week in weeks:
                pipe.hgetall(self.keys.welfare_counts(week))
                pipe.hgetall(self.keys.welfare_alerts(week))
            rows = await pipe.execute()
        return [
            (cast(dict[str, str], counts), cast(dict[str, str], alerts))
            for counts, alerts in zip(rows[::2], rows[1::2], strict=True)
        ]
