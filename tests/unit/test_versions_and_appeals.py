"""A strategy as it stood at each version (the letters), who may decide an appeal, and due
dates in working days. Pure: fixed instants and a fixed holiday calendar."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from callguard.domain.appeals import involved_in, received_on_problems
from callguard.domain.models import Review, Revision, Strategy
from callguard.domain.versions import strategy_at, versions_made
from callguard.domain.working_days import HolidayCalendar, add_working_days
from callguard.policy import BUILT_IN_LETTERS, PolicyError, letters_folder, load_policy
from tests.conftest import POLICY_PATH

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
SPOC_A = {"kind": "spoc", "name": "Jo Bloggs", "phone": "+441772000001"}
SPOC_B = {"kind": "spoc", "name": "Pat Jones", "phone": "+441772000002"}


def _at(days: int) -> datetime:
    return START + timedelta(days=days)


def a_strategy() -> Strategy:
    """Version 1 with Jo Bloggs; 2 a continue review (mo); 3 revised to Pat Jones (lee);
    4 ended (kim)."""
    return Strategy.model_validate(
        {
            "id": "str_1",
            "person_id": "per_1",
            "matter_ref": "CMP-2026-0001",
            "reason": "Calls",
            "restrictions": [SPOC_B],
            "notified_on": date(2026, 9, 2),
            "review_due": date(2026, 12, 1),
            "starts_on": date(2026, 9, 1),
            "status": "ended",
            "version": 4,
            "created_at": START,
            "created_by": "ann",
            "updated_at": _at(40),
            "ended_at": _at(40),
            "ended_by": "kim",
            "end_why": "Matter closed",
            "reviews": [
                Review(at=_at(10), by="mo", outcome="continue", notes="Still needed",
                       next_review_due=date(2026, 12, 1)),
            ],
            "revisions": [
                Revision(version=3, at=_at(20), by="lee", why="New contact",
                         changed=["restrictions"], before={"restrictions": [SPOC_A]},
                         after={"restrictions": [SPOC_B]}, notified_on=date(2026, 9, 25)),
                Revision(version=4, at=_at(40), by="kim", why="Matter closed", changed=["status"],
                         before={"status": "active"}, after={"status": "ended"}),
            ],
        }
    )  # fmt: skip


def test_each_version_is_the_strategy_as_it_stood_then() -> None:
    strategy = a_strategy()
    first, third, fourth = (strategy_at(strategy, v) for v in (1, 3, 4))
    assert first is not None and third is not None and fourth is not None
    assert [r.model_dump() for r in first.restrictions] == [SPOC_A]
    assert first.status.value == "active" and first.ended_at is None
    assert [r.model_dump() for r in third.restrictions] == [SPOC_B]
    assert fourth.status.value == "ended"
    assert strategy_at(strategy, 0) is None and strategy_at(strategy, 5) is None


def test_who_made_each_version_and_when_the_person_was_told() -> None:
    made = versions_made(a_strategy())
    assert [(m.by, m.cause) for m in made.values()] == [
        ("ann", "created"),
        ("mo", "reviewed"),
        ("lee", "revised"),
        ("kim", "ended"),
    ]
    assert made[1].notified_on == date(2026, 9, 2)
    assert made[3].notified_on == date(2026, 9, 25)
    assert made[4].notified_on is None


def test_everyone_who_created_revised_or_reviewed_is_involved() -> None:
    assert involved_in(a_strategy()) == {"ann", "mo", "lee", "kim"}


def test_an_appeal_is_received_between_the_start_and_today() -> None:
    started, today = date(2026, 9, 1), date(2026, 11, 27)
    assert received_on_problems(date(2026, 11, 27), today, started) == []
    assert received_on_problems(date(2026, 11, 28), today, started) == ["must not be in the future"]
    assert received_on_problems(date(2026, 8, 31), today, started) == [
        "must be on or after the day the strategy started (2026-09-01)"
    ]


def test_working_days_skip_weekends_and_bank_holidays() -> None:
    christmas = HolidayCalendar.of([date(2026, 12, 25), date(2026, 12, 28)])
    assert add_working_days(date(2026, 11, 27), 1, christmas) == date(2026, 11, 30)  # Fri->Mon
    assert add_working_days(date(2026, 12, 24), 1, christmas) == date(2026, 12, 29)
    assert add_working_days(date(2026, 11, 27), 20, christmas) == date(2026, 12, 29)
    assert add_working_days(date(2026, 11, 27), 0, christmas) == date(2026, 11, 27)


def test_a_policy_file_names_letter_templates_that_exist(tmp_path: Path) -> None:
    text = POLICY_PATH.read_text(encoding="utf-8")
    # Beside a policy file with no letters folder: CallGuard's own templates.
    alone = tmp_path / "alone" / "office.toml"
    alone.parent.mkdir()
    alone.write_text(text, encoding="utf-8")
    assert letters_folder(alone, load_policy(alone)) == BUILT_IN_LETTERS
    # A folder of its own without the strategy letter: one clear line naming it.
    own = tmp_path / "own" / "office.toml"
    shutil.copytree(POLICY_PATH.parent / "letters", own.parent / "letters")
    (own.parent / "letters" / "strategy.html").unlink()
    own.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policy(own)
    assert raised.value.lines == [
        f"letters.strategy: no file strategy.html in {own.parent / 'letters'}"
    ]
