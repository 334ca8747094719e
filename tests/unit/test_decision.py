"""The decision engine: every restriction kind, and how several combine (CONTRACT §4)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import pytest

from callguard.domain.caller_match import CallerMatch, Decision, QuotaClaim, Rule, ScreeningEntry
from callguard.domain.decision import decide
from callguard.domain.models import (
    AdjustmentKind,
    AdvocateOnly,
    CallWindows,
    NoResponse,
    PhoneBlocked,
    Recorded,
    Restriction,
    Spoc,
    Window,
    WrittenOnly,
)

pytestmark = pytest.mark.timeout(10)

LONDON = ZoneInfo("Europe/London")
DEFAULT_ROUTE = "+441772000000"

TUESDAY_MORNINGS = CallWindows(
    windows=[Window(days=["tue"], start="09:00", end="12:00")], max_calls=1, per="week"
)
JO_BLOGGS = Spoc(name="Jo Bloggs", phone="+441772000001")
SAM_SMITH = Spoc(name="Sam Smith", phone="+441772000002")
WRITTEN_ONLY = WrittenOnly(email="complaints@example.org", postal_address="County Hall, Preston")
ADVOCATE_ONLY = AdvocateOnly(advocate_phones=["+447700900999"])

# Tuesday 1 December 2026 (ISO week 49), in and out of the morning window.
IN_THE_WINDOW = datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)
BEFORE_THE_WINDOW = datetime(2026, 12, 1, 8, 0, tzinfo=LONDON)
NEXT_TUESDAY_AT_NINE = datetime(2026, 12, 8, 9, 0, tzinfo=LONDON)


def entry(
    strategy_id: str,
    *restrictions: Restriction,
    role: Literal["person", "advocate"] = "person",
    told_in_writing: bool = True,
    interim: bool = False,
) -> ScreeningEntry:
    return ScreeningEntry(
        strategy_id=strategy_id,
        person_id="p1",
        matter_ref=f"CMP-{strategy_id}",
        restrictions=restrictions,
        role=role,
        told_in_writing=told_in_writing,
        interim=interim,
    )


def caller(*entries: ScreeningEntry, adjustments: tuple[AdjustmentKind, ...] = ()) -> CallerMatch:
    return CallerMatch(
        phone="+447700900123", person_id="p1", adjustments=adjustments, entries=entries
    )


def decide_at(
    match: CallerMatch | None,
    now: datetime = IN_THE_WINDOW,
    usage: Mapping[str, Mapping[str, int]] | None = None,
) -> Decision:
    return decide(match, usage or {}, now, LONDON, DEFAULT_ROUTE)


# --- unrestricted callers ------------------------------------------------------------------


def test_an_unknown_caller_is_put_through_to_the_default_route() -> None:
    assert decide_at(None) == Decision(outcome="connect", rule="none", route_to=DEFAULT_ROUTE)


def test_a_known_person_without_an_active_strategy_is_put_through_and_named() -> None:
    decision = decide_at(caller())
    assert (decision.outcome, decision.rule, decision.route_to) == (
        "connect",
        "none",
        DEFAULT_ROUTE,
    )
    assert decision.person_id == "p1"
    assert decision.strategy_ids == ()


# --- call_windows --------------------------------------------------------------------------


def test_a_call_inside_a_window_with_quota_left_connects_and_claims_the_weeks_quota() -> None:
    decision = decide_at(caller(entry("s1", TUESDAY_MORNINGS)))
    assert (decision.outcome, decision.rule, decision.route_to) == (
        "connect",
        "none",
        DEFAULT_ROUTE,
    )
    assert decision.quota_claims == (
        QuotaClaim(
            strategy_id="s1",
            period_id="week:2026-W49",
            max_calls=1,
            expires_at=datetime(2026, 12, 7, 0, 0, tzinfo=LONDON),
        ),
    )
    assert decision.next_permitted_at is None


def test_a_call_inside_a_window_whose_quota_is_used_is_refused_until_next_week() -> None:
    decision = decide_at(caller(entry("s1", TUESDAY_MORNINGS)), usage={"s1": {"week:2026-W49": 1}})
    assert (decision.outcome, decision.rule) == ("refuse", "call_windows.quota")
    assert decision.next_permitted_at == NEXT_TUESDAY_AT_NINE
    assert decision.next_permitted_spoken == "Tuesday the 8th of December, between 9 am and 12 noon"
    assert decision.quota_claims == ()
    assert decision.route_to is None


def test_usage_of_another_strategy_does_not_count_against_this_one() -> None:
    decision = decide_at(caller(entry("s1", TUESDAY_MORNINGS)), usage={"s2": {"week:2026-W49": 1}})
    assert decision.outcome == "connect"


def test_a_call_outside_every_window_is_refused_with_the_next_window() -> None:
    decision = decide_at(caller(entry("s1", TUESDAY_MORNINGS)), now=BEFORE_THE_WINDOW)
    assert (decision.outcome, decision.rule) == ("refuse", "call_windows.outside")
    assert decision.next_permitted_at == datetime(2026, 12, 1, 9, 0, tzinfo=LONDON)
    assert decision.next_permitted_spoken == "Tuesday the 1st of December, between 9 am and 12 noon"


def test_a_refusal_the_night_before_the_spring_change_names_the_window_in_bst() -> None:
    saturday_night = datetime(2026, 3, 28, 23, 30, tzinfo=LONDON)
    decision = decide_at(caller(entry("s1", TUESDAY_MORNINGS)), now=saturday_night)
    assert decision.next_permitted_at is not None
    assert decision.next_permitted_at.isoformat() == "2026-03-31T09:00:00+01:00"


def test_a_refusal_before_the_autumn_change_names_the_window_in_gmt() -> None:
    sunday_early = datetime(2026, 10, 25, 0, 30, tzinfo=LONDON)
    decision = decide_at(caller(entry("s1", TUESDAY_MORNINGS)), now=sunday_early)
    assert decision.next_permitted_at is not None
    assert decision.next_permitted_at.isoformat() == "2026-10-27T09:00:00+00:00"


def test_max_minutes_caps_a_connected_call_at_the_smallest_cap() -> None:
    twenty = TUESDAY_MORNINGS.model_copy(update={"max_minutes": 20})
    ten = TUESDAY_MORNINGS.model_copy(update={"max_minutes": 10})
    assert decide_at(caller(entry("s1", twenty), entry("s2", ten))).max_minutes == 10
    assert decide_at(caller(entry("s1", twenty), entry("s2", JO_BLOGGS))).max_minutes == 20
    assert decide_at(caller(entry("s1", TUESDAY_MORNINGS))).max_minutes is None


def test_two_window_strategies_each_claim_their_own_period() -> None:
    monthly = CallWindows(
        windows=[Window(days=["tue"], start="10:00", end="11:00")], max_calls=2, per="month"
    )
    decision = decide_at(caller(entry("s1", TUESDAY_MORNINGS), entry("s2", monthly)))
    assert [(claim.strategy_id, claim.period_id) for claim in decision.quota_claims] == [
        ("s1", "week:2026-W49"),
        ("s2", "month:2026-12"),
    ]


def test_with_two_window_strategies_the_next_time_is_when_both_allow_a_call() -> None:
    late_mornings = CallWindows(
        windows=[Window(days=["tue", "thu"], start="11:00", end="13:00")], max_calls=5, per="week"
    )
    decision = decide_at(
        caller(entry("s1", TUESDAY_MORNINGS), entry("s2", late_mornings)), now=BEFORE_THE_WINDOW
    )
    assert decision.rule == "call_windows.outside"
    assert decision.next_permitted_at == datetime(2026, 12, 1, 11, 0, tzinfo=LONDON)
    assert (
        decision.next_permitted_spoken == "Tuesday the 1st of December, between 11 am and 12 noon"
    )


# --- spoc, recorded ------------------------------------------------------------------------


def test_a_spoc_takes_the_call_instead_of_the_default_route() -> None:
    decision = decide_at(caller(entry("s1", JO_BLOGGS)))
    assert (decision.outcome, decision.rule) == ("divert_spoc", "spoc")
    assert (decision.route_to, decision.spoc_name) == ("+441772000001", "Jo Bloggs")


def test_a_spoc_takes_a_call_made_inside_the_window_and_the_quota_is_claimed() -> None:
    decision = decide_at(caller(entry("s1", TUESDAY_MORNINGS, JO_BLOGGS)))
    assert (decision.outcome, decision.rule, decision.route_to) == (
        "divert_spoc",
        "spoc",
        "+441772000001",
    )
    assert len(decision.quota_claims) == 1


def test_when_two_strategies_name_different_spocs_the_first_strategys_spoc_takes_it() -> None:
    decision = decide_at(caller(entry("s1", SAM_SMITH), entry("s2", JO_BLOGGS)))
    assert decision.spoc_name == "Sam Smith"


def test_a_recorded_strategy_records_the_call() -> None:
    decision = decide_at(caller(entry("s1", Recorded())))
    assert (decision.outcome, decision.rule, decision.recorded) == ("connect", "none", True)


def test_recording_applies_if_any_strategy_asks_for_it() -> None:
    decision = decide_at(caller(entry("s1", JO_BLOGGS), entry("s2", Recorded())))
    assert decision.recorded is True
    assert decision.outcome == "divert_spoc"


def test_a_call_is_not_recorded_when_no_strategy_asks() -> None:
    assert decide_at(caller(entry("s1", JO_BLOGGS))).recorded is False


# --- refusing restrictions -----------------------------------------------------------------


def test_written_only_refuses_and_gives_the_written_contact_details() -> None:
    decision = decide_at(caller(entry("s1", WRITTEN_ONLY)))
    assert (decision.outcome, decision.rule, decision.route_to) == ("refuse", "written_only", None)
    assert decision.written_email == "complaints@example.org"
    assert decision.written_postal_address == "County Hall, Preston"


@pytest.mark.parametrize(
    ("restriction", "rule"),
    [
        (ADVOCATE_ONLY, "advocate_only"),
        (PhoneBlocked(), "phone_blocked"),
        (NoResponse(), "no_response"),
    ],
    ids=["advocate_only", "phone_blocked", "no_response"],
)
def test_a_refusing_restriction_refuses_the_persons_own_call(
    restriction: Restriction, rule: Rule
) -> None:
    decision = decide_at(caller(entry("s1", restriction)))
    assert decision == Decision(
        outcome="refuse",
        rule=rule,
        person_id="p1",
        strategy_ids=("s1",),
        matter_refs=("CMP-s1",),
        refused_by=("s1",),
    )


# --- combining: any refusal wins, the most final first ------------------------------------


@pytest.mark.parametrize(
    ("restrictions", "rule"),
    [
        ((NoResponse(), PhoneBlocked(), ADVOCATE_ONLY, WRITTEN_ONLY), "no_response"),
        ((PhoneBlocked(), ADVOCATE_ONLY, WRITTEN_ONLY), "phone_blocked"),
        ((WRITTEN_ONLY, ADVOCATE_ONLY), "advocate_only"),
        ((TUESDAY_MORNINGS, WRITTEN_ONLY), "written_only"),
    ],
    ids=["no_response", "phone_blocked", "advocate_only", "written_only"],
)
def test_when_several_restrictions_refuse_the_first_in_precedence_decides(
    restrictions: tuple[Restriction, ...], rule: Rule
) -> None:
    assert decide_at(caller(entry("s1", *restrictions)), now=BEFORE_THE_WINDOW).rule == rule


def test_a_refusal_in_one_strategy_wins_over_a_permitted_call_in_another() -> None:
    decision = decide_at(
        caller(entry("s1", TUESDAY_MORNINGS, JO_BLOGGS, Recorded()), entry("s2", PhoneBlocked()))
    )
    assert (decision.outcome, decision.rule) == ("refuse", "phone_blocked")
    # A refused call goes nowhere, counts nothing and is not recorded.
    assert decision.route_to is None
    assert decision.spoc_name is None
    assert decision.quota_claims == ()
    assert decision.recorded is False
    assert decision.max_minutes is None


def test_a_used_quota_outranks_being_outside_another_strategys_window() -> None:
    wednesday_mornings = CallWindows(
        windows=[Window(days=["wed"], start="09:00", end="12:00")], max_calls=1, per="week"
    )
    decision = decide_at(
        caller(entry("s1", wednesday_mornings), entry("s2", TUESDAY_MORNINGS)),
        usage={"s2": {"week:2026-W49": 1}},
    )
    assert decision.rule == "call_windows.quota"


def test_a_winning_refusal_that_is_not_a_window_carries_no_next_permitted_time() -> None:
    decision = decide_at(
        caller(entry("s1", TUESDAY_MORNINGS), entry("s2", WRITTEN_ONLY)), now=BEFORE_THE_WINDOW
    )
    assert decision.rule == "written_only"
    assert (decision.next_permitted_at, decision.next_permitted_spoken) == (None, None)


def test_written_details_are_given_only_when_written_only_is_the_winning_rule() -> None:
    decision = decide_at(caller(entry("s1", WRITTEN_ONLY), entry("s2", NoResponse())))
    assert decision.rule == "no_response"
    assert (decision.written_email, decision.written_postal_address) == (None, None)


# --- advocates -----------------------------------------------------------------------------


def test_an_advocates_call_connects_to_the_default_route() -> None:
    decision = decide_at(caller(entry("s1", ADVOCATE_ONLY, role="advocate")))
    assert (decision.outcome, decision.rule, decision.route_to) == (
        "connect",
        "advocate_only.advocate",
        DEFAULT_ROUTE,
    )


def test_an_advocates_call_goes_to_the_strategys_spoc_and_is_recorded_if_it_asks() -> None:
    decision = decide_at(caller(entry("s1", ADVOCATE_ONLY, JO_BLOGGS, Recorded(), role="advocate")))
    assert (decision.outcome, decision.rule) == ("divert_spoc", "advocate_only.advocate")
    assert (decision.route_to, decision.spoc_name, decision.recorded) == (
        "+441772000001",
        "Jo Bloggs",
        True,
    )


def test_an_advocate_is_not_held_to_the_persons_windows_quota_or_refusals() -> None:
    capped_windows = TUESDAY_MORNINGS.model_copy(update={"max_minutes": 5})
    advocate = entry("s1", ADVOCATE_ONLY, capped_windows, WRITTEN_ONLY, role="advocate")
    decision = decide_at(
        caller(advocate), now=BEFORE_THE_WINDOW, usage={"s1": {"week:2026-W49": 1}}
    )
    assert (decision.outcome, decision.rule) == ("connect", "advocate_only.advocate")
    assert decision.quota_claims == ()
    assert decision.max_minutes is None


def test_when_the_number_is_also_the_persons_own_the_persons_strategies_decide() -> None:
    decision = decide_at(
        caller(entry("s1", ADVOCATE_ONLY, role="advocate"), entry("s2", PhoneBlocked()))
    )
    assert (decision.outcome, decision.rule) == ("refuse", "phone_blocked")
    assert decision.strategy_ids == ("s1", "s2")


# --- who the call was from -----------------------------------------------------------------


def test_the_decision_names_the_person_and_every_strategy_in_order() -> None:
    decision = decide_at(caller(entry("s1", JO_BLOGGS), entry("s2", Recorded())))
    assert decision.person_id == "p1"
    assert decision.strategy_ids == ("s1", "s2")
    assert decision.matter_refs == ("CMP-s1", "CMP-s2")


@pytest.mark.parametrize(
    "match",
    [
        caller(entry("s1", Recorded()), adjustments=(AdjustmentKind.needs_extra_time,)),
        caller(entry("s1", NoResponse()), adjustments=(AdjustmentKind.needs_extra_time,)),
        caller(adjustments=(AdjustmentKind.needs_extra_time,)),
    ],
    ids=["connected", "refused", "unrestricted"],
)
def test_a_person_who_needs_extra_time_gets_it_whatever_the_outcome(match: CallerMatch) -> None:
    assert decide_at(match).extra_time is True


def test_extra_time_is_not_given_without_the_adjustment() -> None:
    match = caller(entry("s1", Recorded()), adjustments=(AdjustmentKind.needs_interpreter,))
    assert decide_at(match).extra_time is False
