"""Retention (UK GDPR storage limitation, policy ``[retention]``) and legal holds.

Nightly, records older than their retention period are deleted:

- call records (``call_records_days``, by when the call was received): the record, its
  warnings, and every index naming it (the call log, by outcome, by person, breaches of
  each strategy, messages to triage, live calls); and entries on the repeat-caller board
  (phone numbers) older than the same period;
- message metadata (``messages_days``, by when it was recorded): the ``message`` on a call
  record that is otherwise kept. A message nobody has triaged yet is kept: every contact
  must be reviewed (§3.10, §8.7), and the triage reminder keeps asking for it;
- file notes (``file_notes_days``, by when drafted): the note and its indexes;
- audit entries (``audit_days``): the audit stream, and each person's audit list (by
  when each entry was made);
- subject access requests (``subject_access_days``, by when each was completed): the
  request and its indexes. A request not yet completed is kept, however old.

A legal hold spares records: on a call (the call, its message and its file note), on a
person (all their calls and file notes, their audit list and their subject access
requests), on a file note. A
notification (``notifications_days``) is spared by a hold on the call or the file note it
is about, or on the person of the strategy it is about. The check and the deletion are one
script, so a hold placed a moment before a run is honoured.

Every batch deleted is logged to the disposal log (``GET /api/v1/disposals``): the kind of
record, how many, when, and the rule; never an id, a name or a number.

The recordings themselves are held by Twilio. A call record's recordings (the call's and
its message's), and a message's when its metadata goes, are put on a queue
(``recordings:to-delete``) by the same script that deletes the record, so none is
forgotten; then deleted through Twilio's REST API. A delete that fails stays queued and
is tried again ``RECORDING_RETRY_AFTER`` later (the ``recordings`` job). A legal hold that
spares the record spares its recordings: they are never queued.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from callguard.domain.audit import AuditEntry
from callguard.domain.duties import retention_cutoff
from callguard.domain.records import CallRecord
from callguard.domain.retention import Disposal, DisposalKind, LegalHold, LegalHoldIn
from callguard.domain.users import Actor
from callguard.policy import Policy
from callguard.services.errors import Conflict, Invalid
from callguard.store.call_records import CallStore
from callguard.store.file_notes import NoteStore, note_indexes
from callguard.store.keys import Keys
from callguard.store.readable import Shown
from callguard.store.register import RegisterStore
from callguard.store.retention import Disposable, HoldStore, LogEntry, RetentionStore
from callguard.store.subject_access import SubjectAccessStore
from callguard.telephony import Telephony

log = logging.getLogger("callguard.retention")

BATCH = 200
# A recording whose delete failed is tried again this much later (the recordings job).
RECORDING_RETRY_AFTER = timedelta(hours=1)
# At most this many recordings deleted per run (Twilio's API rate: about 100/s).
RECORDINGS_PER_RUN = 5000
# A run stops trying after this many failures (Twilio away): the rest wait, still queued.
RECORDING_FAILURES_PER_RUN = 3
_OUTCOMES = ("connect", "divert_spoc", "refuse")


def _batches(items: Sequence[Disposable]) -> list[Sequence[Disposable]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def _call_holds(keys: Keys, call_sid: str, person_id: str | None) -> list[str]:
    holds = [keys.legal_hold("call", call_sid)]
    if person_id:
        holds.append(keys.legal_hold("person", person_id))
    return holds


_REFERENCES = ("call_sid", "file_note_id", "strategy_id")


def _notification_holds(keys: Keys, refs: dict[str, str], people: dict[str, str]) -> list[str]:
    """The holds sparing a notification about ``refs``: on its call, its file note, or the
    person any of them (or its strategy) is about (``people``: reference -> person)."""
    holds = []
    if "call_sid" in refs:
        holds.append(keys.legal_hold("call", refs["call_sid"]))
    if "file_note_id" in refs:
        holds.append(keys.legal_hold("file_note", refs["file_note_id"]))
    for reference in refs.values():
        if reference in people:
            holds.append(keys.legal_hold("person", people[reference]))
    return sorted(set(holds))


class Retention:
    def __init__(
        self,
        store: RetentionStore,
        calls: CallStore,
        notes: NoteStore,
        register: RegisterStore,
        policy: Policy,
        tz: ZoneInfo,
        *,
        telephony: Telephony | None = None,
        subject_access: SubjectAccessStore | None = None,
    ) -> None:
        self.store = store
        self.keys = store.keys
        self.calls = calls
        self.notes = notes
        self.register = register
        self.policy = policy
        self.tz = tz
        self.telephony = telephony
        self.subject_access = subject_access

    def _entry(self, now: datetime, kind: DisposalKind, rule: str, cutoff: datetime) -> LogEntry:
        days = int(getattr(self.policy.retention, rule))
        return LogEntry(
            at=now,
            kind=kind,
            rule=f"retention.{rule}",
            days=days,
            cutoff=cutoff.astimezone(self.tz).date().isoformat(),
        )

    async def _dispose(
        self, items: Sequence[Disposable], entry: LogEntry, totals: dict[str, int]
    ) -> None:
        for batch in _batches(items):
            disposed, held = await self.store.dispose(batch, entry)
            totals[entry.kind] = totals.get(entry.kind, 0) + disposed
            totals[f"{entry.kind}_held"] = totals.get(f"{entry.kind}_held", 0) + held

    async def run(self, now: datetime) -> dict[str, int]:
        totals: dict[str, int] = {}
        await self._call_records(now, totals)
        await self._messages(now, totals)
        await self._file_notes(now, totals)
        await self._audit(now, totals)
        await self._notifications(now, totals)
        await self._subject_access_requests(now, totals)
        totals.update(await self.delete_recordings(now))
        log.info("retention: %s", totals)
        return totals

    async def _call_records(self, now: datetime, totals: dict[str, int]) -> None:
        cutoff = retention_cutoff(now, self.policy.retention.call_records_days)
        sids = await self.store.members_before(self.keys.CALLS, cutoff)
        read, unreadable = await self.calls.read_many(sids)
        records = {r.call_sid: r for r in read}
        # A record this release cannot read is kept: whose it is, and so whether it is held,
        # cannot be known (a record not there at all is only its indexes to clear).
        kept = set(unreadable)
        items = [self._call_item(sid, records.get(sid)) for sid in sids if sid not in kept]
        if unreadable:
            totals["call_records_unreadable_kept"] = len(unreadable)
        await self._dispose(
            items, self._entry(now, "call_record", "call_records_days", cutoff), totals
        )
        phones = await self.store.members_before(self.keys.REPEAT_CALLERS, cutoff)
        board = [Disposable(primary={"key": self.keys.REPEAT_CALLERS, "member": p}) for p in phones]
        await self._dispose(
            board, self._entry(now, "repeat_caller", "call_records_days", cutoff), totals
        )

    def _call_item(self, sid: str, record: CallRecord | None) -> Disposable:
        zrem = [(self.keys.CALLS, sid), (self.keys.MESSAGES, sid)]
        zrem += [(self.keys.calls_by_outcome(o), sid) for o in _OUTCOMES]
        person_id = record.person_id if record else None
        if record is not None:
            if person_id:
                zrem.append((self.keys.calls_by_person(person_id), sid))
            zrem += [(self.keys.breaches(s), sid) for s in record.strategy_ids]
        recordings = []
        if record is not None:
            recordings = [record.recording_sid, record.message and record.message.recording_sid]
        queue = self.keys.recordings_to_delete()
        return Disposable(
            primary={"key": self.keys.call(sid)},
            holds=_call_holds(self.keys, sid, person_id),
            delete=[self.keys.call_warnings(sid)],
            zrem=zrem,
            srem=[(self.keys.LIVE_CALLS, sid)],
            queue=[(queue, r) for r in recordings if r],
        )

    async def _messages(self, now: datetime, totals: dict[str, int]) -> None:
        cutoff = retention_cutoff(now, self.policy.retention.messages_days)
        # A message is left during its call: no message is older than its call.
        sids = await self.store.members_before(self.keys.CALLS, cutoff)
        read, unreadable = await self.calls.read_many(sids)  # the unreadable are kept
        if unreadable:
            totals["messages_unreadable_kept"] = len(unreadable)
        items = [
            Disposable(
                primary={"key": self.keys.call(r.call_sid), "field": "message"},
                holds=_call_holds(self.keys, r.call_sid, r.person_id),
                zrem=[(self.keys.MESSAGES, r.call_sid)],
                queue=[(self.keys.recordings_to_delete(), r.message.recording_sid)],
            )
            for r in read
            if r.message is not None
            and r.message.triage is not None
            and r.message.recorded_at < cutoff
        ]
        await self._dispose(items, self._entry(now, "message", "messages_days", cutoff), totals)

    async def _file_notes(self, now: datetime, totals: dict[str, int]) -> None:
        cutoff = retention_cutoff(now, self.policy.retention.file_notes_days)
        items = []
        for note_id in await self.store.members_before(self.keys.NOTES, cutoff):
            note = await self.notes.get(note_id)
            holds = [self.keys.legal_hold("file_note", note_id)]
            zrem = [(self.keys.NOTES, note_id)]
            if note is not None:
                holds.append(self.keys.legal_hold("call", note.call_sid))
                if note.person_id:
                    holds.append(self.keys.legal_hold("person", note.person_id))
                indexes = note_indexes(self.keys, note.author, note.person_id)
                zrem = [(index, note_id) for index in indexes]
            items.append(
                Disposable(primary={"key": self.keys.note(note_id)}, holds=holds, zrem=zrem)
            )
        await self._dispose(items, self._entry(now, "file_note", "file_notes_days", cutoff), totals)

    async def _audit(self, now: datetime, totals: dict[str, int]) -> None:
        cutoff = retention_cutoff(now, self.policy.retention.audit_days)
        totals["audit_entry"] = await self.store.trim_streams(
            [(self.keys.AUDIT, "")], cutoff, self._entry(now, "audit_entry", "audit_days", cutoff)
        )
        entry = self._entry(now, "person_audit_entry", "audit_days", cutoff)
        totals["person_audit_entry"] = 0
        async for people in self.store.person_ids(BATCH):
            lists = [(self.keys.audit_person(p), self.keys.legal_hold("person", p)) for p in people]
            totals["person_audit_entry"] += await self.store.trim_person_audits(
                lists, cutoff, entry
            )

    async def _notifications(self, now: datetime, totals: dict[str, int]) -> None:
        cutoff = retention_cutoff(now, self.policy.retention.notifications_days)
        items = []
        for index in await self.store.notification_indexes():
            ids = await self.store.members_before(index, cutoff)
            refs = await self.store.notification_refs(ids)
            people = await self._people_of(refs.values())
            items += [
                Disposable(
                    primary={"key": self.keys.notification(notification_id)},
                    holds=_notification_holds(self.keys, refs[notification_id], people),
                    zrem=[(index, notification_id)],
                )
                for notification_id in ids
            ]
        await self._dispose(
            items, self._entry(now, "notification", "notifications_days", cutoff), totals
        )

    async def _subject_access_requests(self, now: datetime, totals: dict[str, int]) -> None:
        """Requests completed before the cutoff's day. The index is by when each was
        received (never after it was completed), so it holds every candidate."""
        if self.subject_access is None:
            return
        cutoff = retention_cutoff(now, self.policy.retention.subject_access_days)
        last_day = cutoff.astimezone(self.tz).date()
        every = self.keys.subject_access_all()
        items = []
        request_ids = await self.store.members_before(every, cutoff)
        stored = await self.subject_access.many(request_ids)
        for request_id in request_ids:
            request = stored.get(request_id)
            if request is None:  # an index entry whose request is gone: the entry goes
                key = self.keys.subject_access(request_id)
                items.append(Disposable(primary={"key": key}, zrem=[(every, request_id)]))
            elif request.completed_on is not None and request.completed_on < last_day:
                person_id = request.person_id
                items.append(
                    Disposable(
                        primary={"key": self.keys.subject_access(request_id)},
                        holds=[self.keys.legal_hold("person", person_id)],
                        zrem=[
                            (every, request_id),
                            (self.keys.subject_access_of(person_id), request_id),
                        ],
                    )
                )
        entry = self._entry(now, "subject_access_request", "subject_access_days", cutoff)
        await self._dispose(items, entry, totals)

    async def _people_of(self, refs: Iterable[dict[str, str]]) -> dict[str, str]:
        """The person each referenced call, file note and strategy is about (for those
        still stored): a few reads per notification, which a daily duty can afford."""
        wanted = {kind: {r[kind] for r in refs if kind in r} for kind in _REFERENCES}
        people = {}
        for record in await self.calls.many(sorted(wanted["call_sid"])):
            if record.person_id:
                people[record.call_sid] = record.person_id
        for note_id in sorted(wanted["file_note_id"]):
            note = await self.notes.get(note_id)
            if note is not None and note.person_id:
                people[note_id] = note.person_id
        for strategy_id in sorted(wanted["strategy_id"]):
            strategy = await self.register.get_strategy(strategy_id)
            if strategy is not None:
                people[strategy_id] = strategy.person_id
        return people

    async def delete_recordings(self, now: datetime) -> dict[str, int]:
        """Delete the queued recordings due a try through Twilio's REST API; a failure stays
        queued, tried again ``RECORDING_RETRY_AFTER`` later. Without Twilio settings (a
        worker given none) they all wait."""
        due = await self.store.recordings_due(now, RECORDINGS_PER_RUN)
        deleted = failed = 0
        error_name = ""
        for recording_sid in due if self.telephony is not None else []:
            assert self.telephony is not None
            try:
                await self.telephony.delete_recording(recording_sid)
            except Exception as error:  # Twilio down or refusing: try again later
                failed += 1
                error_name = type(error).__name__
                await self.store.recording_retry_at(recording_sid, now + RECORDING_RETRY_AFTER)
                if failed >= RECORDING_FAILURES_PER_RUN:
                    break  # Twilio is away: the rest wait for the next run
                continue
            await self.store.recording_deleted(recording_sid)
            deleted += 1
        if failed:
            log.warning("%d recording deletes failed (%s); tried again later", failed, error_name)
        waiting = await self.store.recordings_waiting()
        return {"recording": deleted, "recording_failed": failed, "recording_waiting": waiting}

    async def disposals(self, limit: int) -> list[Disposal]:
        return [
            Disposal.model_validate({"id": stream_id, **fields})
            for stream_id, fields in await self.store.disposals(limit)
        ]


class LegalHolds:
    """Placing and lifting legal holds (manager and above); each is audited."""

    def __init__(
        self, store: HoldStore, calls: CallStore, notes: NoteStore, register: RegisterStore
    ) -> None:
        self.store = store
        self.calls = calls
        self.notes = notes
        self.register = register

    async def _person_of(self, kind: str, target_id: str) -> str:
        """The person the target is about ("" when none); Invalid if there is no target
        (like a strategy naming an unknown person: the body names it, not the path)."""
        if kind == "person":
            if await self.register.get_person(target_id) is None:
                raise Invalid([("id", f"no person {target_id}")])
            return target_id
        if kind == "call":
            record = await self.calls.get(target_id)
            if record is None:
                raise Invalid([("id", f"no call {target_id}")])
            return record.person_id or ""
        note = await self.notes.get(target_id)
        if note is None:
            raise Invalid([("id", f"no file note {target_id}")])
        return note.person_id or ""

    def _audit(
        self, actor: Actor, now: datetime, action: str, kind: str, target_id: str, person_id: str
    ) -> AuditEntry:
        return AuditEntry(
            at=now,
            who=actor.name,
            role=actor.role.value,
            action=action,
            target=f"{kind}:{target_id}",
            person_id=person_id,
            detail=kind,
        )

    async def place(self, body: LegalHoldIn, actor: Actor, now: datetime) -> LegalHold:
        person_id = await self._person_of(body.kind, body.id)
        hold = LegalHold(
            kind=body.kind, id=body.id, reason=body.reason, placed_by=actor.name, placed_at=now
        )
        entry = self._audit(actor, now, "legal_hold.place", body.kind, body.id, person_id)
        if not await self.store.place(hold, entry):
            raise Conflict(f"{body.kind} {body.id} is already on legal hold")
        return hold

    async def lift(self, body: LegalHoldIn, actor: Actor, now: datetime) -> LegalHold:
        not_held = Invalid([("id", f"{body.kind} {body.id} is not on legal hold")])
        current = await self.store.get(body.kind, body.id)
        if current is None:
            raise not_held
        person_id = current.id if current.kind == "person" else ""
        entry = self._audit(actor, now, "legal_hold.lift", body.kind, body.id, person_id)
        lifted = await self.store.lift(body.kind, body.id, entry)
        if lifted is None:
            raise not_held
        return lifted

    async def all(self) -> Shown[LegalHold]:
        """Every hold, for the list shown to people (``LegalHoldStore.read_all``)."""
        return Shown.of(await self.store.read_all())
