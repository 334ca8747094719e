"""``callguard doctor``: a checklist of what production needs, printed plainly.

Checks the settings, the policy file, Redis (reachable, AOF on), the Twilio credentials
(a harmless read of the account) and the public URL's form. Nothing is changed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

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


async def check_redis(url: str) -> list[Check]:
    from callguard.store.connection import connect

    redis = connect(url, timeout_s=3.0)
    try:
        await redis.ping()
        checks = [Check("ok", "Redis", "answers PING")]
        try:
            config = await redis.config_get("append*")
        except Exception:  # managed Redis services often disable CONFIG
            return [
                *checks,
                Check("warn", "Redis durability", "CONFIG is disabled: make sure AOF is on"),
            ]
        if config.get("appendonly") != "yes":
            checks.append(
                Check(
                    "warn", "Redis durability", "appendonly is off: a Redis restart loses records"
                )
            )
        elif config.get("appendfsync") != "always":
            checks.append(
                Check(
                    "warn",
                    "Redis durability",
                    f"AOF on but appendfsync {config.get('appendfsync')}: a crash can lose "
                    "acknowledged writes; 'always' is recommended",
                )
            )
        else:
            checks.append(Check("ok", "Redis durability", "AOF on, appendfsync always"))
        return checks
    except Exception as error:
        return [Check("fail", "Redis", f"{type(error).__name__}: {error}")]
    finally:
        await redis.aclose()


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
        checks += await check_redis(redis_url)
    checks += await check_twilio(settings)
    return checks


def doctor(settings: Settings, redis_url: str | None) -> tuple[list[str], bool]:
    checks = asyncio.run(run_checks(settings, redis_url))
    return [c.line() for c in checks], not any(c.status == "fail" for c in checks)
