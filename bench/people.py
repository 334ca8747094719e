"""The people the bench loads, as the register would store them: a mix of the kinds of
restricted person, each with one active contact strategy, and the writes that store them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bench.common import (
    SPOC_PHONE,
    advocate_phone,
    person_id,
    person_phone,
    strategy_id,
)
from callguard.domain.audit import AuditEntry
from callguard.domain.models import (
    AdjustmentKind,
    Person,
    ReasonableAdjustment,
    Strategy,
    StrategyStatus,
)
from callguard.store import audit as audit_store
from callguard.store.keys import Keys
from callguard.store.stored_forms import ACTIVE_FIELD, person_fields, strategy_text

# The benchmark runs one office under the default prefix.
KEYS = Keys()

ALWAYS = [
    {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}
]
SPOC = {"kind": "spoc", "name": "Jo Bloggs", "phone": SPOC_PHONE}
REASON = (
    "Repeated abusive and threatening calls to staff after the complaint was finalised; "
    "see file note FN-2026-0117 and the review of 14 November."
)


@dataclass(frozen=True)
class Template:
    """One kind of restricted person; ``share`` of every hundred people are of this kind.

    Call windows span the whole week so the outcome does not depend on when the bench
    runs; their quotas still count, so repeated callers are refused once a quota is full.
    """

    name: str
    share: int
    restrictions: list[dict[str, Any]]
    adjustments: tuple[AdjustmentKind, ...] = ()
    advocate: bool = False

    @property
    def refused(self) -> bool:
        """Whether the person's own calls are refused whatever the time and count."""
        kinds = {r["kind"] for r in self.restrictions}
        return bool(kinds & {"written_only", "phone_blocked", "advocate_only", "no_response"})


TEMPLATES = (
    Template(
        "call_windows",
        30,
        [{"kind": "call_windows", "windows": ALWAYS, "max_calls": 3, "per": "week"}],
    ),
    Template(
        "call_windows+spoc",
        15,
        [{"kind": "call_windows", "windows": ALWAYS, "max_calls": 5, "per": "week"}, SPOC],
    ),
    Template("spoc", 15, [SPOC]),
    Template(
        "recorded+call_windows, extra time",
        10,
        [
            {"kind": "recorded"},
            {"kind": "call_windows", "windows": ALWAYS, "max_calls": 2, "per": "window"},
        ],
        adjustments=(AdjustmentKind.needs_extra_time,),
    ),
    Template(
        "written_only",
        10,
        [
            {
                "kind": "written_only",
                "email": "complaints@example.org",
                "postal_address": "County Hall, Preston PR1 8XJ",
            }
        ],
    ),
    Template("phone_blocked", 8, [{"kind": "phone_blocked"}]),
    Template(
        "advocate_only",
        7,
        [{"kind": "advocate_only", "advocate_phones": [advocate_phone(0)]}],
        advocate=True,
    ),
    Template("no_response", 5, [{"kind": "no_response"}]),
)
SLOTS = [t for t in TEMPLATES for _ in range(t.share)]
assert len(SLOTS) == 100


def template_of(i: int) -> Template:
    return SLOTS[i % len(SLOTS)]


def refused(owner_id: str) -> bool:
    """Whether calls from the person with this id are refused (for the ``floor`` baseline,
    which knows the answer without deciding it)."""
    return template_of(int(owner_id.removeprefix("per_"), 16)).refused


@dataclass(frozen=True)
class Written:
    """A person and their strategy as the register would store them."""

    person: Person
    strategy: Strategy
    audits: tuple[AuditEntry, AuditEntry]


def written(i: int, template: Template, created: datetime) -> Written:
    pid, sid = person_id(i), strategy_id(i)
    restrictions = json.loads(
        json.dumps(template.restrictions).replace(advocate_phone(0), advocate_phone(i))
    )
    person = Person(
        name="A. Bench-Person",
        phones=[person_phone(i)],
        emails=["a.person@example.org"],
        reasonable_adjustments=[ReasonableAdjustment(kind=k) for k in template.adjustments],
        id=pid,
        created_at=created,
        created_by="mo.manager",
        updated_at=created,
    )
    strategy = Strategy(
        id=sid,
        person_id=pid,
        matter_ref="CMP-2026-0142",
        reason=REASON,
        restrictions=restrictions,
        notified_on=created.date(),
        review_due=(created + timedelta(days=84)).date(),
        starts_on=created.date(),
        status=StrategyStatus.active,
        applied_version=1,  # told, so it applies (none given reads as a record from before)
        created_at=created,
        created_by="mo.manager",
        updated_at=created,
    )

    def audit(action: str, target: str) -> AuditEntry:
        return AuditEntry(
            at=created,
            who="mo.manager",
            role="manager",
            action=action,
            target=target,
            person_id=pid,
        )

    return Written(person, strategy, (audit("person.create", pid), audit("strategy.create", sid)))


def commands(w: Written) -> list[list[str]]:
    """The writes of ``RegisterStore.create_person`` then ``create_strategy``, as commands
    (``verify_layout`` checks them against the store itself)."""
    person, strategy = w.person, w.strategy
    pid, sid = person.id, strategy.id
    score = repr(strategy.created_at.timestamp())
    person_audit = [v for pair in w.audits[0].fields().items() for v in pair]
    strategy_audit = [v for pair in w.audits[1].fields().items() for v in pair]
    advocates = [
        phone
        for r in strategy.restrictions
        if r.kind == "advocate_only"
        for phone in r.advocate_phones
    ]
    return [
        *[["SET", KEYS.phone_owner(p), pid] for p in person.phones],
        ["RPUSH", KEYS.PEOPLE, pid],
        ["HSET", KEYS.person(pid), *[v for pair in person_fields(person).items() for v in pair]],
        ["XADD", KEYS.AUDIT, "*", *person_audit],
        ["RPUSH", KEYS.audit_person(pid), audit_store.person_line(w.audits[0])],
        ["SET", KEYS.strategy(sid), strategy_text(strategy)],
        ["HSET", KEYS.person(pid), ACTIVE_FIELD, sid],
        *[["ZADD", KEYS.advocate(p), score, sid] for p in advocates],
        ["RPUSH", KEYS.STRATEGIES, sid],
        ["XADD", KEYS.AUDIT, "*", *strategy_audit],
        ["RPUSH", KEYS.audit_person(pid), audit_store.person_line(w.audits[1])],
    ]
