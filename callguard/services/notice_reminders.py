"""Reminders of strategies awaiting notice (§3.6) as a scheduled duty.

A strategy (or a revision of one) whose person has not been told in writing for more than
``notice.remind_after_working_days`` working days (weekends and England and Wales bank
holidays skipped) is reminded to its owner (``created_by``; once their account is disabled,
whom they escalate to), by notification and e-mail as review reminders are, once per
(strategy, version) however often the job runs.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from callguard import wording
from callguard.domain.duties import local_day
from callguard.domain.notice import awaiting_notice, working_days_after
from callguard.domain.working_days import HolidayCalendar
from callguard.policy import Policy
from callguard.services.reminders import Notice, Outbox, Recipients
from callguard.store.register import RegisterStore

# A reminder's marker outlives any strategy's wait for notice (reviews are at most a year).
_MARKER_TTL_S = 400 * 24 * 3600


class NoticeReminders:
    def __init__(
        self,
        store: RegisterStore,
        outbox: Outbox,
        policy: Policy,
        tz: ZoneInfo,
        holidays: HolidayCalendar,
        recipients: Recipients | None = None,
    ) -> None:
        self.recipients = recipients
        self.store = store
        self.outbox = outbox
        self.policy = policy
        self.tz = tz
        self.holidays = holidays

    async def run(self, now: datetime) -> dict[str, int]:
        today = local_day(now, self.tz)
        limit = self.policy.notice.remind_after_working_days
        waiting = reminded = 0
        async for strategy in self.store.every_strategy():
            awaiting = awaiting_notice(strategy, self.tz)
            if awaiting is None:
                continue
            waited = working_days_after(awaiting.since, today, self.holidays)
            if waited <= limit:
                continue
            waiting += 1
            what = (
                "The contact strategy"
                if awaiting.whole_strategy
                else f"Version {awaiting.version} of the contact strategy"
            )
            effect = (
                "It is not applied to calls until the person is told in writing (§3.6)."
                if awaiting.whole_strategy
                else "It is in force as an interim measure, and the letter is still owed (§3.6)."
                if awaiting.interim
                else "The version before it applies to calls until the person is told (§3.6)."
            )
            # The owner; whom they escalate to once they have left (account disabled).
            owners = (
                await self.recipients.reaching(strategy.created_by)
                if self.recipients
                else [strategy.created_by]
            )
            notices = [
                Notice(
                    user=owner,
                    kind="notice_reminder",
                    at=now,
                    title=f"Awaiting notice: contact strategy for {strategy.matter_ref}",
                    text=(
                        f"{what} for {strategy.matter_ref} was made on "
                        f"{wording.long_date(awaiting.since)}, {waited} working days ago, and "
                        f"the person has not been told of it. {effect} Send the letter, then "
                        "record how and when it was sent."
                    ),
                    staff=strategy.created_by,
                    strategy_id=strategy.id,
                )
                for owner in owners
            ]
            event = f"notice-reminder:{strategy.id}:{awaiting.version}"
            reminded += await self.outbox.send_once(event, notices, _MARKER_TTL_S)
        return {"waiting": waiting, "reminders": reminded}
