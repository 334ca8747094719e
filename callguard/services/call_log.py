"""The call log as staff and managers read it (§6.5): calls by person and outcome, breaches
of a strategy (§3.11), callers' messages to triage (§3.10), and repeat callers (§5.3).

The one place that knows which index answers which question; the API and the pages both
ask here, so a filter means the same in a download as on a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from callguard.clock import Clock
from callguard.domain.records import CallRecord, Triage, TriageOutcome
from callguard.domain.users import Actor
from callguard.services.errors import Conflict, NotFound
from callguard.services.read_audit import ReadAudit
from callguard.store.call_records import CallStore
from callguard.store.readable import Shown, Unreadable
from callguard.wording import plural

Outcome = Literal["connect", "divert_spoc", "refuse"]
# A person's calls are few: past this many, a filter by outcome on them stops counting.
PERSON_CALLS_MAX = 100_000


@dataclass(frozen=True)
class CallPage:
    """One page of calls, newest first: the records shown (with the calls of this page left
    out because this release cannot read them: ``store.readable.Shown``), and how many
    calls match in all."""

    records: Shown[CallRecord] = field(default_factory=Shown)
    total: int = 0

    @property
    def left_out(self) -> tuple[str, ...]:
        return self.records.left_out


class CallLog:
    def __init__(self, store: CallStore, clock: Clock, reads: ReadAudit | None = None) -> None:
        self.store = store
        self.keys = store.keys
        self.clock = clock
        self.reads = reads

    async def calls(
        self,
        *,
        person_id: str | None = None,
        outcome: Outcome | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
        whole: bool = False,
    ) -> CallPage:
        """Calls newest first, filtered, one page of them, and how many match. ``whole``:
        for a download, every record or ``Conflict`` (one this release cannot read is
        otherwise left out of a page shown, logged and counted)."""
        read = self._whole if whole else self._shown
        if person_id and outcome:
            # A person's calls are few: filter their index by outcome, then page. A call
            # this release cannot read may have the outcome: it keeps its place in the list,
            # and is left out of its page (and counted) there.
            sids, _ = await self.store.page(
                self.keys.calls_by_person(person_id), since, until, 0, PERSON_CALLS_MAX
            )
            every = await read(sids)
            unread = set(every.left_out)
            matching = {r.call_sid: r for r in every.records if r.outcome == outcome}
            listed = [sid for sid in sids if sid in matching or sid in unread]
            page = listed[offset : offset + limit]
            shown = Shown(
                [matching[sid] for sid in page if sid in matching],
                [sid for sid in page if sid in unread],
            )
            return CallPage(shown, len(listed))
        if person_id:
            index = self.keys.calls_by_person(person_id)
        elif outcome:
            index = self.keys.calls_by_outcome(outcome)
        else:
            index = self.keys.CALLS
        sids, total = await self.store.page(index, since, until, offset, limit)
        return await read(sids, total)

    async def breaches(
        self,
        strategy_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> CallPage:
        """Calls refused under a strategy, newest first."""
        sids, total = await self.store.page(
            self.keys.breaches(strategy_id), since, until, offset, limit
        )
        return await self._shown(sids, total)

    async def messages(self, *, offset: int = 0, limit: int = 50) -> CallPage:
        """Calls whose message waits to be triaged, newest first."""
        sids, total = await self.store.page(self.keys.MESSAGES, None, None, offset, limit)
        return await self._shown(sids, total)

    async def triage(
        self, call_sid: str, outcome: TriageOutcome, notes: str, by: str
    ) -> CallRecord:
        """Record what a message turned out to be (§3.10: genuine complaints, criminal
        matters, safeguarding); it leaves the list to triage."""
        record = await self.store.get(call_sid)
        if record is None:
            raise NotFound(f"no call {call_sid}")
        if record.message is None:
            raise NotFound(f"call {call_sid} has no message")
        if record.message.triage is not None:
            raise Conflict("this message was already triaged")
        triage = Triage(outcome=outcome, notes=notes, by=by, at=self.clock.now())
        message = record.message.model_copy(update={"triage": triage})
        kept = await self.store.triage(call_sid, message.model_dump(mode="json"))
        if kept is None:
            raise NotFound(f"no call {call_sid}")
        if not kept:
            raise Conflict("this message was already triaged")  # by someone else, just now
        await self.store.remove_from_messages(call_sid)
        return record.model_copy(update={"message": message})

    async def repeat_callers(self, limit: int) -> list[tuple[str, datetime]]:
        """Unrestricted callers over the daily threshold (§5.3), latest first, with when
        they crossed it: surfaced for a person to decide, never restricted automatically."""
        rows = await self.store.repeat_callers(limit)
        return [(phone, datetime.fromtimestamp(score, UTC)) for phone, score in rows]

    # --- reads by people, audited (CONTRACT §7) -----------------------------------------------

    async def _audit(
        self, actor: Actor, action: str, target: str, records: list[CallRecord], detail: str
    ) -> None:
        if self.reads is not None:
            people = [r.person_id for r in records]
            await self.reads.record(actor, self.clock.now(), action, target, people, detail)

    async def read_calls(
        self,
        actor: Actor,
        action: Literal["call_log.read", "call_log.csv"],
        *,
        person_id: str | None = None,
        outcome: Outcome | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> CallPage:
        """``calls``, read by ``actor``: audited for each person the page shows."""
        page = await self.calls(
            person_id=person_id,
            outcome=outcome,
            since=since,
            until=until,
            offset=offset,
            limit=limit,
            whole=action == "call_log.csv",
        )
        shown = {"person": person_id, "outcome": outcome, "since": since, "until": until}
        words = [
            f"{k} {v.isoformat() if isinstance(v, datetime) else v}" for k, v in shown.items() if v
        ]
        detail = "; ".join([f"{len(page.records)} calls from {offset + 1}", *words])
        await self._audit(actor, action, "calls", page.records, detail)
        return page

    async def read_breaches(
        self,
        actor: Actor,
        strategy_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> CallPage:
        page = await self.breaches(
            strategy_id, since=since, until=until, offset=offset, limit=limit
        )
        detail = f"{len(page.records)} refused calls from {offset + 1}"
        await self._audit(actor, "call_log.breaches", strategy_id, page.records, detail)
        return page

    async def _shown(self, sids: Sequence[str], total: int = 0) -> CallPage:
        """The records to list: one this release cannot read is logged, left out and
        counted (``CallStore.read_many``), so a list is never lost for one record."""
        return CallPage(Shown.of(await self.store.read_many(sids)), total)

    async def _whole(self, sids: Sequence[str], total: int = 0) -> CallPage:
        try:
            return CallPage(Shown(await self.store.many(sids)), total)
        except Unreadable as unread:
            raise Conflict(
                f"{plural(len(unread.ids), 'call record')} cannot be read by this version of "
                "CallGuard, so the download would not be complete. Try again once every part "
                "of the service is on the same version."
            ) from unread

    async def read_call(self, actor: Actor, call_sid: str) -> CallRecord:
        """One call record, read by ``actor``: audited for the caller's person, if any."""
        record = await self.store.get(call_sid)  # ``Unreadable``: a plain 409 (web layer)
        if record is None:
            raise NotFound(f"no call {call_sid}")
        await self._audit(actor, "call.read", call_sid, [record], "")
        return record
