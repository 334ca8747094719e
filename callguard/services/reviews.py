"""Strategy reviews as a scheduled duty (§3.12, §3.14).

For each active strategy:

- before ``review_due``: a reminder to its owner (``created_by``) at each of
  ``reviews.reminder_days_before`` days before it, once per (strategy, review_due, offset).
  Keyed on the date, not the version: a revision that leaves the date alone does not
  restart the reminders; a review that sets a new date does.
- after it, with ``reviews.overdue = "flag"``: the strategy stays in force, and its owner
  and their line manager are told once per office-local day until it is reviewed.
- after it, with ``reviews.overdue = "lapse"``: the strategy ends (status ``lapsed``)
  through the register's compare-and-set on its version, with a revision "review overdue"
  and an audit entry; its owner and their line manager are told the person must now be
  told (§3.14). Lapsing and telling are two writes: if a replica dies between them, the
  next run finds the lapsed strategy without its notice and sends it then.

Every overdue review is also remembered for the quarterly oversight report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from callguard import wording
from callguard.domain.audit import AuditEntry
from callguard.domain.duties import (
    days_overdue,
    first_overdue_at,
    local_day,
    review_reminder,
)
from callguard.domain.models import Revision, Strategy, StrategyStatus
from callguard.policy import Policy
from callguard.services.reminders import Notice, Outbox, Recipients
from callguard.store.register import RegisterStore
from callguard.store.reports import ReportStore

# Who the register and audit trail name for changes no person made.
SYSTEM_ACTOR = "callguard.scheduler"
SYSTEM_ROLE = "system"
LAPSE_WHY = "review overdue"
# A lapse whose notice was lost (a replica died between the two writes) is caught up this
# long afterwards at most; older lapses are history.
LAPSE_NOTICE_CATCH_UP = timedelta(days=7)
_DAY_S = 24 * 3600


@dataclass
class ReviewRun:
    reminders: int = 0
    escalations: int = 0
    lapsed: int = 0
    lapse_notices: int = 0
    overdue: int = 0

    def summary(self) -> dict[str, int]:
        return dict(self.__dict__)


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


class ReviewDuties:
    def __init__(
        self,
        store: RegisterStore,
        reports: ReportStore,
        outbox: Outbox,
        recipients: Recipients,
        policy: Policy,
        tz: ZoneInfo,
    ) -> None:
        self.store = store
        self.reports = reports
        self.outbox = outbox
        self.recipients = recipients
        self.policy = policy
        self.tz = tz

    async def run(self, now: datetime) -> dict[str, int]:
        run = ReviewRun()
        today = local_day(now, self.tz)
        # Read a few at a time as the run goes: a long run must not act on a strategy as it
        # was long before (a lapse is a compare-and-set on the version besides).
        async for strategy in self.store.every_strategy():
            if strategy.status is StrategyStatus.active:
                await self._active(strategy, today, now, run)
            elif self._lapsed_recently(strategy, now):
                run.lapse_notices += await self._lapse_notice(strategy, now)
        return run.summary()

    async def _active(self, strategy: Strategy, today: date, now: datetime, run: ReviewRun) -> None:
        reminder = review_reminder(
            strategy.review_due, today, self.policy.reviews.reminder_days_before
        )
        if reminder is not None:
            due = strategy.review_due.isoformat()
            event = f"review-reminder:{strategy.id}:{due}"
            left = "today" if reminder.days_left == 0 else f"in {_days(reminder.days_left)}"
            notice = Notice(
                user=strategy.created_by,
                kind="review_reminder",
                at=now,
                title=f"Review due {left}: contact strategy for {strategy.matter_ref}",
                text=(
                    f"The review of the contact strategy for {strategy.matter_ref} is due on "
                    f"{wording.long_date(strategy.review_due)} (§3.12). Check it is still "
                    "appropriate and fit for purpose, then record the review: continue, "
                    "revise or end."
                ),
                staff=strategy.created_by,
                strategy_id=strategy.id,
            )
            ttl_s = ((strategy.review_due - today).days + 35) * _DAY_S
            sent = await self.outbox.send_once(
                f"{event}:{reminder.offset_days}",
                [notice],
                ttl_s,
                covers=[f"{event}:{o}" for o in reminder.covers[1:]],
            )
            run.reminders += sent
            return
        late = days_overdue(strategy.review_due, today)
        if late == 0:
            return
        run.overdue += 1
        await self.reports.record_overdue(
            strategy.id,
            strategy.review_due.isoformat(),
            first_overdue_at(strategy.review_due, self.tz),
        )
        if self.policy.reviews.overdue == "lapse":
            lapsed = await self._lapse(strategy, now)
            if lapsed is not None:
                run.lapsed += 1
                run.lapse_notices += await self._lapse_notice(lapsed, now)
            return
        run.escalations += await self._escalate(strategy, today, late, now)

    async def _tell_owner_and_manager(self, strategy: Strategy) -> list[str]:
        owner = strategy.created_by
        managers = await self.recipients.escalation_for(owner)
        return [owner, *[m for m in managers if m != owner]]

    async def _escalate(self, strategy: Strategy, today: date, late: int, now: datetime) -> int:
        due = strategy.review_due.isoformat()
        owner = await self.recipients.full_name(strategy.created_by)
        notices = [
            Notice(
                user=user,
                kind="review_overdue",
                at=now,
                title=f"Review overdue by {_days(late)}: contact strategy for "
                f"{strategy.matter_ref}",
                text=(
                    f"The review of the contact strategy for {strategy.matter_ref}, owned by "
                    f"{owner}, was due on {wording.long_date(strategy.review_due)} "
                    "and has not been done "
                    "(§3.12: at most every three months). The strategy stays in force until it "
                    "is reviewed; this reminder repeats daily."
                ),
                staff=strategy.created_by,
                strategy_id=strategy.id,
            )
            for user in await self._tell_owner_and_manager(strategy)
        ]
        event = f"review-overdue:{strategy.id}:{due}:{today.isoformat()}"
        return int(await self.outbox.send_once(event, notices, 3 * _DAY_S))

    async def _lapse(self, current: Strategy, now: datetime) -> Strategy | None:
        """End ``current`` as lapsed; None if someone changed it meanwhile (next run sees)."""
        revision = Revision(
            version=current.version + 1,
            at=now,
            by=SYSTEM_ACTOR,
            why=LAPSE_WHY,
            changed=["status"],
            before={"status": current.status.value},
            after={"status": StrategyStatus.lapsed.value},
        )
        lapsed = current.model_copy(
            update={
                "version": current.version + 1,
                "updated_at": now,
                "status": StrategyStatus.lapsed,
                "ended_at": now,
                "ended_by": SYSTEM_ACTOR,
                "end_why": LAPSE_WHY,
                "revisions": [*current.revisions, revision],
            }
        )
        entry = AuditEntry(
            at=now,
            who=SYSTEM_ACTOR,
            role=SYSTEM_ROLE,
            action="strategy.lapse",
            target=current.id,
            person_id=current.person_id,
            detail=f"review due {current.review_due.isoformat()} not done",
        )
        stored = await self.store.replace_strategy(current.version, lapsed, entry)
        return lapsed if stored else None

    def _lapsed_recently(self, strategy: Strategy, now: datetime) -> bool:
        return (
            strategy.status is StrategyStatus.lapsed
            and strategy.ended_by == SYSTEM_ACTOR
            and strategy.ended_at is not None
            and now - strategy.ended_at <= LAPSE_NOTICE_CATCH_UP
        )

    async def _lapse_notice(self, strategy: Strategy, now: datetime) -> int:
        assert strategy.ended_at is not None
        ended_on = wording.long_date(local_day(strategy.ended_at, self.tz))
        notices = [
            Notice(
                user=user,
                kind="strategy_lapsed",
                at=now,
                title=f"Contact strategy lapsed: {strategy.matter_ref}. The person must be told",
                text=(
                    f"The contact strategy for {strategy.matter_ref} lapsed on {ended_on} "
                    f"because its review, due {wording.long_date(strategy.review_due)}, "
                    "was not done (§3.12). Its restrictions no longer apply. The person must "
                    "be told that the strategy has ended (§3.14); record the date they were "
                    f"told against version {strategy.version}."
                ),
                staff=strategy.created_by,
                strategy_id=strategy.id,
            )
            for user in await self._tell_owner_and_manager(strategy)
        ]
        event = f"strategy-lapsed:{strategy.id}"
        ttl_s = int(2 * LAPSE_NOTICE_CATCH_UP.total_seconds())
        return int(await self.outbox.send_once(event, notices, ttl_s))
