"""Follow-ups as scheduled duties: file notes not completed in time (§6.5) and caller
messages not triaged in time (§3.10, §8.7).

- A file note still a draft after its ``due_at``: one reminder to its author; then, if it is
  still a draft ``NOTE_ESCALATION_AFTER`` later, one escalation to their line manager (the
  note's ``line_manager``, else the author's, else the chief executive).
- A caller's message not triaged within ``messages.triage_within_hours``: one reminder to
  everyone holding the triage role (managers by default; the chief executive when there are
  no managers), since any of them may triage it.

Each is one due event (``Outbox.send_once``): sent once, whichever replica runs the duty and
however often. A marker lives as long as its record may, so a note left as a draft for a
year is still not reminded twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from callguard import wording
from callguard.domain.duties import note_escalation_at, triage_due_by
from callguard.domain.notes import FileNote
from callguard.domain.roles import Role
from callguard.policy import Policy
from callguard.services.reminders import Notice, Outbox, Recipients
from callguard.store.call_records import CallStore
from callguard.store.file_notes import NoteStore

_DAY_S = 24 * 3600
# Messages waiting longer than this many at once are reminded over several runs.
MAX_MESSAGES_PER_RUN = 10_000


class FollowUps:
    def __init__(
        self,
        notes: NoteStore,
        calls: CallStore,
        outbox: Outbox,
        recipients: Recipients,
        policy: Policy,
        tz: ZoneInfo,
        triage_role: Role = Role.manager,
    ) -> None:
        self.notes = notes
        self.calls = calls
        self.outbox = outbox
        self.recipients = recipients
        self.policy = policy
        self.tz = tz
        self.triage_role = triage_role

    def _local(self, moment: datetime) -> str:
        return wording.date_and_time(moment, self.tz)

    # --- file notes (§6.5) -------------------------------------------------------------------

    async def file_notes(self, now: datetime) -> dict[str, int]:
        reminders = escalations = 0
        ttl_s = (self.policy.retention.file_notes_days + 1) * _DAY_S
        for note in await self.notes.newest(None):
            if note.status != "draft" or now < note.due_at:
                continue
            reminders += await self.outbox.send_once(
                f"file-note-overdue:{note.id}", [self._reminder(note, now)], ttl_s
            )
            if now >= note_escalation_at(note.due_at):
                managers = (
                    [note.line_manager]
                    if note.line_manager
                    else await self.recipients.escalation_for(note.author)
                )
                author = await self.recipients.full_name(note.author)
                escalations += await self.outbox.send_once(
                    f"file-note-escalation:{note.id}",
                    [self._escalation(note, author, manager, now) for manager in managers],
                    ttl_s,
                )
        return {"reminders": reminders, "escalations": escalations}

    def _reminder(self, note: FileNote, now: datetime) -> Notice:
        return Notice(
            user=note.author,
            kind="file_note_overdue",
            at=now,
            title="Your file note is overdue",
            text=(
                f"Your file note for the call from {note.caller} at "
                f"{self._local(note.received_at)} was due by "
                f"{self._local(note.due_at)} and is still a draft. Please complete it: why the "
                "call was ended and what else was done (§6.5)."
            ),
            staff=note.author,
            call_sid=note.call_sid,
            file_note_id=note.id,
        )

    def _escalation(self, note: FileNote, author: str, manager: str, now: datetime) -> Notice:
        """``author``: the note's author as the words name them (``Recipients.full_name``)."""
        return Notice(
            user=manager,
            kind="file_note_escalation",
            at=now,
            title=f"File note by {author} still not completed",
            text=(
                f"The file note by {author} for the call from {note.caller} at "
                f"{self._local(note.received_at)}, due by "
                f"{self._local(note.due_at)}, is still a draft (§6.5). They were reminded when "
                "it fell due."
            ),
            staff=note.author,
            call_sid=note.call_sid,
            file_note_id=note.id,
        )

    # --- messages to triage (§3.10, §8.7) ---------------------------------------------------

    async def messages(self, now: datetime) -> dict[str, int]:
        hours = self.policy.messages.triage_within_hours
        waiting, _total = await self.calls.page(
            self.calls.keys.MESSAGES, None, now - timedelta(hours=hours), 0, MAX_MESSAGES_PER_RUN
        )
        users = await self.recipients.with_role(self.triage_role)
        if not users:
            users = await self.recipients.with_role(Role.chief_executive)
        ttl_s = (self.policy.retention.messages_days + 1) * _DAY_S
        reminders = 0
        for record in await self.calls.many(waiting):
            message = record.message
            if message is None or message.triage is not None:
                continue
            if now < triage_due_by(message.recorded_at, hours):
                continue
            what = "a new matter" if message.new_matter else "a message"
            notices = [
                Notice(
                    user=user,
                    kind="message_untriaged",
                    at=now,
                    title=f"A caller's message has waited over {hours} hours for triage",
                    text=(
                        f"A caller left {what} on "
                        f"{self._local(message.recorded_at)} that nobody has triaged yet. Every "
                        "message must be reviewed for genuine complaints, criminal matters and "
                        "safeguarding issues (§3.10, §8.7)."
                    ),
                    call_sid=record.call_sid,
                )
                for user in users
            ]
            reminders += await self.outbox.send_once(
                f"message-untriaged:{record.call_sid}", notices, ttl_s
            )
        return {"reminders": reminders}
