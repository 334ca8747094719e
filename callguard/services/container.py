"""Everything the handlers need, built once per app from settings (see bootstrap)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from callguard.clock import Clock
from callguard.policy import Policy
from callguard.services.register import Register
from callguard.settings import Settings
from callguard.store.register import RegisterStore
from callguard.store.users import UserStore


@dataclass
class Services:
    settings: Settings
    policy: Policy
    clock: Clock
    redis: Redis
    register: Register
    users: UserStore

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz


def build_services(settings: Settings, policy: Policy, clock: Clock, redis: Redis) -> Services:
    return Services(
        settings=settings,
        policy=policy,
        clock=clock,
        redis=redis,
        register=Register(RegisterStore(redis), policy, settings.tz),
        users=UserStore(redis),
    )
