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
    StrategyStatus,
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
    policy: Policy,
    field_prefix: str = "",
) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    kinds = [r.kind for r in restrictions]
    if override is None:
        # §2, §8.4: the policy file says which restriction kinds conflict with which
        # reasonable adjustments; each conflict needs a justified override.
        for adjustment, conflicting in policy.adjustments.conflicts.items():
            clash = [k for k in kinds if k in conflicting]
            if clash and person.has_adjustment(AdjustmentKind(adjustment)):
                problems.append(
                    (
                        f"{field_prefix}adjustment_override",
                        f"required: the person has a {adjustment} reasonable adjustment, so "
                        f"{' and '.join(clash)} needs a justification and the name of whoever "
                        "gave equality advice (§2.4, §3.13–3.14, §8.4)",
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


def interim_problems(
    restrictions: Sequence[Restriction], policy: Policy, field: str = "restrictions"
) -> list[FieldProblem]:
    """§3.6: only the policy's interim kinds may apply before the person is told."""
    allowed = policy.notice.interim_kinds
    others = [r.kind for r in restrictions if r.kind not in allowed]
    if others:
        return [
            (
                field,
                f"an interim measure may hold only {', '.join(allowed)}; "
                f"{', '.join(others)} must wait until the person is told in writing",
            )
        ]
    return []


def status_at_creation(
    notified_on: date | None, interim: bool
) -> tuple[StrategyStatus, int | None, list[int]]:
    """§3.6: (status, applied version, interim versions) of a new strategy. Told in writing
    or an interim measure: active at once; otherwise it awaits notice, applied to no call."""
    if notified_on is not None:
        return StrategyStatus.active, 1, []
    if interim:
        return StrategyStatus.active, 1, [1]
    return StrategyStatus.awaiting_notice, None, []
