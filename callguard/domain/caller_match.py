"""What the decision engine reads and returns for one inbound call. Pure data."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from callguard.domain.models import AdjustmentKind, Restriction

Outcome = Literal["connect", "divert_spoc", "refuse"]
Rule = Literal[
    "none",
    "call_windows.outside",
    "call_windows.quota",
    "written_only",
    "advocate_only",
    "phone_blocked",
    "no_response",
    "spoc",
    "advocate_only.advocate",
]
REFUSAL_PRECEDENCE: tuple[Rule, ...] = (
    # When several restrictions refuse, the first of these is the rule recorded and spoken:
    # the most final answer first, so the caller is never told to ring back when they may not.
    "no_response",
    "phone_blocked",
    "advocate_only",
    "written_only",
    "call_windows.quota",
    "call_windows.outside",
)
# The refusals a call_windows restriction gives (the caller is told when they may call next).
WINDOW_REFUSALS: tuple[Rule, ...] = tuple(
    rule for rule in REFUSAL_PRECEDENCE if rule.startswith("call_windows.")
)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScreeningEntry(Frozen):
    """One active strategy as the inbound path needs it (denormalised into the phone index)."""

    strategy_id: str
    # The restricted person (for an advocate's call, the person they speak for).
    person_id: str
    matter_ref: str
    restrictions: tuple[Restriction, ...]
    # "person": the caller's number is the restricted person's own;
    # "advocate": the caller's number is an advocate's under that strategy's advocate_only.
    role: Literal["person", "advocate"]
    # Whether the person was told in writing of the version applied (§3.6), and whether it
    # is an interim measure applied before the letter (the caller is told one will follow).
    told_in_writing: bool = False
    interim: bool = False


class CallerMatch(Frozen):
    """Who an inbound number belongs to, and the active strategies that apply to them."""

    phone: str
    person_id: str
    adjustments: tuple[AdjustmentKind, ...] = ()
    entries: tuple[ScreeningEntry, ...] = ()


# strategy_id -> quota period id -> calls already counted in that period
Usage = Mapping[str, Mapping[str, int]]


class QuotaClaim(Frozen):
    """A call that connects under ``call_windows`` must count against this period atomically."""

    strategy_id: str
    period_id: str
    max_calls: int
    # When the count stops mattering (end of the period); the store sets its TTL from this.
    expires_at: datetime


class Decision(Frozen):
    outcome: Outcome
    rule: Rule
    person_id: str | None = None
    strategy_ids: tuple[str, ...] = ()
    matter_refs: tuple[str, ...] = ()
    route_to: str | None = None
    spoc_name: str | None = None
    recorded: bool = False
    max_minutes: int | None = None
    # For window refusals: the start of the next permitted window, aware, in the office zone.
    next_permitted_at: datetime | None = None
    # The same window in plain English: "Tuesday the 2nd of December, between 9 am and 12 noon".
    next_permitted_spoken: str | None = None
    # written_only: the written contact details to give the caller.
    written_email: str | None = None
    written_postal_address: str | None = None
    # needs_extra_time: slower speech, longer message.
    extra_time: bool = False
    quota_claims: tuple[QuotaClaim, ...] = ()
    # The strategies whose restrictions refused the call: a breach of those only (§3.8).
    refused_by: tuple[str, ...] = ()
    # Whether every strategy behind the refusal (or the recording) was told to the person
    # in writing, and whether one is an interim measure whose letter is still to follow.
    told_in_writing: bool = True
    letter_follows: bool = False
