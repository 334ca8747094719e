"""Connecting to Redis with redis.asyncio (hiredis parser when installed).

``CALLGUARD_REDIS_URL`` takes three forms:

- ``redis://``, ``rediss://`` or ``unix://``: one Redis (redis-py's own URL syntax);
- ``redis-sentinel://[[user]:password@]host:port[,host:port...]/service[/db]``: the master
  that those Sentinels name ``service``, found again after a failover;
- ``redis-cluster://[[user]:password@]host:port[,host:port...]``: a Redis Cluster, from any
  of its nodes. Every key then carries the hash tag of ``CALLGUARD_REDIS_KEY_PREFIX``
  (e.g. ``cg:{lancs}:``), so one office's data sits in one slot and every script and
  transaction stays atomic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.connection import parse_url as redis_py_parse_url

SENTINEL_SCHEME = "redis-sentinel"
CLUSTER_SCHEME = "redis-cluster"


class BadRedisUrl(ValueError):
    pass


@dataclass(frozen=True)
class RedisTarget:
    kind: Literal["single", "sentinel", "cluster"]
    nodes: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None


def parse_url(url: str) -> RedisTarget:
    """What a ``CALLGUARD_REDIS_URL`` points at, or BadRedisUrl saying what is wrong."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise BadRedisUrl(
            "must start with redis://, rediss://, unix://, redis-sentinel:// or redis-cluster://"
        )
    if scheme in ("redis", "rediss", "unix"):
        try:
            redis_py_parse_url(url)  # type: ignore[no-untyped-call]
        except ValueError:
            # Never repeat the URL or redis-py's message: either may hold the password.
            raise BadRedisUrl(
                "is not a valid redis:// URL (a password with special characters must be "
                "percent-encoded)"
            ) from None
        return RedisTarget("single")
    if scheme not in (SENTINEL_SCHEME, CLUSTER_SCHEME):
        raise BadRedisUrl(f"unknown scheme {scheme!r}")
    userinfo, at, hosts_and_path = rest.rpartition("@")
    hosts, _, path = hosts_and_path.partition("/")
    if "?" in path or "#" in path or "?" in hosts:
        raise BadRedisUrl("query strings and fragments are not supported")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes = tuple(_host_port(part, scheme) for part in hosts.split(","))
    segments = [segment for segment in path.split("/") if segment]
    if scheme == CLUSTER_SCHEME:
        if segments:
            raise BadRedisUrl("a Redis Cluster has no database number or path")
        return RedisTarget("cluster", nodes, username=username, password=password)
    if not segments or len(segments) > 2:
        raise BadRedisUrl("must name the Sentinel service: redis-sentinel://host:port/service")
    db = 0
    if len(segments) == 2:
        if not segments[1].isdigit():
            raise BadRedisUrl("the database after the service must be a number")
        db = int(segments[1])
    return RedisTarget("sentinel", nodes, unquote(segments[0]), db, username, password)


def _host_port(part: str, scheme: str) -> tuple[str, int]:
    default = 26379 if scheme == SENTINEL_SCHEME else 6379
    parts = urlsplit(f"//{part}")
    if not parts.hostname:
        raise BadRedisUrl(f"{part!r} is not host:port")
    try:
        port = parts.port or default
    except ValueError as exc:
        raise BadRedisUrl(f"{part!r}: bad port") from exc
    return parts.hostname, port


class SentinelMaster(Redis):
    """The master the Sentinels name, found again after a failover. Closing it also closes
    the connections to the Sentinels themselves (redis-py leaves those open)."""

    sentinels: Sentinel | None = None

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        if self.sentinels is not None:
            for each in self.sentinels.sentinels:
                await each.aclose()


def is_cluster_url(url: str | None) -> bool:
    return url is not None and url.startswith(CLUSTER_SCHEME + "://")


def connect(
    url: str,
    *,
    timeout_s: float = 2.0,
    decode_responses: bool = True,
    per_command_timeout: bool = True,
) -> Redis:
    """A client that fails fast: the inbound path must fail open rather than wait.

    ``decode_responses=False`` gives bytes, for binary values such as DUMP's.
    ``per_command_timeout=False`` bounds only connecting by ``timeout_s``, for a caller that
    bounds every command itself (the inbound path's budget): redis-py's own per-command
    timeout costs a task for each command sent and a timer for each answer read.
    A Cluster client is returned typed as ``Redis``: CallGuard uses only the commands,
    scripts and (single-slot) transactions that both offer with the same signatures.
    """
    target = parse_url(url)
    command_timeout_s = timeout_s if per_command_timeout else None
    if target.kind == "cluster":
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            username=target.username,
            password=target.password,
            decode_responses=decode_responses,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
            socket_timeout=command_timeout_s,
            socket_connect_timeout=timeout_s,
        )
        return cast(Redis, cluster)
    if target.kind == "sentinel":
        sentinel = Sentinel(
            list(target.nodes),
            sentinel_kwargs={"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s},
        )
        master = cast(
            SentinelMaster,
            sentinel.master_for(
                target.service,
                redis_class=SentinelMaster,
                db=target.db,
                username=target.username,
                password=target.password,
                decode_responses=decode_responses,
                retry=Retry(NoBackoff(), 1),
                health_check_interval=30,
                socket_timeout=command_timeout_s,
                socket_connect_timeout=timeout_s,
            ),
        )
        master.sentinels = sentinel
        return master
    return Redis.from_url(
        url,
        decode_responses=decode_responses,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
        socket_timeout=command_timeout_s,
        socket_connect_timeout=timeout_s,
    )
