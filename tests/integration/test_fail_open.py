"""Fail open (CONTRACT §3): if Redis dies or stalls, every call is still answered at once
and connected to the default route, its record is spooled to disk, and the records (and
the status callbacks that arrived meanwhile) are written when Redis is back: no call is
dropped, no record lost, none duplicated.

These tests kill a Redis of their own (AOF on, a private data directory), never the
session's, and start it again on the same data.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest
from redis.exceptions import OutOfMemoryError

from callguard import urls
from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.services.screening import BUDGET_TIMEOUTS
from callguard.settings import Settings
from callguard.store.connection import connect
from callguard.store.spool import Spool
from callguard.web.metrics import METRICS
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, DEFAULT_ROUTE, POLICY_PATH, PUBLIC_URL, auth
from tests.fault_helpers import Client, KillableRedis, app_client, create_tokens
from tests.helpers import (
    call_record,
    create_person,
    create_strategy,
    inbound_call,
    new_call_sid,
    post_signed,
    services,
)
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(60)

PERSON_PHONE = "+447700900123"
SPOC_PHONE = "+441772000001"
# A restricted person whose calls, when screened, go to their SPOC and are recorded; so a
# call that reached the default route without recording was visibly not screened.
RESTRICTIONS: list[dict[str, Any]] = [
    {"kind": "spoc", "name": "Jo Bloggs", "phone": SPOC_PHONE},
    {"kind": "recorded"},
]
BURST = 40
KILL_AFTER = 15  # answers received before Redis is killed
IN_FLIGHT = 6  # calls being answered at any moment
AFTER_KILL = 10  # further calls once Redis is known to be dead
DEGRADED_BOUND_S = 1.0  # a bound, not a benchmark


@dataclass
class Answer:
    status: int
    degraded: bool
    outcome: str
    twiml: str
    seconds: float
    started_after_kill: bool


@pytest.fixture
def fault_settings(killable: KillableRedis, twilio: TwilioStandIn, tmp_path: Path) -> Settings:
    return Settings(
        # A generous budget (3 s) so that killing Redis, not a slow test machine, is what
        # sends a call down the fail-open path; a dead Redis fails at once whatever it is.
        # The budget itself is tested with a stalled Redis below.
        redis_timeout_ms=1000,
        redis_url=killable.url,
        data_dir=tmp_path / "data",
        public_url=PUBLIC_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base=twilio.base_url,
        default_route=DEFAULT_ROUTE,
        policy=POLICY_PATH,
    )


@pytest.fixture
async def fault_client(
    fault_settings: Settings, policy: Policy, clock: FixedClock
) -> AsyncIterator[Client]:
    async with app_client(fault_settings, policy, clock) as client:
        yield client


@pytest.fixture
async def replica_b(
    fault_settings: Settings, policy: Policy, clock: FixedClock
) -> AsyncIterator[Client]:
    """A second replica on the same Redis, with a spool of its own (docs/operations.md)."""
    other = fault_settings.model_copy(update={"data_dir": fault_settings.data_dir.parent / "b"})
    async with app_client(other, policy, clock) as client:
        yield client


def spool_dir(settings: Settings) -> Path:
    return settings.data_dir / "spool"


async def save_spool(spool: Spool, saved: Path) -> None:
    """Copy the spool files aside, with no replay renaming or removing them meanwhile (the
    service retries its replay every second while Redis is down)."""
    async with spool._replaying:
        await asyncio.to_thread(shutil.copytree, spool.directory, saved)


def copy_files(source: Path, target: Path) -> None:
    for entry in source.iterdir():
        shutil.copy(entry, target / entry.name)


def assert_plain_dial_to_default_route(twiml: str) -> None:
    """The degraded answer: a <Dial> straight to the default route, nothing else needed."""
    root = ET.fromstring(twiml)  # noqa: S314 - our own TwiML, not untrusted input
    dials = root.findall("Dial")
    assert len(dials) == 1, twiml
    assert [(child.tag, child.text) for child in dials[0]] == [("Number", DEFAULT_ROUTE)]
    assert root.find(".//Conference") is None


def assert_screened_connect(twiml: str, call_sid: str) -> None:
    root = ET.fromstring(twiml)  # noqa: S314 - our own TwiML, not untrusted input
    conference = root.find("Dial/Conference")
    assert conference is not None, twiml
    assert conference.text == f"cg-{call_sid}"


async def all_records(client: Client, token: str, sids: list[str]) -> dict[str, dict[str, Any]]:
    return {sid: await call_record(client, token, sid) for sid in sids}


async def call_log_total(client: Client, token: str) -> int:
    log = await (await client.get("/api/v1/calls?limit=1", headers=auth(token))).json()
    total: int = log["total"]
    return total


async def test_redis_killed_during_a_burst_connects_every_call_and_loses_no_record(
    fault_client: Client,
    killable: KillableRedis,
    fault_settings: Settings,
    twilio: TwilioStandIn,
) -> None:
    client = fault_client
    tokens = await create_tokens(killable.url)
    manager = tokens["manager"]
    person = await create_person(client, manager, phones=[PERSON_PHONE])
    await create_strategy(client, manager, person["id"], RESTRICTIONS)
    screening = services(client).screening

    sids = [new_call_sid() for _ in range(BURST)]
    answers: dict[str, Answer] = {}
    killed = asyncio.Event()
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def call(call_sid: str) -> None:
        after_kill = killed.is_set()
        started = time.perf_counter()
        response = await inbound_call(client, PERSON_PHONE, call_sid)
        twiml = await response.text()
        answers[call_sid] = Answer(
            status=response.status,
            degraded=response.headers.get("X-CallGuard-Degraded") == "1",
            outcome=response.headers.get("X-CallGuard-Outcome", ""),
            twiml=twiml,
            seconds=time.perf_counter() - started,
            started_after_kill=after_kill,
        )

    async def burst_call(call_sid: str) -> None:
        async with slots:
            await call(call_sid)
            if len(answers) == KILL_AFTER:
                await killable.kill()  # SIGKILL, with other calls mid-flight
                killed.set()

    # The burst: calls keep arriving, IN_FLIGHT at a time, and Redis dies part-way.
    await asyncio.gather(*(burst_call(sid) for sid in sids))
    assert killed.is_set()
    # Keep firing once Redis is certainly gone.
    late = [new_call_sid() for _ in range(AFTER_KILL)]
    for sid in late:
        await call(sid)
    sids += late

    # Every call was answered, 200, with TwiML that connects.
    assert set(answers) == set(sids)
    assert {a.status for a in answers.values()} == {200}
    degraded = [sid for sid in sids if answers[sid].degraded]
    screened = [sid for sid in sids if not answers[sid].degraded]
    assert len(screened) >= KILL_AFTER  # all answered before the kill were screened
    assert all(answers[sid].degraded for sid in sids if answers[sid].started_after_kill)
    assert len(degraded) >= AFTER_KILL
    for sid in degraded:
        answer = answers[sid]
        assert answer.outcome == "connect"
        assert_plain_dial_to_default_route(answer.twiml)
        # Answered at once: Redis being down costs no waiting.
        assert answer.seconds < DEGRADED_BOUND_S, (sid, answer.seconds)
    for sid in screened:
        assert answers[sid].outcome == "divert_spoc"
        assert_screened_connect(answers[sid].twiml, sid)

    # Twilio's status callbacks keep arriving while Redis is down: for a degraded call
    # (whose record is itself only in the spool) and for one screened before the kill.
    finished = {degraded[-1]: "37", screened[0]: "12"}
    for sid, duration in finished.items():
        response = await post_signed(
            client,
            urls.STATUS,
            [("CallSid", sid), ("CallStatus", "completed"), ("CallDuration", duration)],
        )
        assert response.status == 200, await response.text()
    await services(client).background.drain()

    spool = services(client).spool
    assert spool.pending.is_set()
    assert spool.depth() >= len(degraded) + len(finished)
    # Keep the spool as it stands, to replay it a second time later.
    saved = Path(str(spool_dir(fault_settings)) + ".saved")
    await save_spool(services(client).spool, saved)

    # Redis comes back on the same data (AOF): the person, strategy and tokens survived.
    await killable.restart()
    await screening.replay_spool()
    assert not spool.pending.is_set()
    assert spool.depth() == 0

    # Exactly one record per call, the degraded ones marked so and routed as answered.
    assert await call_log_total(client, manager) == len(sids)
    records = await all_records(client, manager, sids)
    for sid in degraded:
        record = records[sid]
        assert record["degraded"] is True
        assert (record["outcome"], record["route_to"], record["recorded"]) == (
            "connect",
            DEFAULT_ROUTE,
            False,
        )
        assert record["from"] == PERSON_PHONE
    for sid in screened:
        record = records[sid]
        assert record["degraded"] is False
        assert (record["outcome"], record["rule"], record["route_to"]) == (
            "divert_spoc",
            "spoc",
            SPOC_PHONE,
        )
        assert record["person_id"] == person["id"]
    # The status callbacks were applied after (so onto) their records.
    for sid, duration in finished.items():
        assert (records[sid]["status"], records[sid]["duration_s"]) == ("completed", int(duration))
        assert sid not in await services(client).calls.live_sids()

    # Replaying the same spool again changes nothing and duplicates nothing.
    copy_files(saved, spool_dir(fault_settings))
    assert spool.depth() > 0
    assert await screening.replay_spool() > 0
    assert await call_log_total(client, manager) == len(sids)
    assert await all_records(client, manager, sids) == records

    # And the next call is screened again as usual.
    call_sid = new_call_sid()
    response = await inbound_call(client, PERSON_PHONE, call_sid)
    assert response.headers["X-CallGuard-Degraded"] == "0"
    assert response.headers["X-CallGuard-Outcome"] == "divert_spoc"


async def answered_then_completed(client: Client, call_sid: str) -> None:
    """Twilio's status callbacks of a call answered, then ended after 61 seconds."""
    for status, extra in (("in-progress", []), ("completed", [("CallDuration", "61")])):
        callback = await post_signed(
            client, urls.STATUS, [("CallSid", call_sid), ("CallStatus", status), *extra]
        )
        assert callback.status == 200


async def one_call_spooled(client: Client, killable: KillableRedis) -> tuple[dict[str, str], str]:
    """A token for each role, then Redis killed and a call answered by the fail-open path
    (its record spooled): the tokens and the call's SID."""
    tokens = await create_tokens(killable.url)
    await killable.kill()
    call_sid = new_call_sid()
    response = await inbound_call(client, "07911 123456", call_sid)
    assert response.headers["X-CallGuard-Degraded"] == "1"
    return tokens, call_sid


async def test_a_status_callback_spooled_while_redis_is_down_lands_after_the_record(
    fault_client: Client, killable: KillableRedis
) -> None:
    client = fault_client
    tokens, call_sid = await one_call_spooled(client, killable)
    await answered_then_completed(client, call_sid)

    await killable.restart()
    await services(client).screening.replay_spool()
    record = await call_record(client, tokens["manager"], call_sid)
    assert (record["degraded"], record["status"], record["duration_s"]) == (True, "completed", 61)
    assert record["from"] == "+447911123456"
    assert call_sid not in await services(client).calls.live_sids()


async def test_status_callbacks_spooled_by_another_replica_land_whichever_replays_first(
    fault_client: Client, replica_b: Client, killable: KillableRedis
) -> None:
    """Replicas keep spools of their own (docs/operations.md): a call answered by one while
    Redis was away, its callbacks taken by another, and that one replaying first. Its
    updates wait in Redis for the record, which the first replica's replay then completes."""
    tokens, call_sid = await one_call_spooled(fault_client, killable)
    await answered_then_completed(replica_b, call_sid)
    assert services(replica_b).spool.depth() == 2

    await killable.restart()
    assert await services(replica_b).screening.replay_spool() == 2  # before the record
    assert await services(fault_client).screening.replay_spool() == 1

    record = await call_record(fault_client, tokens["manager"], call_sid)
    assert (record["degraded"], record["status"], record["duration_s"]) == (True, "completed", 61)
    assert call_sid not in await services(fault_client).calls.live_sids()
    calls = services(fault_client).calls
    assert not await calls.redis.exists(calls.keys.call_held(call_sid))  # nothing left held


async def test_callbacks_held_before_a_record_written_live_reach_it_by_the_sweep(
    fault_client: Client, replica_b: Client, killable: KillableRedis, clock: FixedClock
) -> None:
    """The narrow race: a call's callbacks, spooled by replica B while Redis was away, are
    replayed (so held) just before replica A writes the call's record live, as Redis came
    back. No replay of A's applies them; the ``held_updates`` duty does."""
    tokens = await create_tokens(killable.url)
    call_sid = new_call_sid()
    await killable.kill()
    await answered_then_completed(replica_b, call_sid)
    await killable.restart()
    await services(replica_b).screening.replay_spool()  # or its own background replay did
    calls = services(fault_client).calls
    assert services(replica_b).spool.depth() == 0
    assert len(await calls.held(call_sid)) == 2  # held: no record yet

    response = await inbound_call(fault_client, "07911 123456", call_sid)
    assert response.headers["X-CallGuard-Degraded"] == "0"  # written live
    assert services(fault_client).spool.depth() == 0
    record = await call_record(fault_client, tokens["manager"], call_sid)
    assert record["status"] == "ringing"  # what the race left, until the sweep

    run = await services(fault_client).duties.run("held_updates", clock.now())
    assert (run.outcome, run.summary) == (
        "performed",
        {"calls": 1, "updates_applied": 2, "expired": 0},
    )
    record = await call_record(fault_client, tokens["manager"], call_sid)
    assert (record["degraded"], record["status"], record["duration_s"]) == (False, "completed", 61)
    assert call_sid not in await calls.live_sids()
    assert await calls.held_calls() == []


async def test_a_stalled_redis_fails_open_within_the_bound(
    killable: KillableRedis, fault_settings: Settings, policy: Policy, clock: FixedClock
) -> None:
    """Redis alive but not answering (paused): the call waits no longer than the budget,
    3 x CALLGUARD_REDIS_TIMEOUT_MS, here set to 100 ms so the bound has room on a busy
    machine (the default, 250 ms, gives 0.75 s)."""
    settings = fault_settings.model_copy(update={"redis_timeout_ms": 100})
    async with app_client(settings, policy, clock) as client:
        await _stalled_redis_fails_open(client, killable, settings)


async def _stalled_redis_fails_open(
    client: Client, killable: KillableRedis, settings: Settings
) -> None:
    tokens = await create_tokens(killable.url)
    person = await create_person(client, tokens["manager"], phones=[PERSON_PHONE])
    await create_strategy(client, tokens["manager"], person["id"], [{"kind": "phone_blocked"}])
    redis = services(client).redis
    budget_s = settings.redis_timeout_ms / 1000 * BUDGET_TIMEOUTS
    assert budget_s < DEGRADED_BOUND_S
    await redis.client_pause(1500, all=True)

    call_sid = new_call_sid()
    started = time.perf_counter()
    response = await inbound_call(client, PERSON_PHONE, call_sid)
    twiml = await response.text()
    elapsed = time.perf_counter() - started
    assert response.status == 200
    assert response.headers["X-CallGuard-Degraded"] == "1"
    assert_plain_dial_to_default_route(twiml)
    assert budget_s <= elapsed < DEGRADED_BOUND_S

    # The replay waits for Redis to answer again, then writes the record.
    await services(client).screening.replay_spool()
    record = await call_record(client, tokens["manager"], call_sid)
    assert (record["degraded"], record["outcome"], record["route_to"]) == (
        True,
        "connect",
        DEFAULT_ROUTE,
    )
    assert await call_log_total(client, tokens["manager"]) == 1


async def test_a_spool_line_torn_by_a_crash_holds_up_no_other_record(
    fault_client: Client, killable: KillableRedis, fault_settings: Settings
) -> None:
    """A crash mid-append leaves half a line at the end of the spool. The next call's entry
    still gets a line of its own, and the replay sets the torn line aside and goes on."""
    client = fault_client
    tokens = await create_tokens(killable.url)
    await killable.kill()
    before, after = new_call_sid(), new_call_sid()
    assert (await inbound_call(client, "07911 123456", before)).headers[
        "X-CallGuard-Degraded"
    ] == "1"
    spool_file = spool_dir(fault_settings) / "calls.jsonl"
    torn = '{"kind":"record","plan":"{\\"sid\\":\\"CA'
    with spool_file.open("a", encoding="utf-8") as out:
        out.write(torn)  # no newline: the process died here
    assert (await inbound_call(client, "07911 654321", after)).headers[
        "X-CallGuard-Degraded"
    ] == "1"

    await killable.restart()
    await services(client).screening.replay_spool()
    assert services(client).spool.depth() == 0
    assert not services(client).spool.pending.is_set()
    for sid in (before, after):
        assert (await call_record(client, tokens["manager"], sid))["degraded"] is True
    rejected = spool_dir(fault_settings) / "rejected.txt"
    assert rejected.read_text(encoding="utf-8").splitlines() == [torn]


async def test_a_call_last_answered_by_the_fail_open_path_is_logged_so(
    fault_client: Client, killable: KillableRedis, clock: FixedClock, fault_settings: Settings
) -> None:
    """The same CallSid screened (and recorded) while Redis was up, then asked again while
    it is down (Twilio retrying a request whose answer it did not get; or Redis dying after
    the write, before the answer): the caller got the degraded answer, the one given last,
    so once replayed the record says so, instead of keeping the refusal nobody heard."""
    client = fault_client
    tokens = await create_tokens(killable.url)
    manager = tokens["manager"]
    person = await create_person(client, manager, phones=[PERSON_PHONE])
    strategy = await create_strategy(client, manager, person["id"], [{"kind": "phone_blocked"}])
    call_sid = new_call_sid()
    first = await inbound_call(client, PERSON_PHONE, call_sid)
    assert first.headers["X-CallGuard-Rule"] == "phone_blocked"

    await killable.kill()
    clock.advance(timedelta(seconds=2))
    again = await inbound_call(client, PERSON_PHONE, call_sid)
    assert again.headers["X-CallGuard-Degraded"] == "1"
    assert_plain_dial_to_default_route(await again.text())
    saved = Path(str(spool_dir(fault_settings)) + ".saved")
    await save_spool(services(client).spool, saved)

    await killable.restart()
    await services(client).screening.replay_spool()
    record = await call_record(client, manager, call_sid)
    assert (record["degraded"], record["outcome"], record["rule"], record["route_to"]) == (
        True,
        "connect",
        "none",
        DEFAULT_ROUTE,
    )
    # Who called is kept; the call is listed as connected, not as a refusal or a breach.
    assert (record["person_id"], record["strategy_ids"]) == (person["id"], [strategy["id"]])
    headers = auth(manager)
    for outcome, expected in (("connect", [call_sid]), ("refuse", [])):
        listed = await (
            await client.get(f"/api/v1/calls?outcome={outcome}", headers=headers)
        ).json()
        assert [c["call_sid"] for c in listed["items"]] == expected
    breaches = await (
        await client.get(f"/api/v1/strategies/{strategy['id']}/breaches", headers=headers)
    ).json()
    assert breaches["total"] == 0
    assert call_sid in await services(client).calls.live_sids()
    assert await call_log_total(client, manager) == 1

    # Replayed again, nothing changes.
    copy_files(saved, spool_dir(fault_settings))
    assert await services(client).screening.replay_spool() == 1
    assert await call_record(client, manager, call_sid) == record
    assert await call_log_total(client, manager) == 1


async def test_a_call_answered_by_the_fail_open_path_is_counted_as_degraded(
    fault_client: Client, killable: KillableRedis
) -> None:
    """The metrics count what the caller got: a connected call, and a degraded one."""
    client = fault_client
    await killable.kill()
    response = await inbound_call(client, "07911 123456")
    assert response.headers["X-CallGuard-Degraded"] == "1"
    text = generate_latest(client.app[METRICS].registry).decode()
    assert "callguard_degraded_calls_total 1.0" in text
    assert 'callguard_calls_total{outcome="connect",rule="none"} 1.0' in text
    assert "callguard_inbound_answer_seconds_count 1.0" in text


def spoil_first_record(directory: Path, call_sid: str, quota_key: str) -> None:
    """The spooled record of ``call_sid`` (a replay may have moved it to a file of its own
    already) made one no replay could ever write, followed by an update of the same call
    and two more entries no replay could write."""
    for file in sorted(directory.glob("calls*.jsonl")):
        lines = file.read_text(encoding="utf-8").splitlines()
        for at, line in enumerate(lines):
            entry = json.loads(line)
            if entry["call_sid"] == call_sid and entry["kind"] == "record":
                # A quota whose most is not a number: the script fails before it writes.
                plan = json.loads(entry["plan"])
                plan["claims"] = [{"key": quota_key, "period": "w", "max": "lots", "expire_at": 0}]
                entry["plan"] = json.dumps(plan)
                lines[at : at + 1] = [
                    json.dumps(entry),
                    json.dumps({"kind": "update", "call_sid": call_sid, "fields": {}}),
                    json.dumps({"kind": "recording", "call_sid": new_call_sid()}),
                    "[1, 2]",
                ]
                file.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
                return
    raise AssertionError("no spooled record of the call")


async def test_a_spooled_entry_that_can_never_be_written_holds_up_no_record_after_it(
    fault_client: Client, killable: KillableRedis
) -> None:
    """Entries no replay could ever write (a record whose plan Redis's script refuses, with
    its call's later entry; an entry of a kind this release does not know; a line that is
    not an entry) are set aside for a person to look at, and the records spooled after
    them land; before, the first of them stopped every replay, for good."""
    client = fault_client
    tokens = await create_tokens(killable.url)
    await killable.kill()
    sids = [new_call_sid() for _ in range(3)]
    for sid in sids:
        response = await inbound_call(client, "07911 123456", sid)
        assert response.headers["X-CallGuard-Degraded"] == "1"
    spool = services(client).spool
    async with spool._replaying:  # the service retries its replay every second meanwhile
        quota_key = services(client).calls.keys.quota("spoiled")
        await asyncio.to_thread(spoil_first_record, spool.directory, sids[0], quota_key)

    await killable.restart()
    await services(client).screening.replay_spool()
    assert spool.depth() == 0
    assert spool.set_aside() == 4
    # The records after them landed, as the fail-open path answered them.
    for sid in sids[1:]:
        record = await call_record(client, tokens["manager"], sid)
        assert (record["degraded"], record["outcome"]) == (True, "connect")
    missing = await client.get(f"/api/v1/calls/{sids[0]}", headers=auth(tokens["manager"]))
    assert missing.status == 404
    metrics = await client.get("/metrics", headers=auth(tokens["admin"]))
    assert "callguard_spool_set_aside 4.0" in await metrics.text()

    # Tried again (as at the next start), they are set aside again; nothing is lost.
    assert await spool.retry_set_aside() == 4
    await services(client).screening.replay_spool()
    assert (spool.depth(), spool.set_aside()) == (0, 4)


async def test_a_spooled_record_redis_has_no_memory_for_waits_and_then_lands(
    fault_client: Client, killable: KillableRedis
) -> None:
    """Out of memory is Redis not ready, not the entry at fault: the replay stops and tries
    again later, setting nothing aside."""
    client = fault_client
    tokens, call_sid = await one_call_spooled(client, killable)

    spool = services(client).spool
    redis = connect(killable.url)
    try:
        async with spool._replaying:  # no replay of the service's until Redis is full
            await killable.restart()
            await redis.config_set("maxmemory", 1)  # every write refused: OOM
        with pytest.raises(OutOfMemoryError):
            await services(client).screening.replay_spool()
        assert (spool.depth(), spool.set_aside()) == (1, 0)
        await redis.config_set("maxmemory", 0)
    finally:
        await redis.aclose()
    await services(client).screening.replay_spool()
    record = await call_record(client, tokens["manager"], call_sid)
    assert (record["degraded"], record["outcome"]) == (True, "connect")
    assert services(client).spool.set_aside() == 0


async def test_what_was_set_aside_is_tried_again_when_the_service_starts(
    fault_settings: Settings, policy: Policy, clock: FixedClock, killable: KillableRedis
) -> None:
    """A record set aside by a release that could not write it is written by the next
    start of one that can."""
    async with app_client(fault_settings, policy, clock) as before:
        tokens, call_sid = await one_call_spooled(before, killable)
        spool = services(before).spool
        async with spool._replaying:  # as if a replay had set it aside
            for file in sorted(spool.directory.glob("calls*.jsonl")):
                with spool.rejected.open("a", encoding="utf-8") as rejected:
                    rejected.write(file.read_text(encoding="utf-8"))
                file.unlink()
        assert (spool.depth(), spool.set_aside()) == (0, 1)
    await killable.restart()

    async with app_client(fault_settings, policy, clock) as restarted:
        spool = services(restarted).spool
        assert spool.set_aside() == 0  # back in the spool as the service started
        await services(restarted).screening.replay_spool()
        record = await call_record(restarted, tokens["manager"], call_sid)
        assert (spool.depth(), spool.set_aside()) == (0, 0)
    assert (record["degraded"], record["outcome"]) == (True, "connect")
