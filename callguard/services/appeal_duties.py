"""Appeal reminders as a scheduled duty, like review reminders (``services.reviews``).

For each appeal awaiting a decision: a reminder to its decider at each of
``appeals.reminder_days_before`` days before its due date (0: on the day), once per
(appeal, offset); from the day after, the decider and their line manager are told once per
office-local day until it is decided. Overdue appeals are counted in the oversight report.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from callguard import wording
from callguard.domain.appeals import Appeal, AppealStatus
from callguard.domain.duties import ReviewReminder, days_overdue, local_day, review_reminder
from callguard.policy import Policy
from callguard.services.reminders import DutyKind, Notice, Outbox, Recipients
from callguard.store.appeals import AppealStore

_DAY_S = 24 * 3600


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"


class AppealDuties:
    def __init__(
        self,
        store: AppealStore,
        outbox: Outbox,
        recipients: Recipients,
        policy: Policy,
        tz: ZoneInfo,
    ) -> None:
        self.store = store
        self.outbox = outbox
        self.recipients = recipients
        self.policy = policy
        self.tz = tz

    async def run(self, now: datetime) -> dict[str, int]:
        reminders = overdue = 0
        today = local_day(now, self.tz)
        for appeal in await self.store.all():
            if appeal.status is not AppealStatus.awaiting_decision:
                continue
            reminder = review_reminder(
                appeal.due_on, today, self.policy.appeals.reminder_days_before
            )
            if reminder is not None:
                reminders += await self._remind(appeal, reminder, today, now)
                continue
            late = days_overdue(appeal.due_on, today)
            if late > 0:
                overdue += 1
                reminders += await self._overdue(appeal, late, today, now)
        return {"reminders": reminders, "overdue": overdue}

    async def _remind(
        self, appeal: Appeal, reminder: ReviewReminder, today: date, now: datetime
    ) -> bool:
        """The reminder before the decision is due: to the decider, or, if they have left,
        to whoever they escalate to (who names another). Once per (appeal, offset): True
        if sent now."""
        left = "today" if reminder.days_left == 0 else f"in {_days(reminder.days_left)}"
        event = f"appeal-reminder:{appeal.id}"
        title = f"Appeal decision due {left}: contact strategy for {appeal.matter_ref}"
        due = wording.long_date(appeal.due_on)
        if await self.recipients.can_act(appeal.decider):
            to = [appeal.decider]
            text = (
                f"You were named to decide the appeal against the contact strategy for "
                f"{appeal.matter_ref}, received on "
                f"{wording.long_date(appeal.received_on)}. The decision is due on "
                f"{due}: uphold, vary or end the strategy, with your reasons."
            )
        else:  # the decider has left: whoever they escalate to names another
            to = await self.recipients.escalation_for(appeal.decider)
            decider = await self.recipients.full_name(appeal.decider)
            text = (
                f"{decider} was named to decide the appeal against the contact "
                f"strategy for {appeal.matter_ref} but can no longer sign in. The "
                f"decision is due on {due}: name another decider on the appeal's page."
            )
        notices = [self._notice(appeal, user, "appeal_reminder", now, title, text) for user in to]
        ttl_s = ((appeal.due_on - today).days + 35) * _DAY_S
        return await self.outbox.send_once(
            f"{event}:{reminder.offset_days}",
            notices,
            ttl_s,
            covers=[f"{event}:{o}" for o in reminder.covers[1:]],
        )

    async def _overdue(self, appeal: Appeal, late: int, today: date, now: datetime) -> bool:
        """The decider and their line manager (the chief executive if none is recorded),
        told once per office-local day: True if sent now."""
        managers = await self.recipients.escalation_for(appeal.decider)
        decider = await self.recipients.full_name(appeal.decider)
        notices = [
            self._notice(
                appeal,
                user,
                "appeal_overdue",
                now,
                f"Appeal decision overdue by {_days(late)}: contact strategy for "
                f"{appeal.matter_ref}",
                f"The appeal against the contact strategy for {appeal.matter_ref}, to be "
                f"decided by {decider}, was due on "
                f"{wording.long_date(appeal.due_on)} and has not been decided. This "
                "reminder repeats daily until it is.",
            )
            for user in [appeal.decider, *[m for m in managers if m != appeal.decider]]
        ]
        event = f"appeal-overdue:{appeal.id}:{today.isoformat()}"
        return await self.outbox.send_once(event, notices, 3 * _DAY_S)

    @staticmethod
    def _notice(
        appeal: Appeal, user: str, kind: DutyKind, now: datetime, title: str, text: str
    ) -> Notice:
        return Notice(
            user=user,
            kind=kind,
            at=now,
            title=title,
            text=text,
            staff=appeal.decider,
            strategy_id=appeal.strategy_id,
        )
