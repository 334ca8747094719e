"""The one-month clock of a subject access request as a scheduled duty, on a real Redis,
time from fixed instants: a reminder 7 days before the due date, one on the day, one when
overdue (to the line manager too), each once; nothing for a completed request."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from redis.asyncio import Redis

from callguard.bootstrap import build_duties
from callguard.domain.models import PersonIn
from callguard.domain.roles import Role
from callguard.domain.subject_access import SubjectAccessCompleteIn, SubjectAccessIn
from callguard.domain.users import User
from callguard.policy import Policy
from callguard.services.subject_access import SubjectAccess
from callguard.store.connection import connect
from callguard.store.container import build_stores
from tests.conftest import KEYS
from tests.integration.scheduler_support import (
    CEO,
    LEE,
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

RECEIVED = date(2026, 11, 16)  # due 16 December 2026


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    await put_users(client)
    yield client
    await client.aclose()


def tracker(redis: Redis, policy: Policy) -> SubjectAccess:
    stores = build_stores(redis, KEYS)
    return SubjectAccess(stores.subject_access, stores.register, stores.calls, stores.notes, TZ)


async def logged_by(redis: Redis, policy: Policy, who: User = MIA) -> str:
    register = register_of(redis, policy)
    person = await register.create_person(
        PersonIn(name="A. Person", phones=["07700 900123"]), actor(MIA), at(2026, 11, 16)
    )
    request = await tracker(redis, policy).log_request(
        person.id, SubjectAccessIn(received_on=RECEIVED), actor(who), at(2026, 11, 16, 11)
    )
    assert request.due_on == date(2026, 12, 16)
    return request.id


async def run_on(redis: Redis, policy: Policy, month: int, day: int) -> dict[str, int]:
    year = 2026 if month >= 11 else 2027
    run = await build_duties(build_stores(redis, KEYS), policy, TZ).run(
        "subject_access", at(year, month, day, 7)
    )
    assert run.outcome == "performed", run
    assert run.summary is not None
    return {k: int(v) for k, v in run.summary.items()}


async def test_reminders_before_on_and_after_the_due_date_each_once(
    redis: Redis, policy: Policy
) -> None:
    await logged_by(redis, policy)
    days = [(11, 30), (12, 8), (12, 9), (12, 10), (12, 15), (12, 16), (12, 17), (12, 18), (1, 5)]
    sent = {day: await run_on(redis, policy, *day) for day in days}

    assert {d: s for d, s in sent.items() if any(s.values())} == {
        (12, 9): {"due_soon": 1, "due_today": 0, "overdue": 0},
        (12, 16): {"due_soon": 0, "due_today": 1, "overdue": 0},
        (12, 17): {"due_soon": 0, "due_today": 0, "overdue": 1},
    }
    mine = await notices(redis, MIA.name)
    assert sorted(n.title for n in mine) == [
        "Subject access request due soon",
        "Subject access request due today",
        "Subject access request overdue",
    ]
    assert all("16 December 2026" in n.text for n in mine)
    # Overdue is escalated to the line manager of whoever logged it.
    escalated = await notices(redis, LEE.name, "subject_access_overdue")
    assert len(escalated) == 1
    assert await notices(redis, MO.name) == []


async def test_a_service_down_for_weeks_sends_only_the_overdue_reminder(
    redis: Redis, policy: Policy
) -> None:
    await logged_by(redis, policy)
    first = await run_on(redis, policy, 12, 20)
    later = await run_on(redis, policy, 12, 21)
    assert first == {"due_soon": 0, "due_today": 0, "overdue": 1}
    assert later == {"due_soon": 0, "due_today": 0, "overdue": 0}
    assert [n.kind for n in await notices(redis, MIA.name)] == ["subject_access_overdue"]


async def test_a_completed_request_is_not_reminded(redis: Redis, policy: Policy) -> None:
    request_id = await logged_by(redis, policy)
    await tracker(redis, policy).complete(
        request_id,
        SubjectAccessCompleteIn(completed_on=date(2026, 12, 1)),
        actor(MIA),
        at(2026, 12, 1),
    )
    for day in ((12, 9), (12, 16), (12, 17)):
        assert not any((await run_on(redis, policy, *day)).values())
    assert await all_notices(redis) == []


async def test_a_request_logged_by_someone_who_left_reminds_the_chief_executive(
    redis: Redis, policy: Policy
) -> None:
    await logged_by(redis, policy, User(name="former.manager", role=Role.manager))
    assert (await run_on(redis, policy, 12, 9))["due_soon"] == 1
    assert [n.title for n in await notices(redis, CEO.name)] == ["Subject access request due soon"]


async def test_a_request_logged_by_someone_now_disabled_reminds_their_line_manager(
    redis: Redis, policy: Policy
) -> None:
    await logged_by(redis, policy)
    await put_users(redis, [MIA.model_copy(update={"disabled": True})])
    assert (await run_on(redis, policy, 12, 9))["due_soon"] == 1
    assert [n.title for n in await notices(redis, LEE.name)] == ["Subject access request due soon"]
