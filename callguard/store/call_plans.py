"""Call record plans: what the record-writing scripts (``scripts._WRITE_RECORD``) write for
one inbound call, as the scripts take it (lines) and as the spool keeps it (JSON)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii  # what json.dumps uses for a str
from typing import Any, NewType

from callguard.domain.caller_match import Decision, QuotaClaim
from callguard.domain.records import CallRecord, record_for
from callguard.store.keys import QUOTA_GRACE_S, REPEAT_COUNTER_TTL_S, Keys

# A record plan as the scripts take it (``plan_lines``).
PlanLines = NewType("PlanLines", str)


@dataclass(frozen=True)
class RepeatCounter:
    """Count an unrestricted caller's calls per local day (§5.3)."""

    key: str
    phone: str
    threshold: int


def _json_text(value: Any) -> str:
    """``json.dumps(value)``, four times faster for the scalars and empty lists that fill
    most of a call record (one plan per inbound call; see docs/performance.md)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is str:
        return encode_basestring_ascii(value)
    if type(value) is list and not value:
        return "[]"
    return json.dumps(value)


def record_plan(
    keys: Keys,
    record: CallRecord,
    *,
    repeat: RepeatCounter | None = None,
    claims: Sequence[QuotaClaim] = (),
) -> str:
    """The plan as JSON: the form the spool keeps (``plan_lines`` of it is what is sent)."""
    return json.dumps(_plan(keys, record, repeat, claims))


def record_lines(
    keys: Keys,
    record: CallRecord,
    *,
    repeat: RepeatCounter | None = None,
    claims: Sequence[QuotaClaim] = (),
) -> PlanLines:
    """The plan as the record-writing scripts take it (``plan_lines``): no JSON inside
    JSON to build, and none for Redis to decode, on an inbound call."""
    return plan_lines(_plan(keys, record, repeat, claims))


def unrestricted_lines(
    keys: Keys,
    *,
    call_sid: str,
    caller: str,
    to: str,
    received_at: datetime,
    status: str,
    route_to: str,
    repeat: RepeatCounter | None,
) -> PlanLines:
    """``record_lines`` of the commonest record, sent with every inbound call's first round
    trip: the call put through to ``route_to`` with nothing else to say (``record_for`` of
    ``Decision(outcome="connect", rule="none", route_to=route_to)``), written straight
    rather than through the model's dump. ``tests/unit/test_call_plan.py`` holds the two
    to the same text; a received time not in UTC takes the model's way."""
    if received_at.tzinfo is not UTC:
        decision = Decision(outcome="connect", rule="none", route_to=route_to)
        record = record_for(
            decision,
            call_sid=call_sid,
            caller=caller,
            to=to,
            received_at=received_at,
            status=status,
        )
        return record_lines(keys, record, repeat=repeat)
    lines = [call_sid, repr(received_at.timestamp()), "1", "8" if status != "ringing" else "7"]
    lines += ("call_sid", _json_text(call_sid), "from", _json_text(caller), "to", _json_text(to))
    lines += ("received_at", _datetime_text(received_at), "outcome", '"connect"', "rule", '"none"')
    lines += ("route_to", _json_text(route_to))
    if status != "ringing":
        lines += ("status", _json_text(status))
    lines += ("2", keys.CALLS, keys.calls_by_outcome("connect"), "0")
    if repeat is not None:
        lines += (repeat.key, str(REPEAT_COUNTER_TTL_S), str(repeat.threshold), repeat.phone)
        lines.append(keys.REPEAT_CALLERS)
    return PlanLines("\n".join(lines))


def decided_lines(
    keys: Keys,
    decision: Decision,
    *,
    call_sid: str,
    caller: str,
    to: str,
    received_at: datetime,
    status: str,
) -> PlanLines:
    """``record_lines`` of ``record_for(decision, ...)`` with the decision's quota claims,
    written straight from the decision rather than through the model's validation and dump
    (a restricted caller's call; see docs/performance.md). Each field not at its default,
    in the model's order, as ``CallRecord.hash_fields`` gives them;
    ``tests/unit/test_call_plan.py`` holds the two to the same text over every kind of
    decision and any aware time."""
    person_id = decision.person_id
    lines = [call_sid, repr(received_at.timestamp()), "0" if decision.outcome == "refuse" else "1"]
    lines += ("", "call_sid", _json_text(call_sid), "from", _json_text(caller))
    lines += ("to", _json_text(to), "received_at", _datetime_text(received_at))
    if person_id is not None:
        lines += ("person_id", _json_text(person_id))
    if decision.strategy_ids:
        lines += ("strategy_ids", _strings_text(decision.strategy_ids))
    if decision.matter_refs:
        lines += ("matter_refs", _strings_text(decision.matter_refs))
    lines += ("outcome", _json_text(decision.outcome), "rule", _json_text(decision.rule))
    if decision.route_to is not None:
        lines += ("route_to", _json_text(decision.route_to))
    if decision.spoc_name is not None:
        lines += ("spoc_name", _json_text(decision.spoc_name))
    if decision.recorded:
        lines += ("recorded", "true")
    if decision.max_minutes is not None:
        lines += ("max_minutes", str(decision.max_minutes))
    if decision.next_permitted_at is not None:
        lines += ("next_permitted_at", _datetime_text(decision.next_permitted_at))
    if status != "ringing":
        lines += ("status", _json_text(status))
    if decision.extra_time:
        lines += ("extra_time", "true")
    if decision.refused_by:
        lines += ("refused_by", _strings_text(decision.refused_by))
    if not decision.told_in_writing:
        lines += ("told_in_writing", "false")
    if decision.letter_follows:
        lines += ("letter_follows", "true")
    lines[3] = str((len(lines) - 4) // 2)  # the number of fields
    indexes = _indexes(keys, decision.outcome, person_id, decision.refused_by)
    lines.append(str(len(indexes)))
    lines += indexes
    lines.append(str(len(decision.quota_claims)))
    for claim in decision.quota_claims:
        lines += (keys.quota(claim.strategy_id), claim.period_id, str(claim.max_calls))
        lines.append(str(_expire_at(claim)))
    return _joined(lines)


# The record's fields that are the call's own rather than its decision's: the same in
# ``unrestricted_lines`` as in ``decided_lines`` (``tests/unit/test_call_plan.py``).
CALLS_OWN_FIELDS = ("call_sid", "from", "to", "received_at", "status")
# What the caller is told of a decision that its record does not keep (``record_for``).
TOLD_NOT_RECORDED = frozenset({"next_permitted_spoken", "written_email", "written_postal_address"})
# Stands in for the call's own time in a kept refusal's plan, which then leaves it out.
_ANY_TIME = datetime(2000, 1, 1, tzinfo=UTC)
# The form of a kept refusal: the number of its layout (add one when the layout changes),
# and a digest of the fields a call record and a decision have. A copy kept by a release
# that built either differently is not used (call_scripts._KEPT_REFUSAL): that call is
# decided afresh and keeps its refusal in this form.
_KEPT_LAYOUT = 1
KEPT_FORM = (
    f"kept-{_KEPT_LAYOUT}-"
    + hashlib.sha256(
        " ".join(
            [*CALLS_OWN_FIELDS, *sorted(CallRecord.model_fields), *sorted(Decision.model_fields)]
        ).encode()
    ).hexdigest()[:12]
)


def kept_refusal_text(keys: Keys, decision: Decision, decided: PlanLines | None = None) -> str:
    """A refusal kept for the next calls from the same number, without its first line (the
    lookup's fingerprint, which the script that keeps it puts there): ``KEPT_FORM``; what
    the caller is told beyond the record, as JSON; then ``decided_lines`` of the decision
    without its sid, score, live and the call's own fields (call_scripts._KEPT_REFUSAL).
    The record a call is given from it is the one ``decided_lines`` gives; the decision,
    ``kept_decision``. ``decided``: ``decided_lines`` of the decision for any one call, when
    the caller has them already (the inbound path has just built them for its call)."""
    if decision.outcome != "refuse" or decision.quota_claims:
        raise ValueError("only a refusal, which counts no quota, is kept")
    if decided is None:
        decided = decided_lines(
            keys,
            decision,
            call_sid="-",
            caller="-",
            to="-",
            received_at=_ANY_TIME,
            status="ringing",
        )
    items = decided.split("\n")
    count = int(items[3])
    pairs = items[4 : 4 + 2 * count]
    fields = [
        item
        for name, value in zip(pairs[::2], pairs[1::2], strict=True)
        if name not in CALLS_OWN_FIELDS
        for item in (name, value)
    ]
    told = decision.model_dump_json(include=set(TOLD_NOT_RECORDED), exclude_defaults=True)
    return _joined([KEPT_FORM, told, str(len(fields) // 2), *fields, *items[4 + 2 * count :]])


def kept_decision(told: str, fields: Sequence[str]) -> Decision:
    """The decision of a kept refusal, from its record's fields (name, JSON text, ...: the
    decision's own, by the same names) and what the caller is told beyond them."""
    values = {
        name: json.loads(value) for name, value in zip(fields[::2], fields[1::2], strict=True)
    }
    return Decision.model_validate({**values, **json.loads(told)})


def _indexes(
    keys: Keys, outcome: str, person_id: str | None, refused_by: Sequence[str]
) -> list[str]:
    """The sorted sets a call record is added to: the call log, by outcome, by person, and
    for a refusal, a breach only of the strategies that refused it (§3.8, §3.11)."""
    indexes = [keys.CALLS, keys.calls_by_outcome(outcome)]
    if person_id:
        indexes.append(keys.calls_by_person(person_id))
    if outcome == "refuse":
        indexes += [keys.breaches(sid) for sid in refused_by]
    return indexes


def _expire_at(claim: QuotaClaim) -> int:
    """When a claimed quota's count may go (epoch seconds): its period's end, and a grace."""
    return int(claim.expires_at.timestamp()) + QUOTA_GRACE_S


def _strings_text(values: Sequence[str]) -> str:
    """``json.dumps(list(values))`` for a list of strings."""
    return "[" + ", ".join(map(encode_basestring_ascii, values)) + "]"


def _datetime_text(when: datetime) -> str:
    """An aware time as the model's JSON dump writes it: ISO 8601, a zero offset as Z."""
    text = when.isoformat()
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    return '"' + text + '"'


def _plan(
    keys: Keys, record: CallRecord, repeat: RepeatCounter | None, claims: Sequence[QuotaClaim]
) -> dict[str, Any]:
    indexes = _indexes(keys, record.outcome, record.person_id, record.refused_by)
    body: dict[str, Any] = {
        "sid": record.call_sid,
        "score": record.received_at.timestamp(),
        "fields": {name: _json_text(value) for name, value in record.hash_fields().items()},
        "indexes": indexes,
        "live": record.outcome != "refuse",
        "claims": [
            {
                "key": keys.quota(c.strategy_id),
                "period": c.period_id,
                "max": c.max_calls,
                "expire_at": _expire_at(c),
            }
            for c in claims
        ],
    }
    if repeat is not None:
        body["repeat"] = {
            "key": repeat.key,
            "ttl_s": REPEAT_COUNTER_TTL_S,
            "threshold": repeat.threshold,
            "phone": repeat.phone,
            "board": keys.REPEAT_CALLERS,
        }
    return body


def plan_lines(plan: Mapping[str, Any]) -> PlanLines:
    """A plan (``record_plan``'s JSON, decoded: a spooled one of any age) as the scripts
    take it, one item a line (scripts._WRITE_RECORD): sid, score, live (1/0); the number of
    fields, then each name and JSON text; the number of indexes, then each; the number of
    claims, then each one's key, period, max, expire_at; last, for a repeat counter only,
    its key, ttl_s, threshold, phone, board. One argument, not one per item: redis-py
    encodes each argument in Python, and the script splits one faster than cjson decodes."""
    fields: Mapping[str, str] = plan["fields"]
    indexes: Sequence[str] = plan["indexes"]
    claims: Sequence[Mapping[str, Any]] = plan.get("claims") or ()
    lines = [plan["sid"], repr(float(plan["score"])), "1" if plan.get("live") else "0"]
    lines.append(str(len(fields)))
    for name, value in fields.items():
        lines += (name, value)
    lines.append(str(len(indexes)))
    lines += indexes
    lines.append(str(len(claims)))
    for claim in claims:
        lines += (claim["key"], claim["period"], str(claim["max"]), str(claim["expire_at"]))
    repeat = plan.get("repeat")
    if repeat:
        lines += (repeat["key"], str(repeat["ttl_s"]), str(repeat["threshold"]), repeat["phone"])
        lines.append(repeat["board"])
    return _joined(lines)


def _joined(lines: Sequence[str]) -> PlanLines:
    text = "\n".join(lines)
    # No item holds a line break (JSON texts escape theirs; keys, ids and SIDs have none).
    if text.count("\n") != len(lines) - 1:
        raise ValueError("a call record's plan item holds a line break")
    return PlanLines(text)
