"""One of each store on one Redis client and one office's ``Keys``: what the composition
root (``callguard.bootstrap``) builds the services on, and commands and tests use alone."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from callguard.store.appeals import AppealStore
from callguard.store.call_records import CallStore
from callguard.store.file_notes import NoteStore
from callguard.store.keys import Keys
from callguard.store.locks import Leases
from callguard.store.notifications import NotificationStore
from callguard.store.outbox import OutboxStore
from callguard.store.register import RegisterStore
from callguard.store.reports import ReportStore
from callguard.store.retention import HoldStore, RetentionStore
from callguard.store.sessions import LoginThrottle, SessionStore
from callguard.store.subject_access import SubjectAccessStore
from callguard.store.users import UserStore
from callguard.store.welfare import WelfareStore


@dataclass(frozen=True)
class Stores:
    """One of each store, on one Redis client and one office's keys."""

    redis: Redis
    keys: Keys
    register: RegisterStore
    calls: CallStore
    notes: NoteStore
    notifications: NotificationStore
    welfare: WelfareStore
    users: UserStore
    outbox: OutboxStore
    reports: ReportStore
    retention: RetentionStore
    holds: HoldStore
    leases: Leases
    sessions: SessionStore
    login_throttle: LoginThrottle
    appeals: AppealStore
    subject_access: SubjectAccessStore


def build_stores(redis: Redis, keys: Keys, *, login_max_failures: int = 5) -> Stores:
    return Stores(
        redis=redis,
        keys=keys,
        register=RegisterStore(redis, keys),
        calls=CallStore(redis, keys),
        notes=NoteStore(redis, keys),
        notifications=NotificationStore(redis, keys),
        welfare=WelfareStore(redis, keys),
        users=UserStore(redis, keys),
        outbox=OutboxStore(redis, keys),
        reports=ReportStore(redis, keys),
        retention=RetentionStore(redis, keys),
        holds=HoldStore(redis, keys),
        leases=Leases(redis, keys),
        sessions=SessionStore(redis, keys),
        login_throttle=LoginThrottle(redis, keys, login_max_failures),
        appeals=AppealStore(redis, keys),
        subject_access=SubjectAccessStore(redis, keys),
    )
