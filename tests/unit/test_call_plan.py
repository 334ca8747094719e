"""The call-record plan encodes each field exactly as ``json.dumps`` would, and only the
fields not at their default: a record reads back the same, and so does one stored whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callguard.domain.caller_match import Decision, Outcome, QuotaClaim, Rule
from callguard.domain.records import CallEvent, CallMessage, CallRecord, record_for
from callguard.store.call_plans import (
    CALLS_OWN_FIELDS,
    KEPT_FORM,
    PlanLines,
    RepeatCounter,
    _json_text,
    decided_lines,
    kept_decision,
    kept_refusal_text,
    plan_lines,
    record_lines,
    record_plan,
    unrestricted_lines,
)
from callguard.store.call_records import _decode_hash
from callguard.store.keys import Keys

KEYS = Keys()

pytestmark = pytest.mark.timeout(30)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(JSON_VALUES)
def test_a_field_is_encoded_as_json_dumps_encodes_it(value: Any) -> None:
    assert _json_text(value) == json.dumps(value)


RECEIVED = datetime(2026, 11, 27, 10, 0, 0, 123456, tzinfo=UTC)
SID = "CA" + "0123456789abcdef" * 2
RECORDS = [
    # A new caller nobody registered: the commonest record.
    record_for(
        Decision(outcome="connect", rule="none", route_to="+441772000100"),
        call_sid=SID,
        caller="+447512345678",
        to="+441772000000",
        received_at=RECEIVED,
        status="ringing",
    ),
    # A withheld number, failed open.
    record_for(
        Decision(outcome="connect", rule="none", route_to="+441772000100"),
        call_sid=SID,
        caller="anonymous",
        to="+441772000000",
        received_at=RECEIVED,
        status="in-progress",
        degraded=True,
    ),
    # A refusal with everything a decision can set.
    record_for(
        Decision(
            outcome="refuse",
            rule="call_windows.quota",
            person_id="per_0000000000000001",
            strategy_ids=("str_1", "str_2"),
            matter_refs=("M/1",),
            next_permitted_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
            extra_time=True,
        ),
        call_sid=SID,
        caller="+447400000001",
        to="+441772000000",
        received_at=RECEIVED,
        status="ringing",
    ),
    # A finished call with every later field set.
    CallRecord(
        call_sid=SID,
        from_="+447400000001",
        to="+441772000000",
        received_at=RECEIVED,
        person_id="per_0000000000000001",
        strategy_ids=["str_1"],
        outcome="divert_spoc",
        rule="spoc",
        route_to="+441772000001",
        spoc_name="Jo Bloggs",
        recorded=True,
        max_minutes=10,
        status="completed",
        ended=CallEvent(at=RECEIVED, reason="abuse", by="sam.staff"),
        file_note_id="note_1",
        message=CallMessage(
            recording_sid="RE1", recording_url="https://x/RE1", duration_s=3, recorded_at=RECEIVED
        ),
        conference_sid="CF1",
        other_leg_status="completed",
        recording_sid="RE2",
        recording_url="https://x/RE2",
        duration_s=61,
        new_matter_claimed=True,
    ),
]


def _stored(fields: dict[str, str]) -> CallRecord:
    """What ``CallStore.get`` reads back from a call hash holding ``fields``."""
    return CallRecord.model_validate({**_decode_hash(fields), "warnings": []})


@pytest.mark.parametrize("record", RECORDS)
def test_a_record_written_sparse_reads_back_the_same(record: CallRecord) -> None:
    fields = json.loads(record_plan(KEYS, record))["fields"]
    assert _stored(fields) == record
    # Only what differs from a default is written; who, when and what always.
    required = {"call_sid", "from", "to", "received_at", "outcome", "rule"}
    assert required <= set(fields)
    defaults = CallRecord.model_fields
    for name, text in fields.items():
        field = defaults["from_" if name == "from" else name]
        if not field.is_required():
            assert json.loads(text) != field.get_default(call_default_factory=True), name


def test_a_new_callers_record_is_seven_fields() -> None:
    fields = json.loads(record_plan(KEYS, RECORDS[0]))["fields"]
    assert set(fields) == {"call_sid", "from", "to", "received_at", "outcome", "rule", "route_to"}


@pytest.mark.parametrize("record", RECORDS)
def test_a_record_stored_with_every_field_still_reads_the_same(record: CallRecord) -> None:
    every = record.model_dump(mode="json", by_alias=True, exclude={"warnings"})
    assert len(every) == 29
    assert _stored({name: json.dumps(value) for name, value in every.items()}) == record


CALLER_TEXT = st.text(max_size=40)  # From and To as Twilio sent them: any text


@given(
    sid=st.from_regex(r"CA[0-9a-f]{32}", fullmatch=True),
    caller=st.sampled_from(["+447400000001", "anonymous", ""]) | CALLER_TEXT,
    to=st.sampled_from(["+441772000000", ""]) | CALLER_TEXT,
    received_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    status=st.sampled_from(["ringing", "in-progress", "completed"]) | st.text(max_size=12),
    route_to=st.sampled_from(["+441772000100", "sip:desk@example.org"]),
    threshold=st.none() | st.integers(min_value=1, max_value=50),
)
def test_the_unrestricted_records_lines_are_the_models(
    sid: str,
    caller: str,
    to: str,
    received_at: datetime,
    status: str,
    route_to: str,
    threshold: int | None,
) -> None:
    """The plan sent with every call's first round trip, written straight, is the one the
    record built by ``record_for`` gives (the model's dump, each field as json.dumps)."""
    phone = "+447400000001"
    repeat = None if threshold is None else RepeatCounter(f"cg:r:{phone}", phone, threshold)
    record = record_for(
        Decision(outcome="connect", rule="none", route_to=route_to),
        call_sid=sid,
        caller=caller,
        to=to,
        received_at=received_at,
        status=status,
    )
    direct = unrestricted_lines(
        KEYS,
        call_sid=sid,
        caller=caller,
        to=to,
        received_at=received_at,
        status=status,
        route_to=route_to,
        repeat=repeat,
    )
    assert direct == record_lines(KEYS, record, repeat=repeat)
    # The lines are the JSON plan's (what the spool keeps) item for item.
    assert direct == plan_lines(json.loads(record_plan(KEYS, record, repeat=repeat)))


IDS = st.lists(st.text(max_size=8), max_size=3).map(tuple)
OPTIONAL_TEXT = st.none() | st.text(max_size=12)
# Aware times in the office's zone (both clock changes of any year), in UTC, and at an
# offset nobody uses: the record keeps the offset it was given.
AWARE = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([ZoneInfo("Europe/London"), UTC, ZoneInfo("Asia/Kathmandu")]),
)
CLAIMS = st.lists(
    st.builds(
        QuotaClaim,
        strategy_id=st.text(alphabet="abcdef0123456789", min_size=1, max_size=8),
        period_id=st.text(alphabet="0123456789-W", min_size=1, max_size=10),
        max_calls=st.integers(min_value=1, max_value=20),
        expires_at=AWARE,
    ),
    max_size=2,
).map(tuple)
DECISION_FIELDS: dict[str, st.SearchStrategy[Any]] = dict(
    outcome=st.sampled_from(get_args(Outcome)),
    rule=st.sampled_from(get_args(Rule)),
    person_id=OPTIONAL_TEXT,
    strategy_ids=IDS,
    matter_refs=IDS,
    route_to=OPTIONAL_TEXT,
    spoc_name=OPTIONAL_TEXT,
    recorded=st.booleans(),
    max_minutes=st.none() | st.integers(min_value=0, max_value=600),
    next_permitted_at=st.none() | AWARE,
    extra_time=st.booleans(),
    quota_claims=CLAIMS,
    refused_by=IDS,
    told_in_writing=st.booleans(),
    letter_follows=st.booleans(),
)
DECISIONS = st.builds(Decision, **DECISION_FIELDS)
# One inbound call: its SID, who called, the number called, when, and its status.
A_CALL: dict[str, st.SearchStrategy[Any]] = dict(
    sid=st.from_regex(r"CA[0-9a-f]{32}", fullmatch=True),
    caller=CALLER_TEXT,
    to=CALLER_TEXT,
    received_at=AWARE,
    status=st.sampled_from(["ringing", "in-progress"]) | st.text(max_size=12),
)


def decided_for(
    decision: Decision, sid: str, caller: str, to: str, received_at: datetime, status: str
) -> PlanLines:
    """``decided_lines`` of ``decision`` for the call A_CALL drew."""
    return decided_lines(
        KEYS, decision, call_sid=sid, caller=caller, to=to, received_at=received_at, status=status
    )


# What the caller is told, not what the record keeps (``record_for`` leaves them out).
NOT_RECORDED = {"next_permitted_spoken", "written_email", "written_postal_address"}


def test_every_field_of_a_decision_is_varied_or_known_not_to_be_recorded() -> None:
    """A field added to the decision (and so, perhaps, to the record) is varied by the test
    below, so the lines written straight cannot silently leave it out."""
    assert set(Decision.model_fields) == set(DECISION_FIELDS) | NOT_RECORDED


@given(decision=DECISIONS, **A_CALL)
def test_a_restricted_callers_lines_are_the_models(
    decision: Decision, sid: str, caller: str, to: str, received_at: datetime, status: str
) -> None:
    """A restricted caller's record, written straight from the decision, is the one
    ``record_for`` gives (the model's dump, each field as json.dumps), with the same
    indexes and quota claims, for every kind of decision and any aware time."""
    record = record_for(
        decision, call_sid=sid, caller=caller, to=to, received_at=received_at, status=status
    )
    try:
        expected = record_lines(KEYS, record, claims=decision.quota_claims)
    except ValueError:  # an id holding a line break, in a key: refused either way
        with pytest.raises(ValueError, match="line break"):
            decided_for(decision, sid, caller, to, received_at, status)
        return
    direct = decided_for(decision, sid, caller, to, received_at, status)
    assert direct == expected
    plan = record_plan(KEYS, record, claims=decision.quota_claims)
    assert direct == plan_lines(json.loads(plan))


def _fields_and_rest(lines: str, start: int) -> tuple[dict[str, str], list[str]]:
    """A plan's fields (from the count at ``start``) and the items after them."""
    items = lines.split("\n")
    count = int(items[start])
    pairs = items[start + 1 : start + 1 + 2 * count]
    return dict(zip(pairs[::2], pairs[1::2], strict=True)), items[start + 1 + 2 * count :]


REFUSALS = st.builds(
    Decision,
    **{
        **DECISION_FIELDS,
        "outcome": st.just("refuse"),
        "quota_claims": st.just(()),
        **{name: OPTIONAL_TEXT for name in NOT_RECORDED},
    },
)


@given(decision=REFUSALS, **A_CALL)
def test_a_kept_refusal_and_the_calls_own_fields_are_the_decided_record(
    decision: Decision, sid: str, caller: str, to: str, received_at: datetime, status: str
) -> None:
    """What SCREEN_CALL writes from a kept refusal (call_scripts._KEPT_REFUSAL): the call's
    own fields taken from the unrestricted plan sent with the call, the rest from the kept
    text. Together they are the record ``decided_lines`` gives the same call, field for
    field, with the same indexes and no claims; and the decision kept is the decision."""
    try:
        decided = decided_for(decision, sid, caller, to, received_at, status)
    except ValueError:  # an id holding a line break, in a key: refused either way
        with pytest.raises(ValueError, match="line break"):
            kept_refusal_text(KEYS, decision)
        return
    unrestricted = unrestricted_lines(
        KEYS,
        call_sid=sid,
        caller=caller,
        to=to,
        received_at=received_at,
        status=status,
        route_to="+441772000100",
        repeat=None,
    )
    kept = kept_refusal_text(KEYS, decision)

    decided_fields, decided_rest = _fields_and_rest(decided, 3)
    call_fields, _ = _fields_and_rest(unrestricted, 3)
    kept_fields, kept_rest = _fields_and_rest(kept, 2)
    from_call = {name: value for name, value in call_fields.items() if name in CALLS_OWN_FIELDS}
    assert {**from_call, **kept_fields} == decided_fields
    assert not set(kept_fields) & set(CALLS_OWN_FIELDS)
    assert kept_rest == decided_rest  # the indexes, and a claim count of 0
    assert decided_rest[-1] == "0"
    form, told = kept.split("\n")[:2]
    assert form == KEPT_FORM
    flat = [item for pair in kept_fields.items() for item in pair]
    # As JSON: a time in a clock change's gap or overlap compares unequal across zones.
    assert kept_decision(told, flat).model_dump_json() == decision.model_dump_json()


@pytest.mark.parametrize(
    "decision",
    [
        Decision(outcome="connect", rule="none", route_to="+441772000100"),
        Decision(
            outcome="refuse",
            rule="call_windows.quota",
            quota_claims=(
                QuotaClaim(strategy_id="s", period_id="2026-W48", max_calls=1, expires_at=RECEIVED),
            ),
        ),
    ],
)
def test_only_a_refusal_counting_nothing_is_kept(decision: Decision) -> None:
    with pytest.raises(ValueError, match="only a refusal"):
        kept_refusal_text(KEYS, decision)
