"""What the oversight report reads and keeps: overdue reviews, counts by time, stored reports."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from redis.asyncio import Redis

from callguard.store.keys import Keys


class ReportStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def record_overdue(self, strategy_id: str, review_due: str, overdue_at: datetime) -> None:
        """Remember that a strategy's review (due ``review_due``) fell overdue (idempotent)."""
        await self.redis.zadd(
            self.keys.OVERDUE_REVIEWS,
            {f"{strategy_id}:{review_due}": overdue_at.timestamp()},
            nx=True,
        )

    async def overdue_between(self, start: datetime, end: datetime) -> set[str]:
        """``{strategy_id}:{review_due}`` of reviews that fell overdue in [start, end)."""
        found = await self.redis.zrangebyscore(
            self.keys.OVERDUE_REVIEWS, start.timestamp(), f"({end.timestamp()}"
        )
        return set(cast(list[str], found))

    async def count_between(self, index: str, start: datetime, end: datetime) -> int:
        """Members of a time-scored index scored in [start, end)."""
        return int(await self.redis.zcount(index, start.timestamp(), f"({end.timestamp()}"))

    async def members_between(self, index: str, start: datetime, end: datetime) -> list[str]:
        found = await self.redis.zrangebyscore(index, start.timestamp(), f"({end.timestamp()}")
        return cast(list[str], found)

    async def get(self, quarter: str) -> str | None:
        raw = await self.redis.get(self.keys.oversight_report(quarter))
        return str(raw) if raw is not None else None

    async def put_if_absent(self, quarter: str, report_json: str) -> bool:
        """Keep a completed quarter's report; False when one was kept already."""
        return bool(await self.redis.set(self.keys.oversight_report(quarter), report_json, nx=True))
