"""What a caller hears, worded from the Lancashire OPCC policy file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callguard.domain.caller_match import Decision, Rule
from callguard.domain.speech import caller_hears, connect_notice
from callguard.policy import Policy, load_policy

pytestmark = pytest.mark.timeout(10)

LONDON = ZoneInfo("Europe/London")
POLICY_PATH = Path(__file__).resolve().parents[2] / "policies" / "lancashire-opcc.toml"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(POLICY_PATH)


def refused(rule: Rule, **fields: object) -> Decision:
    return Decision.model_validate({"outcome": "refuse", "rule": rule, **fields})


def test_a_caller_outside_their_window_hears_why_when_to_call_and_the_emergency_advice(
    policy: Policy,
) -> None:
    decision = refused(
        "call_windows.outside",
        next_permitted_at=datetime(2025, 12, 2, 9, 0, tzinfo=LONDON),
        next_permitted_spoken="Tuesday the 2nd of December, between 9 am and 12 noon",
    )
    assert caller_hears(decision, policy) == [
        "This call cannot be taken now. Under the contact arrangement agreed for your matter, "
        "calls are taken only at set times.",
        "You may next call on Tuesday the 2nd of December, between 9 am and 12 noon.",
        policy.emergency.advice,
    ]


def test_a_caller_over_quota_hears_the_quota_refusal_and_the_next_window(policy: Policy) -> None:
    decision = refused(
        "call_windows.quota",
        next_permitted_spoken="Tuesday the 8th of December, between 9 am and 12 noon",
    )
    heard = caller_hears(decision, policy)
    assert heard[0] == policy.refusal_text("call_windows.quota")
    assert heard[1] == "You may next call on Tuesday the 8th of December, between 9 am and 12 noon."


def test_with_no_permitted_window_in_the_coming_year_the_caller_is_asked_to_write(
    policy: Policy,
) -> None:
    heard = caller_hears(refused("call_windows.outside"), policy)
    assert "no time in the coming year" in heard[1]
    assert heard[2] == f"You can contact us {policy.office.written_contact}."
    assert heard[-1] == policy.emergency.advice


def test_a_written_only_caller_hears_the_email_and_postal_address(policy: Policy) -> None:
    decision = refused(
        "written_only",
        written_email="complaints@example.org",
        written_postal_address="County Hall, Preston",
    )
    assert caller_hears(decision, policy) == [
        "Under the contact arrangement for your matter, we ask you to contact "
        "the Commissioner's office in writing only.",
        "You can email complaints@example.org.",
        "You can write to County Hall, Preston.",
        policy.emergency.advice,
    ]


def test_a_written_only_caller_with_only_an_email_hears_only_the_email(policy: Policy) -> None:
    heard = caller_hears(refused("written_only", written_email="a@example.org"), policy)
    assert heard[1:] == ["You can email a@example.org.", policy.emergency.advice]


@pytest.mark.parametrize("rule", ["advocate_only", "phone_blocked", "no_response"])
def test_other_refused_callers_hear_the_offices_written_contact(policy: Policy, rule: Rule) -> None:
    assert caller_hears(refused(rule), policy) == [
        policy.refusal_text(rule),
        "You can contact us by email to commissioner@lancashire-pcc.example.org, or by post "
        "to the Office of the Police and Crime Commissioner, County Hall, Preston.",
        policy.emergency.advice,
    ]


def test_the_office_name_is_put_into_the_refusal(policy: Policy) -> None:
    heard = caller_hears(refused("no_response"), policy)
    assert heard[0].startswith("As you have been told in writing, the Commissioner's office will")


def test_a_connected_caller_hears_no_refusal(policy: Policy) -> None:
    decision = Decision(outcome="connect", rule="none", route_to="+441772000000")
    assert caller_hears(decision, policy) == []


def test_a_connected_caller_hears_the_greeting(policy: Policy) -> None:
    decision = Decision(outcome="connect", rule="none", route_to="+441772000000")
    assert connect_notice(decision, policy) == [
        "Thank you for calling. Please hold while we connect you."
    ]


def test_a_recorded_caller_is_told_before_recording_starts(policy: Policy) -> None:
    decision = Decision(outcome="divert_spoc", rule="spoc", route_to="+441772000001", recorded=True)
    assert connect_notice(decision, policy) == [
        policy.connect.greeting,
        "This call will be recorded, as you have been told in writing.",
    ]


def test_a_refused_caller_hears_no_connect_notice(policy: Policy) -> None:
    assert connect_notice(refused("phone_blocked"), policy) == []
