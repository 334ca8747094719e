"""Which failures of a spooled entry may succeed later (the replay stops, to try again) and
which never will (the entry is set aside): the errors as redis-py makes them from what
Redis sends (its own parser, ``parse_error``), and errors that are not Redis's at all.
``tests/integration/test_fail_open.py`` meets the commonest of each on a real Redis."""

from __future__ import annotations

import asyncio
import json

import pytest
from redis._parsers.base import BaseParser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, RedisClusterException
from redis.exceptions import TimeoutError as RedisTimeoutError

from callguard.services.errors import may_succeed_later

pytestmark = pytest.mark.timeout(10)

NOT_YET = [
    "OOM command not allowed when used memory > 'maxmemory'.",
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSCRIPT.",
    "LOADING Redis is loading the dataset in memory",
    "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist",
    "READONLY You can't write against a read only replica.",
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
    "NOREPLICAS Not enough good replicas to write.",
    "CLUSTERDOWN The cluster is down",
    "TRYAGAIN Multiple keys request during rehashing of slot",
    "NOPERM User callguard has no permissions to run the 'evalsha' command",
    "NOAUTH Authentication required.",
    "UNBLOCKED client unblocked via CLIENT UNBLOCK",
    # A script in a cluster: a slot on the move, or a cluster down and serving reads.
    "ERR Script attempted to access a non local key in a cluster node script: "
    "c86adeb3f5893a683d7d2006f87bcb1a6679f6f4, on @user_script:12.",
    "ERR Script attempted to execute a write command while the cluster is down and "
    "readonly script: c86adeb3f5893a683d7d2006f87bcb1a6679f6f4, on @user_script:12.",
]
NEVER = [
    "ERR value is not a valid float script: c86adeb3f5893a683d7d2006f87bcb1a6679f6f4, on "
    "@user_script:1.",
    "ERR user_script:1: boom script: 82903a0434f1503e152f89c03c9acd881a0e8150, on @user_script:1.",
    "WRONGTYPE Operation against a key holding the wrong kind of value",
    "a call record's plan item holds a line break",  # a script's own error_reply
]


def from_redis(reply: str) -> Exception:
    """The exception redis-py raises for this error reply."""
    error: Exception = BaseParser.parse_error(reply)  # type: ignore[no-untyped-call]
    return error


@pytest.mark.parametrize("reply", NOT_YET)
def test_redis_not_ready_to_write_may_succeed_later(reply: str) -> None:
    assert may_succeed_later(from_redis(reply))


@pytest.mark.parametrize("reply", NEVER)
def test_redis_refusing_the_command_itself_never_will(reply: str) -> None:
    assert not may_succeed_later(from_redis(reply))


@pytest.mark.parametrize(
    "error",
    [
        RedisConnectionError("Connection refused"),
        RedisTimeoutError("Timeout reading from socket"),
        TimeoutError(),
        ConnectionRefusedError(),
        RedisClusterException("Redis Cluster cannot be connected"),
        asyncio.CancelledError(),
        MemoryError(),
        RuntimeError("Event loop is closed"),
    ],
)
def test_the_store_away_or_the_work_stopped_may_succeed_later(
    error: BaseException,
) -> None:
    assert may_succeed_later(error)


@pytest.mark.parametrize(
    "error",
    [
        KeyError("call_sid"),
        TypeError("list indices must be integers or slices, not str"),
        ValueError("a call record's plan item holds a line break"),
        json.JSONDecodeError("Expecting value", "", 0),
        DataError("Invalid input of type: 'NoneType'"),
        AttributeError("'list' object has no attribute 'get'"),
        AssertionError(),
    ],
)
def test_a_malformed_entry_never_will(error: Exception) -> None:
    assert not may_succeed_later(error)
