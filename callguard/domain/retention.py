"""Legal holds and the disposal log (UK GDPR storage limitation, policy ``[retention]``).

A legal hold keeps a record past its retention period: a hold on a call keeps the call
record (and its message and file note); a hold on a person keeps every call and file note
about them; a hold on a file note keeps that note. The disposal log says what kind of record
went, how many, when and under which rule, and nothing about whom.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from callguard.domain.fields import Text

HoldKind = Literal["call", "person", "file_note"]
DisposalKind = Literal[
    "call_record",
    "message",
    "file_note",
    "repeat_caller",
    "audit_entry",
    "person_audit_entry",
    "notification",
    "subject_access_request",
]


def _plain_id(value: str) -> str:
    if not value.replace("_", "").replace("-", "").isalnum():
        raise ValueError("must be an id: letters, digits, '_' and '-' only")
    return value


TargetId = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_plain_id)]


class LegalHoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: HoldKind
    id: TargetId
    reason: Text


class LegalHold(BaseModel):
    kind: HoldKind
    id: str
    reason: str
    placed_by: str
    placed_at: datetime


class Disposal(BaseModel):
    """One entry of the disposal log: no ids, names or numbers of anyone."""

    id: str
    at: datetime
    kind: DisposalKind
    count: int
    rule: str  # the policy setting that required it, e.g. "retention.call_records_days"
    days: int
    cutoff: date
