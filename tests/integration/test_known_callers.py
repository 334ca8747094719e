"""A restricted caller screened before is screened again in one round trip, on the lookup
their last call left, and only while Redis still holds that lookup: a strategy revised or
ended, or a quota counted by another process, is applied to the very next call.

Round trips are counted where each command is sent to the real server: the clients'
``execute_command`` (the door every command and ``Script`` call goes through) and the
inbound scripts' own sender (``ScriptSender.round_trip``, which sends the scripts asked
for at once on a connection it keeps: one call at a time here, so one script a round trip)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from callguard.services import screening as screening_module
from callguard.services.container import Services
from callguard.services.screening import InboundCall, Screened, Screening
from callguard.store.script_sender import Batch
from tests.conftest import DEFAULT_NOW, auth
from tests.helpers import Client, create_person, create_strategy, new_call_sid, services

pytestmark = pytest.mark.timeout(30)

TWO_PER_WINDOW = {
    "kind": "call_windows",
    "windows": [{"days": ["fri"], "start": "09:00", "end": "12:00"}],
    "max_calls": 2,
    "per": "window",
}
SPOC = {"kind": "spoc", "name": "Pat Jones", "phone": "+441772000002"}
# More calls in flight than the Redis client's pool has connections (100).
BURST_AFTER_FLUSH = 100


@pytest.fixture
def sent(client: Client, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of each command the screening's clients send, in order."""
    names: list[str] = []
    screening = services(client).screening
    for redis in {id(s.redis): s.redis for s in (screening.store, screening.inbound)}.values():
        original = redis.execute_command

        async def execute_command(*args: Any, _original: Any = original, **options: Any) -> Any:
            names.append(str(args[0]))
            return await _original(*args, **options)

        monkeypatch.setattr(redis, "execute_command", execute_command)
    for store in {id(s): s for s in (screening.store, screening.inbound)}.values():
        original_round_trip = store.sender.round_trip

        async def round_trip(
            connection: Any, batch: Batch, _original: Any = original_round_trip
        ) -> None:
            names.extend(str(command[0]) for command in batch.commands)
            await _original(connection, batch)

        monkeypatch.setattr(store.sender, "round_trip", round_trip)
    return names


async def call(screening: Screening, phone: str, at: datetime = DEFAULT_NOW) -> Screened:
    return await screening.screen(
        InboundCall(call_sid=new_call_sid(), caller=phone, to="+441772000000", status="ringing"),
        at,
    )


async def counted_call(svc: Services, phone: str, sent: list[str]) -> tuple[Screened, list[str]]:
    """One call screened, and the commands it sent (one round trip each)."""
    before = len(sent)
    screened = await call(svc.screening, phone)
    return screened, sent[before:]


async def restricted(
    client: Client, tokens: dict[str, str], phone: str, restrictions: list[dict[str, Any]]
) -> dict[str, Any]:
    person = await create_person(client, tokens["manager"], phones=[phone])
    return await create_strategy(client, tokens["manager"], person["id"], restrictions)


def second_process(svc: Services) -> Screening:
    """Another service process on the same Redis: its own kept lookups."""
    s = svc.screening
    return Screening(s.store, s.spool, s.policy, s.tz, s.default_route, s.budget_s, s.inbound)


async def test_a_restricted_callers_calls_after_the_first_take_one_round_trip(
    client: Client, tokens: dict[str, str], sent: list[str]
) -> None:
    svc = services(client)
    await restricted(client, tokens, "+447700900100", [SPOC])
    await call(svc.screening, "+447700900100")  # the scripts loaded into the server
    strategy = await restricted(client, tokens, "+447700900123", [TWO_PER_WINDOW])

    answers = [await counted_call(svc, "+447700900123", sent) for _ in range(3)]

    assert [(s.decision.outcome, s.decision.rule) for s, _ in answers] == [
        ("connect", "none"),
        ("connect", "none"),
        ("refuse", "call_windows.quota"),
    ]
    assert [trips for _, trips in answers] == [["EVALSHA"] * 2, ["EVALSHA"], ["EVALSHA"]]
    # Each call counted once against the quota, from the lookup the process kept.
    quota = await svc.redis.hgetall(svc.keys.quota(strategy["id"]))
    assert list(quota.values()) == ["2"]
    assert await svc.redis.zcard(svc.keys.calls_by_person(strategy["person_id"])) == 3
    # A stranger's call is one round trip, as before.
    stranger, trips = await counted_call(svc, "+447700900999", sent)
    assert (stranger.decision.outcome, trips) == ("connect", ["EVALSHA"])


async def test_a_burst_of_first_calls_after_redis_forgot_its_scripts_is_screened(
    client: Client, tokens: dict[str, str]
) -> None:
    # A restarted Redis has no scripts: every call in flight meets NOSCRIPT at once, and
    # loads the script once between them (ScriptSender), instead of a connection each past
    # the client's pool, which failed those calls open: connected, unscreened.
    svc = services(client)
    await restricted(client, tokens, "+447700900100", [SPOC])
    await call(svc.screening, "+447700900100")
    await svc.redis.script_flush()
    callers = [f"+4477009002{i:02d}" for i in range(BURST_AFTER_FLUSH)]
    for phone in callers:
        await restricted(client, tokens, phone, [SPOC])

    answers = await asyncio.gather(*(call(svc.screening, phone) for phone in callers))

    assert Counter((a.decision.outcome, a.degraded) for a in answers) == {
        ("divert_spoc", False): BURST_AFTER_FLUSH
    }


async def test_a_strategy_revised_since_the_last_call_is_applied_to_the_next(
    client: Client, tokens: dict[str, str], sent: list[str]
) -> None:
    svc = services(client)
    strategy = await restricted(client, tokens, "+447700900123", [SPOC])
    first = await call(svc.screening, "+447700900123")
    assert (first.decision.outcome, first.decision.spoc_name) == ("divert_spoc", "Pat Jones")
    manager = auth(tokens["manager"])
    revised = await client.post(
        f"/api/v1/strategies/{strategy['id']}/revisions",
        json={
            "expected_version": 1,
            "changes": {"restrictions": [{**SPOC, "name": "Jo Bloggs"}]},
            "why": "Pat Jones has moved to another team",
        },
        headers=manager,
    )
    assert revised.status == 201, await revised.text()
    # Not yet told of the revision: the version before it still applies, in one round trip.
    told_before, trips = await counted_call(svc, "+447700900123", sent)
    assert (told_before.decision.spoc_name, len(trips)) == ("Pat Jones", 1)
    notified = await client.post(
        f"/api/v1/strategies/{strategy['id']}/versions/2/notified",
        json={"notified_on": "2026-11-27"},
        headers=manager,
    )
    assert notified.status == 200, await notified.text()

    after, trips = await counted_call(svc, "+447700900123", sent)

    assert (after.decision.outcome, after.decision.spoc_name) == ("divert_spoc", "Jo Bloggs")
    assert len(trips) == 2  # the kept lookup no longer stood: found afresh, decided again


async def test_a_strategy_ended_since_the_last_call_leaves_the_caller_unrestricted(
    client: Client, tokens: dict[str, str]
) -> None:
    svc = services(client)
    strategy = await restricted(client, tokens, "+447700900123", [{"kind": "phone_blocked"}])
    refused = await call(svc.screening, "+447700900123")
    assert (refused.decision.outcome, refused.decision.rule) == ("refuse", "phone_blocked")
    ended = await client.post(
        f"/api/v1/strategies/{strategy['id']}/end",
        json={"expected_version": 1, "why": "The calls have been calm for three months"},
        headers=auth(tokens["manager"]),
    )
    assert ended.status == 200, await ended.text()

    after = await call(svc.screening, "+447700900123")

    assert (after.decision.outcome, after.decision.rule) == ("connect", "none")
    assert after.decision.strategy_ids == ()
    # Counted as any unrestricted caller's call is (§5.3): the one since the strategy ended.
    day = DEFAULT_NOW.astimezone(svc.tz).date().isoformat()
    assert await svc.redis.get(svc.keys.repeat_counter("+447700900123", day)) == "1"


async def test_a_quota_counted_by_another_process_is_seen_by_the_next_call(
    client: Client, tokens: dict[str, str]
) -> None:
    svc = services(client)
    strategy = await restricted(client, tokens, "+447700900123", [TWO_PER_WINDOW])
    here, there = svc.screening, second_process(svc)

    first = await call(here, "+447700900123")  # this process keeps: one call counted
    second = await call(there, "+447700900123")  # another process counts the second
    third = await call(here, "+447700900123")  # what this process kept no longer stands

    assert [(s.decision.outcome, s.decision.rule) for s in (first, second, third)] == [
        ("connect", "none"),
        ("connect", "none"),
        ("refuse", "call_windows.quota"),
    ]
    quota = await svc.redis.hgetall(svc.keys.quota(strategy["id"]))
    assert list(quota.values()) == ["2"]


async def test_a_refusal_tells_the_next_time_from_counts_made_by_another_process(
    client: Client, tokens: dict[str, str]
) -> None:
    """Two windows on Fridays, 2 calls a week. This process counts one call in the morning,
    another process the second; called between the windows, this process must not offer
    the afternoon (its kept count says there is room): the next time is next week."""
    svc = services(client)
    two_a_week = {**TWO_PER_WINDOW, "per": "week"}
    two_a_week["windows"] = [
        {"days": ["fri"], "start": "09:00", "end": "12:00"},
        {"days": ["fri"], "start": "14:00", "end": "16:00"},
    ]
    await restricted(client, tokens, "+447700900123", [two_a_week])
    here, there = svc.screening, second_process(svc)

    await call(here, "+447700900123")  # 10:00, counted here
    await call(there, "+447700900123", DEFAULT_NOW + timedelta(minutes=30))
    between = await call(here, "+447700900123", DEFAULT_NOW + timedelta(hours=3))

    assert (between.decision.outcome, between.decision.rule) == ("refuse", "call_windows.outside")
    assert between.decision.next_permitted_at == datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


async def test_kept_lookups_are_bounded_and_a_forgotten_caller_is_looked_up_again(
    client: Client, tokens: dict[str, str], sent: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(screening_module, "KNOWN_CALLERS_KEPT", 1)
    svc = services(client)
    await restricted(client, tokens, "+447700900100", [SPOC])
    await restricted(client, tokens, "+447700900123", [SPOC])
    await call(svc.screening, "+447700900100")  # the scripts loaded into the server

    _, kept = await counted_call(svc, "+447700900100", sent)
    await call(svc.screening, "+447700900123")  # one caller kept at most: the first forgotten
    _, forgotten = await counted_call(svc, "+447700900100", sent)

    assert (len(kept), len(forgotten)) == (1, 2)


async def test_kept_lookups_give_every_answer_a_fresh_lookup_gives_across_both_clock_changes(
    client: Client, tokens: dict[str, str], sent: list[str]
) -> None:
    """The same calls, at the same instants, from two people under the same strategy: one
    screened by a process that keeps their lookup, one by a new process every call. Every
    answer and every count is the same; the kept one took one round trip after the first."""
    svc = services(client)
    weekly = {
        "kind": "call_windows",
        "windows": [
            {"days": ["sun"], "start": "00:30", "end": "03:00"},
            {"days": ["mon"], "start": "09:00", "end": "10:00"},
        ],
        "max_calls": 3,
        "per": "week",
    }
    kept_phone, fresh_phone = "+447700900123", "+447700900124"
    kept = await restricted(client, tokens, kept_phone, [weekly, SPOC])
    fresh = await restricted(client, tokens, fresh_phone, [weekly, SPOC])
    # Each half hour over the night of each clock change (28 March and 31 October 2027,
    # 01:00 UTC), then the Monday morning after each.
    instants = [
        start + timedelta(minutes=30 * n)
        for start in (
            datetime(2027, 3, 27, 23, 0, tzinfo=UTC),
            datetime(2027, 3, 29, 8, 0, tzinfo=UTC),
            datetime(2027, 10, 30, 23, 0, tzinfo=UTC),
            datetime(2027, 11, 1, 8, 0, tzinfo=UTC),
        )
        for n in range(8)
    ]

    answers: dict[str, list[tuple[object, ...]]] = {kept_phone: [], fresh_phone: []}
    trips = []
    for at in instants:
        for phone, screening in ((kept_phone, svc.screening), (fresh_phone, second_process(svc))):
            before = len(sent)
            screened = await screening.screen(
                InboundCall(new_call_sid(), phone, "+441772000000", "ringing"), at
            )
            if phone == kept_phone:
                trips.append(len(sent) - before)
            d = screened.decision
            answers[phone].append((d.outcome, d.rule, d.spoc_name, d.next_permitted_at))

    assert answers[kept_phone] == answers[fresh_phone]
    outcomes = Counter(outcome for outcome, *_ in answers[kept_phone])
    # Each Sunday night the week's 3 calls; each Monday, a new week, both calls in its hour.
    assert outcomes == {"divert_spoc": 10, "refuse": 22}
    assert trips == [2] + [1] * (len(instants) - 1)
    kept_usage = await svc.redis.hgetall(svc.keys.quota(kept["id"]))
    fresh_usage = await svc.redis.hgetall(svc.keys.quota(fresh["id"]))
    assert kept_usage == fresh_usage
