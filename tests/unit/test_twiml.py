"""An inbound call's TwiML (connected or refused) is built once per shape and reused with
the call's SID put in; the document must be exactly what building it afresh gives."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest

from callguard.domain.caller_match import Decision
from callguard.policy import Policy
from callguard.urls import Callbacks
from webhooks import twiml

pytestmark = pytest.mark.timeout(10)

CALLBACKS = Callbacks("https://callguard.test.example")
DECISIONS = [
    Decision(outcome="connect", rule="none", route_to="+441772000100"),
    Decision(outcome="connect", rule="none", route_to="+441772000100", recorded=True),
    Decision(outcome="divert_spoc", rule="spoc", route_to="+441772000001", max_minutes=10),
    Decision(
        outcome="connect", rule="none", route_to="+441772000100", extra_time=True, recorded=True
    ),
]


@pytest.mark.parametrize("decision", DECISIONS)
def test_a_reused_connect_document_is_the_one_built_for_the_call(
    decision: Decision, policy: Policy
) -> None:
    for _ in range(3):
        call_sid = "CA" + secrets.token_hex(16)
        reused = twiml.connect(decision, policy, CALLBACKS, call_sid)
        assert reused == twiml._connect(decision, policy, CALLBACKS, call_sid)
        assert reused.count(call_sid) >= 2  # the conference name and its callback
        assert twiml._SID_SLOT not in reused


def test_a_sid_of_another_shape_is_built_afresh_and_escaped(policy: Policy) -> None:
    odd = "CA<&>"
    document = twiml.connect(DECISIONS[0], policy, CALLBACKS, odd)
    assert document == twiml._connect(DECISIONS[0], policy, CALLBACKS, odd)
    assert "CA&lt;&amp;&gt;" in document


REFUSALS = [
    Decision(outcome="refuse", rule="phone_blocked", person_id="per_1", strategy_ids=("s1",)),
    Decision(
        outcome="refuse",
        rule="call_windows.quota",
        person_id="per_1",
        strategy_ids=("s1",),
        next_permitted_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        extra_time=True,
    ),
    Decision(
        outcome="refuse",
        rule="call_windows.outside",
        person_id="per_2",
        strategy_ids=("s2",),
        next_permitted_at=datetime(2026, 12, 2, 14, 0, tzinfo=UTC),
    ),
]


@pytest.mark.parametrize("decision", REFUSALS)
def test_a_reused_refusal_is_the_one_built_for_the_call(decision: Decision, policy: Policy) -> None:
    for _ in range(3):
        call_sid = "CA" + secrets.token_hex(16)
        reused = twiml.refuse(decision, policy, CALLBACKS, call_sid)
        assert reused == twiml._refuse(decision, policy, CALLBACKS, call_sid)
        assert reused.count(call_sid) >= 2  # the key-press and the message callbacks
        assert twiml._SID_SLOT not in reused


def test_refusals_of_different_shapes_are_not_confused(policy: Policy) -> None:
    call_sid = "CA" + secrets.token_hex(16)
    documents = {twiml.refuse(d, policy, CALLBACKS, call_sid) for d in REFUSALS}
    assert len(documents) == len(REFUSALS)
    odd = "CA<&>"
    assert twiml.refuse(REFUSALS[0], policy, CALLBACKS, odd) == twiml._refuse(
        REFUSALS[0], policy, CALLBACKS, odd
    )
