"""Screening an inbound call: load -> decide -> count and record -> answer.

Round trips: one for a caller with no active strategy (lookup and record in one script);
one for a caller whose refusal does not read the time, kept for their lookup as it stands
(``kept_refusals``: written by the lookup's script too); one for a restricted caller this
process screened before, whose lookup it keeps (the decision made on it, written only if
the stored lookup is unchanged: RECORD_IF_UNCHANGED); two for a restricted caller seen
first, or whose strategies or quotas changed since (lookup; then the same check, count and
write); more only when another call changed the lookup between the two.

Fail open (CONTRACT §3): if Redis is down or slow, or anything here raises, the call is
connected to the default route and its record is spooled to disk (``degraded: true``),
to be replayed into Redis when it is back. No call is dropped, no record is lost. If the
call's record reached Redis all the same (written as Redis failed, its answer lost), the
replay makes it say what the caller got: the degraded answer (``CallStore.degrade``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import cast
from zoneinfo import ZoneInfo

from callguard.domain.caller_match import Decision, QuotaClaim, Rule
from callguard.domain.decision import decide
from callguard.domain.records import CallRecord, record_for
from callguard.domain.speech import caller_hears, connect_notice
from callguard.phones import caller_number, mask_phone
from callguard.policy import Policy
from callguard.services.errors import may_succeed_later, why_never
from callguard.services.kept_refusals import refusal_to_keep
from callguard.services.spooled_updates import SpooledUpdates
from callguard.store.call_plans import (
    PlanLines,
    RepeatCounter,
    decided_lines,
    unrestricted_lines,
)
from callguard.store.call_records import CallStore, Existing, Kept, Matched, Unmatched
from callguard.store.spool import EntryRejected, Spool

log = logging.getLogger("callguard.screening")

# A race for the lookup can only be lost a few times in a row (each loss means another call
# was counted, or the caller's strategies changed, between deciding and writing).
MAX_QUOTA_ATTEMPTS = 4
# Restricted callers whose lookup is kept (a few dozen in a real office); past this many,
# all are forgotten and each is looked up again on their next call.
KNOWN_CALLERS_KEPT = 4096
# The inbound path's budget, in multiples of CALLGUARD_REDIS_TIMEOUT_MS: a restricted
# caller needs two round trips; past the budget the call fails open.
BUDGET_TIMEOUTS = 2


@dataclass(frozen=True)
class InboundCall:
    call_sid: str
    caller: str  # From, as Twilio sent it
    to: str
    status: str


@dataclass(frozen=True)
class Screened:
    decision: Decision
    # True when the call was answered by the fail-open path (its record is spooled), or,
    # for a repeated CallSid, when the record says it was.
    degraded: bool = False
    # True when this CallSid had been seen before: answer the same, act no further.
    repeated: bool = False


def decision_of(record: CallRecord) -> Decision:
    """Rebuild the decision from a stored record (for a repeated webhook)."""
    return Decision(
        outcome=record.outcome,
        rule=cast(Rule, record.rule),
        person_id=record.person_id,
        strategy_ids=tuple(record.strategy_ids),
        matter_refs=tuple(record.matter_refs),
        route_to=record.route_to,
        spoc_name=record.spoc_name,
        recorded=record.recorded,
        max_minutes=record.max_minutes,
        next_permitted_at=record.next_permitted_at,
        extra_time=record.extra_time,
        refused_by=tuple(record.refused_by),
        told_in_writing=record.told_in_writing,
        letter_follows=record.letter_follows,
    )


def _counted(
    usage: dict[str, dict[str, int]], claims: tuple[QuotaClaim, ...]
) -> dict[str, dict[str, int]]:
    """``usage`` with each claim's call counted, as the write left the quotas (a new dict)."""
    after = dict(usage)
    for claim in claims:
        periods = dict(after.get(claim.strategy_id, {}))
        periods[claim.period_id] = periods.get(claim.period_id, 0) + 1
        after[claim.strategy_id] = periods
    return after


def _repeated(record: CallRecord) -> Screened:
    """A CallSid seen before: the answer its record says was given."""
    return Screened(decision_of(record), degraded=record.degraded, repeated=True)


class Screening:
    def __init__(
        self,
        store: CallStore,
        spool: Spool,
        policy: Policy,
        tz: ZoneInfo,
        default_route: str,
        budget_s: float,
        inbound: CallStore | None = None,
    ) -> None:
        """``inbound``: the store the screening itself reads and writes through, every
        command within ``budget_s`` (by default ``store``, which previews and replays use)."""
        self.store = store
        self.inbound = inbound or store
        self.spool = spool
        self.updates = SpooledUpdates(store)
        self.policy = policy
        self.tz = tz
        self.default_route = default_route
        self.budget_s = budget_s
        self.unrestricted = Decision(outcome="connect", rule="none", route_to=default_route)
        # Restricted callers' lookups as their last call here left them, by phone: a hint
        # only, since a call is written only if the stored lookup still has its fingerprint.
        self._known: dict[str, Matched] = {}

    async def screen(self, call: InboundCall, now: datetime) -> Screened:
        phone = caller_number(call.caller)
        caller = phone or call.caller
        try:
            async with asyncio.timeout(self.budget_s):
                return await self._screen(call, phone, caller, now)
        except Exception as error:  # fail open, whatever went wrong
            log.warning(
                "screening failed for call from %s (%s); connecting to the default route",
                mask_phone(phone),
                type(error).__name__,
            )
            record = record_for(
                self.unrestricted,
                call_sid=call.call_sid,
                caller=caller,
                to=call.to,
                received_at=now,
                status=call.status,
                degraded=True,
            )
            await self.spool.append(
                {
                    "kind": "record",
                    "plan": self.store.record_plan(record),
                    "call_sid": call.call_sid,
                }
            )
            return Screened(self.unrestricted, degraded=True)

    async def _screen(
        self, call: InboundCall, phone: str | None, caller: str, now: datetime
    ) -> Screened:
        known = self._known.get(phone) if phone is not None else None
        for _attempt in range(MAX_QUOTA_ATTEMPTS):
            if known is None:
                found = await self.inbound.screen(
                    call.call_sid, phone, self._unrestricted(call, phone, caller, now)
                )
                if isinstance(found, Existing):
                    return _repeated(found.record)
                if isinstance(found, Kept):
                    return Screened(found.decision)
                if not isinstance(found, Matched):
                    # The unrestricted record was written with the lookup: nothing to build.
                    return Screened(self.unrestricted)
                known = found
            assert phone is not None  # only a number can match
            decision = decide(known.match, known.usage, now, self.tz, self.default_route)
            lines = decided_lines(
                self.store.keys,
                decision,
                call_sid=call.call_sid,
                caller=caller,
                to=call.to,
                received_at=now,
                status=call.status,
            )
            keep = refusal_to_keep(self.store.keys, known.match, decision, lines)
            written = await self.inbound.record_if_unchanged(
                call.call_sid, phone, known.fingerprint, lines, keep
            )
            if isinstance(written, Existing):
                return _repeated(written.record)
            if isinstance(written, Matched):
                known = written  # the lookup changed: decide again on it as it is
                continue
            if isinstance(written, Unmatched):
                # No strategy applies now: screened afresh, as any unrestricted caller is.
                self._known.pop(phone, None)
                known = None
                continue
            if keep:
                # Kept in Redis for the next call, from any process: nothing to keep here.
                self._known.pop(phone, None)
                return Screened(decision)
            self._remember(
                phone,
                Matched(
                    known.match,
                    _counted(known.usage, decision.quota_claims),
                    written.fingerprint,
                ),
            )
            return Screened(decision)
        raise RuntimeError("quota contention did not settle")

    def _unrestricted(
        self, call: InboundCall, phone: str | None, caller: str, now: datetime
    ) -> PlanLines:
        """The record of an unrestricted call, written by the lookup if nothing matches."""
        repeat = None
        if phone is not None:
            day = now.astimezone(self.tz).date().isoformat()
            repeat = RepeatCounter(
                self.store.keys.repeat_counter(phone, day),
                phone,
                self.policy.repeat_callers.calls_per_day,
            )
        return unrestricted_lines(
            self.store.keys,
            call_sid=call.call_sid,
            caller=caller,
            to=call.to,
            received_at=now,
            status=call.status,
            route_to=self.default_route,
            repeat=repeat,
        )

    def _remember(self, phone: str, known: Matched) -> None:
        if len(self._known) >= KNOWN_CALLERS_KEPT and phone not in self._known:
            self._known.clear()
        self._known[phone] = known

    async def preview(self, phone: str, at: datetime) -> tuple[Decision, list[str]]:
        """What would happen if ``phone`` called at ``at``, and what the caller would hear:
        no record, no count, no call (the managers' preview)."""
        match, usage = await self.store.lookup(phone)
        decision = decide(match, usage, at, self.tz, self.default_route)
        if decision.outcome == "refuse":
            return decision, caller_hears(decision, self.policy)
        return decision, connect_notice(decision, self.policy)

    async def replay_spool(self) -> int:
        """Write spooled records and updates into Redis; idempotent. An entry that could
        never be written is set aside (``Spool``); the replay stops, to go on later, only
        where trying again may succeed."""
        return await self.spool.replay(self._apply_spooled)

    async def _apply_spooled(self, entry: dict[str, object]) -> None:
        try:
            await self._apply(entry)
        except EntryRejected:
            raise
        except Exception as error:
            if may_succeed_later(error):
                raise
            call = entry.get("call_sid") if isinstance(entry, dict) else None
            whose = f"call {call}" if call else "an entry of no call"
            raise EntryRejected(f"{whose}: {why_never(error)}") from error

    async def _apply(self, entry: dict[str, object]) -> None:
        call_sid = str(entry["call_sid"])
        if entry["kind"] == "record":
            degraded_plan = str(entry["plan"])
            written = await self.store.record(degraded_plan, call_sid)
            if isinstance(written, Existing) and not written.record.degraded:
                # Its record reached Redis although the caller got the degraded answer.
                await self.store.degrade(degraded_plan, call_sid)
            # Updates replayed by another replica before this record reached Redis.
            await self.updates.apply_held(call_sid)
        elif entry["kind"] == "update":
            await self.updates.apply(call_sid, entry, hold=True)
        else:  # spooled by a release that knows more kinds (an upgrade rolled back, say)
            raise EntryRejected(f"call {call_sid}: an entry of a kind this release does not know")
