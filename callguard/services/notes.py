"""File notes (§6.5): drafting, writing, completing, addenda and sign-off.

Who may do what: staff see and write only the notes they are the author of; managers and
the chief executive see and may write all of them, and sign completed notes off (not their
own). A completed note is fixed (409): corrections are addenda. Every change is audited
against the call's person, and so is every read of one note.

Each change reads the note, checks it, and writes it back only if its version is still the
one read (``REPLACE_NOTE``); if someone changed it meanwhile the change is re-checked on the
new version. So a note is completed once and signed off once, however many requests race.
"""

from __future__ import annotations

import functools
import logging
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from govuk_bank_holidays.bank_holidays import BankHolidays

from callguard.domain.audit import AuditEntry
from callguard.domain.notes import (
    Addendum,
    AddendumIn,
    FileNote,
    NoteCreateIn,
    NotePatchIn,
    NoteStatus,
    SignOff,
    completed,
    draft_note,
    with_fields,
)
from callguard.domain.records import CallEvent, CallRecord
from callguard.domain.roles import Role, has_at_least
from callguard.domain.users import Actor
from callguard.domain.working_days import HolidayCalendar, file_note_due_at
from callguard.policy import Policy
from callguard.services.errors import Conflict, Forbidden, Invalid, NotFound
from callguard.store.call_records import CallStore
from callguard.store.file_notes import NoteStore
from callguard.store.readable import Shown
from callguard.store.users import UserStore

log = logging.getLogger("callguard.notes")

# Compare-and-set attempts before telling the client to try again.
MAX_ATTEMPTS = 5


@functools.cache
def bank_holidays() -> HolidayCalendar:
    """England and Wales bank holidays from the copy bundled with ``govuk-bank-holidays``.

    ``use_cached_holidays=True`` only reads the package's ``bank-holidays.json``; the other
    path (a download from www.gov.uk) is never taken, so start-up needs no network.
    """
    source = BankHolidays(use_cached_holidays=True)
    holidays = source.get_holidays(division=BankHolidays.ENGLAND_AND_WALES)
    return HolidayCalendar.of(holiday["date"] for holiday in holidays)


def new_note_id() -> str:
    return f"fn_{secrets.token_hex(8)}"


def may_see(note: FileNote, actor: Actor) -> bool:
    return note.author == actor.name or has_at_least(actor.role, Role.manager)


def note_audit(
    actor: Actor, now: datetime, action: str, note: FileNote, detail: str = ""
) -> AuditEntry:
    return AuditEntry(
        at=now,
        who=actor.name,
        role=actor.role.value,
        action=action,
        target=note.id,
        person_id=note.person_id or "",
        detail=detail or f"call {note.call_sid}",
    )


class FileNotes:
    def __init__(
        self,
        store: NoteStore,
        calls: CallStore,
        users: UserStore,
        policy: Policy,
        tz: ZoneInfo,
        holidays: HolidayCalendar,
    ) -> None:
        self.store = store
        self.calls = calls
        self.users = users
        self.policy = policy
        self.tz = tz
        self.holidays = holidays

    def due_at(self, now: datetime) -> datetime:
        rule = self.policy.file_notes
        due = file_note_due_at(now, rule.deadline, rule.working_day_ends, self.tz, self.holidays)
        if due.date() > self.holidays.known_through:
            log.warning(
                "file-note deadline %s is past the bundled bank-holiday list (to %s): "
                "only weekends were skipped; upgrade govuk-bank-holidays",
                due.date(),
                self.holidays.known_through,
            )
        return due

    def draft(
        self,
        record: CallRecord,
        *,
        author: str,
        line_manager: str | None,
        now: datetime,
        ended: CallEvent | None,
    ) -> FileNote:
        reason = self.policy.reasons.get(ended.reason) if ended else None
        return draft_note(
            record,
            note_id=new_note_id(),
            author=author,
            line_manager=line_manager,
            now=now,
            due_at=self.due_at(now),
            ended=ended,
            reason_label=reason.label if reason else None,
        )

    async def create(self, body: NoteCreateIn, actor: Actor, now: datetime) -> FileNote:
        """A draft note for any call, written by ``actor`` (who need not have ended it)."""
        record = await self.calls.get(body.call_sid)
        if record is None:
            raise Invalid([("call_sid", f"no call {body.call_sid}")])
        _check_informed_at(body.line_manager_informed_at, now)
        staff = await self.users.get_user(actor.name)
        draft = self.draft(
            record,
            author=actor.name,
            line_manager=staff.line_manager if staff else None,
            now=now,
            ended=record.ended,
        )
        note, _sent = with_fields(draft, body)
        await self.store.create(note, note_audit(actor, now, "file_note.create", note))
        return note

    async def get(self, note_id: str, actor: Actor, now: datetime) -> FileNote:
        note = await self._visible(note_id, actor)
        await self.store.audit(note_audit(actor, now, "file_note.read", note))
        return (await self._with_recordings([note]))[0]

    async def listing(
        self, actor: Actor, status: NoteStatus | None, author: str | None
    ) -> Shown[FileNote]:
        if not has_at_least(actor.role, Role.manager):
            author = actor.name  # staff see only their own
        listed = Shown.of(await self.store.read_newest(author))  # shown: logged, left out
        notes = [n for n in listed if status in (None, n.status)]
        return listed.keeping(await self._with_recordings(notes))

    async def of_person(self, actor: Actor, person_id: str) -> Shown[FileNote]:
        """The notes of calls from one person, newest first (staff: only their own)."""
        listed = Shown.of(await self.store.read_of_person(person_id))  # shown, as above
        notes = list(listed)
        if not has_at_least(actor.role, Role.manager):
            notes = [n for n in notes if n.author == actor.name]
        return listed.keeping(await self._with_recordings(notes))

    async def update(
        self, note_id: str, body: NotePatchIn, actor: Actor, now: datetime
    ) -> FileNote:
        _check_informed_at(body.line_manager_informed_at, now)
        for _attempt in range(MAX_ATTEMPTS):
            note = await self._visible(note_id, actor)
            _check_open(note)
            changed, sent = with_fields(note, body)
            action = "file_note.update"
            if body.status == "completed":
                missing = changed.missing_for_completion()
                if missing:
                    raise Invalid([(name, "required to complete the note") for name in missing])
                changed = completed(changed, actor.name, now)
                action = "file_note.complete"
            detail = f"call {note.call_sid}; fields: {', '.join(sent) or 'none'}"
            audit = note_audit(actor, now, action, note, detail)
            written = await self._replace(note, changed, now, audit)
            if written is not None:
                return written
        raise Conflict("the note is being changed by someone else; try again")

    async def add_addendum(
        self, note_id: str, body: AddendumIn, actor: Actor, now: datetime
    ) -> Addendum:
        addendum = Addendum(text=body.text, by=actor.name, at=now)
        for _attempt in range(MAX_ATTEMPTS):
            note = await self._visible(note_id, actor)
            changed = note.model_copy(update={"addenda": [*note.addenda, addendum]})
            audit = note_audit(actor, now, "file_note.addendum", note)
            if await self._replace(note, changed, now, audit) is not None:
                return addendum
        raise Conflict("the note is being changed by someone else; try again")

    async def sign_off(self, note_id: str, actor: Actor, now: datetime) -> FileNote:
        for _attempt in range(MAX_ATTEMPTS):
            note = await self._visible(note_id, actor)
            if note.status != "completed":
                raise Conflict("only a completed note can be signed off")
            if note.signed_off is not None:
                signed = note.signed_off
                raise Conflict(f"already signed off by {signed.by} at {signed.at.isoformat()}")
            if note.author == actor.name:
                raise Forbidden("a note is signed off by someone other than its author")
            changed = note.model_copy(update={"signed_off": SignOff(by=actor.name, at=now)})
            audit = note_audit(actor, now, "file_note.sign_off", note)
            written = await self._replace(note, changed, now, audit)
            if written is not None:
                return written
        raise Conflict("the note is being changed by someone else; try again")

    async def _visible(self, note_id: str, actor: Actor) -> FileNote:
        note = await self.store.get(note_id)
        if note is None:
            raise NotFound(f"no file note {note_id}")
        if not may_see(note, actor):
            raise Forbidden("staff may read and write only their own file notes")
        return note

    async def _replace(
        self, read: FileNote, changed: FileNote, now: datetime, audit: AuditEntry
    ) -> FileNote | None:
        """Write ``changed`` if ``read`` is still current; None when it changed meanwhile."""
        new = changed.model_copy(update={"version": read.version + 1, "updated_at": now})
        result = await self.store.replace(new, read.version, audit)
        if result == "missing":
            raise NotFound(f"no file note {read.id}")
        return new if result == "replaced" else None

    async def _with_recordings(self, notes: list[FileNote]) -> list[FileNote]:
        """A conference recording is ready after the call ends, so usually after the draft:
        show it from the call record once it has arrived."""
        waiting = {n.call_sid for n in notes if n.recorded and n.recording_sid is None}
        if not waiting:
            return notes
        # Shown only: a call this release cannot read just shows no recording yet.
        records, _unreadable = await self.calls.read_many(sorted(waiting))
        found = {r.call_sid: r.recording_sid for r in records}
        return [
            n.model_copy(update={"recording_sid": found[n.call_sid]})
            if n.call_sid in waiting and found.get(n.call_sid)
            else n
            for n in notes
        ]


def _check_open(note: FileNote) -> None:
    if note.status == "completed":
        raise Conflict("a completed file note cannot be changed; add an addendum instead")


def _check_informed_at(informed_at: datetime | None, now: datetime) -> None:
    if informed_at is not None and informed_at > now:
        raise Invalid([("line_manager_informed_at", "must not be in the future")])
