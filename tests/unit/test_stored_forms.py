"""The register's stored forms (callguard.store.register, callguard.store.audit): compact,
and read back to exactly what was stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from callguard.domain.audit import AuditEntry
from callguard.domain.caller_match import ScreeningEntry
from callguard.domain.models import Person, Strategy
from callguard.store import audit as audit_store
from callguard.store import call_records
from callguard.store.call_records import _entries
from callguard.store.keys import Keys
from callguard.store.stored_forms import (
    ACTIVE_FIELD,
    ADJUSTMENTS_FIELD,
    PAST_FIELD,
    PERSON_FIELDS,
    parse_strategy,
    person_fields,
    person_from,
    screen_json,
    strategy_text,
)

KEYS = Keys()
AT = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
WINDOW = {"days": ["mon", "tue"], "start": "09:00", "end": "12:00"}


def strategy(**changes: object) -> Strategy:
    return Strategy.model_validate(
        {
            "id": "str_00000000000000aa",
            "person_id": "per_00000000000000bb",
            "matter_ref": "CMP-2026-0142",
            "reason": "Repeated abusive calls;\nsee the file note — «FN-7»",
            "restrictions": [{"kind": "phone_blocked"}],
            "notified_on": None,
            "review_due": "2027-02-13",
            "starts_on": "2026-11-27",
            "created_at": AT,
            "created_by": "mo.manager",
            "updated_at": AT,
            "applied_version": 1,  # as made today: one left out is a record from before notice
            **changes,
        }
    )


EVERY_KIND = [
    {"kind": "call_windows", "windows": [WINDOW], "max_calls": 2, "per": "week"},
    {"kind": "spoc", "name": "Jo Bloggs", "phone": "+441772000001"},
    {"kind": "recorded"},
    {"kind": "written_only", "email": "complaints@example.org"},
    {"kind": "advocate_only", "advocate_phones": ["+447700900999"]},
    {"kind": "no_response"},
]

STRATEGIES = [
    strategy(),
    strategy(restrictions=EVERY_KIND),
    strategy(
        restrictions=[
            {
                "kind": "call_windows",
                "windows": [WINDOW],
                "max_calls": 1,
                "per": "window",
                "max_minutes": 10,
            },
            {"kind": "written_only", "postal_address": "County Hall, Preston PR1 8XJ"},
        ],
        notified_on="2026-11-27",
        adjustment_override={"justification": "Needed", "equality_advice_from": "E. Adviser"},
        status="ended",
        version=3,
        ended_at=AT,
        ended_by="lee.lead",
        end_why="Review: no longer needed",
        revisions=[
            {
                "version": 2,
                "at": AT,
                "by": "lee.lead",
                "why": "Tighter",
                "changed": ["restrictions", "review_due"],
                "before": {"restrictions": [{"kind": "phone_blocked"}], "review_due": None},
                "after": {"restrictions": [], "review_due": "2027-01-01"},
            },
            {
                "version": 3,
                "at": AT,
                "by": "lee.lead",
                "why": "End",
                "changed": ["status"],
                "before": {},
                "after": {"status": "ended"},
                "notified_on": "2026-11-28",
            },
        ],
        reviews=[{"at": AT, "by": "lee.lead", "outcome": "continue", "notes": "Still needed"}],
        shares=[
            {
                "shared_with": "Lancashire Constabulary",
                "why": "Threats",
                "lawful_basis": "Art. 6(1)(e)",
                "approved_by": "C. Exec",
                "at": AT,
                "by": "mo.manager",
            }
        ],
    ),
]


def test_a_strategy_reads_back_exactly_as_stored() -> None:
    for stored in STRATEGIES:
        text = strategy_text(stored)
        assert text.count("\n") == 1  # two JSON lines, whatever the text holds
        assert parse_strategy(text) == stored
        assert parse_strategy(text).model_dump_json() == stored.model_dump_json()


def test_a_strategy_is_stored_once_its_screening_form_first_and_defaults_left_out() -> None:
    stored = strategy(
        restrictions=[{"kind": "call_windows", "windows": [WINDOW], "max_calls": 2, "per": "week"}]
    )
    screen_line, rest_line = strategy_text(stored).split("\n")
    assert screen_line == screen_json(stored)
    screen, rest = json.loads(screen_line), json.loads(rest_line)
    assert screen == {
        "id": stored.id,
        "person_id": stored.person_id,
        "matter_ref": "CMP-2026-0142",
        # max_minutes (None) is left out, never kind.
        "restrictions": [
            {"kind": "call_windows", "windows": [WINDOW], "max_calls": 2, "per": "week"}
        ],
    }
    assert set(rest) == {
        "reason",
        "notified_on",  # no default: kept, null
        "review_due",
        "starts_on",
        "created_at",
        "created_by",
        "updated_at",
        "applied_version",  # always kept: left out, an older record applies its current version
    }
    # One JSON object, split after its screening fields.
    assert json.loads(screen_line[:-1] + "," + rest_line[1:]) == {**screen, **rest}


def test_the_screening_form_reads_as_the_inbound_path_reads_it() -> None:
    stored = strategy(restrictions=EVERY_KIND)
    (entry,) = _entries([screen_json(stored)], "advocate")
    assert entry == ScreeningEntry(
        strategy_id=stored.id,
        person_id=stored.person_id,
        matter_ref=stored.matter_ref,
        restrictions=tuple(stored.restrictions),
        role="advocate",
    )


def test_a_screening_form_read_again_is_the_same_entry_and_a_new_one_is_read_afresh() -> None:
    """Entries are kept by their stored text (a registered person calls again and again):
    the same text and role give the same entry, a strategy written anew (new text) or
    read in the other role gives its own."""
    stored = strategy(restrictions=EVERY_KIND)
    text = screen_json(stored)
    (first,) = _entries([text], "person")
    (again,) = _entries([text], "person")
    assert again is first
    (as_advocate,) = _entries([text], "advocate")
    assert as_advocate.role == "advocate" and first.role == "person"
    revised = stored.model_copy(update={"matter_ref": "CMP-2026-0999"})
    (fresh,) = _entries([screen_json(revised)], "person")
    assert fresh.matter_ref == "CMP-2026-0999" and first.matter_ref == stored.matter_ref
    for n in range(call_records._ENTRIES_KEPT + 1):  # bounded, whatever is read
        _entries([screen_json(stored.model_copy(update={"matter_ref": f"M-{n}"}))], "person")
    assert len(call_records._ENTRIES) <= call_records._ENTRIES_KEPT


def test_the_persons_own_fields_are_no_person_fields() -> None:
    assert not {ADJUSTMENTS_FIELD, ACTIVE_FIELD} & set(Person.model_fields)
    assert not any(name.startswith(PAST_FIELD) for name in Person.model_fields)


def person(**changes: object) -> Person:
    return Person.model_validate(
        {
            "name": "A. Person-Ñame",
            "id": "per_00000000000000bb",
            "created_at": AT,
            "created_by": "mo.manager",
            "updated_at": AT,
            **changes,
        }
    )


def test_a_person_reads_back_exactly_as_stored() -> None:
    people = [
        person(),
        person(
            phones=["+447700900123", "+441772000002"],
            emails=["a@example.org"],
            reasonable_adjustments=[
                {"kind": "needs_extra_time"},
                {"kind": "other", "detail": "Prefers mornings; a long detail " * 5},
            ],
        ),
    ]
    for stored in people:
        fields = person_fields(stored)
        assert "id" not in fields  # the key's
        assert person_from(stored.id, [fields.get(name) for name in PERSON_FIELDS]) == stored
    assert "adj" not in person_fields(people[0])
    assert "reasonable_adjustments" not in person_fields(people[0])
    assert json.loads(person_fields(people[1])["adj"]) == ["needs_extra_time", "other"]
    assert person_from("per_x", [None] * len(PERSON_FIELDS)) is None


def test_a_persons_audit_entries_read_back_as_the_audit_stream_holds_them() -> None:
    entries = [
        AuditEntry(
            at=AT,
            who="mo.manager",
            role="manager",
            action="person.read",
            target="per_00000000000000bb",
            person_id="per_00000000000000bb",
        ),
        AuditEntry(
            at=AT.replace(microsecond=5),
            who="sam.staff",
            role="staff",
            action="file_note.complete",
            target="fn_1",
            person_id="per_00000000000000bb",
            detail='changed: "summary", «body»',
        ),
    ]
    lines = [audit_store.person_line(e) for e in entries]
    assert "per_00000000000000bb" not in lines[1]  # the key says whose
    back = audit_store.person_entries("per_00000000000000bb", lines)
    assert back == [e.fields() for e in entries]
    assert [list(b) for b in back] == [list(e.fields()) for e in entries]  # same order
    plan = audit_store.audit_arg(KEYS, entries[1])
    assert plan["line"] == lines[1]
    assert dict(zip(plan["flat"][::2], plan["flat"][1::2], strict=True)) == entries[1].fields()
    no_one = AuditEntry(at=AT, who="ceo", role="chief_executive", action="x", target="y")
    arg = audit_store.audit_arg(KEYS, no_one)
    assert (arg["person"], arg["line"]) == ("", "")
