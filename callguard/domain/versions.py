"""A strategy as it stood at one of its versions, and what made each version. Pure.

A strategy keeps its current state and, for each revision, the fields before and after; a
review that continues a strategy makes a version of its own (a new review date) without a
revision. So version N is the current state with every later revision undone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from callguard.domain.fields import STORED
from callguard.domain.models import Review, Revision, Strategy, StrategyStatus

VersionCause = Literal["created", "revised", "ended", "reviewed"]


@dataclass(frozen=True)
class VersionMade:
    """Who made a version, when, why, and what it changed."""

    version: int
    at: datetime
    by: str
    cause: VersionCause
    changed: tuple[str, ...]
    why: str
    notified_on: date | None


def versions_made(strategy: Strategy) -> dict[int, VersionMade]:
    """Every version of the strategy, by number (the same order as its history page)."""
    made = {
        1: VersionMade(
            1, strategy.created_at, strategy.created_by, "created", (), "", strategy.notified_on
        )
    }
    events: list[tuple[datetime, int, Revision | Review]] = [
        (r.at, 0, r) for r in strategy.revisions
    ] + [(r.at, 1, r) for r in strategy.reviews if r.outcome == "continue"]
    version = 1
    for at, _, event in sorted(events, key=lambda e: (e[0], e[1])):
        if isinstance(event, Revision):
            version = event.version
            cause: VersionCause = "ended" if "status" in event.changed else "revised"
            made[version] = VersionMade(
                version, at, event.by, cause, tuple(event.changed), event.why, event.notified_on
            )
        else:
            version += 1
            made[version] = VersionMade(
                version, at, event.by, "reviewed", ("review_due",), event.notes, None
            )
    return made


def strategy_at(strategy: Strategy, version: int) -> Strategy | None:
    """The strategy as it stood at ``version`` (None if it never had that version).

    Later revisions are undone from their ``before``; a later review that only moved the
    review date leaves no record of the date before it, so such a version shows the
    current review date."""
    if version < 1 or version > strategy.version:
        return None
    state = strategy.model_dump(mode="json")
    for revision in sorted(strategy.revisions, key=lambda r: r.version, reverse=True):
        if revision.version > version:
            state.update(revision.before)
    state["version"] = version
    at_version = Strategy.model_validate(state, context=STORED)  # as it was stored then
    if at_version.status is not StrategyStatus.active:
        return at_version
    return at_version.model_copy(update={"ended_at": None, "ended_by": None, "end_why": None})
