"""Domain models (pydantic). Pure: no I/O, no clock reads.

Inputs (``*In``) validate what a client may send; the stored models add identity,
versions and history. Field names follow CONTRACT §4.
"""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from callguard.domain.dates import InputDate
from callguard.domain.fields import HHMM, Day, Email, MatterRef, Phone, Route, ShortText, Text


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- people -------------------------------------------------------------------------------


class AdjustmentKind(StrEnum):
    needs_phone_contact = "needs_phone_contact"
    needs_extra_time = "needs_extra_time"
    needs_interpreter = "needs_interpreter"
    needs_advocate_support = "needs_advocate_support"
    other = "other"
    large_print = "large_print"
    easy_read = "easy_read"


class ReasonableAdjustment(Model):
    kind: AdjustmentKind
    detail: str = Field(default="", max_length=2000)


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("contains the same value twice")
    return values


class PersonIn(Model):
    name: ShortText
    phones: Annotated[list[Phone], Field(max_length=10), AfterValidator(_unique)] = []
    emails: Annotated[list[Email], Field(max_length=10)] = []
    reasonable_adjustments: Annotated[list[ReasonableAdjustment], Field(max_length=20)] = []


class Person(PersonIn):
    model_config = ConfigDict(extra="ignore")
    id: str
    created_at: datetime
    created_by: str
    updated_at: datetime

    def has_adjustment(self, kind: AdjustmentKind) -> bool:
        return any(a.kind is kind for a in self.reasonable_adjustments)


# --- restrictions (CONTRACT §4, policy §3.9) -----------------------------------------------


class Window(Model):
    days: Annotated[list[Day], Field(min_length=1, max_length=7), AfterValidator(_unique)]
    start: HHMM
    end: HHMM

    @field_validator("end")
    @classmethod
    def _start_before_end(cls, end: str, info: ValidationInfo) -> str:
        start = info.data.get("start")
        if isinstance(start, str) and start >= end:
            raise ValueError(f"start ({start}) must be before end ({end})")
        return end

    @property
    def start_time(self) -> time:
        return _parse_hhmm(self.start)

    @property
    def end_time(self) -> time | None:
        """The end as a time of day; None for ``24:00`` (midnight at the end of the day)."""
        return None if self.end == "24:00" else _parse_hhmm(self.end)


def _parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class CallWindows(Model):
    kind: Literal["call_windows"] = "call_windows"
    windows: Annotated[list[Window], Field(min_length=1, max_length=14)]
    max_calls: StrictInt = Field(ge=1, le=100)
    per: Literal["window", "week", "month"]
    max_minutes: StrictInt | None = Field(default=None, ge=1, le=240)


class Spoc(Model):
    kind: Literal["spoc"] = "spoc"
    name: ShortText
    phone: Route


class Recorded(Model):
    kind: Literal["recorded"] = "recorded"


class WrittenOnly(Model):
    kind: Literal["written_only"] = "written_only"
    email: Email | None = None
    postal_address: Annotated[str, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _some_address(self) -> WrittenOnly:
        if not self.email and not (self.postal_address and self.postal_address.strip()):
            raise ValueError("give an email or a postal_address (or both)")
        return self


class AdvocateOnly(Model):
    kind: Literal["advocate_only"] = "advocate_only"
    advocate_phones: Annotated[
        list[Phone], Field(min_length=1, max_length=10), AfterValidator(_unique)
    ]


class PhoneBlocked(Model):
    kind: Literal["phone_blocked"] = "phone_blocked"


class NoResponse(Model):
    kind: Literal["no_response"] = "no_response"


Restriction = Annotated[
    CallWindows | Spoc | Recorded | WrittenOnly | AdvocateOnly | PhoneBlocked | NoResponse,
    Field(discriminator="kind"),
]


def _one_of_each_kind(restrictions: list[Restriction]) -> list[Restriction]:
    kinds = [r.kind for r in restrictions]
    repeated = sorted({k for k in kinds if kinds.count(k) > 1})
    if repeated:
        raise ValueError(f"each kind at most once per strategy; repeated: {', '.join(repeated)}")
    return restrictions


Restrictions = Annotated[
    list[Restriction], Field(min_length=1, max_length=7), AfterValidator(_one_of_each_kind)
]


# --- contact strategies (§3.4–3.15) ---------------------------------------------------------


class AdjustmentOverride(Model):
    """Why a restriction overrides a reasonable adjustment (§2.4, §3.13–3.14, §8.4)."""

    justification: Text
    equality_advice_from: ShortText


class StrategyStatus(StrEnum):
    active = "active"
    ended = "ended"
    lapsed = "lapsed"
    # Created without notified_on: not applied to calls until the person is told (§3.6).
    awaiting_notice = "awaiting_notice"


class StrategyIn(Model):
    person_id: ShortText
    matter_ref: MatterRef
    reason: Text
    restrictions: Restrictions
    notified_on: InputDate | None = None
    review_due: InputDate
    adjustment_override: AdjustmentOverride | None = None
    # Applies before the letter (e.g. after threats): [notice] interim_kinds, chief executive.
    interim: StrictBool = False


class StrategyChanges(Model):
    """What a revision may change; omitted fields stay as they are."""

    matter_ref: MatterRef | None = None
    reason: Text | None = None
    restrictions: Restrictions | None = None
    review_due: InputDate | None = None
    adjustment_override: AdjustmentOverride | None = None


class RevisionIn(Model):
    expected_version: StrictInt = Field(ge=1)
    changes: StrategyChanges
    why: Text
    notified_on: InputDate | None = None
    interim: StrictBool = False


class Revision(Model):
    version: int
    at: datetime
    by: str
    why: str
    changed: list[str]
    before: dict[str, object]
    after: dict[str, object]
    notified_on: date | None = None


class ReviewIn(Model):
    outcome: Literal["continue", "revise", "end"]
    notes: Text
    expected_version: StrictInt = Field(ge=1)
    next_review_due: InputDate | None = None
    revision: RevisionIn | None = None
    notified_on: InputDate | None = None

    @model_validator(mode="after")
    def _outcome_needs(self) -> ReviewIn:
        if self.outcome in ("continue", "revise") and self.next_review_due is None:
            raise ValueError("next_review_due is required to continue or revise")
        if self.outcome == "revise" and self.revision is None:
            raise ValueError("revision is required to revise")
        return self


class Review(Model):
    at: datetime
    by: str
    outcome: Literal["continue", "revise", "end"]
    notes: str
    next_review_due: date | None = None


class EndIn(Model):
    expected_version: StrictInt = Field(ge=1)
    why: Text
    notified_on: InputDate | None = None


class ShareIn(Model):
    """Sharing a strategy with a partner agency (§3.15)."""

    shared_with: ShortText
    why: Text
    lawful_basis: Text
    approved_by: ShortText


class Share(ShareIn):
    at: datetime
    by: str


NoticeMethod = Literal["post", "email", "by_hand", "in_person"]


class NotifiedIn(Model):
    notified_on: InputDate
    method: NoticeMethod | None = None


class Notice(Model):
    """How and when the person was told of one version, and who recorded it (§3.6)."""

    version: int
    notified_on: date
    method: NoticeMethod | None = None
    recorded_by: str
    recorded_at: datetime


class Strategy(Model):
    model_config = ConfigDict(extra="ignore")
    id: str
    person_id: str
    matter_ref: str
    reason: str
    restrictions: list[Restriction]
    notified_on: date | None
    review_due: date
    starts_on: date
    adjustment_override: AdjustmentOverride | None = None
    status: StrategyStatus = StrategyStatus.active
    version: int = 1
    created_at: datetime
    created_by: str
    updated_at: datetime
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_why: str | None = None
    revisions: list[Revision] = []
    reviews: list[Review] = []
    shares: list[Share] = []
    # §3.6: the version calls are decided by (None while awaiting notice; left out, the
    # latest), and its restrictions when not the current ones (domain.notice).
    applied_version: int | None = None
    applied_restrictions: list[Restriction] | None = None
    interim_versions: list[int] = []
    notices: list[Notice] = []
    # A strategy stored before notice was tracked applied each version from when it was
    # made, up to this one: kept so that its history reads so (domain.notice.applied_from)
    # once notices are recorded for it too.
    applied_before_tracking: int | None = None

    def restriction(self, kind: str) -> Restriction | None:
        return next((r for r in self.restrictions if r.kind == kind), None)

    @model_validator(mode="before")
    @classmethod
    def _applied_by_default(cls, data: object) -> object:
        if isinstance(data, dict) and "applied_version" not in data:
            said = [
                r if isinstance(r, dict) else r.model_dump() for r in data.get("revisions") or []
            ]
            latest = max([1] + [r["version"] for r in said if "status" not in r["changed"]])
            awaiting = data.get("status") == StrategyStatus.awaiting_notice
            applied = None if awaiting else latest
            return {**data, "applied_version": applied, "applied_before_tracking": applied}
        return data

    def applied(self) -> list[Restriction]:
        """The restrictions calls are decided by (none while awaiting notice)."""
        if self.applied_version is None:
            return []
        return self.restrictions if self.applied_restrictions is None else self.applied_restrictions


REVISABLE_FIELDS = ("matter_ref", "reason", "restrictions", "review_due", "adjustment_override")


def _kinds_of(union: object) -> tuple[str, ...]:
    """The ``kind`` tags of a discriminated union, in the order the union names them."""
    members = get_args(get_args(union)[0])
    return tuple(str(member.model_fields["kind"].default) for member in members)


# Derived from the union, so a new restriction model is a new kind everywhere at once.
RESTRICTION_KINDS: tuple[str, ...] = _kinds_of(Restriction)


class PersonPatch(Model):
    """A change to a person (``PATCH /api/v1/people/{id}``): only the fields sent change,
    and each list sent replaces the one held."""

    name: ShortText | None = None
    phones: Annotated[list[Phone], Field(max_length=10), AfterValidator(_unique)] | None = None
    emails: Annotated[list[Email], Field(max_length=10)] | None = None
    reasonable_adjustments: Annotated[list[ReasonableAdjustment], Field(max_length=20)] | None = (
        None
    )
