"""Notice before effect (§3.6), adjustments as policy data (§2, §8.4) and one matter (§3.8),
decided at fixed instants without Redis."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from callguard.domain.caller_match import CallerMatch, ScreeningEntry
from callguard.domain.decision import decide
from callguard.domain.models import (
    AdjustmentKind,
    CallWindows,
    NoResponse,
    Notice,
    NotifiedIn,
    Person,
    PhoneBlocked,
    ReasonableAdjustment,
    Recorded,
    Restriction,
    Revision,
    Strategy,
    StrategyStatus,
    Window,
    WrittenOnly,
)
from callguard.domain.notice import (
    applied_at,
    first_applied,
    restrictions_at,
    revision_awaiting_notice,
    told,
    told_of_applied,
)
from callguard.domain.rules import interim_problems, restriction_problems, status_at_creation
from callguard.domain.speech import caller_hears, connect_notice
from callguard.policy import Policy

pytestmark = pytest.mark.timeout(10)

LONDON = ZoneInfo("Europe/London")
# Tuesday 1 December 2026, 10am.
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=LONDON)
WRITTEN = WrittenOnly(email="complaints@example.org")
MONDAYS = CallWindows(
    windows=[Window(days=["mon"], start="09:00", end="12:00")], max_calls=1, per="week"
)


def entry(
    strategy_id: str, *restrictions: Restriction, told: bool = True, interim: bool = False
) -> ScreeningEntry:
    return ScreeningEntry(
        strategy_id=strategy_id,
        person_id="p1",
        matter_ref=f"CMP-{strategy_id}",
        restrictions=restrictions,
        role="person",
        told_in_writing=told,
        interim=interim,
    )


def test_a_no_response_caller_told_in_writing_hears_so(policy: Policy) -> None:
    decision = decide(
        CallerMatch(phone="+447700900123", person_id="p1", entries=(entry("s1", NoResponse()),)),
        {},
        NOW,
        LONDON,
        "+441772000000",
    )
    assert decision.told_in_writing
    assert caller_hears(decision, policy)[0].startswith("As you have been told in writing")


def test_a_no_response_caller_never_told_is_not_said_to_have_been(policy: Policy) -> None:
    match = CallerMatch(
        phone="+447700900123", person_id="p1", entries=(entry("s1", NoResponse(), told=False),)
    )
    decision = decide(match, {}, NOW, LONDON, "+441772000000")
    assert decision.outcome == "refuse"
    assert not decision.told_in_writing
    heard = " ".join(caller_hears(decision, policy))
    assert "told in writing" not in heard
    assert "will not respond further" in heard
    assert "A letter explaining this will follow." not in heard


def test_an_interim_measure_tells_the_caller_a_letter_will_follow(policy: Policy) -> None:
    match = CallerMatch(
        phone="+447700900123",
        person_id="p1",
        entries=(entry("s1", PhoneBlocked(), told=False, interim=True),),
    )
    decision = decide(match, {}, NOW, LONDON, "+441772000000")
    assert decision.letter_follows
    heard = caller_hears(decision, policy)
    assert heard[1] == "A letter explaining this will follow."


def test_a_recording_notice_claims_a_letter_only_when_one_was_sent(policy: Policy) -> None:
    told = decide(
        CallerMatch(phone="+447700900123", person_id="p1", entries=(entry("s1", Recorded()),)),
        {},
        NOW,
        LONDON,
        "+441772000000",
    )
    untold = decide(
        CallerMatch(
            phone="+447700900123",
            person_id="p1",
            entries=(entry("s1", Recorded(), told=False),),
        ),
        {},
        NOW,
        LONDON,
        "+441772000000",
    )
    assert connect_notice(told, policy)[-1] == policy.recording.notice
    assert connect_notice(untold, policy)[-1] == "This call will be recorded."


def test_a_refusal_is_a_breach_only_of_the_strategies_that_refused() -> None:
    # s1 (matter A) allows calls on Monday mornings only: Tuesday is refused by it. s2
    # (matter B) records calls and refuses nothing; s3 (matter C) is written only.
    match = CallerMatch(
        phone="+447700900123",
        person_id="p1",
        entries=(entry("s1", MONDAYS), entry("s2", Recorded()), entry("s3", WRITTEN)),
    )
    decision = decide(match, {}, NOW, LONDON, "+441772000000")
    assert decision.rule == "written_only"
    assert decision.strategy_ids == ("s1", "s2", "s3")
    assert decision.refused_by == ("s1", "s3")


def test_the_refusal_wording_follows_the_strategy_whose_rule_won(policy: Policy) -> None:
    # The no_response strategy (untold) wins over a told written_only one.
    match = CallerMatch(
        phone="+447700900123",
        person_id="p1",
        entries=(entry("s1", WRITTEN), entry("s2", NoResponse(), told=False)),
    )
    decision = decide(match, {}, NOW, LONDON, "+441772000000")
    assert (decision.rule, decision.told_in_writing) == ("no_response", False)


# --- the strategy's versions -----------------------------------------------------------------


def _strategy(**fields: object) -> Strategy:
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    base: dict[str, object] = {
        "id": "str_1",
        "person_id": "p1",
        "matter_ref": "CMP-1",
        "reason": "Abusive calls",
        "restrictions": [WRITTEN.model_dump()],
        "notified_on": None,
        "review_due": date(2027, 2, 1),
        "starts_on": date(2026, 11, 20),
        "created_at": at,
        "created_by": "manager",
        "updated_at": at,
    }
    return Strategy.model_validate({**base, **fields})


def _phone_blocked_revision(at: datetime, notified_on: date | None = None) -> Revision:
    """Version 2: written contact only becomes telephone calls blocked."""
    return Revision(
        version=2,
        at=at,
        by="manager",
        why="Phone blocked",
        changed=["restrictions"],
        before={"restrictions": [WRITTEN.model_dump()]},
        after={"restrictions": [{"kind": "phone_blocked"}]},
        notified_on=notified_on,
    )


def test_creation_without_notice_awaits_it_and_applies_nothing() -> None:
    assert status_at_creation(None, interim=False) == (StrategyStatus.awaiting_notice, None, [])
    assert status_at_creation(date(2026, 11, 30), interim=False) == (
        StrategyStatus.active,
        1,
        [],
    )
    assert status_at_creation(None, interim=True) == (StrategyStatus.active, 1, [1])
    awaiting = _strategy(status="awaiting_notice", applied_version=None)
    assert awaiting.applied() == []
    assert not told_of_applied(awaiting)


def test_a_record_from_before_notice_was_tracked_applies_its_latest_content_version() -> None:
    revision = _phone_blocked_revision(NOW, notified_on=date(2026, 11, 25))
    stored = _strategy(
        restrictions=[{"kind": "phone_blocked"}], version=3, revisions=[revision.model_dump()]
    )
    # Version 3 was a review that continued it: version 2 is what the person was told.
    assert stored.applied_version == 2
    assert told_of_applied(stored)
    assert restrictions_at(stored, 1) == [WRITTEN]
    assert restrictions_at(stored, 2) == [PhoneBlocked()]


def test_what_applied_at_a_moment_follows_the_notices_not_the_record_as_it_stands() -> None:
    """Made awaiting notice, revised before anyone was told, told of version 1, then of 2:
    at each moment the version applied is the one the person had been told of by then."""
    made = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    revised, told_v1, told_v2 = (made + timedelta(days=d) for d in (2, 4, 8))
    revision = Revision(
        version=2,
        at=revised,
        by="manager",
        why="Written contact only",
        changed=["restrictions"],
        before={"restrictions": [{"kind": "phone_blocked"}]},
        after={"restrictions": [WRITTEN.model_dump()]},
    )
    awaiting = _strategy(
        status="awaiting_notice", applied_version=None, version=2, revisions=[revision]
    )
    assert applied_at(awaiting, told_v2) is None and first_applied(awaiting) is None

    by_post = NotifiedIn(notified_on=told_v1.date(), method="post")
    first = told(awaiting, 1, by_post, "manager", told_v1)
    then = told(first, 2, NotifiedIn(notified_on=told_v2.date()), "manager", told_v2)

    assert (first.applied_version, then.applied_version) == (1, 2)
    assert applied_at(first, told_v1) == first.applied_version  # now: as the register says
    assert applied_at(then, told_v2) == then.applied_version
    assert [applied_at(then, m) for m in (made, revised, told_v1, told_v2)] == [None, None, 1, 2]
    assert restrictions_at(then, 1) == [PhoneBlocked()]
    assert first_applied(then) == told_v1
    ended = then.model_copy(update={"status": StrategyStatus.ended, "ended_at": told_v1})
    assert applied_at(ended, told_v1) is None and first_applied(ended) is None


def test_a_record_without_notice_records_applied_from_when_it_was_made() -> None:
    """Made with its notice date before notices were recorded (or imported), or kept before
    notice was tracked at all: it applied from its creation."""
    imported = _strategy(notified_on=date(2026, 11, 19), applied_version=1)
    legacy = _strategy()  # no applied_version stored: it applies its latest version
    for stored in (imported, legacy):
        assert applied_at(stored, stored.created_at) == 1
        assert applied_at(stored, stored.created_at - timedelta(seconds=1)) is None


def test_a_record_from_before_notice_was_tracked_keeps_its_history_once_notices_come() -> None:
    """Kept before notice was tracked, it applied from when it was made; recording a notice
    for it since, or revising it, does not rewrite when it began to apply."""
    legacy = _strategy()
    assert legacy.applied_before_tracking == 1
    made = legacy.created_at
    told_later = made + timedelta(days=40)
    now_told = told(legacy, 1, NotifiedIn(notified_on=told_later.date()), "manager", told_later)
    assert applied_at(now_told, made + timedelta(days=1)) == 1
    assert first_applied(now_told) == made
    revision = _phone_blocked_revision(made + timedelta(days=10))
    # Version 2 applied at once under the old rules, then version 3 came with its notice.
    revised = _strategy(
        restrictions=[{"kind": "phone_blocked"}], version=2, revisions=[revision.model_dump()]
    )
    third = revised.model_copy(
        update={
            "notices": [
                Notice(
                    version=3,
                    notified_on=told_later.date(),
                    recorded_by="m",
                    recorded_at=told_later,
                )
            ]
        }
    )
    assert applied_at(third, made + timedelta(days=11)) == 2
    assert restrictions_at(third, 2) == [PhoneBlocked()]


def test_an_ended_strategy_has_no_revision_awaiting_notice() -> None:
    revision = _phone_blocked_revision(NOW)
    pending = _strategy(
        restrictions=[{"kind": "phone_blocked"}],
        version=2,
        revisions=[revision.model_dump()],
        applied_version=1,
        applied_restrictions=[WRITTEN.model_dump()],
    )
    assert revision_awaiting_notice(pending) == 2
    ended = pending.model_copy(update={"status": StrategyStatus.ended, "ended_at": NOW})
    assert revision_awaiting_notice(ended) is None
    same = pending.model_copy(update={"applied_restrictions": [PhoneBlocked()]})
    assert revision_awaiting_notice(same) is None  # the same restrictions: nothing to tell


# --- adjustments as policy data ----------------------------------------------------------------


def _person(*kinds: AdjustmentKind) -> Person:
    return Person(
        id="p1",
        name="Ann",
        reasonable_adjustments=[ReasonableAdjustment(kind=k) for k in kinds],
        created_at=NOW,
        created_by="manager",
        updated_at=NOW,
    )


@pytest.mark.parametrize("kind", [WRITTEN, PhoneBlocked(), NoResponse()])
def test_each_conflicting_kind_needs_the_override(kind: Restriction, policy: Policy) -> None:
    problems = restriction_problems(
        [kind], _person(AdjustmentKind.needs_phone_contact), None, policy
    )
    assert [field for field, _ in problems] == ["adjustment_override"]
    assert kind.kind in problems[0][1]
    # No such adjustment, no conflict.
    assert restriction_problems([kind], _person(AdjustmentKind.large_print), None, policy) == []


def test_interim_measures_hold_only_the_policys_interim_kinds(policy: Policy) -> None:
    assert interim_problems([PhoneBlocked(), NoResponse()], policy) == []
    problems = interim_problems([WRITTEN, PhoneBlocked()], policy)
    assert problems[0][0] == "restrictions"
    assert "written_only" in problems[0][1]
