"""Asking for a decision on a contact strategy to be looked at again (good practice: a
review by a senior person not involved, with a written outcome; policy §3.5). Pure."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict

from callguard.domain.dates import InputDate
from callguard.domain.fields import ShortText, Text
from callguard.domain.models import Model, Strategy
from callguard.domain.roles import Role

# Who may decide an appeal: a senior person (§8.3), never staff or an administrator.
DECIDER_ROLES = (Role.manager, Role.chief_executive)
AppealOutcome = Literal["upheld", "varied", "ended"]


class AppealIn(Model):
    received_on: InputDate
    grounds: Text
    decider: ShortText


class AppealDecisionIn(Model):
    outcome: AppealOutcome
    reasons: Text


class AppealStatus(StrEnum):
    awaiting_decision = "awaiting_decision"
    decided = "decided"


class Appeal(Model):
    model_config = ConfigDict(extra="ignore")
    id: str
    strategy_id: str
    person_id: str
    matter_ref: str
    version: int  # the strategy's version when the appeal was received
    received_on: date
    grounds: str
    decider: str
    due_on: date
    status: AppealStatus = AppealStatus.awaiting_decision
    recorded_at: datetime
    recorded_by: str
    outcome: AppealOutcome | None = None
    reasons: str | None = None
    decided_at: datetime | None = None


def involved_in(strategy: Strategy) -> set[str]:
    """Everyone who created, revised or reviewed the strategy: none of them may decide."""
    names = {strategy.created_by}
    names.update(r.by for r in strategy.revisions)
    names.update(r.by for r in strategy.reviews)
    return names


def received_on_problems(received_on: date, today: date, starts_on: date) -> list[str]:
    if received_on > today:
        return ["must not be in the future"]
    if received_on < starts_on:
        return [f"must be on or after the day the strategy started ({starts_on.isoformat()})"]
    return []


class AppealDeciderIn(Model):
    """Another decider for an appeal not yet decided (the one named can no longer decide)."""

    decider: ShortText
