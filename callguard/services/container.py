"""What the entry points hand to the web app, the webhooks and the duties: every service,
built once per process by ``callguard.bootstrap`` from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from callguard.clock import Clock
from callguard.policy import Policy
from callguard.services.accounts import Accounts
from callguard.services.appeals import Appeals
from callguard.services.background import Background
from callguard.services.call_events import CallEvents
from callguard.services.call_log import CallLog
from callguard.services.controls import LiveControls
from callguard.services.duties import Duties
from callguard.services.letters import Letters
from callguard.services.notes import FileNotes
from callguard.services.notify import Notifier
from callguard.services.read_audit import ReadAudit
from callguard.services.register import Register
from callguard.services.screening import Screening
from callguard.services.subject_access import SubjectAccess
from callguard.settings import Settings
from callguard.store.call_records import CallStore
from callguard.store.keys import Keys
from callguard.store.sessions import LoginThrottle, SessionStore
from callguard.store.spool import Spool
from callguard.store.users import UserStore
from callguard.telephony import Telephony
from callguard.urls import Callbacks


@dataclass
class Services:
    settings: Settings
    policy: Policy
    clock: Clock
    keys: Keys
    redis: Redis
    register: Register
    users: UserStore
    calls: CallStore
    call_log: CallLog
    spool: Spool
    screening: Screening
    call_events: CallEvents
    telephony: Telephony
    callbacks: Callbacks
    background: Background
    notes: FileNotes
    notifier: Notifier
    controls: LiveControls
    duties: Duties
    sessions: SessionStore
    login_throttle: LoginThrottle
    accounts: Accounts
    appeals: Appeals
    letters: Letters
    subject_access: SubjectAccess
    read_audit: ReadAudit
    # The inbound path's own client, when it has one (see bootstrap.build_services).
    inbound_redis: Redis | None = None

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    async def check_store(self) -> None:
        """Raise if the office's Redis does not answer. A read of a key, not PING: on a
        Redis Cluster PING goes to any node, a key to the master holding this office's
        slot, the one the calls need."""
        await self.redis.exists(self.keys.SCHEMA)

    async def close(self) -> None:
        await self.background.close()
        await self.telephony.close()
        await self.redis.aclose()
        if self.inbound_redis is not None and self.inbound_redis is not self.redis:
            await self.inbound_redis.aclose()
