"""Appeals: a person asks for a decision on their contact strategy to be looked at again.

Recorded by a manager with the date it was received, the grounds and who will decide: a
manager or the chief executive who did not create, revise or review the strategy. It is due
``appeals.decide_within_working_days`` working days after it was received. Only the named
decider records the outcome: ``upheld`` (the strategy stands), ``varied`` (the decider
then revises it, and the person gets a revision letter) or ``ended`` (the strategy ends at
once). The outcome letter is ``services.letters``'.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from callguard.domain.appeals import (
    DECIDER_ROLES,
    Appeal,
    AppealDeciderIn,
    AppealDecisionIn,
    AppealIn,
    AppealStatus,
    involved_in,
    received_on_problems,
)
from callguard.domain.audit import AuditEntry
from callguard.domain.models import Strategy, StrategyStatus
from callguard.domain.users import Actor
from callguard.domain.working_days import HolidayCalendar, add_working_days
from callguard.policy import Policy
from callguard.services.errors import Conflict, Forbidden, Invalid, NotFound
from callguard.services.register import Register
from callguard.store.appeals import AppealStore
from callguard.store.readable import Shown
from callguard.store.users import UserStore

# Tries at ending a strategy decided ``ended`` while others write to it.
_END_ATTEMPTS = 3


def new_appeal_id() -> str:
    return f"apl_{secrets.token_hex(8)}"


def _entry(actor: Actor, now: datetime, action: str, appeal: Appeal, detail: str) -> AuditEntry:
    return AuditEntry(
        at=now,
        who=actor.name,
        role=actor.role.value,
        action=action,
        target=appeal.id,
        person_id=appeal.person_id,
        detail=detail,
    )


class Appeals:
    def __init__(
        self,
        store: AppealStore,
        register: Register,
        users: UserStore,
        policy: Policy,
        tz: ZoneInfo,
        calendar: HolidayCalendar,
    ) -> None:
        self.store = store
        self.register = register
        self.users = users
        self.policy = policy
        self.tz = tz
        self.calendar = calendar

    async def eligible_deciders(self, strategy_id: str) -> list[str]:
        """The users who may decide an appeal against the strategy, by name."""
        strategy = await self.register.strategy(strategy_id)
        involved = involved_in(strategy)
        return sorted(
            u.name
            for u in await self.users.list_users()
            if u.role in DECIDER_ROLES and u.name not in involved and not u.disabled
        )

    async def record(self, strategy_id: str, body: AppealIn, actor: Actor, now: datetime) -> Appeal:
        strategy = await self.register.strategy(strategy_id)
        if strategy.status in (StrategyStatus.ended, StrategyStatus.lapsed):
            raise Conflict(
                f"strategy {strategy.matter_ref} has {strategy.status.value}: there is no "
                "decision in force to look at again"
            )
        today = self.register.today(now)
        problems = [
            ("received_on", r)
            for r in received_on_problems(body.received_on, today, strategy.starts_on)
        ]
        problems += await self._decider_problems(body.decider, strategy)
        if problems:
            raise Invalid(problems)
        waiting = [
            a
            for a in await self.store.of_strategy(strategy.id)
            if a.status is AppealStatus.awaiting_decision
        ]
        if waiting:
            raise Conflict(
                f"an appeal against {strategy.matter_ref} is already awaiting a decision"
            )
        appeal = Appeal(
            id=new_appeal_id(),
            strategy_id=strategy.id,
            person_id=strategy.person_id,
            matter_ref=strategy.matter_ref,
            version=strategy.version,
            received_on=body.received_on,
            grounds=body.grounds,
            decider=body.decider,
            due_on=add_working_days(
                body.received_on, self.policy.appeals.decide_within_working_days, self.calendar
            ),
            recorded_at=now,
            recorded_by=actor.name,
        )
        await self.store.create(
            appeal, _entry(actor, now, "appeal.create", appeal, f"strategy {strategy.id}")
        )
        return appeal

    async def _decider_problems(self, name: str, strategy: Strategy) -> list[tuple[str, str]]:
        decider = await self.users.get_user(name)
        if decider is None:
            return [("decider", f"there is no user called {name}")]
        if decider.role not in DECIDER_ROLES:
            return [("decider", "must be a manager or the chief executive")]
        if decider.disabled:
            return [
                ("decider", "cannot sign in (their account is disabled): choose someone who can")
            ]
        if decider.name in involved_in(strategy):
            return [
                (
                    "decider",
                    "was involved in the strategy (created, revised or reviewed it): "
                    "choose someone who was not",
                )
            ]
        return []

    async def reassign(
        self, appeal_id: str, body: AppealDeciderIn, actor: Actor, now: datetime
    ) -> Appeal:
        """Name another decider for an appeal awaiting a decision (the one named left, was
        demoted or has since been involved), checked as when it was recorded; the due date
        stays."""
        appeal = await self.get(appeal_id)
        if appeal.status is not AppealStatus.awaiting_decision:
            raise Conflict("this appeal has been decided already")
        strategy = await self.register.strategy(appeal.strategy_id)
        problems = await self._decider_problems(body.decider, strategy)
        if problems:
            raise Invalid(problems)
        moved = appeal.model_copy(update={"decider": body.decider})
        detail = f"{appeal.decider} -> {body.decider}"
        if not await self.store.replace(
            appeal, moved, _entry(actor, now, "appeal.decider", appeal, detail)
        ):
            raise Conflict("this appeal was changed at the same time: reload it")
        return moved

    async def get(self, appeal_id: str) -> Appeal:
        appeal = await self.store.get(appeal_id)
        if appeal is None:
            raise NotFound(f"no appeal {appeal_id}")
        return appeal

    async def decide(
        self, appeal_id: str, body: AppealDecisionIn, actor: Actor, now: datetime
    ) -> Appeal:
        appeal = await self.get(appeal_id)
        if actor.name != appeal.decider:
            raise Forbidden(f"only {appeal.decider}, who was named to decide it, may decide it")
        if appeal.status is not AppealStatus.awaiting_decision:
            raise Conflict("this appeal has been decided already")
        # Independence is checked again: the decider may have revised or reviewed it since.
        if actor.name in involved_in(await self.register.strategy(appeal.strategy_id)):
            raise Conflict(
                "you have revised or reviewed the strategy since the appeal was recorded, so "
                "you are no longer independent of it: ask a manager to name another decider"
            )
        decided = appeal.model_copy(
            update={
                "status": AppealStatus.decided,
                "outcome": body.outcome,
                "reasons": body.reasons,
                "decided_at": now,
            }
        )
        if not await self.store.replace(
            appeal, decided, _entry(actor, now, "appeal.decide", appeal, body.outcome)
        ):
            raise Conflict("this appeal was changed at the same time: reload it")
        if body.outcome == "ended":
            await self._end_strategy(appeal.strategy_id, body.reasons, actor, now)
        return decided

    async def _end_strategy(
        self, strategy_id: str, reasons: str, actor: Actor, now: datetime
    ) -> None:
        """End the strategy once the decision is stored (so two decisions at once cannot
        end it for one that was then refused); a revision racing it is retried over."""
        for _attempt in range(_END_ATTEMPTS):
            strategy = await self.register.strategy(strategy_id)
            # One awaiting notice ends too: it would otherwise apply once notice is recorded.
            if strategy.status not in (StrategyStatus.active, StrategyStatus.awaiting_notice):
                return
            try:
                await self.register.end_now(strategy_id, f"Ended on appeal: {reasons}", actor, now)
                return
            except Conflict:
                continue
        raise Conflict("the decision is recorded, but the strategy changed meanwhile: end it")

    async def of_person(self, person_id: str) -> list[Appeal]:
        """A person's appeals, newest first (for a subject access request)."""
        return [a for a in await self.store.all() if a.person_id == person_id]

    async def all(self) -> Shown[Appeal]:
        """Every appeal, for a list shown to people: one this release cannot read is
        logged and left out (``store.readable``)."""
        return Shown.of(await self.store.read_all())

    async def of_strategy(self, strategy_id: str) -> Shown[Appeal]:
        """A strategy's appeals, for its page: as ``all``."""
        return Shown.of(await self.store.read_of_strategy(strategy_id))
