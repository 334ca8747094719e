"""Register use cases: people and contact strategies (§3.4–3.15)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from callguard.domain import notice
from callguard.domain.audit import AuditEntry
from callguard.domain.models import (
    EndIn,
    NotifiedIn,
    Person,
    PersonIn,
    Review,
    ReviewIn,
    Revision,
    RevisionIn,
    Share,
    ShareIn,
    Strategy,
    StrategyIn,
    StrategyStatus,
)
from callguard.domain.rules import (
    FieldProblem,
    kinds_role_cannot_create,
    notified_on_problems,
    restriction_problems,
    review_due_problems,
    status_at_creation,
)
from callguard.domain.users import Actor
from callguard.policy import Policy
from callguard.services.errors import (
    Conflict,
    Forbidden,
    Invalid,
    KeptChanging,
    NotActive,
    NotFound,
    StaleVersion,
)
from callguard.services.kept_refusals import KeptRefusals
from callguard.services.revisions import fields_to_change, next_version, revision_problems
from callguard.store.register import PersonChanged, PhoneTaken, RegisterStore

# Tries at an edit checked against a person, or a person's strategies, that another edit
# changed between the reading and the writing: each loss means that edit landed, and this
# one is checked again against it, so neither is lost and nothing goes unchecked.
EDIT_ATTEMPTS = 20


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def _audit(
    actor: Actor, now: datetime, action: str, target: str, person_id: str, detail: str = ""
) -> AuditEntry:
    return AuditEntry(
        at=now,
        who=actor.name,
        role=actor.role.value,
        action=action,
        target=target,
        person_id=person_id,
        detail=detail,
    )


def _check_interim(interim: bool, actor: Actor) -> None:
    if interim and not notice.may_apply_interim(actor.role):
        raise Forbidden(
            "only the chief executive may apply a strategy before the person is told in "
            "writing (an interim measure, §3.6)"
        )


def _check_may_keep(current: Strategy, actor: Actor, policy: Policy) -> None:
    """Continuing or changing a strategy is deciding it again: one holding a kind the role
    may not create (no_response, §8.3) is the chief executive's to keep. Ending is not."""
    held = kinds_role_cannot_create(current.restrictions, actor.role, policy)
    if held:
        what = "not to respond" if held == ["no_response"] else "on " + ", ".join(held)
        raise Forbidden(
            "only the chief executive may continue or change this strategy: the decision "
            f"{what} is theirs (§8.3). You may end it."
        )


class Register:
    def __init__(
        self,
        store: RegisterStore,
        policy: Policy,
        tz: ZoneInfo,
        kept: KeptRefusals | None = None,
    ) -> None:
        """``kept``: the refusals kept for callers' next calls, refreshed on every change
        this makes to a person's strategies or numbers (none: a copy is not refreshed, so
        not used, and its caller's next call keeps one afresh; so too for a strategy the
        review duty lets lapse, which changes it without this)."""
        self.store = store
        self.policy = policy
        self.tz = tz
        self.kept = kept

    async def refresh_kept(self, phones: Sequence[str], now: datetime) -> None:
        """The refusals kept for ``phones`` made right for the register as it is now."""
        if self.kept is not None:
            await self.kept.refresh(phones, now)

    def today(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    # --- people ------------------------------------------------------------------------------

    async def create_person(self, body: PersonIn, actor: Actor, now: datetime) -> Person:
        person = Person(
            **body.model_dump(),
            id=new_id("per"),
            created_at=now,
            created_by=actor.name,
            updated_at=now,
        )
        try:
            await self.store.create_person(
                person, _audit(actor, now, "person.create", person.id, person.id)
            )
        except PhoneTaken as taken:
            raise Conflict(f"phones[{taken.index}] is already held by another person") from taken
        return person

    async def person(self, person_id: str, actor: Actor, now: datetime) -> Person:
        """Read a person's record; every read is audited."""
        person = await self.store.get_person(person_id)
        if person is None:
            raise NotFound(f"no person {person_id}")
        await self.store.audit(_audit(actor, now, "person.read", person_id, person_id))
        return person

    # --- strategies --------------------------------------------------------------------------

    async def create_strategy(self, body: StrategyIn, actor: Actor, now: datetime) -> Strategy:
        refused = kinds_role_cannot_create(body.restrictions, actor.role, self.policy)
        if refused:
            raise Forbidden(
                f"the {actor.role.value} role may not create {', '.join(refused)} restrictions"
                " (§8.3: no_response needs the chief executive)"
            )
        _check_interim(body.interim, actor)
        today = self.today(now)
        for _attempt in range(EDIT_ATTEMPTS):
            person = await self.store.get_person(body.person_id)
            if person is None:
                raise Invalid([("person_id", f"no person {body.person_id}")])
            problems: list[FieldProblem] = [
                *review_due_problems(body.review_due, today, today, self.policy),
                *restriction_problems(
                    body.restrictions, person, body.adjustment_override, self.policy
                ),
                *notified_on_problems(body.notified_on, today),
                *notice.interim_field_problems(
                    body.interim, body.notified_on, body.restrictions, self.policy
                ),
            ]
            if problems:
                raise Invalid(problems)
            status, applied, interim_versions = status_at_creation(body.notified_on, body.interim)
            strategy = Strategy(
                **body.model_dump(exclude={"restrictions", "interim"}),
                restrictions=body.restrictions,
                id=new_id("str"),
                starts_on=today,
                status=status,
                applied_version=applied,
                interim_versions=interim_versions,
                notices=notice.given_with(1, body.notified_on, actor.name, now),
                version=1,
                created_at=now,
                created_by=actor.name,
                updated_at=now,
            )
            entry = _audit(actor, now, "strategy.create", strategy.id, person.id)
            try:
                await self.store.create_strategy(strategy, entry, checked_against=person)
            except PersonChanged:
                continue  # checked again against the person as they are now
            await self.refresh_kept(person.phones, now)
            return strategy
        raise KeptChanging("The person’s details")

    async def strategy(self, strategy_id: str) -> Strategy:
        strategy = await self.store.get_strategy(strategy_id)
        if strategy is None:
            raise NotFound(f"no strategy {strategy_id}")
        return strategy

    async def revise(
        self,
        strategy_id: str,
        body: RevisionIn,
        actor: Actor,
        now: datetime,
        *,
        review: Review | None = None,
        field_prefix: str = "",
    ) -> Strategy:
        """A new version of the strategy with ``body``'s changes, its revision recorded;
        ``review`` (and ``field_prefix``, for the problems' fields) when a review revises it."""
        _check_interim(body.interim, actor)
        current = await self._current(strategy_id, body.expected_version)
        _check_may_keep(current, actor, self.policy)
        changes = fields_to_change(body, actor, self.policy, field_prefix)
        proposed = current.model_copy(
            update={name: getattr(body.changes, name) for name in changes}
        )
        action = "strategy.review.revise" if review else "strategy.revise"
        for _attempt in range(EDIT_ATTEMPTS):
            person = await self.store.get_person(current.person_id)
            assert person is not None
            problems = revision_problems(
                body, proposed, person, changes, self.today(now), self.policy, field_prefix
            )
            if problems:
                raise Invalid(problems)
            new = next_version(current, proposed, changes, body, actor, now, review)
            changed = ",".join(new.revisions[-1].changed)
            try:
                await self._replace(current, new, actor, now, action, changed, person)
            except PersonChanged:
                continue  # checked again against the person as they are now
            return new
        raise KeptChanging("The person’s details")

    async def review(
        self, strategy_id: str, body: ReviewIn, actor: Actor, now: datetime
    ) -> Strategy:
        """Record a review (§3.12): continue with a new date, revise, or end."""
        review = Review(
            at=now,
            by=actor.name,
            outcome=body.outcome,
            notes=body.notes,
            next_review_due=body.next_review_due,
        )
        today = self.today(now)
        if body.outcome == "revise":
            assert body.revision is not None and body.next_review_due is not None
            changes = body.revision.changes.model_copy(update={"review_due": body.next_review_due})
            revision = body.revision.model_copy(
                update={"changes": changes, "expected_version": body.expected_version}
            )
            return await self.revise(
                strategy_id, revision, actor, now, review=review, field_prefix="revision."
            )
        current = await self._current(strategy_id, body.expected_version)
        if body.outcome == "end":
            return await self._end(current, body.notes, body.notified_on, actor, now, review)
        _check_may_keep(current, actor, self.policy)
        assert body.next_review_due is not None
        problems = review_due_problems(
            body.next_review_due, today, today, self.policy, "next_review_due"
        )
        if problems:
            raise Invalid(problems)
        new = current.model_copy(
            update={
                "version": current.version + 1,
                "updated_at": now,
                "review_due": body.next_review_due,
                "reviews": [*current.reviews, review],
            }
        )
        await self._replace(current, new, actor, now, "strategy.review.continue")
        return new

    async def end(self, strategy_id: str, body: EndIn, actor: Actor, now: datetime) -> Strategy:
        current = await self._current(strategy_id, body.expected_version)
        problems = notified_on_problems(body.notified_on, self.today(now))
        if problems:
            raise Invalid(problems)
        return await self._end(current, body.why, body.notified_on, actor, now, None)

    async def _end(
        self,
        current: Strategy,
        why: str,
        notified_on: date | None,
        actor: Actor,
        now: datetime,
        review: Review | None,
    ) -> Strategy:
        revision = Revision(
            version=current.version + 1,
            at=now,
            by=actor.name,
            why=why,
            changed=["status"],
            before={"status": current.status.value},
            after={"status": StrategyStatus.ended.value},
            notified_on=notified_on,
        )
        new = current.model_copy(
            update={
                "version": current.version + 1,
                "updated_at": now,
                "status": StrategyStatus.ended,
                "ended_at": now,
                "ended_by": actor.name,
                "end_why": why,
                "revisions": [*current.revisions, revision],
                "reviews": [*current.reviews, review] if review else current.reviews,
            }
        )
        await self._replace(current, new, actor, now, "strategy.end")
        return new

    async def record_notified(
        self, strategy_id: str, version: int, body: NotifiedIn, actor: Actor, now: datetime
    ) -> Strategy:
        """Record how and when the person was told of a version (§3.6, §3.14). A strategy
        awaiting notice becomes active; a revision told of applies from now on."""
        current = await self.strategy(strategy_id)
        problems = notified_on_problems(body.notified_on, self.today(now))
        if problems:
            raise Invalid(problems)
        if version != 1 and not any(
            r.version == version and "status" not in r.changed for r in current.revisions
        ):
            raise NotFound(f"strategy {strategy_id} has no version {version} to tell anyone of")
        new = notice.told(current, version, body, actor.name, now)
        detail = f"version {version}" + (f" by {body.method}" if body.method else "")
        await self._replace(current, new, actor, now, "strategy.notified", detail)
        return new

    async def share(self, strategy_id: str, body: ShareIn, actor: Actor, now: datetime) -> Strategy:
        """Record sharing with a partner such as the Constabulary (§3.15)."""
        current = await self.strategy(strategy_id)
        share = Share(**body.model_dump(), at=now, by=actor.name)
        new = current.model_copy(update={"shares": [*current.shares, share], "updated_at": now})
        await self._replace(current, new, actor, now, "strategy.share", body.shared_with)
        return new

    async def _current(self, strategy_id: str, expected_version: int) -> Strategy:
        current = await self.strategy(strategy_id)
        if current.status not in (StrategyStatus.active, StrategyStatus.awaiting_notice):
            raise NotActive(f"strategy {strategy_id} is {current.status.value}, not active")
        if current.version != expected_version:
            raise StaleVersion(strategy_id, current.version, expected_version)
        return current

    async def _replace(
        self,
        current: Strategy,
        new: Strategy,
        actor: Actor,
        now: datetime,
        action: str,
        detail: str = "",
        checked_against: Person | None = None,
    ) -> None:
        """Store ``new`` in place of ``current``; ``checked_against``: the person as ``new``
        was checked against them (PersonChanged if they are no longer)."""
        entry = _audit(actor, now, action, new.id, new.person_id, detail)
        stored = await self.store.replace_strategy(current.version, new, entry, checked_against)
        if not stored:  # another change landed between the reading and the writing
            latest = await self.strategy(new.id)
            raise StaleVersion(new.id, latest.version, current.version)
        if self.kept is not None:
            await self.kept.refresh_person(new.person_id, now)

    async def end_now(self, strategy_id: str, why: str, actor: Actor, now: datetime) -> Strategy:
        """End the strategy as it stands (an appeal decided ``ended``): no version to match;
        one awaiting notice as well as one in effect."""
        current = await self.strategy(strategy_id)
        if current.status not in (StrategyStatus.active, StrategyStatus.awaiting_notice):
            raise Conflict(f"strategy {strategy_id} is {current.status.value}, not in force")
        return await self._end(current, why, None, actor, now, None)

    async def read_strategy(self, strategy_id: str, actor: Actor, now: datetime) -> Strategy:
        """A strategy read by ``actor``: audited for its person (CONTRACT §7)."""
        strategy = await self.strategy(strategy_id)
        await self.store.audit(_audit(actor, now, "strategy.read", strategy.id, strategy.person_id))
        return strategy
