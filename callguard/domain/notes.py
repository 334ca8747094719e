"""File notes for ended calls (§6.5), and the notifications that tell line managers (§5.5,
§6.5). Pure: no I/O, no clock reads.

A file note is drafted, pre-filled from the call record, when staff end a call; staff may
also start one for any call. It is completed once, with the four things §6.5 asks for
(what happened, why the call was ended, what else was done, that the line manager was
told), and is then fixed: corrections are addenda, each with its author and time. A
manager may sign a completed note off, once.

The caller's number is held masked (``+44*******123``): the note is read by staff, and the
full number is on the call record, which only managers read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from callguard.domain.dates import InputDateTime
from callguard.domain.fields import Text
from callguard.domain.records import CallEvent, CallRecord
from callguard.phones import mask_phone

NoteStatus = Literal["draft", "completed"]
# What completing a note needs (§6.5), in the order a form shows them.
COMPLETION_FIELDS = ("summary", "why_ended", "actions_taken", "line_manager_informed")
CALL_SID_PATTERN = r"^CA[0-9a-fA-F]{32}$"


class Addendum(BaseModel):
    text: str
    by: str
    at: datetime


class SignOff(BaseModel):
    by: str
    at: datetime


class FileNote(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    status: NoteStatus = "draft"
    version: int = 1
    # The call, as it was when the note was drafted.
    call_sid: str
    caller: str  # masked
    person_id: str | None
    strategy_ids: list[str]
    matter_refs: list[str]
    received_at: datetime
    recorded: bool
    recording_sid: str | None
    warnings: list[CallEvent]
    ended: CallEvent | None
    reason: str | None  # the reason code the call was ended for
    reason_label: str | None
    # Who writes it, whom it goes to, by when.
    author: str
    line_manager: str | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    # Written by staff.
    summary: str | None = None
    why_ended: str | None = None
    actions_taken: str | None = None
    line_manager_informed: bool | None = None
    line_manager_informed_at: datetime | None = None
    completed_at: datetime | None = None
    completed_by: str | None = None
    addenda: list[Addendum] = []
    signed_off: SignOff | None = None

    def missing_for_completion(self) -> list[str]:
        return [name for name in COMPLETION_FIELDS if getattr(self, name) is None]


CallSid = Annotated[str, Field(pattern=CALL_SID_PATTERN)]


def _date_time_text(value: object) -> object:
    # JSON has no date-time type: accept only the ISO 8601 text the schema documents, not
    # the epoch numbers pydantic's lax mode would also read as a time.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date-time with an offset")
    return value


DateTimeText = Annotated[InputDateTime, BeforeValidator(_date_time_text)]


class NoteFields(BaseModel):
    """What staff write; every field optional so a draft can be saved as it grows."""

    model_config = ConfigDict(extra="forbid")
    summary: Text | None = None
    why_ended: Text | None = None
    actions_taken: Text | None = None
    line_manager_informed: StrictBool | None = None
    line_manager_informed_at: DateTimeText | None = None


class NotePatchIn(NoteFields):
    """``status: "completed"`` completes the note; it then cannot be changed (409)."""

    status: Literal["draft", "completed"] | None = None


class NoteCreateIn(NoteFields):
    """A note for a call its author did not end (or one they want to add)."""

    call_sid: CallSid


class AddendumIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Text


def draft_note(
    record: CallRecord,
    *,
    note_id: str,
    author: str,
    line_manager: str | None,
    now: datetime,
    due_at: datetime,
    ended: CallEvent | None,
    reason_label: str | None,
) -> FileNote:
    """A draft pre-filled from the call record: the facts staff should not have to retype."""
    return FileNote(
        id=note_id,
        call_sid=record.call_sid,
        caller=mask_phone(record.from_),
        person_id=record.person_id,
        strategy_ids=list(record.strategy_ids),
        matter_refs=list(record.matter_refs),
        received_at=record.received_at,
        recorded=record.recorded,
        recording_sid=record.recording_sid,
        warnings=list(record.warnings),
        ended=ended,
        reason=ended.reason if ended else None,
        reason_label=reason_label,
        author=author,
        line_manager=line_manager,
        created_at=now,
        updated_at=now,
        due_at=due_at,
    )


def with_fields(note: FileNote, fields: NoteFields) -> tuple[FileNote, list[str]]:
    """``note`` with the fields the client sent (only those), and their names."""
    sent = fields.model_dump(exclude_unset=True, exclude={"status", "call_sid"})
    return note.model_copy(update=sent), sorted(sent)


def completed(note: FileNote, by: str, now: datetime) -> FileNote:
    return note.model_copy(update={"status": "completed", "completed_at": now, "completed_by": by})


# The scheduled duties' kinds are written by callguard.services.reminders.
NotificationKind = Literal[
    "call_ended",
    "welfare_alert",
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
EmailStatus = Literal["not_configured", "pending", "sent", "failed", "no_address"]


class Notification(BaseModel):
    """An in-app message to one user. Never holds a caller's full phone number."""

    model_config = ConfigDict(extra="ignore")
    id: str
    user: str
    kind: NotificationKind
    at: datetime
    title: str
    text: str
    staff: str
    call_sid: str | None = None
    file_note_id: str | None = None
    strategy_id: str | None = None
    week: str | None = None
    read_at: datetime | None = None
    email: EmailStatus = "not_configured"
