"""The quarterly oversight report: every restriction in one summary (§3.4–3.15, §6.4).

Counts only: no names, numbers or ids of people, so it can go to whoever oversees the
office. For a quarter (office-local calendar quarter):

- strategies in force at any time in it, active at its end (or now, while it runs), new in
  it, ended by a decision in it, lapsed in it; restrictions in force by kind at its end.
  "In force" means applied to calls (§3.6, notice before effect): a strategy counts from
  when the person was told of it in writing (or it was made as an interim measure), and
  its restrictions are those of the version that applied then, not a revision made but not
  yet told of. Strategies made but still awaiting notice at the end are counted apart;
  one ended before it ever applied is in none of the other counts;
- reviews that fell overdue in it (remembered by the review duty, plus any overdue now);
- appeals received in it, decided in it (by outcome), and awaiting a decision past their
  due date at its end;
- breaches: refused calls under strategies (a call refused under two strategies breaches
  both) and refused calls; calls ended by staff, by reason code.

A completed quarter's report is kept once made (by the daily job on the first day after the
quarter, or by the first request for it), so it still says the same after retention has
deleted the call records it counted.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from callguard.domain.appeals import Appeal
from callguard.domain.duties import Quarter, first_overdue_at, local_day
from callguard.domain.models import Strategy, StrategyStatus
from callguard.domain.notice import applied_at, first_applied, restrictions_at
from callguard.services.errors import Invalid
from callguard.store.appeals import AppealStore
from callguard.store.call_records import CallStore
from callguard.store.register import RegisterStore
from callguard.store.reports import ReportStore


class StrategyCounts(BaseModel):
    in_force: int  # applied to calls at some time in the quarter
    active_at_end: int  # applied to calls at its end (or now)
    new: int  # first applied to calls in it
    ended: int  # applied, then ended by a decision in it
    lapsed: int  # applied, then lapsed in it
    # Made but the person not yet told in writing at its end (or now), so applied to no
    # call. None in reports kept before it was counted (they counted these as in force).
    awaiting_notice: int | None = None


class CallCounts(BaseModel):
    breaches: int
    refused: int
    ended_by_staff: int
    ended_by_reason: dict[str, int]


class AppealCounts(BaseModel):
    received: int = 0
    decided: int = 0
    upheld: int = 0
    varied: int = 0
    ended: int = 0
    overdue: int = 0  # awaiting a decision past its due date at the quarter's end (or now)


class OversightReport(BaseModel):
    quarter: str
    starts_on: date
    ends_on: date
    generated_at: datetime
    complete: bool  # the quarter had ended when this was made
    strategies: StrategyCounts
    restrictions_in_force: dict[str, int]
    reviews_overdue: int
    calls: CallCounts
    # Reports kept before appeals were counted read as none.
    appeals: AppealCounts = AppealCounts()


def report_csv(report: OversightReport) -> str:
    """Two columns, metric and value, one row per number."""
    rows: list[tuple[str, object]] = [
        ("quarter", report.quarter),
        ("starts_on", report.starts_on.isoformat()),
        ("ends_on", report.ends_on.isoformat()),
        ("generated_at", report.generated_at.isoformat()),
        ("complete", "yes" if report.complete else "no"),
    ]
    rows += [
        (f"strategies.{k}", "not counted" if v is None else v)
        for k, v in report.strategies.model_dump().items()
    ]
    rows += [(f"restrictions_in_force.{k}", v) for k, v in report.restrictions_in_force.items()]
    rows.append(("reviews_overdue", report.reviews_overdue))
    rows += [
        ("calls.breaches", report.calls.breaches),
        ("calls.refused", report.calls.refused),
        ("calls.ended_by_staff", report.calls.ended_by_staff),
    ]
    rows += [(f"calls.ended_by_reason.{k}", v) for k, v in report.calls.ended_by_reason.items()]
    rows += [(f"appeals.{k}", v) for k, v in report.appeals.model_dump().items()]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("metric", "value"))
    writer.writerows(rows)
    return out.getvalue()


class OversightReports:
    def __init__(
        self,
        store: ReportStore,
        register: RegisterStore,
        calls: CallStore,
        tz: ZoneInfo,
        *,
        appeals: AppealStore | None = None,
    ) -> None:
        self.appeals = appeals
        self.store = store
        self.register = register
        self.calls = calls
        self.tz = tz

    async def report(self, quarter: Quarter, now: datetime) -> OversightReport:
        """The kept report for a completed quarter, else one made now (and kept if complete)."""
        kept = await self.store.get(str(quarter))
        if kept is not None:
            return OversightReport.model_validate_json(kept)
        start, _end = quarter.bounds(self.tz)
        if start > now:
            raise Invalid([("quarter", f"{quarter} has not started yet")])
        report = await self.generate(quarter, now)
        if report.complete and not await self.store.put_if_absent(
            str(quarter), report.model_dump_json()
        ):
            kept = await self.store.get(str(quarter))
            assert kept is not None
            return OversightReport.model_validate_json(kept)
        return report

    async def keep_previous_quarter(self, now: datetime) -> dict[str, str]:
        """The scheduled job: make and keep the last quarter's report if it is not kept yet."""
        quarter = Quarter.of(local_day(now, self.tz)).previous()
        if await self.store.get(str(quarter)) is not None:
            return {"quarter": str(quarter), "outcome": "already_kept"}
        await self.report(quarter, now)
        return {"quarter": str(quarter), "outcome": "kept"}

    async def generate(self, quarter: Quarter, now: datetime) -> OversightReport:
        start, end = quarter.bounds(self.tz)
        reference = min(end, now)
        strategies, _total = await self.register.list_strategies(0, 1_000_000)
        first = {s.id: first_applied(s) for s in strategies}
        in_force = [s for s in strategies if _in_force(s, first[s.id], start, end)]
        # The version each applied at the end: a revision not yet told of is not counted.
        at_end = {s.id: v for s in in_force if (v := applied_at(s, reference)) is not None}
        kinds = Counter(
            r.kind for s in in_force if s.id in at_end for r in restrictions_at(s, at_end[s.id])
        )
        ended_in = [s for s in in_force if s.ended_at is not None and start <= s.ended_at < end]
        overdue = await self.store.overdue_between(start, end)
        today = local_day(now, self.tz)
        for s in strategies:
            overdue_at = first_overdue_at(s.review_due, self.tz)
            if (
                s.status is StrategyStatus.active
                and s.review_due < today
                and start <= overdue_at < end
            ):
                overdue.add(f"{s.id}:{s.review_due.isoformat()}")
        breaches = 0
        for s in in_force:
            breaches += await self.store.count_between(self.store.keys.breaches(s.id), start, end)
        sids = await self.store.members_between(self.store.keys.CALLS, start, end)
        ended = Counter(r.ended.reason for r in await self.calls.many(sids) if r.ended is not None)
        return OversightReport(
            quarter=str(quarter),
            starts_on=quarter.starts_on,
            ends_on=quarter.ends_on,
            generated_at=now,
            complete=now >= end,
            strategies=StrategyCounts(
                in_force=len(in_force),
                active_at_end=len(at_end),
                new=sum(1 for s in in_force if (f := first[s.id]) is not None and start <= f),
                ended=sum(1 for s in ended_in if s.status is StrategyStatus.ended),
                lapsed=sum(1 for s in ended_in if s.status is StrategyStatus.lapsed),
                awaiting_notice=sum(1 for s in strategies if _awaiting_notice_at(s, reference)),
            ),
            restrictions_in_force=dict(sorted(kinds.items())),
            reviews_overdue=len(overdue),
            calls=CallCounts(
                breaches=breaches,
                refused=await self.store.count_between(
                    self.store.keys.calls_by_outcome("refuse"), start, end
                ),
                ended_by_staff=sum(ended.values()),
                ended_by_reason=dict(sorted(ended.items())),
            ),
            appeals=await self._appeal_counts(start, end, reference),
        )

    async def _appeal_counts(
        self, start: datetime, end: datetime, reference: datetime
    ) -> AppealCounts:
        appeals = await self.appeals.all() if self.appeals else []
        local = [a.received_on for a in appeals]
        first, last = local_day(start, self.tz), local_day(end, self.tz)
        decided = [a for a in appeals if a.decided_at is not None and start <= a.decided_at < end]
        outcomes = Counter(a.outcome for a in decided)
        at_day = local_day(reference, self.tz)
        return AppealCounts(
            received=sum(1 for day in local if first <= day < last),
            decided=len(decided),
            upheld=outcomes["upheld"],
            varied=outcomes["varied"],
            ended=outcomes["ended"],
            overdue=sum(1 for a in appeals if _overdue_at(a, reference, at_day)),
        )


def _in_force(strategy: Strategy, first: datetime | None, start: datetime, end: datetime) -> bool:
    """Applied to calls at some time in [start, end); ``first``: when it first applied."""
    return (
        first is not None
        and first < end
        and (strategy.ended_at is None or strategy.ended_at >= start)
    )


def _awaiting_notice_at(strategy: Strategy, moment: datetime) -> bool:
    """Made by ``moment``, not ended by then, and no version of it applied to calls yet."""
    return (
        strategy.created_at <= moment
        and (strategy.ended_at is None or strategy.ended_at > moment)
        and applied_at(strategy, moment) is None
    )


def _overdue_at(appeal: Appeal, moment: datetime, day: date) -> bool:
    """Awaiting a decision at ``moment`` (received by then, not decided by then) and past due."""
    decided_by_then = appeal.decided_at is not None and appeal.decided_at <= moment
    return appeal.recorded_at <= moment and not decided_by_then and appeal.due_on < day
