"""A strategy's history (the strategy page): one list, oldest first, every version once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from callguard.domain.models import Review, Revision, Strategy
from callguard.web.pages.strategies import strategy_history

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def _at(days: int) -> datetime:
    return START + timedelta(days=days)


def test_every_version_and_review_in_order() -> None:
    strategy = Strategy.model_validate(
        {
            "id": "str_1",
            "person_id": "per_1",
            "matter_ref": "CMP-2026-0001",
            "reason": "Calls",
            "restrictions": [{"kind": "recorded"}],
            "notified_on": None,
            "review_due": date(2027, 1, 1),
            "starts_on": date(2026, 9, 1),
            "version": 5,
            "created_at": START,
            "created_by": "mo",
            "updated_at": _at(40),
            # Stored in the order each list was appended to, not by time.
            "revisions": [
                Revision(version=3, at=_at(20), by="mo", why="Recorded", changed=["restrictions"],
                         before={}, after={}),
                Revision(version=4, at=_at(30), by="mo", why="Later date", changed=["review_due"],
                         before={}, after={}),
                Revision(version=5, at=_at(40), by="mo", why="Matter closed", changed=["status"],
                         before={}, after={}),
            ],
            "reviews": [
                Review(at=_at(10), by="mo", outcome="continue", notes="Still needed",
                       next_review_due=date(2026, 12, 1)),
                Review(at=_at(30), by="mo", outcome="revise", notes="A longer gap",
                       next_review_due=date(2027, 1, 1)),
            ],
        }
    )  # fmt: skip
    rows = strategy_history(strategy)
    assert [r.what for r in rows] == [
        "Version 1: created",
        "Version 2: reviewed, continues; next review 1 December 2026",
        "Version 3: revised (restrictions)",
        "Version 4: revised (review date) after a review",
        "Version 5: ended",
    ]
    assert [r.at for r in rows] == sorted(r.at for r in rows)
    assert rows[3].why == "Later date\nReview notes: A longer gap"
