"""The register's stored forms: how a person and a strategy are written as Redis values,
and read back. ``RegisterStore`` writes and reads them; ``migrate`` rewrites older layouts
into them; the inbound path reads a strategy's first line (``screen_json``).

Compact (keys.py has the layout; docs/performance.md why): a person is one HASH, their
fields JSON-encoded beside the index the inbound path reads (adjustment kinds, active
strategies oldest first); a strategy is one STRING of two JSON lines, the screening form
first. Fields at their defaults are left out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from callguard.domain.fields import STORED
from callguard.domain.models import Person, Restriction, Strategy
from callguard.domain.notice import told_of_applied

# person:{id} holds the Person's fields but its id (the key's), and three of its own:
ADJUSTMENTS_FIELD = "adj"  # JSON list of adjustment kinds, when there are any
ACTIVE_FIELD = "active"  # active strategy ids, oldest first, space-separated; when any
PAST_FIELD = "s:"  # + strategy id -> status, for each strategy no longer active
PERSON_FIELDS = tuple(name for name in Person.model_fields if name != "id")
# The Strategy fields in its screening form, the first line of strategy:{id}.
_SCREEN_FIELDS = {"id", "person_id", "matter_ref", "restrictions"}


def json_text(value: Any) -> str:
    """Compact JSON, as every stored form writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def person_fields(person: Person) -> dict[str, str]:
    """person:{id} for a new person: each field JSON-encoded (left out at its default), and
    the adjustment kinds the inbound path reads."""
    stored = person.model_dump(mode="json", exclude={"id"}, exclude_defaults=True)
    fields = {name: json_text(value) for name, value in stored.items()}
    kinds = [a.kind.value for a in person.reasonable_adjustments]
    if kinds:
        fields[ADJUSTMENTS_FIELD] = json_text(kinds)
    return fields


def person_from(person_id: str, values: Sequence[str | None]) -> Person | None:
    """The Person from person:{id}'s PERSON_FIELDS (None when there is no such person)."""
    stored = {
        name: json.loads(value)
        for name, value in zip(PERSON_FIELDS, values, strict=True)
        if value is not None
    }
    if not stored:
        return None
    return Person.model_validate({**stored, "id": person_id}, context=STORED)


def _restriction(restriction: Restriction) -> dict[str, Any]:
    # At its default, a field is left out; but ``kind`` says which restriction this is.
    return {"kind": restriction.kind, **restriction.model_dump(mode="json", exclude_defaults=True)}


def screen_json(strategy: Strategy) -> str:
    """The strategy's fields the inbound path reads, a JSON object: the first line of
    strategy:{id} (``callguard.store.call_records`` makes them ``ScreeningEntry``s). Its
    restrictions are the version applied to calls (§3.6), with whether the person was told
    of it in writing and whether it is an interim measure; left out when false."""
    applied = strategy.applied() or strategy.restrictions
    screen: dict[str, Any] = {
        "id": strategy.id,
        "person_id": strategy.person_id,
        "matter_ref": strategy.matter_ref,
        "restrictions": [_restriction(r) for r in applied],
    }
    if told_of_applied(strategy):
        screen["told_in_writing"] = True
    if strategy.applied_version in strategy.interim_versions:
        screen["interim"] = True
    return json_text(screen)


def strategy_text(strategy: Strategy) -> str:
    """strategy:{id}: the Strategy as two JSON objects on two lines, its screening fields
    first, then the rest (JSON escapes any newline within a value). Fields at their
    defaults are left out. When the version applied is not the current one, the screening
    line holds the applied restrictions and the second line the current ones."""
    rest = strategy.model_dump(
        mode="json", exclude=_SCREEN_FIELDS | {"applied_restrictions"}, exclude_defaults=True
    )
    # Always written: when left out, a record from before notice was tracked reads as
    # applying its current version.
    rest["applied_version"] = strategy.applied_version
    if strategy.applied_restrictions is not None:
        rest["restrictions"] = [_restriction(r) for r in strategy.restrictions]
    return screen_json(strategy) + "\n" + json_text(rest)


def parse_strategy(text: str) -> Strategy:
    """The Strategy from strategy:{id} as ``strategy_text`` writes it."""
    screen_line, _, rest_line = text.partition("\n")
    screen, rest = json.loads(screen_line), json.loads(rest_line)
    if "restrictions" in rest:
        screen["applied_restrictions"] = screen.pop("restrictions")
    return Strategy.model_validate({**screen, **rest}, context=STORED)
