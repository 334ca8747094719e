"""Changing a person's details (``PATCH /api/v1/people/{id}``, the "Change their details"
page): only the fields sent change, each list sent replaces the one held; refused, in
words, when the change would break one of their active strategies."""

from __future__ import annotations

import hashlib
from datetime import datetime

from callguard.domain.models import Person, PersonPatch, Strategy, StrategyStatus
from callguard.domain.rules import FieldProblem, restriction_problems
from callguard.domain.users import Actor
from callguard.services.errors import Conflict, Invalid, KeptChanging, NotFound
from callguard.services.register import EDIT_ATTEMPTS, Register, _audit
from callguard.store.register import PhoneTaken

_IN_FORCE_OR_TO_BE = (StrategyStatus.active, StrategyStatus.awaiting_notice)


def _in_words(strategy: Strategy, field: str) -> FieldProblem:
    matter = f"the strategy for matter {strategy.matter_ref}"
    if field.endswith("adjustment_override"):
        return (
            "reasonable_adjustments",
            f"{matter} allows written contact only: someone who needs phone contact can be "
            "held to it only with an adjustment override, so change the strategy first",
        )
    return (
        "phones",
        f"a number in {matter} is the person's advocate's: it cannot also be their own",
    )


class PhoneHeld(Conflict):
    """A new phone is already another person's."""


class ChangedMeanwhile(Conflict):
    """The person's details are no longer those the change was made to (someone else
    changed them after the form was shown)."""


def digest(person: Person) -> str:
    """The person's details in a few characters: the change form holds it, so a change made
    to details since changed by someone else is refused (``update_person``'s
    ``shown_as``) instead of putting back what they replaced."""
    return hashlib.sha256(person.model_dump_json().encode()).hexdigest()[:32]


async def update_person(
    register: Register,
    person_id: str,
    patch: PersonPatch,
    actor: Actor,
    now: datetime,
    shown_as: str | None = None,
) -> Person:
    """``shown_as``: the ``digest`` of the person the change was made to, when it was made
    on a form showing all their details (each sent back whether changed or not)."""
    changes = patch.model_dump(exclude_unset=True)
    nulls = [(name, "leave it out to keep it as it is") for name, v in changes.items() if v is None]
    if nulls:
        raise Invalid(nulls)
    detail = ", ".join(sorted(changes)) or "nothing"
    for _attempt in range(EDIT_ATTEMPTS):
        read = await register.store.read_person(person_id)
        if read is None:
            raise NotFound(f"no person {person_id}")
        if shown_as is not None and digest(read.person) != shown_as:
            raise ChangedMeanwhile(f"person {person_id} changed since the form was shown")
        edited = read.person.model_copy(update={**_typed(patch, changes), "updated_at": now})
        problems: list[FieldProblem] = []
        # Those awaiting notice too: they apply as soon as the person is told (CONTRACT §7).
        for strategy in read.strategies:
            if strategy.status not in _IN_FORCE_OR_TO_BE:
                continue
            for field, _reason in restriction_problems(
                strategy.restrictions, edited, strategy.adjustment_override, register.policy
            ):
                problems.append(_in_words(strategy, field))
        if problems:
            raise Invalid(problems)
        try:
            written = await register.store.update_person(
                edited, read, _audit(actor, now, "person.update", person_id, person_id, detail)
            )
        except PhoneTaken as taken:
            raise PhoneHeld(f"phones[{taken.index}] is already held by another person") from taken
        if written == "missing":
            raise NotFound(f"no person {person_id}")
        if written == "updated":
            await register.refresh_kept([*read.person.phones, *edited.phones], now)
            return edited
    raise KeptChanging("This person’s details or strategies")


def _typed(patch: PersonPatch, changes: dict[str, object]) -> dict[str, object]:
    """The fields sent, as the patch validated them (lists of models, not dicts)."""
    return {name: getattr(patch, name) for name in changes if getattr(patch, name) is not None}
