"""Reminders and escalations from scheduled duties: who hears, and delivery once per event.

``Outbox.send_once(event, notices)`` is the one way a duty tells anyone anything: the
notices for a due event are written together with the event's marker (``store.outbox``),
so a reminder is sent once per due event however often, and on however many replicas, the
duty runs. They appear in ``GET /api/v1/notifications`` with the ones for ended calls.

Escalations go to the person's line manager (``User.line_manager``). Someone with no line
manager recorded (a manager at the top of the office, or a user no longer on the system)
escalates to the chief executive(s) instead, so an escalation always reaches someone
accountable (§8.3) rather than nobody.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from callguard.domain.roles import Role
from callguard.services.notify import Mailer, email_notification
from callguard.store.notifications import NotificationStore
from callguard.store.outbox import OutboxStore, StoredNotice
from callguard.store.users import UserStore

log = logging.getLogger("callguard.reminders")

DutyKind = Literal[
    "review_reminder",
    "review_overdue",
    "strategy_lapsed",
    "file_note_overdue",
    "file_note_escalation",
    "message_untriaged",
    "notice_reminder",
    "appeal_reminder",
    "appeal_overdue",
    "subject_access_due",
    "subject_access_overdue",
]


def new_notice_id() -> str:
    return f"ntf_{secrets.token_hex(8)}"


@dataclass(frozen=True)
class Notice:
    """What a duty tells one user. Never a caller's phone number or a person's name: the
    reader follows the strategy, note or call id to the record (and that read is audited)."""

    user: str
    kind: DutyKind
    at: datetime
    title: str
    text: str
    staff: str = ""  # the member of staff the notice is about (owner, author), if any
    strategy_id: str | None = None
    call_sid: str | None = None
    file_note_id: str | None = None

    def stored(self, email: str = "not_configured") -> StoredNotice:
        notice_id = new_notice_id()
        fields = {
            "id": notice_id,
            "user": self.user,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "title": self.title,
            "text": self.text,
            "staff": self.staff,
            "strategy_id": self.strategy_id,
            "call_sid": self.call_sid,
            "file_note_id": self.file_note_id,
            "week": None,
            "read_at": None,
            "email": email,
        }
        return StoredNotice(notice_id, self.user, self.at.timestamp(), fields)


class NoticeEmails:
    """Sends a delivered notice by e-mail too, when SMTP is configured: the in-app
    notification records how it went (``email``). Sent by the replica that delivered the
    notice, after delivery, so at most once; a replica dying in between leaves it
    ``pending``, in-app only. A duty never stops for mail: after a failure of mail itself,
    mail rests for ``PAUSE_S`` (notices meanwhile are marked ``failed`` at once rather than
    each waiting for the SMTP timeout), and nothing it raises reaches the duty. A message
    or recipient refused (a mistyped or departed address) holds up no other notice's."""

    PAUSE_S = 60.0

    def __init__(
        self,
        mailer: Mailer,
        users: UserStore,
        notifications: NotificationStore,
        public_url: str | None,
    ) -> None:
        self.mailer = mailer
        self.users = users
        self.notifications = notifications
        self.public_url = public_url.rstrip("/") if public_url else None
        self._paused_until = 0.0

    async def send(self, notice_id: str, notice: Notice) -> None:
        body = notice.text + "\n"
        if self.public_url:
            body += f"\nOpen CallGuard to act on it: {self.public_url}/console\n"
        try:
            if time.monotonic() < self._paused_until:
                await self.notifications.set_field(notice_id, "email", "failed")
                return
            status = await email_notification(
                self.mailer,
                self.users,
                self.notifications,
                notice_id,
                notice.user,
                notice.title,
                body,
            )
        except Exception as error:  # e.g. Redis gone while recording: the notice stands
            log.warning("e-mail for notice %s not sent (%s)", notice_id, type(error).__name__)
            return
        if status == "failed":
            self._paused_until = time.monotonic() + self.PAUSE_S


class Outbox:
    def __init__(self, store: OutboxStore, emails: NoticeEmails | None = None) -> None:
        self.store = store
        self.emails = emails

    async def send_once(
        self,
        event: str,
        notices: Sequence[Notice],
        ttl_s: int,
        covers: Sequence[str] = (),
    ) -> bool:
        """Deliver ``notices`` for ``event`` unless it was delivered before; True if now.

        ``covers`` names earlier events this one makes moot (marked delivered with it).
        """
        if not notices:
            log.warning("due event %s has nobody to tell", event)
        email = "pending" if self.emails is not None else "not_configured"
        stored = [n.stored(email) for n in notices]
        delivered = await self.store.deliver_once(event, stored, ttl_s * 1000, covers)
        if delivered and self.emails is not None:
            for notice, each in zip(notices, stored, strict=True):
                await self.emails.send(each.id, notice)
        return delivered


class Recipients:
    """Whom a duty tells: a named user, their line manager, or everyone in a role."""

    def __init__(self, users: UserStore) -> None:
        self.users = users

    async def with_role(self, role: Role) -> list[str]:
        return sorted(u.name for u in await self.users.list_users() if u.role is role)

    async def escalation_for(self, name: str) -> list[str]:
        """``name``'s line manager; the chief executive(s) when none is recorded."""
        user = await self.users.get_user(name)
        if user is not None and user.line_manager:
            return [user.line_manager]
        return [n for n in await self.with_role(Role.chief_executive) if n != name]

    async def full_name(self, name: str) -> str:
        """How a reminder's words name ``name``: their full name, else their user name."""
        user = await self.users.get_user(name)
        return user.full_name if user else name

    async def can_act(self, name: str) -> bool:
        """Whether ``name`` is a user who can still sign in (not gone, not disabled)."""
        user = await self.users.get_user(name)
        return user is not None and not user.disabled

    async def reaching(self, name: str) -> list[str]:
        """``name`` if they can still act on a reminder; else whom they escalate to (so a
        reminder reaches someone when its owner has left)."""
        if await self.can_act(name):
            return [name]
        return await self.escalation_for(name)
