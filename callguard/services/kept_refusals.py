"""Refusals kept ready for the next call from the same number.

Most registered callers' decisions read the time: their call windows and quotas. A person
whose strategies only refuse (email or post only, an advocate only, phone blocked, no
response), with no call windows, gets the same refusal whenever they call, until their
strategies, adjustments or numbers change. The call that decides such a refusal keeps it
under the number with the fingerprint of the lookup it was decided on
(``call_scripts.RECORD_IF_UNCHANGED``), for ``KEPT_REFUSAL_TTL_S``; their next calls are
answered from it in one round trip, from any service process, as an unregistered caller's
are (``call_scripts.SCREEN_CALL``).

A kept refusal is a copy and never an authority: a call uses it only while the lookup it
makes has the same fingerprint, so a copy the register has moved on from is never used
(the call is decided afresh, in two round trips, and keeps its refusal again). Only calls
make copies, so there are copies only for people who call: the register makes none, and
keeps those there are right as it changes a person or their strategies (``refresh``).
A copy holds nothing the register and the call log do not (the person's id, their
strategies' ids and matter references, the refusal) and goes ``KEPT_REFUSAL_TTL_S`` after
the call that made it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from callguard.domain.caller_match import CallerMatch, Decision
from callguard.domain.decision import decide, lasting
from callguard.phones import mask_phone
from callguard.store.call_plans import PlanLines, kept_refusal_text
from callguard.store.call_records import CallStore
from callguard.store.keys import Keys
from callguard.store.register import RegisterStore

log = logging.getLogger("callguard.kept_refusals")


def refusal_to_keep(
    keys: Keys, match: CallerMatch, decision: Decision, decided: PlanLines | None = None
) -> str:
    """What to keep of ``decision`` for the next calls on the same lookup
    (``kept_refusal_text``, from ``decided`` when given), or "" when it may not be kept: it
    is not a refusal, or it reads the time or the quotas."""
    if decision.outcome != "refuse" or not lasting(match):
        return ""
    return kept_refusal_text(keys, decision, decided)


class KeptRefusals:
    def __init__(
        self, store: CallStore, people: RegisterStore, tz: ZoneInfo, default_route: str
    ) -> None:
        self.store = store
        self.people = people
        self.tz = tz
        self.default_route = default_route

    async def refresh(self, phones: Iterable[str], now: datetime) -> int:
        """The refusals kept for these numbers made right for the register as it is now:
        each replaced by what the number's next call would get, where that is a refusal
        that does not read the time, else forgotten. How many were replaced. Never raises:
        a copy not refreshed costs its caller's next call a round trip, never a wrong
        answer."""
        replaced = 0
        for phone in dict.fromkeys(phones):
            try:
                replaced += await self._refresh(phone, now)
            except Exception as error:  # the register's change stands regardless
                log.warning(
                    "could not refresh the refusal kept for %s (%s)",
                    mask_phone(phone),
                    type(error).__name__,
                )
        return replaced

    async def refresh_person(self, person_id: str, now: datetime) -> int:
        """``refresh`` for each of the person's numbers. Never raises."""
        try:
            person = await self.people.get_person(person_id)
        except Exception as error:
            log.warning(
                "could not read a person to refresh their kept refusals (%s)",
                type(error).__name__,
            )
            return 0
        return await self.refresh(person.phones if person else (), now)

    async def _refresh(self, phone: str, now: datetime) -> int:
        matched = await self.store.matched(phone)
        keep = ""
        if matched is not None:
            decision = decide(matched.match, matched.usage, now, self.tz, self.default_route)
            keep = refusal_to_keep(self.store.keys, matched.match, decision)
        if not keep:
            await self.store.forget_refusal(phone)
            return 0
        # False when none is kept, or the lookup changed again: the next call decides.
        assert matched is not None
        return int(await self.store.refresh_kept(phone, matched.fingerprint, keep))
