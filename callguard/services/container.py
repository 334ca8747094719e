"""Everything the handlers need, built once per app from settings (see bootstrap)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from callguard.clock import Clock
from callguard.policy import Policy
from callguard.services.background import Background
from callguard.services.calls import CallEvents
from callguard.services.register import Register
from callguard.services.screening import Screening
from callguard.settings import Settings
from callguard.store.calls import CallStore
from callguard.store.register import RegisterStore
from callguard.store.spool import Spool
from callguard.store.users import UserStore
from callguard.telephony import Telephony, TwilioTelephony
from callguard.urls import Callbacks


@dataclass
class Services:
    settings: Settings
    policy: Policy
    clock: Clock
    redis: Redis
    register: Register
    users: UserStore
    calls: CallStore
    spool: Spool
    screening: Screening
    call_events: CallEvents
    telephony: Telephony
    callbacks: Callbacks
    background: Background

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz


def build_services(
    settings: Settings,
    policy: Policy,
    clock: Clock,
    redis: Redis,
    telephony: Telephony | None = None,
) -> Services:
    """Needs a running event loop (the Twilio HTTP client opens a session)."""
    missing = [
        name
        for name in ("public_url", "default_route", "twilio_account_sid", "twilio_auth_token")
        if getattr(settings, name) is None
    ]
    if missing:
        raise ValueError(f"settings missing: {', '.join(missing)}")
    assert settings.public_url and settings.default_route and settings.twilio_account_sid
    assert settings.twilio_auth_token is not None
    if telephony is None:
        telephony = TwilioTelephony(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            settings.twilio_api_base,
        )
    calls = CallStore(redis)
    spool = Spool(settings.data_dir / "spool")
    callbacks = Callbacks(settings.public_url)
    return Services(
        settings=settings,
        policy=policy,
        clock=clock,
        redis=redis,
        register=Register(RegisterStore(redis), policy, settings.tz),
        users=UserStore(redis),
        calls=calls,
        spool=spool,
        screening=Screening(
            calls,
            spool,
            policy,
            settings.tz,
            settings.default_route,
            budget_s=settings.redis_timeout_ms / 1000 * 3,
        ),
        call_events=CallEvents(calls, spool, telephony, callbacks),
        telephony=telephony,
        callbacks=callbacks,
        background=Background(),
    )
