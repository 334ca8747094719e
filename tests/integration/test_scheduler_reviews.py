"""Strategy reviews as a scheduled duty (§3.12, §3.14), on a real Redis, time from a fixed
clock: reminders at the configured offsets, daily escalation when overdue ("flag"), the
strategy ending when overdue ("lapse"), each notice sent once however often the job runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date

import pytest
from redis.asyncio import Redis

from callguard.bootstrap import build_duties
from callguard.domain.models import ReviewIn, StrategyStatus
from callguard.policy import Policy
from callguard.services.reminders import Notice, Outbox
from callguard.store.connection import connect
from callguard.store.container import build_stores
from callguard.store.outbox import OutboxStore
from callguard.store.register import RegisterStore
from callguard.store.reports import ReportStore
from tests.conftest import KEYS, auth
from tests.helpers import Client, create_person, create_strategy, services
from tests.integration.scheduler_support import (
    MIA,
    MO,
    TZ,
    Crash,
    actor,
    all_notices,
    at,
    notices,
    person_with_strategy,
    put_users,
    register_of,
    with_overdue,
)

pytestmark = pytest.mark.timeout(30)

DUE = date(2026, 12, 20)  # reminders on 6 December (14 days) and 17 December (3 days)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    await put_users(client)
    yield client
    await client.aclose()


async def reviews(
    redis: Redis, policy: Policy, year: int, month: int, day: int, hour: int = 10
) -> dict[str, int]:
    run = await build_duties(build_stores(redis, KEYS), policy, TZ).run(
        "reviews", at(year, month, day, hour)
    )
    assert run.outcome == "performed", run
    assert run.summary is not None
    return {k: int(v) for k, v in run.summary.items()}


async def test_reminders_go_to_the_owner_at_each_configured_offset_once(
    redis: Redis, policy: Policy
) -> None:
    assert policy.reviews.reminder_days_before == [14, 3]
    strategy = await person_with_strategy(
        register_of(redis, policy), at(2026, 11, 27), review_due=DUE
    )
    runs = [(11, 27, 10), (11, 30, 10), (12, 5, 10), (12, 6, 9), (12, 6, 15), (12, 7, 10)]
    runs += [(12, 16, 10), (12, 17, 8), (12, 17, 18), (12, 20, 10)]
    sent = {}
    for month, day, hour in runs:
        summary = await reviews(redis, policy, 2026, month, day, hour)
        sent[(month, day, hour)] = summary["reminders"]

    assert [k for k, v in sent.items() if v] == [(12, 6, 9), (12, 17, 8)]
    got = await notices(redis, MIA.name, "review_reminder")
    assert len(got) == 2
    assert {n.strategy_id for n in got} == {strategy.id}
    assert got[0].title.startswith("Review due in 3 days")
    assert got[1].title.startswith("Review due in 14 days")
    assert "20 December 2026" in got[0].text and strategy.matter_ref in got[0].text
    # Reminders are for the owner only; nobody else heard anything.
    assert len(await all_notices(redis)) == 2


async def test_a_service_down_past_an_offset_sends_one_reminder_not_a_burst(
    redis: Redis, policy: Policy
) -> None:
    await person_with_strategy(register_of(redis, policy), at(2026, 11, 27), review_due=DUE)

    first = await reviews(redis, policy, 2026, 12, 18)  # 2 days left: both offsets passed
    later = await reviews(redis, policy, 2026, 12, 19)

    assert (first["reminders"], later["reminders"]) == (1, 0)
    (only,) = await notices(redis, MIA.name, "review_reminder")
    assert only.title.startswith("Review due in 2 days")


async def test_a_review_with_a_new_date_starts_the_reminders_again(
    redis: Redis, policy: Policy
) -> None:
    register = register_of(redis, policy)
    strategy = await person_with_strategy(register, at(2026, 11, 27), review_due=DUE)
    await reviews(redis, policy, 2026, 12, 6)
    reviewed = await register.review(
        strategy.id,
        ReviewIn(
            outcome="continue",
            notes="Still needed: abusive calls continued in December.",
            expected_version=strategy.version,
            next_review_due=date(2027, 3, 1),
        ),
        actor(MIA),
        at(2026, 12, 10),
    )

    assert (await reviews(redis, policy, 2026, 12, 17))["reminders"] == 0  # old date: moot
    assert (await reviews(redis, policy, 2026, 12, 21))["escalations"] == 0
    assert (await reviews(redis, policy, 2027, 2, 15))["reminders"] == 1
    latest = (await notices(redis, MIA.name, "review_reminder"))[0]
    assert "1 March 2027" in latest.text and latest.strategy_id == reviewed.id


async def test_flag_keeps_an_overdue_strategy_in_force_and_escalates_daily(
    redis: Redis, policy: Policy
) -> None:
    assert policy.reviews.overdue == "flag"
    strategy = await person_with_strategy(
        register_of(redis, policy), at(2026, 11, 27), review_due=DUE
    )

    on_due_day = await reviews(redis, policy, 2026, 12, 20, 16)
    first_day = [await reviews(redis, policy, 2026, 12, 21, h) for h in (0, 9, 23)]
    second_day = await reviews(redis, policy, 2026, 12, 22, 9)

    assert on_due_day["escalations"] == 0
    assert [r["escalations"] for r in first_day] == [1, 0, 0]
    assert second_day["escalations"] == 1
    # To the owner and her line manager, once a day each; nobody else.
    owner = await notices(redis, MIA.name, "review_overdue")
    manager = await notices(redis, "lee.lead", "review_overdue")
    assert len(owner) == len(manager) == 2
    assert {n.kind for n in await all_notices(redis)} <= {"review_reminder", "review_overdue"}
    assert manager[0].title == "Review overdue by 2 days: contact strategy for CMP-2026-0142"
    assert manager[1].title == "Review overdue by 1 day: contact strategy for CMP-2026-0142"
    # The owner has no full name on record: named by their user name.
    assert "owned by mia.manager, was due on" in manager[0].text
    stored = await RegisterStore(redis, KEYS).get_strategy(strategy.id)
    assert stored is not None and stored.status is StrategyStatus.active
    assert strategy.id in await RegisterStore(redis, KEYS).active_strategy_ids(strategy.person_id)


async def test_an_owner_with_no_line_manager_escalates_to_the_chief_executive(
    redis: Redis, policy: Policy
) -> None:
    await person_with_strategy(
        register_of(redis, policy), at(2026, 11, 27), review_due=DUE, owner=MO
    )

    await reviews(redis, policy, 2026, 12, 21)

    assert len(await notices(redis, MO.name, "review_overdue")) == 1
    assert len(await notices(redis, "ceo", "review_overdue")) == 1


async def test_lapse_ends_an_overdue_strategy_through_the_register_and_says_to_tell_them(
    redis: Redis, policy: Policy
) -> None:
    lapse = with_overdue(policy, "lapse")
    strategy = await person_with_strategy(
        register_of(redis, lapse), at(2026, 11, 27), review_due=DUE
    )

    before = await reviews(redis, lapse, 2026, 12, 20, 23)
    first = await reviews(redis, lapse, 2026, 12, 21, 0)
    again = [await reviews(redis, lapse, 2026, 12, d) for d in (21, 22, 23)]

    assert before["lapsed"] == 0
    assert (first["lapsed"], first["lapse_notices"], first["escalations"]) == (1, 1, 0)
    assert all((r["lapsed"], r["lapse_notices"]) == (0, 0) for r in again)
    stored = await RegisterStore(redis, KEYS).get_strategy(strategy.id)
    assert stored is not None
    assert stored.status is StrategyStatus.lapsed
    assert stored.version == strategy.version + 1
    assert stored.ended_by == "callguard.scheduler"
    revision = stored.revisions[-1]
    assert (revision.why, revision.changed, revision.after) == (
        "review overdue",
        ["status"],
        {"status": "lapsed"},
    )
    # It no longer applies to calls.
    assert strategy.id not in await RegisterStore(redis, KEYS).active_strategy_ids(
        strategy.person_id
    )
    audit = await RegisterStore(redis, KEYS).audit_of_person(strategy.person_id)
    assert [(e["action"], e["who"]) for e in audit][-1] == ("strategy.lapse", "callguard.scheduler")
    # The owner and her line manager are told, once, that the person must be told.
    for user in (MIA.name, "lee.lead"):
        (told,) = await notices(redis, user, "strategy_lapsed")
        assert "must be told" in told.title and told.strategy_id == strategy.id
        assert f"version {stored.version}" in told.text


class LosesLapseNotices(Outbox):
    """The replica dies between lapsing a strategy and sending its notice."""

    async def send_once(
        self, event: str, notices: Sequence[Notice], ttl_s: int, covers: Sequence[str] = ()
    ) -> bool:
        if event.startswith("strategy-lapsed:"):
            raise Crash("died after the lapse, before its notice")
        return await super().send_once(event, notices, ttl_s, covers)


async def test_a_lapse_whose_notice_was_lost_is_told_on_the_next_run(
    redis: Redis, policy: Policy
) -> None:
    lapse = with_overdue(policy, "lapse")
    strategy = await person_with_strategy(
        register_of(redis, lapse), at(2026, 11, 27), review_due=DUE
    )
    dying = build_duties(
        build_stores(redis, KEYS), lapse, TZ, outbox=LosesLapseNotices(OutboxStore(redis, KEYS))
    )
    with pytest.raises(Crash):
        await dying.run("reviews", at(2026, 12, 21, 9))
    stored = await RegisterStore(redis, KEYS).get_strategy(strategy.id)
    assert stored is not None and stored.status is StrategyStatus.lapsed
    assert await notices(redis, MIA.name, "strategy_lapsed") == []

    taken_over = await reviews(redis, lapse, 2026, 12, 21, 9)
    later = await reviews(redis, lapse, 2026, 12, 22, 9)

    assert (taken_over["lapsed"], taken_over["lapse_notices"]) == (0, 1)
    assert later["lapse_notices"] == 0
    assert len(await notices(redis, MIA.name, "strategy_lapsed")) == 1
    assert len(await notices(redis, "lee.lead", "strategy_lapsed")) == 1


async def test_overdue_reviews_are_remembered_for_the_oversight_report(
    redis: Redis, policy: Policy
) -> None:
    strategy = await person_with_strategy(
        register_of(redis, policy), at(2026, 11, 27), review_due=DUE
    )
    for day in (21, 22):
        await reviews(redis, policy, 2026, 12, day)

    start, end = at(2026, 10, 1, 0), at(2027, 1, 1, 0)
    assert await ReportStore(redis, KEYS).overdue_between(start, end) == {
        f"{strategy.id}:2026-12-20"
    }


async def test_reminders_are_read_at_get_notifications(
    client: Client, tokens: dict[str, str]
) -> None:
    person = await create_person(client, tokens["manager"])
    strategy = await create_strategy(
        client,
        tokens["manager"],
        person["id"],
        [{"kind": "phone_blocked"}],
        review_due="2026-12-20",
    )
    duties = services(client).duties

    await duties.run("reviews", at(2026, 12, 6))
    response = await client.get("/api/v1/notifications", headers=auth(tokens["manager"]))

    assert response.status == 200
    (item,) = (await response.json())["items"]
    assert item["kind"] == "review_reminder"
    assert item["user"] == "mo.manager"
    assert item["strategy_id"] == strategy["id"]
    assert item["read_at"] is None
