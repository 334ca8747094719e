"""Notice before effect (§3.6, §8.4, §8.6): which version of a strategy applies to calls.
Pure: time is an argument.

A strategy applies once the person has been told of it in writing. Created without
``notified_on`` it awaits notice and no call is decided by it; a revision applies once the
person is told of it, the version before it applying until then. The chief executive may
apply the policy's interim kinds at once (e.g. after threats); the caller is then told a
letter will follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from pydantic import TypeAdapter

from callguard.domain.fields import STORED
from callguard.domain.models import (
    Notice,
    NotifiedIn,
    Restriction,
    Revision,
    Strategy,
    StrategyStatus,
)
from callguard.domain.roles import Role, has_at_least
from callguard.domain.rules import FieldProblem, interim_problems
from callguard.domain.working_days import HolidayCalendar
from callguard.policy import Policy

_RESTRICTIONS: TypeAdapter[list[Restriction]] = TypeAdapter(list[Restriction])


def content_version(strategy: Strategy) -> int:
    """The latest version that set what the strategy says (a review that continues it, or
    its end, makes a new version number but says nothing new to the person)."""
    return max([1] + [r.version for r in strategy.revisions if "status" not in r.changed])


def restrictions_at(strategy: Strategy, version: int) -> list[Restriction]:
    """The restrictions as they stood at ``version``, from the revision history."""
    restrictions: list[Restriction] = list(strategy.restrictions)
    for revision in reversed(strategy.revisions):
        if revision.version > version and "restrictions" in revision.changed:
            before = revision.before["restrictions"]  # as it was stored
            restrictions = _RESTRICTIONS.validate_python(before, context=STORED)
    return restrictions


def version_notified_on(strategy: Strategy, version: int) -> date | None:
    if version == 1:
        return strategy.notified_on
    return next((r.notified_on for r in strategy.revisions if r.version == version), None)


def made_at(strategy: Strategy, version: int) -> datetime:
    """When ``version`` was made (version 1: when the strategy was created)."""
    if version == 1:
        return strategy.created_at
    return next((r.at for r in strategy.revisions if r.version == version), strategy.created_at)


def applied_from(strategy: Strategy) -> dict[int, datetime]:
    """When each version that came to apply to calls began to (§3.6): when the person was
    recorded as told of it, or when it was made if it was an interim measure or made with
    its notice already given (a notice given on creation, an imported strategy). A record
    from before notice was tracked applied each version up to the one it then applied from
    when it was made (``applied_before_tracking``; a record with neither notice records nor
    interim versions, yet a version applied, is read so too), whatever notices came since.
    A later version takes over from an earlier one (``told`` never goes back); nothing
    applies from the strategy's end (``applied_at``)."""
    recorded: dict[int, datetime] = {}
    for given in sorted(strategy.notices, key=lambda n: n.recorded_at):
        recorded.setdefault(given.version, given.recorded_at)
    before_notice = not strategy.notices and not strategy.interim_versions
    applied_then = max(
        strategy.applied_before_tracking or 0,
        (strategy.applied_version or 0) if before_notice else 0,
    )
    starts: dict[int, datetime] = {}
    for version in [1] + [r.version for r in strategy.revisions if "status" not in r.changed]:
        from_made = (
            version in strategy.interim_versions
            or (version not in recorded and version_notified_on(strategy, version) is not None)
            or version <= applied_then
        )
        candidates = [recorded[version]] if version in recorded else []
        if from_made:
            candidates.append(made_at(strategy, version))
        if candidates:
            starts[version] = min(candidates)
    return starts


def applied_at(strategy: Strategy, moment: datetime) -> int | None:
    """The version calls were decided by at ``moment``; None if none was (not yet told, or
    ended by then). At the present moment it is the strategy's ``applied_version``."""
    if strategy.ended_at is not None and strategy.ended_at <= moment:
        return None
    return max((v for v, at in applied_from(strategy).items() if at <= moment), default=None)


def first_applied(strategy: Strategy) -> datetime | None:
    """When the strategy first applied to calls; None if it never did before its end."""
    first = min(applied_from(strategy).values(), default=None)
    if first is None or (strategy.ended_at is not None and strategy.ended_at <= first):
        return None
    return first


def told_of_applied(strategy: Strategy) -> bool:
    """Whether the person was told in writing of the version applied to calls."""
    applied = strategy.applied_version
    return applied is not None and version_notified_on(strategy, applied) is not None


def restrictions_in_force(strategy: Strategy) -> list[Restriction]:
    """The restrictions as the person knows them now: those applied to calls (the version
    they were told of, or an interim measure), not a revision they have not yet been told
    of; for a strategy awaiting notice, those it will have once they are told."""
    return strategy.applied() if strategy.applied_version is not None else strategy.restrictions


def revision_awaiting_notice(strategy: Strategy) -> int | None:
    """The version of a revision the person has not yet been told of, while an earlier
    version, with other restrictions, applies to calls (none once the strategy has ended)."""
    if strategy.status is not StrategyStatus.active or strategy.applied_version is None:
        return None
    if strategy.applied_restrictions is None or strategy.applied() == strategy.restrictions:
        return None
    return content_version(strategy)


def may_apply_interim(role: Role) -> bool:
    return has_at_least(role, Role.chief_executive)


def interim_field_problems(
    interim: bool,
    notified_on: date | None,
    restrictions: Sequence[Restriction],
    policy: Policy,
    field: str = "restrictions",
    interim_field: str = "interim",
) -> list[FieldProblem]:
    if not interim:
        return []
    if notified_on is not None:
        return [(interim_field, "not needed: notified_on says the person has been told")]
    return interim_problems(restrictions, policy, field)


def given_with(
    version: int, notified_on: date | None, recorded_by: str, now: datetime
) -> list[Notice]:
    """The notice recorded with a version made with ``notified_on`` (how is not known)."""
    if notified_on is None:
        return []
    return [
        Notice(version=version, notified_on=notified_on, recorded_by=recorded_by, recorded_at=now)
    ]


def told(
    current: Strategy, version: int, body: NotifiedIn, recorded_by: str, now: datetime
) -> Strategy:
    """The strategy once the person is recorded as told of ``version``: the notice kept, the
    version's date set, a strategy awaiting notice made active, and the version applied
    when it is later than the one applied so far."""
    notice = Notice(
        version=version,
        notified_on=body.notified_on,
        method=body.method,
        recorded_by=recorded_by,
        recorded_at=now,
    )
    update: dict[str, Any] = {"updated_at": now, "notices": [*current.notices, notice]}
    if version == 1:
        update["notified_on"] = body.notified_on
    else:
        update["revisions"] = [
            r.model_copy(update={"notified_on": body.notified_on}) if r.version == version else r
            for r in current.revisions
        ]
    new = current.model_copy(update=update)
    if new.status is StrategyStatus.awaiting_notice:
        new = new.model_copy(update={"status": StrategyStatus.active})
    if new.status is StrategyStatus.active and (
        new.applied_version is None or version > new.applied_version
    ):
        latest = version == content_version(new)
        new = new.model_copy(
            update={
                "applied_version": version,
                "applied_restrictions": None if latest else restrictions_at(new, version),
            }
        )
    return new


def applied_after_revision(
    current: Strategy, proposed: Strategy, revision: Revision, interim: bool
) -> dict[str, Any]:
    """The fields a revision sets on what applies: told of it (or an interim measure), it
    applies at once; otherwise the version applied before goes on applying."""
    if current.status is StrategyStatus.awaiting_notice and revision.notified_on is None:
        return {}
    if revision.notified_on is not None or interim:
        return {
            "status": StrategyStatus.active,
            "applied_version": revision.version,
            "applied_restrictions": None,
            "interim_versions": [*current.interim_versions, revision.version]
            if interim
            else current.interim_versions,
        }
    applied = current.applied()
    return {"applied_restrictions": None if applied == proposed.restrictions else applied}


@dataclass(frozen=True)
class AwaitingNotice:
    """A version the person has not yet been told of, and since when (office-local day)."""

    version: int
    since: date
    # True for a whole strategy awaiting notice; False for a revision of one in force.
    whole_strategy: bool
    # An interim measure already in force: the letter is still owed.
    interim: bool


def awaiting_notice(strategy: Strategy, tz: tzinfo) -> AwaitingNotice | None:
    """What of ``strategy`` waits for the person to be told in writing, if anything: the
    strategy itself (awaiting notice), its latest revision while an earlier version applies,
    or an interim measure in force whose letter is owed. Ended and lapsed strategies wait
    for nothing."""
    if strategy.status not in (StrategyStatus.awaiting_notice, StrategyStatus.active):
        return None
    version = content_version(strategy)
    if version_notified_on(strategy, version) is not None:
        return None
    return AwaitingNotice(
        version=version,
        since=made_at(strategy, version).astimezone(tz).date(),
        whole_strategy=strategy.status is StrategyStatus.awaiting_notice,
        interim=version in strategy.interim_versions,
    )


def working_days_after(start: date, end: date, calendar: HolidayCalendar) -> int:
    """The working days after ``start`` up to and including ``end`` (0 if none)."""
    days = (end - start).days
    return sum(calendar.is_working_day(start + timedelta(days=n)) for n in range(1, days + 1))
