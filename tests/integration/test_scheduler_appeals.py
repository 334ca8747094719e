"""Appeal reminders as a scheduled duty (the "appeals" job, hourly), on a real Redis with
time from fixed instants: reminders to the decider before and on the due date, a daily
reminder to the decider and their line manager after it, each sent once however often the
job runs; nothing once decided; overdue appeals counted in the oversight report."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date

import pytest
from redis.asyncio import Redis

from callguard.bootstrap import build_duties
from callguard.domain.appeals import Appeal, AppealDecisionIn, AppealIn
from callguard.domain.duties import Quarter
from callguard.policy import Policy
from callguard.services.appeals import Appeals
from callguard.services.notes import bank_holidays
from callguard.services.reports import OversightReports, report_csv
from callguard.store.appeals import AppealStore
from callguard.store.call_records import CallStore
from callguard.store.connection import connect
from callguard.store.container import build_stores
from callguard.store.outbox import OutboxStore
from callguard.store.register import RegisterStore
from callguard.store.reports import ReportStore
from callguard.store.users import UserStore
from tests.conftest import KEYS
from tests.integration.scheduler_support import (
    CEO,
    MIA,
    MO,
    TZ,
    actor,
    at,
    notices,
    person_with_strategy,
    put_users,
    register_of,
)

pytestmark = pytest.mark.timeout(30)

RECEIVED = date(2026, 11, 27)
DUE = date(2026, 12, 29)  # 20 working days on, over Christmas Day and the Boxing Day holiday


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    await put_users(client)
    yield client
    await client.aclose()


def appeals_of(redis: Redis, policy: Policy) -> Appeals:
    return Appeals(
        AppealStore(redis, KEYS),
        register_of(redis, policy),
        UserStore(redis, KEYS),
        policy,
        TZ,
        bank_holidays(),
    )


async def an_appeal(redis: Redis, policy: Policy) -> Appeal:
    """mia.manager's strategy; mo.manager (no line manager: the chief executive hears of
    his lateness) decides the appeal against it."""
    now = at(2026, 11, 27)
    strategy = await person_with_strategy(
        register_of(redis, policy), now, review_due=date(2027, 2, 20), owner=MIA
    )
    body = AppealIn(received_on=RECEIVED, grounds="I was never abusive", decider=MO.name)
    appeal = await appeals_of(redis, policy).record(strategy.id, body, actor(MIA), now)
    assert appeal.due_on == DUE
    return appeal


async def appeals_job(
    redis: Redis, policy: Policy, month: int, day: int, hour: int = 10
) -> dict[str, int]:
    run = await build_duties(build_stores(redis, KEYS), policy, TZ).run(
        "appeals", at(2026, month, day, hour)
    )
    assert run.outcome == "performed", run
    assert run.summary is not None
    return {k: int(v) for k, v in run.summary.items()}


async def test_the_decider_is_reminded_before_and_on_the_due_date_once_each(
    redis: Redis, policy: Policy
) -> None:
    assert policy.appeals.reminder_days_before == [5, 1, 0]
    await an_appeal(redis, policy)

    assert (await appeals_job(redis, policy, 12, 23))["reminders"] == 0  # 6 days before
    assert (await appeals_job(redis, policy, 12, 24))["reminders"] == 1  # 5 days before
    assert (await appeals_job(redis, policy, 12, 24, 11))["reminders"] == 0  # once
    assert (await appeals_job(redis, policy, 12, 28))["reminders"] == 1  # the day before
    assert (await appeals_job(redis, policy, 12, 29))["reminders"] == 1  # the day itself

    titles = [n.title for n in await notices(redis, MO.name, "appeal_reminder")]
    assert sorted(titles) == sorted(
        [
            "Appeal decision due in 5 days: contact strategy for CMP-2026-0142",
            "Appeal decision due in 1 day: contact strategy for CMP-2026-0142",
            "Appeal decision due today: contact strategy for CMP-2026-0142",
        ]
    )
    text = (await notices(redis, MO.name, "appeal_reminder"))[0].text
    assert "29 December 2026" in text and "27 November 2026" in text
    assert await notices(redis, MIA.name) == []  # the owner is not the decider


async def test_a_late_first_run_sends_the_nearest_reminder_and_marks_the_earlier_sent(
    redis: Redis, policy: Policy
) -> None:
    """The job did not run until the day before: the decider gets "due in 1 day" only,
    and the 5-day reminder it makes moot is marked sent, never to follow it."""
    assert policy.appeals.reminder_days_before == [5, 1, 0]
    appeal = await an_appeal(redis, policy)

    assert (await appeals_job(redis, policy, 12, 28))["reminders"] == 1

    titles = [n.title for n in await notices(redis, MO.name, "appeal_reminder")]
    assert titles == ["Appeal decision due in 1 day: contact strategy for CMP-2026-0142"]
    outbox = OutboxStore(redis, KEYS)
    assert await outbox.delivered(f"appeal-reminder:{appeal.id}:5")
    assert not await outbox.delivered(f"appeal-reminder:{appeal.id}:0")


async def test_after_the_due_date_the_decider_and_their_line_manager_hear_daily(
    redis: Redis, policy: Policy
) -> None:
    await an_appeal(redis, policy)

    first = await appeals_job(redis, policy, 12, 30)
    assert first == {"reminders": 1, "overdue": 1}
    assert (await appeals_job(redis, policy, 12, 30, 15))["reminders"] == 0  # once a day
    assert (await appeals_job(redis, policy, 12, 31))["reminders"] == 1

    for user in (MO.name, CEO.name):
        overdue = await notices(redis, user, "appeal_overdue")
        assert len(overdue) == 2
        assert "overdue by 1 day" in sorted(n.title for n in overdue)[0]


async def test_a_decided_appeal_is_not_reminded_and_the_report_counts_appeals(
    redis: Redis, policy: Policy
) -> None:
    decided = await an_appeal(redis, policy)
    await appeals_of(redis, policy).decide(
        decided.id,
        AppealDecisionIn(outcome="upheld", reasons="The recordings show repeated abuse"),
        actor(MO),
        at(2026, 12, 2),
    )
    assert await appeals_job(redis, policy, 12, 30) == {"reminders": 0, "overdue": 0}

    reports = OversightReports(
        ReportStore(redis, KEYS),
        RegisterStore(redis, KEYS),
        CallStore(redis, KEYS),
        TZ,
        appeals=AppealStore(redis, KEYS),
    )
    report = await reports.generate(Quarter(2026, 4), at(2026, 12, 30))
    counts = report.appeals
    assert (counts.received, counts.decided, counts.upheld, counts.overdue) == (1, 1, 1, 0)


async def test_an_undecided_appeal_past_its_due_date_is_counted_overdue(
    redis: Redis, policy: Policy
) -> None:
    await an_appeal(redis, policy)
    reports = OversightReports(
        ReportStore(redis, KEYS),
        RegisterStore(redis, KEYS),
        CallStore(redis, KEYS),
        TZ,
        appeals=AppealStore(redis, KEYS),
    )
    before = await reports.generate(Quarter(2026, 4), at(2026, 12, 29))
    after = await reports.generate(Quarter(2026, 4), at(2026, 12, 30))
    assert (before.appeals.overdue, after.appeals.overdue) == (0, 1)
    assert after.appeals.decided == 0
    rows = dict(list(csv.reader(io.StringIO(report_csv(after))))[1:])
    assert (rows["appeals.received"], rows["appeals.overdue"]) == ("1", "1")


async def test_a_decider_whose_account_is_disabled_is_escalated_past(
    redis: Redis, policy: Policy
) -> None:
    """The decider has left: the reminder goes to whom they escalate to (here the chief
    executive), asking them to name another decider, rather than to nobody who can act."""
    await an_appeal(redis, policy)
    await put_users(redis, [MO.model_copy(update={"disabled": True})])
    assert (await appeals_job(redis, policy, 12, 24))["reminders"] == 1
    [sent] = await notices(redis, CEO.name, "appeal_reminder")
    assert "can no longer sign in" in sent.text and "name another decider" in sent.text
