"""Live call controls (§6.4–6.5) and the caller alert staff see while on a call.

Warning. The policy's warning script for the reason is played by Twilio to the caller's
participant of the call's conference only (a participant ``AnnounceUrl``): staff do not hear
it, they see on screen that it is playing, and the caller hears the same words whoever
gives the warning. A warning is logged (and counts as the earlier warning an end needs)
only once Twilio has accepted it: a warning that could not be played is not logged (502).

End. The end is claimed first, in one atomic step (``store.file_notes.END_CALL``): the call is
marked ``ended`` {at, reason, by}, its draft file note is written, the line manager's
notification is stored and the end is audited, or none of it. Two concurrent ends therefore
make one note; the second gets 409 (the call is no longer in progress), naming the first
end's file note. Then the caller's leg is redirected to the announce webhook, whose TwiML
says the closing statement and then ``<Hangup/>``: that ends the caller's leg, and with it
the conference (the staff leg was dialled with ``endConferenceOnExit``). If Twilio refuses
the redirect, the end stands (staff decided to end the call, and the file note is still
due), the answer says ``closing_statement_sent: false`` so staff hang up their handset, and
the failure is logged and audited.

Without an earlier warning in the call, an end is refused (409) unless the policy lets staff
end at once for that reason (``end_immediately``, e.g. threats). A call that is not in
progress (refused, finished, or already ended) cannot be warned or ended (409).
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from pydantic import BaseModel

from callguard import wording
from callguard.domain.audit import AuditEntry
from callguard.domain.fields import DAYS
from callguard.domain.models import (
    AdjustmentKind,
    AdvocateOnly,
    CallWindows,
    NoResponse,
    Person,
    PhoneBlocked,
    ReasonableAdjustment,
    Recorded,
    Restriction,
    Spoc,
    Strategy,
    StrategyStatus,
    WrittenOnly,
)
from callguard.domain.records import CallEvent, CallRecord
from callguard.domain.users import Actor
from callguard.phones import mask_phone
from callguard.policy import Policy, Reason
from callguard.services.errors import Conflict, Invalid, NotFound, ServiceError
from callguard.services.notes import FileNotes
from callguard.services.notify import Notifier
from callguard.store.call_records import CallStore
from callguard.store.file_notes import NoteStore
from callguard.store.register import RegisterStore
from callguard.store.users import UserStore
from callguard.telephony import Telephony
from callguard.urls import Callbacks

log = logging.getLogger("callguard.controls")

# END_CALL is retried when a warning lands between reading the call and ending it.
MAX_ATTEMPTS = 5


NO_SUCH_CALL = "there is no record of that call"
ALREADY_ENDED = "staff have already ended this call, and its file note has been drafted"


class NotInProgress(Conflict):
    code = "call_not_in_progress"


class NotConnected(Conflict):
    code = "call_not_connected"


class WarningRequired(Conflict):
    code = "warning_required"


class WarningPlaying(Conflict):
    code = "warning_playing"


class PhoneSystemFailed(ServiceError):
    status = 502
    code = "phone_system_failed"


class WarningGiven(BaseModel):
    call_sid: str
    warning: CallEvent
    warnings_in_call: int


class CallEnded(BaseModel):
    call_sid: str
    file_note_id: str
    ended: CallEvent
    closing_statement_sent: bool
    line_manager: str | None


class ReasonOption(BaseModel):
    code: str
    label: str
    end_immediately: bool


class CallerAlert(BaseModel):
    """What staff need on screen during a call, and no more (the full record is manager+)."""

    call_sid: str
    caller: str  # masked
    received_at: datetime
    in_progress: bool
    known_caller: bool
    person_name: str | None
    restrictions: list[str]
    spoc: str | None
    matter_refs: list[str]
    reasonable_adjustments: list[ReasonableAdjustment]
    review_due: date | None
    new_matter_claimed: bool
    warnings: list[CallEvent]
    ended: CallEvent | None
    reasons: list[ReasonOption]
    # §3.6: the person's strategies not yet applied to calls, in words, for staff to know.
    awaiting_notice: list[str] = []
    # §2, §8.4: "Needs an interpreter: Polish" (the adjustment's detail is the language).
    interpreter: str | None = None
    # Whether a strategy applies to this call (a known caller's may all await notice).
    restricted: bool = False


class LiveControls:
    def __init__(
        self,
        *,
        calls: CallStore,
        note_store: NoteStore,
        notes: FileNotes,
        notifier: Notifier,
        users: UserStore,
        register: RegisterStore,
        telephony: Telephony,
        callbacks: Callbacks,
        policy: Policy,
    ) -> None:
        self.calls = calls
        self.note_store = note_store
        self.notes = notes
        self.notifier = notifier
        self.users = users
        self.register = register
        self.telephony = telephony
        self.callbacks = callbacks
        self.policy = policy

    def reason(self, code: str) -> Reason:
        found = self.policy.reasons.get(code)
        if found is None:
            known = ", ".join(sorted(self.policy.reasons))
            raise Invalid([("reason", f"unknown reason {code!r}; one of: {known}")])
        return found

    async def _record(self, call_sid: str) -> CallRecord:
        record = await self.calls.get(call_sid)
        if record is None:
            raise NotFound(NO_SUCH_CALL)
        return record

    async def warn(self, call_sid: str, code: str, actor: Actor, now: datetime) -> WarningGiven:
        self.reason(code)
        record = await self._record(call_sid)
        _check_in_progress(record)
        if not record.conference_sid:
            raise NotConnected("the call is not connected to staff yet, so nothing can be played")
        # Logged before it is played, in one step that refuses a call staff have ended
        # meanwhile: a warning is never played after the ending, nor missing from the file
        # note drafted then; its number counts every warning logged before it.
        warning = CallEvent(at=now, reason=code, by=actor.name)
        number = await self.calls.add_warning(call_sid, warning)
        if number is None:
            raise NotFound(NO_SUCH_CALL)
        if number == 0:
            raise NotInProgress(ALREADY_ENDED)
        try:
            await self.telephony.announce_to_participant(
                conference_sid=record.conference_sid,
                call_sid=call_sid,
                url=self.callbacks.announce(call_sid, kind="warning", reason=code),
            )
        except Exception as error:
            log.warning("warning not played on a call (%s)", type(error).__name__)
            await self.calls.played_warning(call_sid, warning, played=False)
            raise PhoneSystemFailed(
                "the phone system did not play the warning; it was not logged, try again"
            ) from error
        await self.calls.played_warning(call_sid, warning, played=True)
        await self.register.audit(_call_audit(actor, now, "call.warning", record, code))
        await self.notifier.count_for_welfare(
            await self.users.get_user(actor.name), actor.name, call_sid, now
        )
        return WarningGiven(call_sid=call_sid, warning=warning, warnings_in_call=number)

    async def end(self, call_sid: str, code: str, actor: Actor, now: datetime) -> CallEnded:
        reason = self.reason(code)
        staff = await self.users.get_user(actor.name)
        manager = staff.line_manager if staff else None
        ended = CallEvent(at=now, reason=code, by=actor.name)
        for _attempt in range(MAX_ATTEMPTS):
            record = await self._record(call_sid)
            _check_in_progress(record)
            if not reason.end_immediately and not record.warnings:
                raise WarningRequired(
                    f"warn the caller first (§6.4): {reason.label} does not allow ending at once"
                )
            note = self.notes.draft(
                record, author=actor.name, line_manager=manager, now=now, ended=ended
            )
            notification = self.notifier.call_ended(note, staff, manager) if manager else None
            result = await self.note_store.end_call(
                ended=ended,
                warnings_seen=len(record.warnings),
                require_warning=not reason.end_immediately,
                note=note,
                audit=_call_audit(actor, now, "call.end", record, f"{code}; note {note.id}"),
                notification=notification,
            )
            if result.kind == "ended":
                break
            if result.kind == "already_ended":
                raise NotInProgress(ALREADY_ENDED)
            if result.kind == "not_in_progress":
                raise NotInProgress(_not_in_progress(result.status))
            if result.kind == "missing":
                raise NotFound(NO_SUCH_CALL)
            if result.kind == "no_warning":
                raise WarningRequired("warn the caller first (§6.4)")
            if result.kind == "playing":
                raise WarningPlaying(
                    "a warning is being played to the caller: end the call once it has been"
                )
        else:
            raise Conflict("the call is changing too quickly; try again")
        if manager is None:
            log.warning("call ended by %s, who has no line manager to tell", actor.name)
        sent = await self._say_closing_and_hang_up(call_sid, code, actor, now, record)
        if notification is not None:
            self.notifier.email_call_ended(notification, note, staff)
        await self.notifier.count_for_welfare(staff, actor.name, call_sid, now)
        return CallEnded(
            call_sid=call_sid,
            file_note_id=note.id,
            ended=ended,
            closing_statement_sent=sent,
            line_manager=manager,
        )

    async def _say_closing_and_hang_up(
        self, call_sid: str, code: str, actor: Actor, now: datetime, record: CallRecord
    ) -> bool:
        try:
            await self.telephony.redirect_call(
                call_sid=call_sid,
                url=self.callbacks.announce(call_sid, kind="closing", reason=code),
            )
        except Exception as error:
            log.warning(
                "closing statement not played (%s); staff told to hang up", type(error).__name__
            )
            await self.register.audit(
                _call_audit(actor, now, "call.end.redirect_failed", record, type(error).__name__)
            )
            return False
        return True

    async def alert(self, call_sid: str, actor: Actor, now: datetime) -> CallerAlert:
        record = await self._record(call_sid)
        person = await self.register.get_person(record.person_id) if record.person_id else None
        strategies = [
            s for s in [await self.register.get_strategy(i) for i in record.strategy_ids] if s
        ]
        await self.register.audit(_call_audit(actor, now, "call.alert.read", record, ""))
        # What applies to calls: a revision the person has not been told of does not yet.
        restrictions = [r for s in strategies for r in s.applied()]
        spocs = [r.name for r in restrictions if isinstance(r, Spoc)]
        waiting = await self._awaiting_notice(record.person_id) if person else []
        return CallerAlert(
            call_sid=call_sid,
            caller=mask_phone(record.from_),
            received_at=record.received_at,
            in_progress=record.in_progress,
            known_caller=person is not None,
            person_name=person.name if person else None,
            restrictions=[restriction_in_words(r) for r in restrictions]
            or ["No contact strategy applies to this caller."],
            spoc=record.spoc_name or (spocs[0] if spocs else None),
            matter_refs=record.matter_refs or _matter_refs(strategies),
            reasonable_adjustments=person.reasonable_adjustments if person else [],
            review_due=min((s.review_due for s in strategies), default=None),
            new_matter_claimed=record.new_matter_claimed,
            warnings=record.warnings,
            ended=record.ended,
            reasons=[
                ReasonOption(code=c, label=r.label, end_immediately=r.end_immediately)
                for c, r in self.policy.reasons.items()
            ],
            awaiting_notice=waiting,
            interpreter=interpreter_needed(person) if person else None,
            restricted=bool(restrictions),
        )

    async def _awaiting_notice(self, person_id: str | None) -> list[str]:
        if person_id is None:
            return []
        return [
            f"{s.matter_ref} (awaiting notice, not applied to calls): "
            + "; ".join(restriction_in_words(r) for r in s.restrictions)
            for s in await self.register.strategies_of(person_id)
            if s.status is StrategyStatus.awaiting_notice
        ]


def interpreter_needed(person: Person) -> str | None:
    """Staff are told in words that the caller needs an interpreter, and in what language."""
    for adjustment in person.reasonable_adjustments:
        if adjustment.kind is AdjustmentKind.needs_interpreter:
            language = adjustment.detail.strip()
            return f"Needs an interpreter: {language}" if language else "Needs an interpreter"
    return None


def _check_in_progress(record: CallRecord) -> None:
    if record.ended is not None:
        raise NotInProgress(ALREADY_ENDED)
    if not record.in_progress:
        raise NotInProgress(
            "the call is not in progress: it was refused"
            if record.outcome == "refuse"
            else _not_in_progress(record.status)
        )


def _not_in_progress(status: str | None) -> str:
    """Why a call is not in progress, from its status (Twilio's word, or its JSON text)."""
    said = (status or "").strip('"')
    if said == "completed":
        return "the call is not in progress: it has finished"
    if said in ("busy", "no-answer", "failed", "canceled"):
        return "the call is not in progress: it was not answered"
    return "the call is not in progress"


def _call_audit(
    actor: Actor, now: datetime, action: str, record: CallRecord, detail: str
) -> AuditEntry:
    return AuditEntry(
        at=now,
        who=actor.name,
        role=actor.role.value,
        action=action,
        target=record.call_sid,
        person_id=record.person_id or "",
        detail=detail,
    )


def _matter_refs(strategies: list[Strategy]) -> list[str]:
    return sorted({s.matter_ref for s in strategies})


# --- restrictions in plain words ----------------------------------------------------------

_DAY_NAMES = {
    "mon": "Mondays",
    "tue": "Tuesdays",
    "wed": "Wednesdays",
    "thu": "Thursdays",
    "fri": "Fridays",
    "sat": "Saturdays",
    "sun": "Sundays",
}


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _windows_in_words(r: CallWindows) -> str:
    windows = [
        f"{_and([_DAY_NAMES[d] for d in DAYS if d in w.days])} "
        f"{wording.clock_time(w.start)} to {wording.clock_time(w.end)}"
        for w in r.windows
    ]
    calls = "1 call" if r.max_calls == 1 else f"{r.max_calls} calls"
    words = f"Calls only {_and(windows)}, {calls} per {r.per}"
    if r.max_minutes:
        words += f", up to {r.max_minutes} minutes each"
    return words


def restriction_in_words(r: Restriction) -> str:
    """One restriction as staff would say it: "Calls only Tuesdays 9am to midday, 1 call per
    week", "Single point of contact: Jo Bloggs", "Calls are recorded"."""
    if isinstance(r, CallWindows):
        return _windows_in_words(r)
    if isinstance(r, Spoc):
        return f"Single point of contact: {r.name}"
    if isinstance(r, Recorded):
        return "Calls are recorded"
    if isinstance(r, WrittenOnly):
        ways = [f"email {r.email}"] if r.email else []
        if r.postal_address and r.postal_address.strip():
            ways.append(f"post to {r.postal_address.strip()}")
        return "Written contact only: " + _and(ways)
    if isinstance(r, AdvocateOnly):
        return "Contact only through the person's advocate"
    if isinstance(r, PhoneBlocked):
        return "Phone calls from this person are not taken"
    assert isinstance(r, NoResponse)
    return "The office will not respond further; messages are still read and filed"
