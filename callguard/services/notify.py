"""Telling line managers: in-app notifications, e-mail, and staff-welfare counts (§5.5, §6.5).

When staff end a call, their line manager gets an in-app notification (written in the same
step as the ended call, see ``store.file_notes.END_CALL``) and, when ``CALLGUARD_SMTP_HOST`` is
set, an e-mail. E-mail is sent in the background after the request has answered: a mail
server that is down or slow never fails or delays ending a call. The outcome is kept on the
notification (``email``: ``sent``, ``failed``, ``no_address`` or ``not_configured``) and a
failure is logged.

Nothing sent or shown here holds a caller's full phone number: only ``mask_phone``'s form.

Welfare (§5.5): each call a member of staff warns on or ends counts once towards their
office-local ISO week. When a week's count reaches ``welfare.alert_threshold_per_week``,
their line manager gets one welfare alert for that week, never two (``WELFARE_COUNT``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import smtplib
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from callguard import wording
from callguard.domain.notes import FileNote, Notification
from callguard.domain.users import User
from callguard.domain.working_days import iso_week, recent_iso_weeks
from callguard.policy import Policy
from callguard.services.background import Background
from callguard.services.errors import NotFound
from callguard.settings import Settings
from callguard.store.notifications import NotificationStore
from callguard.store.users import UserStore
from callguard.store.welfare import WelfareStore

log = logging.getLogger("callguard.notify")

SMTP_TIMEOUT_S = 10.0


def new_notification_id() -> str:
    return f"ntf_{secrets.token_hex(8)}"


def _named(staff: User | None, user_name: str) -> str:
    """A member of staff as a message names them: their full name, else their user name."""
    return staff.full_name if staff else user_name


class Mailer(Protocol):
    async def send(self, *, to: str, subject: str, body: str) -> None:
        """Send, or raise: ``MessageRefused`` when the mail server refused this message or
        its recipient only (the next message may well go), anything else when mail is not
        working (unreachable, refusing us, misconfigured)."""
        ...


class MessageRefused(Exception):
    """The mail server refused this message or its recipient (an unknown or full mailbox,
    say), not the connection or the sender: other messages may still be sent."""


class SmtpMailer:
    """Plain SMTP through the standard library, run in a thread so the loop never blocks."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.sender = settings.smtp_from
        self.starttls = settings.smtp_starttls
        self.username = settings.smtp_username
        self.password = settings.smtp_password

    async def send(self, *, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(body)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        try:
            self._deliver(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                raise MessageRefused("the recipient was refused") from error
            raise  # 4xx: the server's trouble for now (421 closing, 451, 452), not this one's
        except smtplib.SMTPDataError as error:
            if 500 <= error.smtp_code < 600:  # the message refused for good, not mail down
                raise MessageRefused(f"the message was refused ({error.smtp_code})") from error
            raise

    def _deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_S) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username and self.password is not None:
                smtp.login(self.username, self.password.get_secret_value())
            smtp.send_message(message)


async def email_notification(
    mailer: Mailer,
    users: UserStore,
    store: NotificationStore,
    notification_id: str,
    user: str,
    subject: str,
    body: str,
) -> str:
    """E-mail an in-app notification to its recipient and record on it how that went
    (``email``: ``sent``, ``failed`` or ``no_address``). Returns what happened:
    ``sent``; ``no_address``; ``refused``: the mail server refused this message or its
    recipient only, so the next may be sent (recorded as ``failed``); or ``failed``: mail
    itself is not working. A mail failure is logged (by id, never the address) and the
    in-app notification stands."""
    recipient = await users.get_user(user)
    if recipient is None or not recipient.email:
        log.warning(
            "no e-mail address for %s; notification %s is in-app only", user, notification_id
        )
        await store.set_field(notification_id, "email", "no_address")
        return "no_address"
    try:
        await mailer.send(to=recipient.email, subject=subject, body=body)
    except MessageRefused as refused:
        log.warning(
            "e-mail for notification %s refused by the mail server: %s", notification_id, refused
        )
        await store.set_field(notification_id, "email", "failed")
        return "refused"
    except Exception as error:  # any mail failure is recorded, never raised
        log.warning("e-mail for notification %s failed (%s)", notification_id, type(error).__name__)
        await store.set_field(notification_id, "email", "failed")
        return "failed"
    await store.set_field(notification_id, "email", "sent")
    return "sent"


class StaffWeek(BaseModel):
    name: str
    calls: int
    alert_raised: bool


class WelfareWeek(BaseModel):
    week: str
    staff: list[StaffWeek]


class WelfareReport(BaseModel):
    threshold_per_week: int
    weeks: list[WelfareWeek]


class Notifier:
    def __init__(
        self,
        store: NotificationStore,
        welfare: WelfareStore,
        users: UserStore,
        mailer: Mailer | None,
        background: Background,
        policy: Policy,
        tz: ZoneInfo,
        public_url: str,
    ) -> None:
        self.store = store
        self.welfare = welfare
        self.users = users
        self.mailer = mailer
        self.background = background
        self.policy = policy
        self.tz = tz
        self.public_url = public_url.rstrip("/")

    def note_url(self, note_id: str) -> str:
        return f"{self.public_url}/api/v1/file-notes/{note_id}"

    def _local(self, moment: datetime) -> str:
        return wording.date_and_time(moment, self.tz)

    # --- a call ended ------------------------------------------------------------------------

    def call_ended(self, note: FileNote, staff: User | None, manager: str) -> Notification:
        """The line manager's notification for an ended call (stored with the end itself)."""
        assert note.ended is not None
        who = _named(staff, note.author)
        matter = ", ".join(note.matter_refs) or "no matter reference"
        return Notification(
            id=new_notification_id(),
            user=manager,
            kind="call_ended",
            at=note.ended.at,
            title=f"{who} ended a call ({note.reason_label or note.reason})",
            text=(
                f"The call from {note.caller} about {matter} was ended on "
                f"{self._local(note.ended.at)}. The file note is due by "
                f"{self._local(note.due_at)}."
            ),
            staff=note.author,
            call_sid=note.call_sid,
            file_note_id=note.id,
            email="pending" if self.mailer else "not_configured",
        )

    def email_call_ended(
        self, notification: Notification, note: FileNote, staff: User | None
    ) -> None:
        """Send the e-mail after the request has answered (see the module docstring)."""
        if self.mailer is None:
            return
        assert note.ended is not None
        warnings = [f"  - {self._local(w.at)}: {self._label(w.reason)}" for w in note.warnings] or [
            "  - none (the reason allows ending at once)"
        ]
        body = "\n".join(
            [
                f"{_named(staff, note.author)} ended a call under the contact policy (§6.4–6.5).",
                "",
                f"Call: {note.call_sid}",
                f"Caller: {note.caller}",
                f"Received: {self._local(note.received_at)}",
                f"Ended: {self._local(note.ended.at)}",
                f"Matter: {', '.join(note.matter_refs) or 'none recorded'}",
                f"Reason: {note.reason_label} ({note.reason})",
                "Warnings given:",
                *warnings,
                "",
                f"File note (due by {self._local(note.due_at)}): {self.note_url(note.id)}",
                "",
                "Please make sure support is in place for them (§5.5) and advise on next steps.",
            ]
        )
        subject = (
            f"Call ended: {note.reason_label} ({', '.join(note.matter_refs) or note.call_sid})"
        )
        self.background.spawn(self._email(notification, subject, body))

    def _label(self, reason: str) -> str:
        found = self.policy.reasons.get(reason)
        return found.label if found else reason

    async def _email(self, notification: Notification, subject: str, body: str) -> None:
        assert self.mailer is not None
        await email_notification(
            self.mailer, self.users, self.store, notification.id, notification.user, subject, body
        )

    # --- welfare (§5.5) ----------------------------------------------------------------------

    async def count_for_welfare(
        self, staff: User | None, name: str, call_sid: str, now: datetime
    ) -> bool:
        """Count the call for ``name``'s week; True when it raised the week's alert."""
        week = iso_week(now, self.tz)
        threshold = self.policy.welfare.alert_threshold_per_week
        manager = staff.line_manager if staff else None
        alert_id = new_notification_id()
        alert = None
        if manager:
            who = _named(staff, name)
            alert = Notification(
                id=alert_id,
                user=manager,
                kind="welfare_alert",
                at=now,
                title=f"Welfare: {who} has dealt with {threshold} difficult calls this week",
                text=(
                    f"{who} has warned on or ended {threshold} calls in week {week}. "
                    "Please make sure appropriate support is in place (§5.5)."
                ),
                staff=name,
                week=week,
                email="pending" if self.mailer else "not_configured",
            )
        _count, raised = await self.welfare.count(
            week=week,
            staff=name,
            call_sid=call_sid,
            threshold=threshold,
            alert_id=alert_id if manager else "-",
            alert=alert,
        )
        if raised and alert is None:
            log.warning(
                "welfare threshold reached for %s in %s, who has no line manager", name, week
            )
        if raised and alert is not None and self.mailer is not None:
            self.background.spawn(self._email(alert, alert.title, alert.text))
        return raised

    async def welfare_report(self, now: datetime, weeks: int) -> WelfareReport:
        week_ids = recent_iso_weeks(now, self.tz, weeks)
        rows = await self.welfare.weeks(week_ids)
        return WelfareReport(
            threshold_per_week=self.policy.welfare.alert_threshold_per_week,
            weeks=[
                WelfareWeek(
                    week=week,
                    staff=[
                        StaffWeek(name=name, calls=int(count), alert_raised=name in alerts)
                        for name, count in sorted(counts.items())
                    ],
                )
                for week, (counts, alerts) in zip(week_ids, rows, strict=True)
            ],
        )

    # --- reading ---------------------------------------------------------------------------

    async def of_user(self, user_name: str, unread_only: bool, limit: int) -> list[Notification]:
        items = await self.store.of_user(user_name, limit)
        return [n for n in items if not (unread_only and n.read_at)]

    async def mark_read(self, user_name: str, notification_id: str, now: datetime) -> Notification:
        notification = await self.store.get(notification_id)
        if notification is None or notification.user != user_name:
            raise NotFound(f"no notification {notification_id} for you")
        if notification.read_at is None:
            await self.store.set_field(notification_id, "read_at", now.isoformat())
            notification = notification.model_copy(update={"read_at": now})
        return notification
