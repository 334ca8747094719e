"""Shared by tests/integration/test_scheduler_*: users, data, replicas and a crashing replica.

Run as a module (``python -m tests.integration.scheduler_support``) it is a replica that
runs one job and hangs after delivering some reminders, holding its lease, so a test can
kill it outright (SIGKILL: no clean-up, no release) and watch another replica take over.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from callguard.bootstrap import build_duties
from callguard.domain.models import PersonIn, Strategy, StrategyIn
from callguard.domain.notes import Notification
from callguard.domain.roles import Role
from callguard.domain.users import Actor, User
from callguard.policy import Policy, load_policy
from callguard.services.duties import Duties
from callguard.services.register import Register
from callguard.services.reminders import Notice, Outbox
from callguard.store.connection import connect
from callguard.store.container import build_stores
from callguard.store.keys import DEFAULT_PREFIX, Keys
from callguard.store.notifications import NotificationStore
from callguard.store.outbox import OutboxStore
from callguard.store.register import RegisterStore
from callguard.store.users import UserStore
from tests.conftest import KEYS

TZ = ZoneInfo("Europe/London")

# mia.manager owns strategies; her line manager is lee.lead. mo.manager has no line manager
# recorded, so escalations about his strategies go to the chief executive.
MIA = User(name="mia.manager", role=Role.manager, line_manager="lee.lead")
LEE = User(name="lee.lead", role=Role.manager)
MO = User(name="mo.manager", role=Role.manager)
CEO = User(name="ceo", role=Role.chief_executive)
SAM = User(name="sam.staff", role=Role.staff, line_manager="mo.manager")
ALL_USERS = (MIA, LEE, MO, CEO, SAM)


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """An instant given in office-local time, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def actor(user: User) -> Actor:
    return Actor(name=user.name, role=user.role)


async def put_users(redis: Redis, users: Sequence[User] = ALL_USERS) -> None:
    store = UserStore(redis, KEYS)
    for user in users:
        await store.put_user(user)


def register_of(redis: Redis, policy: Policy) -> Register:
    return Register(RegisterStore(redis, KEYS), policy, TZ)


async def person_with_strategy(
    register: Register,
    now: datetime,
    *,
    review_due: date,
    owner: User = MIA,
    phone: str = "07700 900123",
    matter_ref: str = "CMP-2026-0142",
    restrictions: list[dict[str, object]] | None = None,
) -> Strategy:
    person = await register.create_person(
        PersonIn(name="A. Person", phones=[phone]), actor(owner), now
    )
    body = StrategyIn.model_validate(
        {
            "person_id": person.id,
            "matter_ref": matter_ref,
            "reason": "Repeated abusive calls after the complaint was finalised",
            "restrictions": restrictions or [{"kind": "phone_blocked"}],
            "notified_on": now.astimezone(TZ).date().isoformat(),
            "review_due": review_due.isoformat(),
        }
    )
    return await register.create_strategy(body, actor(owner), now)


async def notices(redis: Redis, user: str, kind: str | None = None) -> list[Notification]:
    """What ``user`` sees in ``GET /api/v1/notifications``, read by the real store."""
    found = await NotificationStore(redis, KEYS).of_user(user, 1000)
    return [n for n in found if kind is None or n.kind == kind]


async def all_notices(redis: Redis) -> list[Notification]:
    out: list[Notification] = []
    for user in ALL_USERS:
        out += await notices(redis, user.name)
    return out


def with_overdue(policy: Policy, overdue: str) -> Policy:
    return policy.model_copy(
        update={"reviews": policy.reviews.model_copy(update={"overdue": overdue})}
    )


class Replica:
    """One replica: its own Redis connection and its own duties. With ``fail_after`` its
    outbox is a ``FailingOutbox`` (kept as ``outbox``)."""

    def __init__(
        self,
        redis_url: str,
        policy: Policy,
        *,
        lease_ms: int = 60_000,
        fail_after: int | None = None,
        hang: bool = False,
    ) -> None:
        self.redis = connect(redis_url)
        stores = build_stores(self.redis, KEYS)
        self.outbox = (
            FailingOutbox(stores.outbox, fail_after, hang=hang) if fail_after is not None else None
        )
        self.duties: Duties = build_duties(
            stores, policy, TZ, lease_ms=lease_ms, outbox=self.outbox
        )

    async def reached(self, timeout_s: float = 10) -> None:
        """Wait until the failing outbox made its deliveries (and fell over or hung)."""
        assert self.outbox is not None
        await asyncio.wait_for(self.outbox.reached.wait(), timeout_s)

    async def close(self) -> None:
        await self.redis.aclose()


class Crash(Exception):
    """A replica falling over midway (raised after some reminders were delivered)."""


class FailingOutbox(Outbox):
    """The real outbox, but the replica crashes (raises) right after its ``after``-th
    delivery; or, with ``hang``, stops there for ever, still holding its lease."""

    def __init__(self, store: OutboxStore, after: int, *, hang: bool = False) -> None:
        super().__init__(store)
        self.after = after
        self.hang = hang
        self.delivered = 0
        self.reached = asyncio.Event()  # set once ``after`` deliveries were made

    async def send_once(
        self, event: str, notices: Sequence[Notice], ttl_s: int, covers: Sequence[str] = ()
    ) -> bool:
        sent = await super().send_once(event, notices, ttl_s, covers)
        self.delivered += sent
        if self.delivered >= self.after:
            self.reached.set()
            if self.hang:
                print("halfway", flush=True)
                await asyncio.Event().wait()
            raise Crash(f"replica crashed after {self.delivered} deliveries")
        return sent


async def _hanging_replica(
    redis_url: str, keys: Keys, job: str, now: datetime, after: int, lease_ms: int
) -> None:
    policy = load_policy(_policy_path())
    stores = build_stores(connect(redis_url), keys)
    duties = build_duties(
        stores, policy, TZ, lease_ms=lease_ms, outbox=FailingOutbox(stores.outbox, after, hang=True)
    )
    await duties.run(job, now)


def _policy_path() -> Path:
    from tests.conftest import POLICY_PATH

    return POLICY_PATH


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--job", required=True)
    parser.add_argument("--now", required=True)
    parser.add_argument("--after", type=int, required=True)
    parser.add_argument("--lease-ms", type=int, required=True)
    parser.add_argument("--key-prefix", default=DEFAULT_PREFIX)
    args = parser.parse_args(argv)
    keys = Keys(args.key_prefix)
    now = datetime.fromisoformat(args.now)
    asyncio.run(_hanging_replica(args.redis_url, keys, args.job, now, args.after, args.lease_ms))
    return 0


if __name__ == "__main__":
    sys.exit(main())
