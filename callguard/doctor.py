"""``callguard doctor``: a checklist of what production needs, printed plainly.

Checks the settings, the policy file, Redis (reachable, AOF on), the Twilio credentials
(a harmless read of the account) and the public URL's form. Nothing is changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool
from redis.exceptions import ResponseError

from callguard.policy import PolicyError, load_policy
from callguard.settings import Settings, problems_for_serve

Status = Literal["ok", "warn", "fail"]
MARK = {"ok": "[ok]  ", "warn": "[warn]", "fail": "[FAIL]"}


@dataclass(frozen=True)
class Check:
    status: Status
    what: str
    detail: str = ""

    def line(self) -> str:
        return f"{MARK[self.status]} {self.what}" + (f": {self.detail}" if self.detail else "")


def check_settings(settings: Settings) -> list[Check]:
    problems = problems_for_serve(settings)
    if problems:
        return [Check("fail", "settings", p) for p in problems]
    return [Check("ok", "settings", "everything 'callguard serve' needs is set")]


def check_policy(settings: Settings) -> list[Check]:
    path = settings.policy_path()
    try:
        policy = load_policy(path)
    except PolicyError as error:
        return [Check("fail", f"policy {path}", line) for line in error.lines]
    return [
        Check(
            "ok",
            f"policy {path}",
            f"{len(policy.reasons)} reason codes, reviews every "
            f"{policy.reviews.max_interval_months} months at most",
        )
    ]


def check_public_url(settings: Settings) -> list[Check]:
    if not settings.public_url:
        return [Check("fail", "public URL", "CALLGUARD_PUBLIC_URL is not set")]
    parts = urlsplit(settings.public_url)
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    checks = []
    if parts.scheme != "https" and not local:
        checks.append(Check("fail", "public URL", "must be https: Twilio sends caller data to it"))
    if parts.path not in ("", "/"):
        checks.append(
            Check(
                "warn",
                "public URL",
                f"has a path ({parts.path}): your proxy must strip it before "
                "CallGuard, and Twilio signs the full URL",
            )
        )
    if not checks:
        checks.append(Check("ok", "public URL", settings.public_url))
    return checks


async def check_redis(url: str, prefix: str = "cg:") -> list[Check]:
    from callguard.store.connection import connect, parse_url

    target = parse_url(url)
    redis = connect(url, timeout_s=3.0)
    try:
        await redis.ping()
        where, configs = await _topology(redis, target.kind, prefix)
        checks = [Check("ok", "Redis", where)]
    except Exception as error:
        return [Check("fail", "Redis", f"{type(error).__name__}: {error}")]
    finally:
        await redis.aclose()
    if configs is None:  # managed Redis services often disable CONFIG
        return [
            *checks,
            Check("warn", "Redis durability", "CONFIG is disabled: make sure AOF is on"),
        ]
    for label, config in configs:
        on = f" on {label}" if label else ""
        if config.get("appendonly") != "yes":
            checks.append(
                Check(
                    "warn",
                    "Redis durability",
                    f"appendonly is off{on}: a Redis restart loses records",
                )
            )
        elif config.get("appendfsync") != "always":
            checks.append(
                Check(
                    "warn",
                    "Redis durability",
                    f"AOF on but appendfsync {config.get('appendfsync')}{on}: a crash can lose "
                    "acknowledged writes; 'always' is recommended",
                )
            )
    if len(checks) == 1:
        every = " on every master" if len(configs) > 1 else ""
        checks.append(Check("ok", "Redis durability", f"AOF on, appendfsync always{every}"))
    return checks


Configs = list[tuple[str, Mapping[str | None, str | None]]]


async def _topology(redis: Redis, kind: str, prefix: str) -> tuple[str, Configs | None]:
    """What answered PING, and each master's AOF settings (None when CONFIG is refused)."""
    try:
        if kind == "cluster":
            cluster = cast(RedisCluster, redis)
            primaries = cluster.get_primaries()
            home = cluster.get_node_from_key(prefix)
            configs: Configs = [
                (node.name, await cluster.config_get("append*", target_nodes=node))
                for node in primaries
            ]
            node = home.name if home else "no node"
            where = (
                f"Redis Cluster of {len(primaries)} masters answers PING; this office's keys "
                f"(prefix {prefix}, slot {cluster.keyslot(prefix)}) are on {node}"
            )
            return where, configs
        if kind == "sentinel":
            pool = cast(SentinelConnectionPool, redis.connection_pool)
            host, port = await pool.get_master_address()  # type: ignore[no-untyped-call]
            where = f"Sentinel names {host}:{port} master of {pool.service_name!r}; it answers PING"
            return where, [("", await redis.config_get("append*"))]
        return "answers PING", [("", await redis.config_get("append*"))]
    except ResponseError:
        return "answers PING", None


async def check_twilio(settings: Settings) -> list[Check]:
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        return [Check("fail", "Twilio credentials", "not set")]
    from callguard.telephony import TwilioTelephony

    telephony = TwilioTelephony(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        settings.twilio_api_base,
    )
    try:
        account = await telephony.client.api.v2010.accounts(
            settings.twilio_account_sid
        ).fetch_async()
        return [
            Check(
                "ok",
                "Twilio credentials",
                f"account {account.friendly_name or account.sid} is {account.status}",
            )
        ]
    except Exception as error:
        status = getattr(error, "status", None)
        reason = "wrong account SID or auth token" if status in (401, 403, 404) else str(error)
        return [Check("fail", "Twilio credentials", f"{reason} (HTTP {status})")]
    finally:
        await telephony.close()


async def run_checks(settings: Settings, redis_url: str | None) -> list[Check]:
    checks = [*check_settings(settings), *check_policy(settings), *check_public_url(settings)]
    if redis_url is not None:
        checks += await check_redis(redis_url, settings.redis_key_prefix)
    checks += await check_twilio(settings)
    return checks


def doctor(settings: Settings, redis_url: str | None) -> tuple[list[str], bool]:
    checks = asyncio.run(run_checks(settings, redis_url))
    return [c.line() for c in checks], not any(c.status == "fail" for c in checks)
