"""The call record (CONTRACT §4 Calls): one per inbound call, built from a Decision."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from callguard.domain.caller_match import Decision, Outcome

TERMINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
# How far along a call, or its other leg, is by each of Twilio's statuses. A status is never
# replaced by one further back: Twilio's callbacks may arrive out of order, and an update
# spooled while Redis was away may be replayed after a later one was written.
STATUS_PROGRESS = {
    "queued": 0,
    "initiated": 1,
    "ringing": 2,
    "in-progress": 3,
    "answered": 3,  # the other leg's word for in-progress (a <Dial>'s callbacks)
    **dict.fromkeys(sorted(TERMINAL_STATUSES), 4),
}
TriageOutcome = Literal["new_complaint", "criminal_matter", "safeguarding", "no_action"]


class CallEvent(BaseModel):
    """A warning given in a call, or the end of a call by staff (§6.4)."""

    at: datetime
    reason: str
    by: str


class Triage(BaseModel):
    outcome: TriageOutcome
    by: str
    at: datetime
    notes: str = ""


class CallMessage(BaseModel):
    """A caller's recorded message, kept for review (§3.10, §8.7)."""

    recording_sid: str
    recording_url: str
    duration_s: int
    recorded_at: datetime
    new_matter: bool = False
    for_spoc: str | None = None
    triage: Triage | None = None


class CallRecord(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    call_sid: str
    from_: str = Field(alias="from")
    to: str
    received_at: datetime
    person_id: str | None = None
    strategy_ids: list[str] = []
    matter_refs: list[str] = []
    outcome: Outcome
    rule: str
    route_to: str | None = None
    spoc_name: str | None = None
    recorded: bool = False
    max_minutes: int | None = None
    next_permitted_at: datetime | None = None
    degraded: bool = False
    status: str = "ringing"
    warnings: list[CallEvent] = []
    ended: CallEvent | None = None
    file_note_id: str | None = None
    message: CallMessage | None = None
    conference_sid: str | None = None
    other_leg_status: str | None = None
    recording_sid: str | None = None
    recording_url: str | None = None
    duration_s: int | None = None
    new_matter_claimed: bool = False
    extra_time: bool = False
    # The strategies whose restrictions refused the call (§3.8, §3.11): a breach of those only.
    refused_by: list[str] = []
    # What the caller was told (§3.6), so a repeated webhook says the same.
    told_in_writing: bool = True
    letter_follows: bool = False

    @property
    def in_progress(self) -> bool:
        """Connected, not finished, not ended by staff: live controls apply (§6.4)."""
        return (
            self.outcome != "refuse" and self.status not in TERMINAL_STATUSES and self.ended is None
        )

    def hash_fields(self) -> dict[str, Any]:
        """Fields for the Redis hash: everything but the warnings list (kept apart) and the
        fields at their default, which read back as the default (the model fills them in;
        the Lua scripts reading a call hash take a missing field as its default). A new
        caller's record is 7 fields instead of 26: less for Redis to decode, store and
        append to its AOF on every inbound call."""
        return self.model_dump(
            mode="json", by_alias=True, exclude={"warnings"}, exclude_defaults=True
        )


def record_for(
    decision: Decision,
    *,
    call_sid: str,
    caller: str,
    to: str,
    received_at: datetime,
    status: str,
    degraded: bool = False,
) -> CallRecord:
    return CallRecord(
        call_sid=call_sid,
        from_=caller,
        to=to,
        received_at=received_at,
        person_id=decision.person_id,
        strategy_ids=list(decision.strategy_ids),
        matter_refs=list(decision.matter_refs),
        outcome=decision.outcome,
        rule=decision.rule,
        route_to=decision.route_to,
        spoc_name=decision.spoc_name,
        recorded=decision.recorded,
        max_minutes=decision.max_minutes,
        next_permitted_at=decision.next_permitted_at,
        degraded=degraded,
        status=status,
        extra_time=decision.extra_time,
        refused_by=list(decision.refused_by),
        told_in_writing=decision.told_in_writing,
        letter_follows=decision.letter_follows,
    )
