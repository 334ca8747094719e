"""Reminders of strategies awaiting notice (§3.6) as a scheduled duty, on a real Redis:
the owner is reminded once, after more than the policy's working days (weekends and
England and Wales bank holidays skipped), and never once the person has been told."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime

import pytest
from redis.asyncio import Redis

from callguard.bootstrap import build_duties
from callguard.domain.models import NotifiedIn, PersonIn, RevisionIn, Strategy, StrategyIn
from callguard.domain.notice import working_days_after
from callguard.policy import Policy
from callguard.services.notes import bank_holidays
from callguard.services.register import Register
from callguard.store.connection import connect
from callguard.store.container import build_stores
from tests.conftest import KEYS
from tests.integration.scheduler_support import (
    MIA,
    MO,
    TZ,
    actor,
    all_notices,
    at,
    notices,
    put_users,
    register_of,
)

pytestmark = pytest.mark.timeout(30)

# Tuesday 22 December 2026. Working days after it: 23, 24, 29, 30 and 31 December (25 and
# 28 December are bank holidays), then Monday 4 January 2027 (1 January is one too).
MADE = at(2026, 12, 22)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    await put_users(client)
    yield client
    await client.aclose()


async def reminders(redis: Redis, policy: Policy, when: datetime) -> dict[str, int]:
    run = await build_duties(build_stores(redis, KEYS), policy, TZ).run("notice_reminders", when)
    assert run.outcome == "performed", run
    assert run.summary is not None
    return {k: int(v) for k, v in run.summary.items()}


async def awaiting(register: Register, phone: str, notified_on: date | None = None) -> Strategy:
    person = await register.create_person(
        PersonIn(name="Ida Waiting", phones=[phone]), actor(MIA), MADE
    )
    body = StrategyIn.model_validate(
        {
            "person_id": person.id,
            "matter_ref": f"CMP-{phone[-3:]}",
            "reason": "Repeated abusive calls after the complaint was finalised",
            "restrictions": [{"kind": "phone_blocked"}],
            "notified_on": notified_on.isoformat() if notified_on else None,
            "review_due": "2027-03-01",
        }
    )
    return await register.create_strategy(body, actor(MIA), MADE)


def test_working_days_skip_weekends_and_bank_holidays() -> None:
    holidays = bank_holidays()
    made = date(2026, 12, 22)
    assert working_days_after(made, date(2026, 12, 31), holidays) == 5
    assert working_days_after(made, date(2027, 1, 3), holidays) == 5
    assert working_days_after(made, date(2027, 1, 4), holidays) == 6


async def test_the_owner_is_reminded_once_after_five_working_days(
    redis: Redis, policy: Policy
) -> None:
    register = register_of(redis, policy)
    waiting = await awaiting(register, "07700 900101")
    await awaiting(register, "07700 900102", notified_on=date(2026, 12, 21))

    assert await reminders(redis, policy, at(2026, 12, 31, 16)) == {"waiting": 0, "reminders": 0}
    assert await reminders(redis, policy, at(2027, 1, 3, 16)) == {"waiting": 0, "reminders": 0}
    assert await all_notices(redis) == []

    assert await reminders(redis, policy, at(2027, 1, 4, 9)) == {"waiting": 1, "reminders": 1}
    assert await reminders(redis, policy, at(2027, 1, 4, 10)) == {"waiting": 1, "reminders": 0}
    sent = await notices(redis, MIA.name, "notice_reminder")
    assert [(n.strategy_id, n.title) for n in sent] == [
        (waiting.id, f"Awaiting notice: contact strategy for {waiting.matter_ref}")
    ]
    assert "22 December 2026, 6 working days ago" in sent[0].text
    assert await notices(redis, MO.name) == []

    # Told: nothing more, however long it goes on.
    await register.record_notified(
        waiting.id, 1, NotifiedIn(notified_on=date(2027, 1, 4)), actor(MIA), at(2027, 1, 4, 11)
    )
    assert await reminders(redis, policy, at(2027, 2, 1)) == {"waiting": 0, "reminders": 0}


async def test_a_revision_awaiting_notice_is_reminded_once_by_its_version(
    redis: Redis, policy: Policy
) -> None:
    register = register_of(redis, policy)
    strategy = await awaiting(register, "07700 900103", notified_on=date(2026, 12, 21))
    revision = RevisionIn.model_validate(
        {
            "expected_version": 1,
            "changes": {"restrictions": [{"kind": "written_only", "email": "a@example.org"}]},
            "why": "Easier for him to write",
        }
    )
    await register.revise(strategy.id, revision, actor(MIA), MADE)

    assert await reminders(redis, policy, at(2027, 1, 4)) == {"waiting": 1, "reminders": 1}
    sent = await notices(redis, MIA.name, "notice_reminder")
    assert len(sent) == 1
    assert sent[0].text.startswith(f"Version 2 of the contact strategy for {strategy.matter_ref}")
    assert "The version before it applies to calls" in sent[0].text


async def test_an_owner_whose_account_is_disabled_is_escalated_past(
    redis: Redis, policy: Policy
) -> None:
    """The owner has left (their account disabled): the reminder goes to whom they would
    escalate to (their line manager), or the strategy would wait unseen for ever."""
    register = register_of(redis, policy)
    await awaiting(register, "07700 900101")
    await put_users(redis, [MIA.model_copy(update={"disabled": True})])
    assert await reminders(redis, policy, at(2027, 1, 4, 9)) == {"waiting": 1, "reminders": 1}
    assert [n.kind for n in await notices(redis, "lee.lead")] == ["notice_reminder"]
