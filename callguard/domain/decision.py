"""The decision engine: what happens to one inbound call. Pure: ``now`` is an argument.

Read top to bottom, this is the policy applied to a call: each restriction a contact
strategy may hold (§3.9), the refusal that stands even when the office will not respond
(§8.6–8.7: the caller is still told why and may leave a message, which is read), and how
several restrictions combine (CONTRACT §4): any refusal wins, the most final first
(``REFUSAL_PRECEDENCE``); otherwise the SPOC if there is one, else the default route;
recording if any strategy asks.

Choices where the contract is silent:
- Two strategies naming different SPOCs: the first entry's SPOC takes the call.
- Two ``written_only`` restrictions: the first entry's details are given.
- ``written_email``/``written_postal_address`` are set only when ``written_only`` is the
  winning rule, as ``next_permitted_*`` are only for a winning window rule.
- A person under several ``call_windows`` strategies is told the next time when *all*
  of them allow a call (``next_permitted_together``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TypedDict, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from callguard.domain.caller_match import (
    REFUSAL_PRECEDENCE,
    WINDOW_REFUSALS,
    CallerMatch,
    Decision,
    Outcome,
    QuotaClaim,
    Rule,
    ScreeningEntry,
    Usage,
)
from callguard.domain.models import (
    AdjustmentKind,
    AdvocateOnly,
    CallWindows,
    NoResponse,
    PhoneBlocked,
    Recorded,
    Spoc,
    WrittenOnly,
)
from callguard.domain.windows import (
    Occurrence,
    next_permitted_together,
    occurrences_at,
    period_with_room,
    spoken_window,
)

_NO_USAGE: Mapping[str, int] = {}


def decide(
    match: CallerMatch | None, usage: Usage, now: datetime, tz: ZoneInfo, default_route: str
) -> Decision:
    """Decide one inbound call from the caller's match, quota usage so far, and the time."""
    if match is None:
        # Unknown or withheld number: nobody to restrict, so put straight through.
        return Decision(outcome="connect", rule="none", route_to=default_route)
    own = [entry for entry in match.entries if entry.role == "person"]
    if own:
        # The number is the person's own: their strategies decide, even if it is also
        # listed as an advocate's.
        return _persons_call(match, own, usage, now, tz, default_route)
    if match.entries:
        return _advocates_call(match, default_route)
    # A known person with no active strategy is unrestricted.
    return _connected(
        match,
        outcome="connect",
        rule="none",
        spoc=None,
        default_route=default_route,
        recorded=False,
        max_minutes=None,
        quota_claims=(),
    )


def lasting(match: CallerMatch) -> bool:
    """Whether ``decide`` gives this match the same decision at any time, whatever the
    quotas have counted: the number is the person's own (their strategies decide) and none
    of those has call windows, the one restriction that reads the time and the counts."""
    own = [entry for entry in match.entries if entry.role == "person"]
    return bool(own) and not _all(CallWindows, own)


def _persons_call(
    match: CallerMatch,
    own: Sequence[ScreeningEntry],
    usage: Usage,
    now: datetime,
    tz: ZoneInfo,
    default_route: str,
) -> Decision:
    refusals, quota_claims = _verdicts(own, usage, now, tz)
    letter_follows = any(e.interim and not e.told_in_writing for e in own)

    if refusals:
        winner = min((rule for rule, _ in refusals), key=REFUSAL_PRECEDENCE.index)
        # §3.6: "as you have been told in writing" only when every strategy refusing on the
        # winning rule was told of the version applied.
        told = all(e.told_in_writing for rule, e in refusals if rule == winner)
        refused_by = tuple(dict.fromkeys(e.strategy_id for _, e in refusals))
        return _refusal(
            match,
            winner,
            own,
            usage,
            now,
            tz,
            refused_by=refused_by,
            told_in_writing=told,
            letter_follows=letter_follows,
        )

    spoc = _first(Spoc, own)  # §3.9 "communicate only with a single point of contact"
    caps_minutes = [
        restriction.max_minutes
        for restriction in _all(CallWindows, own)
        if restriction.max_minutes is not None
    ]
    recorded = [e for e in own if any(isinstance(r, Recorded) for r in e.restrictions)]
    return _connected(
        match,
        outcome="divert_spoc" if spoc is not None else "connect",
        rule="spoc" if spoc is not None else "none",
        spoc=spoc,
        default_route=default_route,
        recorded=bool(recorded),  # §3.9 "record or monitor telephone calls"
        max_minutes=min(caps_minutes, default=None),
        quota_claims=tuple(quota_claims),
        # The recording notice says "as you have been told in writing" only when it is true.
        told_in_writing=all(e.told_in_writing for e in recorded),
        letter_follows=letter_follows,
    )


def _verdicts(
    own: Sequence[ScreeningEntry], usage: Usage, now: datetime, tz: ZoneInfo
) -> tuple[list[tuple[Rule, ScreeningEntry]], list[QuotaClaim]]:
    """Each restriction's say on the call: the refusals, each with the strategy it is
    from, and the quota claims of the call windows the call is inside with room left in
    their quota period."""
    refusals: list[tuple[Rule, ScreeningEntry]] = []
    quota_claims: list[QuotaClaim] = []
    for entry in own:
        for restriction in entry.restrictions:
            if isinstance(restriction, CallWindows):
                # §3.9 "one call on one specified morning or afternoon of any week or month"
                verdict = _call_windows(entry.strategy_id, restriction, usage, now, tz)
                if isinstance(verdict, QuotaClaim):
                    quota_claims.append(verdict)
                else:
                    refusals.append((verdict, entry))
            elif isinstance(restriction, WrittenOnly):
                refusals.append(("written_only", entry))  # §3.9 "email or post only"
            elif isinstance(restriction, AdvocateOnly):
                refusals.append(("advocate_only", entry))  # §3.9 "use an advocate"
            elif isinstance(restriction, PhoneBlocked):
                refusals.append(("phone_blocked", entry))  # §3.9 "blocking ... other channels"
            elif isinstance(restriction, NoResponse):
                refusals.append(("no_response", entry))  # §8.6: told in writing, no response
            # spoc and recorded do not refuse; they shape a call that connects (_persons_call).
    return refusals, quota_claims


def _call_windows(
    strategy_id: str, cw: CallWindows, usage: Usage, now: datetime, tz: ZoneInfo
) -> Rule | QuotaClaim:
    """Inside a window whose quota period has room: a claim to count the call; else why not."""
    occurrences = occurrences_at(cw, now, tz)
    if not occurrences:
        return "call_windows.outside"
    for occurrence in occurrences:
        period = period_with_room(cw, occurrence, usage.get(strategy_id, _NO_USAGE))
        if period is not None:
            return QuotaClaim(
                strategy_id=strategy_id,
                period_id=period.period_id,
                max_calls=cw.max_calls,
                expires_at=period.end,
            )
    return "call_windows.quota"


def _refusal(
    match: CallerMatch,
    rule: Rule,
    own: Sequence[ScreeningEntry],
    usage: Usage,
    now: datetime,
    tz: ZoneInfo,
    *,
    refused_by: tuple[str, ...],
    told_in_writing: bool,
    letter_follows: bool,
) -> Decision:
    """A refused call goes nowhere and counts nothing; the caller is told why and what next."""
    next_window: Occurrence | None = None
    if rule in WINDOW_REFUSALS:
        every_window_rule = [
            (entry_cw, usage.get(strategy_id, _NO_USAGE))
            for strategy_id, entry_cw in _all_with_ids(CallWindows, own)
        ]
        next_window = next_permitted_together(every_window_rule, now, tz)
    written = _first(WrittenOnly, own) if rule == "written_only" else None
    return Decision(
        outcome="refuse",
        rule=rule,
        **_who(match),
        next_permitted_at=next_window.start if next_window is not None else None,
        next_permitted_spoken=spoken_window(next_window) if next_window is not None else None,
        written_email=written.email if written is not None else None,
        written_postal_address=written.postal_address if written is not None else None,
        refused_by=refused_by,
        told_in_writing=told_in_writing,
        letter_follows=letter_follows,
    )


def _advocates_call(match: CallerMatch, default_route: str) -> Decision:
    """§3.9 "use an advocate": the advocate's call is put through, unlimited by the person's
    windows and refusals, to the SPOC of that strategy if it has one, recorded if it asks."""
    entries = [entry for entry in match.entries if entry.role == "advocate"]
    spoc = _first(Spoc, entries)
    return _connected(
        match,
        outcome="divert_spoc" if spoc is not None else "connect",
        rule="advocate_only.advocate",
        spoc=spoc,
        default_route=default_route,
        recorded=_first(Recorded, entries) is not None,
        max_minutes=None,
        quota_claims=(),
    )


def _connected(
    match: CallerMatch,
    *,
    outcome: Outcome,
    rule: Rule,
    spoc: Spoc | None,
    default_route: str,
    recorded: bool,
    max_minutes: int | None,
    quota_claims: tuple[QuotaClaim, ...],
    told_in_writing: bool = True,
    letter_follows: bool = False,
) -> Decision:
    return Decision(
        outcome=outcome,
        rule=rule,
        **_who(match),
        route_to=spoc.phone if spoc is not None else default_route,
        spoc_name=spoc.name if spoc is not None else None,
        recorded=recorded,
        max_minutes=max_minutes,
        quota_claims=quota_claims,
        told_in_writing=told_in_writing,
        letter_follows=letter_follows,
    )


def _who(match: CallerMatch) -> _Who:
    return {
        "person_id": match.person_id,
        "strategy_ids": tuple(entry.strategy_id for entry in match.entries),
        "matter_refs": tuple(entry.matter_ref for entry in match.entries),
        # §2.1, §2.3: a reasonable adjustment the call handling must respect.
        "extra_time": AdjustmentKind.needs_extra_time in match.adjustments,
    }


class _Who(TypedDict):
    person_id: str
    strategy_ids: tuple[str, ...]
    matter_refs: tuple[str, ...]
    extra_time: bool


_Kind = TypeVar("_Kind", bound=BaseModel)


def _all_with_ids(kind: type[_Kind], entries: Sequence[ScreeningEntry]) -> list[tuple[str, _Kind]]:
    """Every restriction of one kind across the entries, with its strategy id, in order."""
    return [
        (entry.strategy_id, restriction)
        for entry in entries
        for restriction in entry.restrictions
        if isinstance(restriction, kind)
    ]


def _all(kind: type[_Kind], entries: Sequence[ScreeningEntry]) -> list[_Kind]:
    return [restriction for _, restriction in _all_with_ids(kind, entries)]


def _first(kind: type[_Kind], entries: Sequence[ScreeningEntry]) -> _Kind | None:
    return next(iter(_all(kind, entries)), None)
