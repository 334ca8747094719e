"""Retention as a scheduled duty: exactly what is past its period goes (with every index that
names it), legal holds spare records, and the disposal log says what went without saying
whose. Calls, notes and holds are made through the real webhooks and API at past times."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from callguard.clock import FixedClock
from callguard.domain.notes import Notification
from callguard.domain.records import CallEvent
from callguard.store.notifications import NotificationStore
from tests.conftest import KEYS, auth
from tests.helpers import Client, create_person, create_strategy, inbound_call, new_call_sid
from tests.helpers import services as services_of
from tests.integration.scheduler_support import at

pytestmark = pytest.mark.timeout(60)

RUN_AT = at(2026, 11, 27, 2, 30)
BLOCKED = [{"kind": "phone_blocked"}]


@dataclass
class World:
    """Who and what was made, by name, to check against afterwards."""

    people: dict[str, str] = field(default_factory=dict)
    strategies: dict[str, str] = field(default_factory=dict)
    calls: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    phones: list[str] = field(default_factory=list)


def days_before_run(days: int) -> datetime:
    return RUN_AT - timedelta(days=days)


async def call(
    client: Client, clock: FixedClock, world: World, name: str, phone: str, when: datetime
) -> str:
    clock.set(when)
    sid = new_call_sid()
    response = await inbound_call(client, phone, sid)
    assert response.status == 200, await response.text()
    world.calls[name] = sid
    world.phones.append(phone)
    return sid


async def note_for(client: Client, token: str, world: World, name: str, call_sid: str) -> str:
    response = await client.post(
        "/api/v1/file-notes", json={"call_sid": call_sid}, headers=auth(token)
    )
    assert response.status == 201, await response.text()
    note_id: str = (await response.json())["id"]
    world.notes[name] = note_id
    return note_id


async def message(
    client: Client, clock: FixedClock, sid: str, *, triaged: bool, token: str
) -> None:
    await services_of(client).call_events.message_recorded(
        sid,
        recording_sid="RE" + "2" * 32,
        recording_url="https://api.twilio.com/recordings/RE2",
        duration_s=30,
        new_matter=False,
        for_spoc=None,
        now=clock.now(),
    )
    if triaged:
        response = await client.post(
            f"/api/v1/calls/{sid}/message/triage",
            json={"outcome": "no_action"},
            headers=auth(token),
        )
        assert response.status == 200, await response.text()


async def hold(client: Client, token: str, kind: str, target: str) -> Any:
    return await client.post(
        "/api/v1/legal-holds",
        json={"kind": kind, "id": target, "reason": "Civil claim: preserve (ref LIT-7)"},
        headers=auth(token),
    )


async def build_world(client: Client, tokens: dict[str, str], clock: FixedClock) -> World:
    world = World()
    manager, staff = tokens["manager"], tokens["staff"]
    # Six years and more ago: two restricted people, and file notes on three calls.
    clock.set(days_before_run(2200))
    for name, phone in (("kept_apart", "07700 900301"), ("held", "07700 900302")):
        person = await create_person(client, manager, phones=[phone])
        world.people[name] = person["id"]
        review_due = (clock.now() + timedelta(days=60)).date().isoformat()
        strategy = await create_strategy(
            client,
            manager,
            person["id"],
            BLOCKED,
            review_due=review_due,
            notified_on=clock.now().date().isoformat(),
        )
        world.strategies[name] = strategy["id"]
    # x1 from a person on the register (not on hold): its note goes from their list too.
    x1 = await call(client, clock, world, "x1", "07700 900301", days_before_run(2200))
    x2 = await call(client, clock, world, "x2", "07700 900402", days_before_run(2200))
    x3 = await call(client, clock, world, "x3", "07700 900302", days_before_run(2200))
    await note_for(client, staff, world, "n1", x1)
    await note_for(client, staff, world, "n2", x2)
    await note_for(client, staff, world, "n3", x3)
    # Over two years ago: refused calls (breaches), unknown callers, a repeat caller.
    await call(client, clock, world, "c1", "07700 900301", days_before_run(800))
    await call(client, clock, world, "c2", "07700 900302", days_before_run(800))
    await call(client, clock, world, "c3", "07700 900403", days_before_run(800))
    c4 = await call(client, clock, world, "c4", "07700 900404", days_before_run(800))
    await services_of(client).calls.add_warning(
        c4, CallEvent(at=clock.now(), reason="verbal_abuse", by="sam.staff")
    )
    for n in range(6):
        await call(
            client,
            clock,
            world,
            f"r{n}",
            "07700 900405",
            days_before_run(800) + timedelta(minutes=n),
        )
    # Over a year ago: messages, triaged or not; one about the person on hold.
    c6 = await call(client, clock, world, "c6", "07700 900406", days_before_run(400))
    await message(client, clock, c6, triaged=True, token=staff)
    c7 = await call(client, clock, world, "c7", "07700 900407", days_before_run(400))
    await message(client, clock, c7, triaged=False, token=staff)
    c8 = await call(client, clock, world, "c8", "07700 900302", days_before_run(400))
    await message(client, clock, c8, triaged=True, token=staff)
    # Recent.
    await call(client, clock, world, "c5", "07700 900408", days_before_run(10))

    clock.set(RUN_AT - timedelta(hours=1))
    for kind, target in (
        ("person", world.people["held"]),
        ("call", world.calls["c3"]),
        ("file_note", world.notes["n2"]),
    ):
        response = await hold(client, manager, kind, target)
        assert response.status == 201, await response.text()
    clock.set(RUN_AT)
    return world


async def exists(redis: Redis, key: str) -> bool:
    return bool(await redis.exists(key))


async def indexed_in(
    redis: Redis, sid: str, person_id: str | None, strategy_id: str | None
) -> list[str]:
    indexes = [
        KEYS.CALLS,
        KEYS.MESSAGES,
        *[KEYS.calls_by_outcome(o) for o in ("connect", "divert_spoc", "refuse")],
    ]
    if person_id:
        indexes.append(KEYS.calls_by_person(person_id))
    if strategy_id:
        indexes.append(KEYS.breaches(strategy_id))
    return [i for i in indexes if await redis.zscore(i, sid) is not None]


async def test_retention_deletes_exactly_what_is_due_spares_holds_and_logs_it(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    world = await build_world(client, tokens, clock)
    redis = services_of(client).redis
    c1, c2 = world.calls["c1"], world.calls["c2"]
    kept_apart, held = world.people["kept_apart"], world.people["held"]
    assert await indexed_in(redis, c1, kept_apart, world.strategies["kept_apart"]) == [
        KEYS.CALLS,
        KEYS.calls_by_outcome("refuse"),
        KEYS.calls_by_person(kept_apart),
        KEYS.breaches(world.strategies["kept_apart"]),
    ]

    run = await services_of(client).duties.run("retention", RUN_AT)

    assert run.outcome == "performed"
    assert run.summary is not None
    summary = dict(run.summary)
    assert {
        k: summary[k]
        for k in (
            "call_record",
            "call_record_held",
            "repeat_caller",
            "message",
            "message_held",
            "file_note",
            "file_note_held",
        )
    } == {
        "call_record": 10,  # x1, x2, c1, c4 and the repeat caller's six
        "call_record_held": 3,  # x3 and c2 (person on hold), c3 (call on hold)
        "repeat_caller": 1,
        "message": 1,  # c6; c7 was never triaged, c8's person is on hold
        "message_held": 1,
        "file_note": 1,  # n1; n2 on hold, n3 about the person on hold
        "file_note_held": 2,
    }
    gone = ["x1", "x2", "c1", "c4", *[f"r{n}" for n in range(6)]]
    kept = ["x3", "c2", "c3", "c5", "c6", "c7", "c8"]
    for name in gone:
        sid = world.calls[name]
        assert not await exists(redis, KEYS.call(sid)), name
        assert not await exists(redis, KEYS.call_warnings(sid)), name
        assert await indexed_in(redis, sid, kept_apart, world.strategies["kept_apart"]) == []
    for name in kept:
        assert await exists(redis, KEYS.call(world.calls[name])), name
    assert await indexed_in(redis, c2, held, world.strategies["held"]) == [
        KEYS.CALLS,
        KEYS.calls_by_outcome("refuse"),
        KEYS.calls_by_person(held),
        KEYS.breaches(world.strategies["held"]),
    ]
    assert await redis.zcard(KEYS.REPEAT_CALLERS) == 0
    records = {n: await services_of(client).calls.get(world.calls[n]) for n in ("c6", "c7", "c8")}
    assert records["c6"] is not None and records["c6"].message is None
    assert records["c7"] is not None and records["c7"].message is not None
    assert records["c8"] is not None and records["c8"].message is not None
    assert await redis.zscore(KEYS.MESSAGES, world.calls["c7"]) is not None
    assert not await exists(redis, KEYS.note(world.notes["n1"]))
    assert await redis.zscore(KEYS.NOTES, world.notes["n1"]) is None
    assert await redis.zscore(KEYS.notes_by_author("sam.staff"), world.notes["n1"]) is None
    assert await redis.exists(KEYS.notes_by_person(kept_apart)) == 0  # n1 was its only note
    assert await exists(redis, KEYS.note(world.notes["n2"]))
    assert await exists(redis, KEYS.note(world.notes["n3"]))

    response = await client.get("/api/v1/disposals", headers=auth(tokens["manager"]))
    assert response.status == 200
    text = await response.text()
    items = (await response.json())["items"]
    logged = {(i["kind"], i["count"], i["rule"], i["days"]) for i in items}
    assert logged == {
        ("call_record", 10, "retention.call_records_days", 730),
        ("repeat_caller", 1, "retention.call_records_days", 730),
        ("message", 1, "retention.messages_days", 365),
        ("file_note", 1, "retention.file_notes_days", 2190),
        # kept_apart's creation, its strategy's and n1's, over six years ago by their own
        # time; the held person's are spared. (The audit stream's entries go by Redis's clock.)
        ("person_audit_entry", 3, "retention.audit_days", 2190),
    }
    trail = await services_of(client).register.store.audit_of_person(kept_apart)
    assert [e["action"] for e in trail] == []
    trail = await services_of(client).register.store.audit_of_person(held)
    assert [e["action"] for e in trail][:2] == ["person.create", "strategy.create"]
    assert all(i["at"] == "2026-11-27T02:30:00Z" for i in items)
    assert {i["cutoff"] for i in items if i["kind"] == "call_record"} == {"2024-11-27"}
    # Nothing about whom: no call, person, strategy or note ids, no numbers.
    for secret in [
        *world.calls.values(),
        *world.people.values(),
        *world.strategies.values(),
        *world.notes.values(),
    ]:
        assert secret not in text
    for phone in world.phones:
        assert phone.replace(" ", "")[-6:] not in text


async def test_retention_run_again_or_by_another_replica_disposes_and_logs_nothing_more(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    await build_world(client, tokens, clock)
    duties = services_of(client).duties
    await duties.run("retention", RUN_AT)
    logged = await duties.retention.disposals(100)

    same_day = await duties.run("retention", RUN_AT + timedelta(hours=3))
    next_day = await duties.run("retention", RUN_AT + timedelta(days=1))
    straight_through = await duties.retention.run(RUN_AT + timedelta(days=1))

    assert same_day.outcome == "already_done"
    assert next_day.outcome == "performed" and next_day.summary is not None
    assert next_day.summary["call_record"] == 0
    assert straight_through["call_record"] == straight_through["file_note"] == 0
    assert await duties.retention.disposals(100) == logged


async def test_lifting_a_hold_lets_the_next_run_dispose_of_the_record(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    world = await build_world(client, tokens, clock)
    duties = services_of(client).duties
    await duties.run("retention", RUN_AT)
    c3 = world.calls["c3"]

    response = await client.request(
        "DELETE",
        "/api/v1/legal-holds",
        json={"kind": "call", "id": c3, "reason": "Claim settled"},
        headers=auth(tokens["manager"]),
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["placed_by"] == "mo.manager"
    run = await duties.run("retention", RUN_AT + timedelta(days=1))

    assert run.summary is not None and run.summary["call_record"] == 1
    assert not await exists(services_of(client).redis, KEYS.call(c3))
    newest = (await duties.retention.disposals(1))[0]
    assert (newest.kind, newest.count) == ("call_record", 1)


async def test_audit_entries_past_their_period_are_trimmed_except_a_held_persons(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    manager = tokens["manager"]
    kept_apart = await create_person(client, manager, phones=["07700 900501"])
    held = await create_person(client, manager, phones=["07700 900502"])
    assert (await hold(client, manager, "person", held["id"])).status == 201
    redis = services_of(client).redis
    register = services_of(client).register.store
    held_list = KEYS.audit_person(held["id"])
    held_entries = await register.audit_of_person(held["id"])
    main_entries = await redis.xlen(KEYS.AUDIT)
    apart_entries = await redis.llen(KEYS.audit_person(kept_apart["id"]))
    assert (len(held_entries), apart_entries, main_entries) == (2, 1, 3)  # created; held
    # Stream ids are Redis's own clock, a person's entries the service's: run as if
    # audit_days have passed since both.
    later = max(datetime.now(UTC), clock.now()) + timedelta(days=2191)

    summary = await services_of(client).duties.retention.run(later)

    assert summary["audit_entry"] == main_entries
    assert summary["person_audit_entry"] == apart_entries
    assert await redis.xlen(KEYS.AUDIT) == 0
    assert await redis.exists(KEYS.audit_person(kept_apart["id"])) == 0
    assert await register.audit_of_person(kept_apart["id"]) == []
    # The held person's subject-access trail is whole.
    assert await redis.llen(held_list) == 2
    assert await register.audit_of_person(held["id"]) == held_entries
    assert [e["action"] for e in held_entries] == ["person.create", "legal_hold.place"]


async def test_a_persons_audit_entries_go_one_by_one_as_each_passes_its_period(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager, phones=["07700 900503"])
    clock.advance(timedelta(days=30))
    response = await client.get(f"/api/v1/people/{person['id']}", headers=auth(manager))
    assert response.status == 200
    register = services_of(client).register.store
    created, read = await register.audit_of_person(person["id"])
    assert (created["action"], read["action"]) == ("person.create", "person.read")

    # audit_days (2190) after the creation, but not yet after the read.
    summary = await services_of(client).duties.retention.run(
        clock.now() + timedelta(days=2190 - 10)
    )

    assert summary["person_audit_entry"] == 1
    assert await register.audit_of_person(person["id"]) == [read]
    newest = (await services_of(client).duties.retention.disposals(1))[0]
    assert (newest.kind, newest.count) == ("person_audit_entry", 1)


async def test_legal_holds_through_the_api(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    manager = tokens["manager"]
    person = await create_person(client, manager)
    call_sid = new_call_sid()
    assert (await inbound_call(client, "07700 900601", call_sid)).status == 200

    placed = await hold(client, manager, "person", person["id"])
    twice = await hold(client, manager, "person", person["id"])
    by_staff = await hold(client, tokens["staff"], "call", call_sid)
    unknown = await hold(client, manager, "call", new_call_sid())
    bad_kind = await hold(client, manager, "strategy", person["id"])
    no_reason = await client.post(
        "/api/v1/legal-holds", json={"kind": "call", "id": call_sid}, headers=auth(manager)
    )
    clock.advance(timedelta(minutes=1))
    on_call = await hold(client, tokens["chief_executive"], "call", call_sid)

    assert placed.status == 201
    body = await placed.json()
    assert body == {
        "kind": "person",
        "id": person["id"],
        "reason": "Civil claim: preserve (ref LIT-7)",
        "placed_by": "mo.manager",
        "placed_at": "2026-11-27T10:00:00Z",
    }
    assert twice.status == 409
    assert by_staff.status == 403
    assert unknown.status == 422
    assert [f["field"] for f in (await unknown.json())["fields"]] == ["id"]
    assert bad_kind.status == 422
    assert no_reason.status == 422
    assert [f["field"] for f in (await no_reason.json())["fields"]] == ["reason"]
    assert on_call.status == 201
    listing = await client.get("/api/v1/legal-holds", headers=auth(manager))
    assert [(h["kind"], h["id"]) for h in (await listing.json())["items"]] == [
        ("person", person["id"]),
        ("call", call_sid),
    ]
    audit = await services_of(client).register.store.audit_of_person(person["id"])
    assert ("legal_hold.place", "mo.manager") in [(e["action"], e["who"]) for e in audit]
    not_held = await client.request(
        "DELETE",
        "/api/v1/legal-holds",
        json={"kind": "file_note", "id": "fn_0000", "reason": "Mistake"},
        headers=auth(manager),
    )
    assert not_held.status == 422
    disposals_by_staff = await client.get("/api/v1/disposals", headers=auth(tokens["staff"]))
    assert disposals_by_staff.status == 403


def notice(
    user: str,
    age_days: int,
    call_sid: str | None = None,
    *,
    file_note_id: str | None = None,
    strategy_id: str | None = None,
) -> Notification:
    about = "call" if call_sid else "note" if file_note_id else "strategy" if strategy_id else ""
    return Notification(
        id=f"ntf_{user}_{age_days}_{about or 'none'}",
        user=user,
        kind="call_ended",
        at=days_before_run(age_days),
        title="A call was ended",
        text="Staff ended a call; the file note is due.",
        staff="sam.staff",
        call_sid=call_sid,
        file_note_id=file_note_id,
        strategy_id=strategy_id,
    )


async def test_notifications_past_their_period_go_unless_what_they_are_about_is_on_hold(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    world = await build_world(client, tokens, clock)
    redis = services_of(client).redis
    store = NotificationStore(redis, KEYS)
    old = notice("mo.manager", 366)
    recent = notice("mo.manager", 364)
    held = notice("mo.manager", 500, call_sid=world.calls["c3"])  # the call is on hold
    held_note = notice("mo.manager", 510, file_note_id=world.notes["n2"])  # note on hold
    # About a strategy whose person is on hold, and about one whose person is not.
    held_person = notice("mo.manager", 520, strategy_id=world.strategies["held"])
    free_note = notice("left.user", 600, file_note_id=world.notes["n1"])
    free_strategy = notice("left.user", 610, strategy_id=world.strategies["kept_apart"])
    gone_user = notice("left.user", 700)  # a recipient who is no longer a user
    # About a call and a file note that are not on hold themselves, but whose person is.
    person_call = notice("mo.manager", 530, call_sid=world.calls["c2"])
    person_note = notice("mo.manager", 540, file_note_id=world.notes["n3"])
    for each in (
        old,
        recent,
        held,
        held_note,
        held_person,
        free_note,
        free_strategy,
        gone_user,
        person_call,
        person_note,
    ):
        await store.add(each)
    # An index entry whose notification was already deleted goes from the index too.
    await redis.zadd(KEYS.notifications_of("mo.manager"), {"ntf_dangling": 0})

    run = await services_of(client).duties.run("retention", RUN_AT)

    assert run.summary is not None
    assert (run.summary["notification"], run.summary["notification_held"]) == (4, 5)
    for gone in (old, free_note, free_strategy, gone_user):
        assert await store.get(gone.id) is None, gone.id
    for kept in (recent, held, held_note, held_person, person_call, person_note):
        assert await store.get(kept.id) == kept, kept.id
    assert await redis.zrange(KEYS.notifications_of("mo.manager"), 0, -1) == [
        person_note.id,
        person_call.id,
        held_person.id,
        held_note.id,
        held.id,
        recent.id,
    ]
    assert not await exists(redis, KEYS.notifications_of("left.user"))
    logged = [d for d in await services_of(client).duties.retention.disposals(100)]
    [entry] = [d for d in logged if d.kind == "notification"]
    assert (entry.count, entry.rule) == (4, "retention.notifications_days")


async def test_updating_a_notification_retention_disposed_of_writes_nothing(
    client: Client,
) -> None:
    redis = services_of(client).redis
    store = NotificationStore(redis, KEYS)
    kept = notice("mo.manager", 10)
    await store.add(kept)

    assert await store.set_field(kept.id, "email", "sent") is True
    assert await store.set_field("ntf_disposed", "read_at", RUN_AT.isoformat()) is False

    assert await store.get(kept.id) == kept.model_copy(update={"email": "sent"})
    assert not await exists(redis, KEYS.notification("ntf_disposed"))
    assert await store.get("ntf_disposed") is None


async def sar(
    client: Client, token: str, clock: FixedClock, person_id: str, received: int, done: int | None
) -> str:
    """A subject access request received ``received`` days before the run and, unless
    ``done`` is None, completed ``done`` days before it (each logged on its own day)."""
    clock.set(days_before_run(received))
    response = await client.post(
        f"/api/v1/people/{person_id}/subject-access-requests",
        json={"received_on": clock.now().date().isoformat()},
        headers=auth(token),
    )
    assert response.status == 201, await response.text()
    request_id: str = (await response.json())["id"]
    if done is not None:
        clock.set(days_before_run(done))
        response = await client.post(
            f"/api/v1/subject-access-requests/{request_id}/completed",
            json={"completed_on": clock.now().date().isoformat()},
            headers=auth(token),
        )
        assert response.status == 200, await response.text()
    return request_id


async def test_subject_access_requests_go_six_years_after_completion_never_while_open(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    manager = tokens["manager"]
    clock.set(days_before_run(3000))
    person = (await create_person(client, manager, phones=["07700 900601"]))["id"]
    held = (await create_person(client, manager, phones=["07700 900602"]))["id"]
    old = await sar(client, manager, clock, person, 2230, 2200)  # completed 2,200 days ago
    recent = await sar(client, manager, clock, person, 2230, 2180)  # completed 2,180 days ago
    still_open = await sar(client, manager, clock, person, 2900, None)  # never completed
    held_old = await sar(client, manager, clock, held, 2240, 2200)  # its person is on hold
    clock.set(RUN_AT - timedelta(hours=1))
    assert (await hold(client, manager, "person", held)).status == 201
    redis = services_of(client).redis
    # An index entry whose request is already gone goes from the index too.
    await redis.zadd(KEYS.subject_access_all(), {"sar_dangling": 0})
    clock.set(RUN_AT)

    run = await services_of(client).duties.run("retention", RUN_AT)

    assert run.summary is not None
    counts = (run.summary["subject_access_request"], run.summary["subject_access_request_held"])
    assert counts == (1, 1)
    assert not await exists(redis, KEYS.subject_access(old))
    listed = await client.get(
        f"/api/v1/people/{person}/subject-access-requests", headers=auth(manager)
    )
    assert [r["id"] for r in await listed.json()] == [recent, still_open]
    assert await redis.zrange(KEYS.subject_access_all(), 0, -1) == [
        still_open,
        held_old,
        recent,
    ]
    assert await redis.zrange(KEYS.subject_access_of(person), 0, -1) == [still_open, recent]
    assert await redis.zrange(KEYS.subject_access_of(held), 0, -1) == [held_old]
    logged = await services_of(client).duties.retention.disposals(100)
    [entry] = [d for d in logged if d.kind == "subject_access_request"]
    assert (entry.count, entry.rule, entry.days) == (1, "retention.subject_access_days", 2190)
