"""Reading a long Redis list a page at a time, for the duties that go through every entry:
a million ids read at once would hold some 90 MB of the process for the length of a run."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import cast

from redis.asyncio import Redis


async def list_in_pages(redis: Redis, key: str, page: int) -> AsyncIterator[list[str]]:
    """The list at ``key``, ``page`` entries at a time, each page read when it is reached.
    For lists that only grow (the register's people and strategies): an offset then always
    means the same entry, and one added during the reading is read too."""
    for offset in itertools.count(0, page):
        ids = cast(list[str], await redis.lrange(key, offset, offset + page - 1))
        if ids:
            yield ids
        if len(ids) < page:
            return
