"""``list_in_pages``: a long list read a page at a time, for the duties that go through
every person or strategy without holding every id at once."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from callguard.store.connection import connect
from callguard.store.paging import list_in_pages
from tests.conftest import KEYS

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    yield client
    await client.aclose()


async def pages_of(redis: Redis, key: str, page: int) -> list[list[str]]:
    return [ids async for ids in list_in_pages(redis, key, page)]


async def test_every_entry_once_in_order_a_page_at_a_time(redis: Redis) -> None:
    key = KEYS.prefix + "paging-test"
    assert await pages_of(redis, key, 3) == []  # no list: no page
    await redis.rpush(key, *[f"id_{i}" for i in range(7)])
    assert await pages_of(redis, key, 3) == [
        ["id_0", "id_1", "id_2"],
        ["id_3", "id_4", "id_5"],
        ["id_6"],
    ]
    assert await pages_of(redis, key, 7) == [[f"id_{i}" for i in range(7)]]  # ends on a page
    assert await pages_of(redis, key, 100) == [[f"id_{i}" for i in range(7)]]


async def test_a_page_is_read_when_it_is_reached(redis: Redis) -> None:
    key = KEYS.prefix + "paging-test"
    await redis.rpush(key, "a", "b", "c", "d")
    read = []
    async for ids in list_in_pages(redis, key, 2):
        read.append(ids)
        if len(read) == 1:
            await redis.rpush(key, "e")  # added during the reading: read too
    assert read == [["a", "b"], ["c", "d"], ["e"]]
