"""The register's rules (§2.4, §3.12–3.14, §8.3), as pure checks returning problems."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from callguard.domain.dates import add_months
from callguard.domain.models import (
    AdjustmentKind,
    AdjustmentOverride,
    AdvocateOnly,
    Person,
    Restriction,
)
from callguard.domain.roles import Role, has_at_least
from callguard.policy import Policy

FieldProblem = tuple[str, str]  # (field path, reason)


def kinds_role_cannot_create(
    restrictions: Sequence[Restriction], role: Role, policy: Policy
) -> list[str]:
    """Restriction kinds that ``role`` may not create (§8.3: no_response is the CEO's)."""
    return [r.kind for r in restrictions if not has_at_least(role, policy.role_to_create(r.kind))]


def review_due_problems(
    review_due: date, start: date, today: date, policy: Policy, field: str = "review_due"
) -> list[FieldProblem]:
    months = policy.reviews.max_interval_months
    latest = add_months(start, months)
    problems: list[FieldProblem] = []
    if review_due <= today:
        problems.append((field, f"must be after today ({today.isoformat()})"))
    if review_due > latest:
        problems.append(
            (
                field,
                f"must be no more than {months} calendar months after the start "
                f"({start.isoformat()}): {latest.isoformat()} at the latest (§3.12)",
            )
        )
    return problems


def restriction_problems(
    restrictions: Sequence[Restriction],
    person: Person,
    override: AdjustmentOverride | None,
    field_prefix: str = "",
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    kinds = {r.kind for r in restrictions}
    if (
        "written_only" in kinds
        and person.has_adjustment(AdjustmentKind.needs_phone_contact)
        and override is None
    ):
        problems.append(
            (
                f"{field_prefix}adjustment_override",
                "required: the person has a needs_phone_contact reasonable adjustment, so "
                "written_only needs a justification and the name of whoever gave equality "
                "advice (§2.4, §3.13–3.14, §8.4)",
            )
        )
    for index, restriction in enumerate(restrictions):
        if isinstance(restriction, AdvocateOnly):
            own = set(person.phones) & set(restriction.advocate_phones)
            if own:
                problems.append(
                    (
                        f"{field_prefix}restrictions[{index}].advocate_phones",
                        "an advocate's number cannot be one of the person's own numbers",
                    )
                )
    return problems


def notified_on_problems(
    notified_on: date | None, today: date, field: str = "notified_on"
) -> list[FieldProblem]:
    if notified_on is not None and notified_on > today:
        return [(field, f"must not be in the future (today is {today.isoformat()})")]
    return []
