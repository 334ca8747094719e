"""A strategy's revision, the part of ``Register.revise`` that needs no store: the fields
asked to change (and whether the role may ask it), the problems with the proposed version,
and the new version with its revision recorded. ``Register.revise`` loads and writes."""

from __future__ import annotations

from datetime import date, datetime

from callguard.domain import notice
from callguard.domain.models import (
    REVISABLE_FIELDS,
    Person,
    Review,
    Revision,
    RevisionIn,
    Strategy,
)
from callguard.domain.rules import (
    FieldProblem,
    kinds_role_cannot_create,
    notified_on_problems,
    restriction_problems,
    review_due_problems,
)
from callguard.domain.users import Actor
from callguard.policy import Policy
from callguard.services.errors import Forbidden, Invalid


def fields_to_change(
    body: RevisionIn, actor: Actor, policy: Policy, field_prefix: str = ""
) -> list[str]:
    """The fields ``body`` sets: Invalid if none, Forbidden if it sets restrictions of a
    kind the actor's role may not create."""
    changes = list(body.changes.model_dump(exclude_unset=True))
    if not changes:
        raise Invalid([(f"{field_prefix}changes", "name at least one field to change")])
    if "restrictions" in changes:
        refused = kinds_role_cannot_create(body.changes.restrictions or [], actor.role, policy)
        if refused:
            raise Forbidden(
                f"the {actor.role.value} role may not set {', '.join(refused)} restrictions"
            )
    return changes


def revision_problems(
    body: RevisionIn,
    proposed: Strategy,
    person: Person,
    changes: list[str],
    today: date,
    policy: Policy,
    field_prefix: str = "",
) -> list[FieldProblem]:
    """What is wrong with the proposed version: its restrictions for this person, the date
    the person was told, an interim measure's conditions, and a review date it changes."""
    problems: list[FieldProblem] = [
        *restriction_problems(
            proposed.restrictions,
            person,
            proposed.adjustment_override,
            policy,
            field_prefix + "changes.",
        ),
        *notified_on_problems(body.notified_on, today, field_prefix + "notified_on"),
        *notice.interim_field_problems(
            body.interim,
            body.notified_on,
            proposed.restrictions,
            policy,
            field_prefix + "changes.restrictions",
            field_prefix + "interim",
        ),
    ]
    if "review_due" in changes:
        problems += review_due_problems(
            proposed.review_due, today, today, policy, field_prefix + "changes.review_due"
        )
    return problems


def next_version(
    current: Strategy,
    proposed: Strategy,
    changes: list[str],
    body: RevisionIn,
    actor: Actor,
    now: datetime,
    review: Review | None,
) -> Strategy:
    """``proposed`` as ``current``'s next version: its revision (the fields whose value
    changed, before and after) and ``review`` appended, what applies after it
    (``notice.applied_after_revision``) and the notice given with it."""
    changed = [
        name
        for name in REVISABLE_FIELDS
        if name in changes and getattr(current, name) != getattr(proposed, name)
    ]
    revision = Revision(
        version=current.version + 1,
        at=now,
        by=actor.name,
        why=body.why,
        changed=changed,
        before=current.model_dump(mode="json", include=set(changed)),
        after=proposed.model_dump(mode="json", include=set(changed)),
        notified_on=body.notified_on,
    )
    return proposed.model_copy(
        update={
            "version": current.version + 1,
            "updated_at": now,
            "revisions": [*current.revisions, revision],
            "reviews": [*current.reviews, review] if review else current.reviews,
            **notice.applied_after_revision(current, proposed, revision, body.interim),
            "notices": [
                *current.notices,
                *notice.given_with(revision.version, body.notified_on, actor.name, now),
            ],
        }
    )
