"""Subject access (UK GDPR Art. 15): everything held on a person, and the requests tracker.

``SubjectAccess.export`` assembles the export one section at a time, each section its own
function below, so a reader (and the HTML bundle) sees the same sections in the same order:
the person, the strategies and every version of each, the letters sent, the appeals, the
shares, every call record (warnings, end, message, triage), every file note with its
addenda, the subject access requests, and the audit of reads and changes.

Letters and appeals are read through two small interfaces (``LettersSent``,
``AppealsOf``): the letters sent are the notices recorded on each version (how, when and
who recorded it), and the appeals come from the appeal store (``StoredAppeals``).

Requests: logged with the day received (manager and above); due one calendar month later
(``domain.subject_access``); completed once. ``SubjectAccessDuties.run`` reminds whoever
logged a request 7 days before it is due, on the day and once overdue (each once), the
overdue one to their line manager too.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from callguard.domain.audit import AuditEntry
from callguard.domain.duties import local_day
from callguard.domain.models import REVISABLE_FIELDS, Person, Strategy
from callguard.domain.notes import FileNote
from callguard.domain.records import CallRecord
from callguard.domain.subject_access import (
    SubjectAccessCompleteIn,
    SubjectAccessIn,
    SubjectAccessRequest,
    due_on,
    reminder_stage,
)
from callguard.domain.users import Actor
from callguard.services.call_log import PERSON_CALLS_MAX
from callguard.services.errors import Conflict, Invalid, NotFound
from callguard.services.reminders import DutyKind, Notice, Outbox, Recipients
from callguard.store.appeals import AppealStore
from callguard.store.call_records import CallStore
from callguard.store.file_notes import NoteStore
from callguard.store.keys import JOB_RUN_TTL_S
from callguard.store.readable import Shown, Unreadable
from callguard.store.register import RegisterStore
from callguard.store.subject_access import SubjectAccessStore
from callguard.wording import long_date

Section = list[dict[str, Any]]


class LettersSent(Protocol):
    async def letters_of(self, strategies: Sequence[Strategy]) -> Section:
        """The letters sent to the person about these strategies, oldest first."""


class AppealsOf(Protocol):
    async def appeals_of(self, strategies: Sequence[Strategy]) -> Section:
        """The appeals against these strategies, oldest first."""


class NotifiedDates:
    """Letters sent: each version's notice (how and when the person was told in writing)."""

    async def letters_of(self, strategies: Sequence[Strategy]) -> Section:
        return letters_section(strategies)


class NoAppeals:
    """No appeal store (a caller that has none): no appeals."""

    async def appeals_of(self, strategies: Sequence[Strategy]) -> Section:
        return []


class StoredAppeals:
    """The appeals against each strategy, with their decision, as the appeal store holds them."""

    def __init__(self, appeals: AppealStore) -> None:
        self.appeals = appeals

    async def appeals_of(self, strategies: Sequence[Strategy]) -> Section:
        found = [a for s in strategies for a in await self.appeals.of_strategy(s.id)]
        found.sort(key=lambda a: (a.received_on, a.recorded_at))
        return [a.model_dump(mode="json") for a in found]


# --- the sections, one function each ------------------------------------------------------


def person_section(person: Person) -> dict[str, Any]:
    return person.model_dump(mode="json")


def strategies_section(strategies: Sequence[Strategy]) -> Section:
    """Each strategy as it stands, with its revisions, reviews and shares."""
    return [s.model_dump(mode="json") for s in strategies]


def versions_section(strategies: Sequence[Strategy]) -> Section:
    """Every version of every strategy: who made it, when, why, what changed, when the
    person was told, and the strategy's terms as they were (rebuilt from the revisions)."""
    out: Section = []
    for strategy in strategies:
        terms = strategy.model_dump(mode="json", include={*REVISABLE_FIELDS, "status"})
        versions: Section = []
        for revision in reversed(strategy.revisions):
            versions.append(
                {
                    "strategy_id": strategy.id,
                    "version": revision.version,
                    "at": revision.at.isoformat(),
                    "by": revision.by,
                    "why": revision.why,
                    "changed": revision.changed,
                    "notified_on": _iso(revision.notified_on),
                    "terms": dict(terms),
                }
            )
            terms.update(revision.before)
        versions.append(
            {
                "strategy_id": strategy.id,
                "version": 1,
                "at": strategy.created_at.isoformat(),
                "by": strategy.created_by,
                "why": strategy.reason,
                "changed": [],
                "notified_on": _iso(strategy.notified_on),
                "terms": terms,
            }
        )
        out += reversed(versions)
    return out


def letters_section(strategies: Sequence[Strategy]) -> Section:
    """Each version the person was told of in writing: the date, how, and who recorded it
    (a version told before notices were recorded: its date alone)."""
    out: Section = []
    for strategy in strategies:
        if strategy.notices:
            out += [
                {"strategy_id": strategy.id, **n.model_dump(mode="json")} for n in strategy.notices
            ]
            continue
        told = [(1, strategy.notified_on)] + [
            (r.version, r.notified_on) for r in strategy.revisions
        ]
        out += [
            {"strategy_id": strategy.id, "version": version, "notified_on": day.isoformat()}
            for version, day in told
            if day is not None
        ]
    return out


def shares_section(strategies: Sequence[Strategy]) -> Section:
    return [
        {"strategy_id": s.id, **share.model_dump(mode="json")}
        for s in strategies
        for share in s.shares
    ]


def calls_section(records: Sequence[CallRecord]) -> Section:
    """Every call record, oldest first, with its warnings, end, message and triage."""
    ordered = sorted(records, key=lambda r: r.received_at)
    return [r.model_dump(mode="json", by_alias=True) for r in ordered]


def file_notes_section(notes: Sequence[FileNote]) -> Section:
    """Every file note, oldest first, with its addenda."""
    return [n.model_dump(mode="json") for n in sorted(notes, key=lambda n: n.created_at)]


def requests_section(requests: Sequence[SubjectAccessRequest]) -> Section:
    return [r.model_dump(mode="json") for r in sorted(requests, key=lambda r: r.received_on)]


def _iso(day: Any) -> str | None:
    return day.isoformat() if day is not None else None


def _audit(
    actor: Actor, now: datetime, action: str, target: str, person_id: str, detail: str = ""
) -> AuditEntry:
    return AuditEntry(
        at=now,
        who=actor.name,
        role=actor.role.value,
        action=action,
        target=target,
        person_id=person_id,
        detail=detail,
    )


class SubjectAccess:
    def __init__(
        self,
        store: SubjectAccessStore,
        register: RegisterStore,
        calls: CallStore,
        notes: NoteStore,
        tz: ZoneInfo,
        *,
        letters: LettersSent | None = None,
        appeals: AppealsOf | None = None,
    ) -> None:
        self.store = store
        self.register = register
        self.calls = calls
        self.notes = notes
        self.tz = tz
        self.letters: LettersSent = letters or NotifiedDates()
        self.appeals: AppealsOf = appeals or NoAppeals()

    async def _person(self, person_id: str) -> Person:
        person = await self.register.get_person(person_id)
        if person is None:
            raise NotFound(f"no person {person_id}")
        return person

    async def export(self, person_id: str, actor: Actor, now: datetime) -> dict[str, Any]:
        """Everything held on the person. The export is itself audited first, so it shows."""
        person = await self._person(person_id)
        await self.store.audit_reads(
            [
                _audit(actor, now, action, person_id, person_id)
                for action in ("person.read", "person.export")
            ]
        )
        strategies = await self.register.strategies_of(person_id)
        sids, _total = await self.calls.page(
            self.calls.keys.calls_by_person(person_id), None, None, 0, PERSON_CALLS_MAX
        )
        try:
            records = await self.calls.many(sids)
            notes = await self.notes.of_person(person_id)
            requests = await self.store.of_person(person_id)
            appeals = await self.appeals.appeals_of(strategies)
        except Unreadable as unread:
            # A bundle without them would not be all the person's data (UK GDPR Art. 15).
            raise Conflict(
                f"{len(unread.ids)} of this person's {unread.what} cannot be read by this "
                "version of CallGuard, so the bundle would not be complete. Try again once "
                "every part of the service is on the same version."
            ) from unread
        return {
            "exported_at": now.isoformat(),
            "person": person_section(person),
            "strategies": strategies_section(strategies),
            "strategy_versions": versions_section(strategies),
            "letters_sent": await self.letters.letters_of(strategies),
            "appeals": appeals,
            "shares": shares_section(strategies),
            "calls": calls_section(records),
            "file_notes": file_notes_section(notes),
            "subject_access_requests": requests_section(requests),
            "audit": await self.register.audit_of_person(person_id),
        }

    # --- requests --------------------------------------------------------------------------

    async def log_request(
        self, person_id: str, body: SubjectAccessIn, actor: Actor, now: datetime
    ) -> SubjectAccessRequest:
        await self._person(person_id)
        if body.received_on > local_day(now, self.tz):
            raise Invalid([("received_on", "must not be in the future")])
        request = SubjectAccessRequest(
            id=f"sar_{secrets.token_hex(8)}",
            person_id=person_id,
            received_on=body.received_on,
            due_on=due_on(body.received_on),
            logged_at=now,
            logged_by=actor.name,
        )
        entry = _audit(
            actor, now, "subject_access.log", request.id, person_id, f"due {request.due_on}"
        )
        await self.store.create(request, entry)
        return request

    async def requests_of(self, person_id: str) -> Shown[SubjectAccessRequest]:
        """The person's requests (404 for a person not held, as every unknown id)."""
        await self._person(person_id)
        return Shown.of(await self.store.read_of_person(person_id))  # shown: as below

    async def all_requests(self) -> Shown[SubjectAccessRequest]:
        """Every request, for a list shown to people: one this release cannot read is
        logged and left out (``store.readable``)."""
        return Shown.of(await self.store.read_all())

    async def complete(
        self, request_id: str, body: SubjectAccessCompleteIn, actor: Actor, now: datetime
    ) -> SubjectAccessRequest:
        request = await self.store.get(request_id)
        if request is None:
            raise NotFound(f"no subject access request {request_id}")
        if body.completed_on > local_day(now, self.tz):
            raise Invalid([("completed_on", "must not be in the future")])
        if body.completed_on < request.received_on:
            raise Invalid([("completed_on", "must not be before the request was received")])
        done = request.model_copy(
            update={"completed_on": body.completed_on, "completed_by": actor.name}
        )
        entry = _audit(actor, now, "subject_access.complete", request.id, request.person_id)
        result = await self.store.complete(done, entry)
        if result == "missing":
            raise NotFound(f"no subject access request {request_id}")
        if result == "already":
            raise Conflict("this request was already marked completed")
        return done


class SubjectAccessDuties:
    """The scheduled reminders of the one-month clock."""

    def __init__(
        self, store: SubjectAccessStore, outbox: Outbox, recipients: Recipients, tz: ZoneInfo
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.recipients = recipients
        self.tz = tz

    async def _whom(self, logged_by: str, stage: str) -> list[str]:
        """Whoever logged the request (their line manager too once overdue); if they are no
        longer a user, whom they would escalate to (so a reminder always reaches someone)."""
        escalation = await self.recipients.escalation_for(logged_by)
        if not await self.recipients.can_act(logged_by):  # gone, or their account disabled
            return escalation
        return [logged_by, *escalation] if stage == "overdue" else [logged_by]

    async def run(self, now: datetime) -> dict[str, int]:
        today = local_day(now, self.tz)
        sent = {"due_soon": 0, "due_today": 0, "overdue": 0}
        for request in await self.store.all():
            if request.completed_on is not None:
                continue
            stage = reminder_stage(request.due_on, today)
            if stage is None:
                continue
            users = await self._whom(request.logged_by, stage)
            due = long_date(request.due_on)
            title, text = {
                "due_soon": (
                    "Subject access request due soon",
                    f"A subject access request you logged must be answered by {due}.",
                ),
                "due_today": (
                    "Subject access request due today",
                    f"A subject access request you logged must be answered today, {due}.",
                ),
                "overdue": (
                    "Subject access request overdue",
                    f"A subject access request was due on {due} and has not been answered.",
                ),
            }[stage]
            kind: DutyKind = (
                "subject_access_overdue" if stage == "overdue" else "subject_access_due"
            )
            notices = [
                Notice(
                    user=user,
                    kind=kind,
                    at=now,
                    title=title,
                    text=text,
                    staff=request.logged_by,
                )
                for user in dict.fromkeys(users)
            ]
            event = f"subject-access:{request.id}:{stage}"
            # A later stage makes the earlier ones moot (a service down for a week sends one).
            earlier: dict[str, list[str]] = {
                "due_soon": [],
                "due_today": ["due_soon"],
                "overdue": ["due_soon", "due_today"],
            }
            covers = [f"subject-access:{request.id}:{s}" for s in earlier[stage]]
            ttl_s = max(JOB_RUN_TTL_S, 400 * 24 * 3600)
            if await self.outbox.send_once(event, notices, ttl_s, covers):
                sent[stage] += 1
        return sent
