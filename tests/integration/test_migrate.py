"""A register stored by the previous CallGuard (layout 1: a person as a JSON string with
side keys, a strategy and its screening form as two keys, audit streams, sorted-set
indexes) is moved to the current layout by ``callguard migrate``: everything reads back the
same, the inbound path finds it, a second run changes nothing; ``serve`` refuses to start
on the old layout, ``demo`` migrates by itself."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from callguard.domain.audit import AuditEntry
from callguard.domain.models import AdvocateOnly, Person, Strategy, StrategyStatus
from callguard.domain.notes import FileNote
from callguard.store import migrate as migrate_module
from callguard.store.call_records import CallStore
from callguard.store.connection import connect
from callguard.store.file_notes import NoteStore, note_indexes
from callguard.store.keys import Keys
from callguard.store.launcher import EmbeddedRedis
from callguard.store.migrate import (
    LAYOUT,
    LayoutError,
    Migrated,
    ensure_current,
    migrate,
    stored_layout,
)
from callguard.store.register import RegisterStore
from tests.conftest import KEYS
from tests.integration.test_register_layout import AT, PHONE, audit, person, strategy
from tests.processes import run_cli, serve_env

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    yield client
    await client.aclose()


async def write_layout_1(
    redis: Redis, who: Person, strategies: list[Strategy], audits: list[AuditEntry]
) -> None:
    """What CallGuard at commit 51f5b6a wrote for a person, their strategies and audit."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(KEYS.person(who.id), who.model_dump_json())
        kinds = [a.kind.value for a in who.reasonable_adjustments]
        pipe.set(KEYS.person(who.id) + ":adj", json.dumps(kinds))
        pipe.zadd(KEYS.PEOPLE, {who.id: who.created_at.timestamp()})
        for phone in who.phones:
            pipe.set(KEYS.phone_owner(phone), who.id)
        for each in strategies:
            created = {each.id: each.created_at.timestamp()}
            pipe.set(KEYS.strategy(each.id), each.model_dump_json())
            screen = {
                "strategy_id": each.id,
                "person_id": each.person_id,
                "matter_ref": each.matter_ref,
                "restrictions": [r.model_dump(mode="json") for r in each.restrictions],
            }
            pipe.set(KEYS.strategy(each.id) + ":screen", json.dumps(screen))
            pipe.zadd(KEYS.STRATEGIES, created)
            pipe.sadd(KEYS.person(who.id) + ":strategies", each.id)
            if each.status is StrategyStatus.active:
                pipe.zadd(KEYS.person(who.id) + ":active", created)
        for entry in audits:
            pipe.xadd(KEYS.AUDIT, entry.fields())  # type: ignore[arg-type]
            pipe.xadd(KEYS.audit_person(who.id), entry.fields())  # type: ignore[arg-type]
        await pipe.execute()


async def test_a_layout_1_register_reads_back_the_same_after_migration(redis: Redis) -> None:
    """Layout 1 goes through layout 2 to 3 in one run: its file notes (stored then as they
    are now, but listed under no person) are listed under their person too."""
    who = person()
    async with redis.pipeline(transaction=True) as pipe:
        for note in (
            file_note("note_1", who.id, AT),
            file_note("note_2", None, AT + timedelta(hours=1)),
            file_note("note_3", who.id, AT + timedelta(hours=2)),
        ):
            pipe.set(KEYS.note(note.id), note.model_dump_json())
            for index in note_indexes(KEYS, note.author, None):  # under no person
                pipe.zadd(index, {note.id: note.created_at.timestamp()})
        await pipe.execute()
    newer = strategy("str_b", AT + timedelta(days=1))
    older = strategy("str_a", AT)
    ended = strategy("str_c", AT - timedelta(days=9), status=StrategyStatus.ended, version=2)
    other = person("per_00000000000000bb").model_copy(
        update={"phones": ["+447700900124"], "reasonable_adjustments": []}
    )
    audits = [
        audit("person.create", who.id, who.id),
        audit("strategy.create", older.id, who.id, AT + timedelta(minutes=1)),
    ]
    await write_layout_1(redis, who, [newer, older, ended], audits)
    await write_layout_1(redis, other, [], [audit("person.create", other.id, other.id)])
    assert await stored_layout(redis, KEYS) == 1

    done = await migrate(redis, KEYS)
    again = await migrate(redis, KEYS)

    assert (done.people, done.strategies, done.audit_entries, done.file_notes) == (2, 3, 3, 2)
    assert again == Migrated()
    assert await stored_layout(redis, KEYS) == LAYOUT == 3
    notes = NoteStore(redis, KEYS)
    assert [n.id for n in await notes.of_person(who.id)] == ["note_3", "note_1"]
    assert [n.id for n in await notes.newest(None)] == ["note_3", "note_2", "note_1"]
    store = RegisterStore(redis, KEYS)
    assert await store.get_person(who.id) == who
    assert await store.list_people(0, 10) == ([who, other], 2)
    assert sorted(await store.strategies_of(who.id), key=lambda s: s.id) == [older, newer, ended]
    assert await store.active_strategy_ids(who.id) == [older.id, newer.id]  # oldest first
    assert [e["action"] for e in await store.audit_of_person(who.id)] == [
        "person.create",
        "strategy.create",
    ]
    assert await store.audit_of_person(who.id) == [
        {**a.fields(), "person_id": who.id} for a in audits
    ]
    match, _usage = await CallStore(redis, KEYS).lookup(PHONE)
    assert match is not None and [e.strategy_id for e in match.entries] == [older.id, newer.id]
    assert match.adjustments == ("needs_extra_time",)
    leftovers = [k async for k in redis.scan_iter(match="*:screen")]
    leftovers += [k async for k in redis.scan_iter(match="*:active")]
    assert leftovers == []


async def test_migrate_brings_layout_2_screening_lines_up_to_date(redis: Redis) -> None:
    """A strategy stored before notice was tracked (§3.6): its screening line does not say
    whether the person was told in writing, so a refusal would not say so until migrate."""
    who = person()
    told = strategy("str_a", AT, notified_on="2026-11-20")
    store = RegisterStore(redis, KEYS)
    await store.create_strategy(told, audit("strategy.create", told.id, who.id))
    screen = {
        "id": told.id,
        "person_id": told.person_id,
        "matter_ref": told.matter_ref,
        "restrictions": [{"kind": "spoc", "name": "SPOC str_a", "phone": "+441772000001"}],
    }
    rest = json.loads(str(await redis.get(KEYS.strategy(told.id))).split("\n")[1])
    del rest["applied_version"]
    await redis.set(KEYS.strategy(told.id), json.dumps(screen) + "\n" + json.dumps(rest))
    await redis.set(KEYS.SCHEMA, str(LAYOUT))
    assert await store.get_strategy(told.id) == told

    done = await migrate(redis, KEYS)
    again = await migrate(redis, KEYS)

    assert (done.strategies, again.strategies) == (1, 0)
    line = json.loads(str(await redis.get(KEYS.strategy(told.id))).split("\n")[0])
    assert line == {**screen, "told_in_writing": True}
    assert await store.get_strategy(told.id) == told


async def test_advocates_and_new_writes_work_on_the_migrated_register(redis: Redis) -> None:
    who = person()
    advocate = "+447700900999"
    via_advocate = strategy("str_a", AT).model_copy(
        update={"restrictions": [AdvocateOnly(advocate_phones=[advocate])]}
    )
    await write_layout_1(redis, who, [via_advocate], [])
    await redis.zadd(KEYS.advocate(advocate), {via_advocate.id: AT.timestamp()})
    await migrate(redis, KEYS)

    store = RegisterStore(redis, KEYS)
    second = strategy("str_b", AT + timedelta(days=1))
    await store.create_strategy(second, audit("strategy.create", second.id, who.id))

    assert await store.active_strategy_ids(who.id) == [via_advocate.id, second.id]
    match, _usage = await CallStore(redis, KEYS).lookup(advocate)
    assert match is not None and [(e.strategy_id, e.role) for e in match.entries] == [
        (via_advocate.id, "advocate")
    ]


async def test_serve_refuses_an_old_register_until_migrate_has_run(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    try:
        client = connect(url)
        try:
            await write_layout_1(client, person(), [strategy("str_a", AT)], [])
        finally:
            await client.aclose()
        env = serve_env(tmp_path / "data", 0)
        env["CALLGUARD_REDIS_URL"] = url

        refused, _out, err = await run_cli(["serve"], env, tmp_path)
        worker_refused, _out, worker_err = await run_cli(["worker", "--once"], env, tmp_path)
        code, out, migrate_err = await run_cli(["migrate"], env, tmp_path)
        worker, worker_out, _err = await run_cli(["worker", "--once"], env, tmp_path)
        again, out_again, _err = await run_cli(["migrate"], env, tmp_path)
    finally:
        server.stop()
    assert refused == 2
    assert "layout 1, from an earlier CallGuard" in err and "callguard migrate" in err
    # Commands that write the register refuse too (an import would be half-written).
    assert worker_refused == 2 and "callguard migrate" in worker_err
    assert worker == 0 and "retention" in worker_out
    assert code == 0, migrate_err
    assert out.startswith("Migrated 1 people, 1 strategies and 0 audit entries")
    assert again == 0 and out_again.startswith("Nothing to migrate")


def file_note(note_id: str, person_id: str | None, created: datetime) -> FileNote:
    return FileNote(
        id=note_id,
        call_sid="CA" + note_id.removeprefix("note_").ljust(32, "0"),
        caller="07*******23",
        person_id=person_id,
        strategy_ids=[],
        matter_refs=[],
        received_at=created,
        recorded=False,
        recording_sid=None,
        warnings=[],
        ended=None,
        reason=None,
        reason_label=None,
        author="sam.staff",
        line_manager=None,
        created_at=created,
        updated_at=created,
        due_at=created + timedelta(days=1),
    )


async def test_a_layout_2_register_gets_each_file_note_listed_under_its_person(
    redis: Redis,
) -> None:
    """Layout 3 lists each file note under the person the call was from, so a person's page
    and their subject access export read only theirs. Notes written before it are listed by
    ``migrate``; until then the register is refused as an earlier layout."""
    notes = NoteStore(redis, KEYS)
    entry = audit("file_note.create", "note", "per_a")
    written = [
        file_note("note_1", "per_a", AT),
        file_note("note_2", "per_b", AT + timedelta(hours=1)),
        file_note("note_3", None, AT + timedelta(hours=2)),  # a caller on no register
        file_note("note_4", "per_a", AT + timedelta(hours=3)),
    ]
    for note in written:
        await notes.create(note, entry)
    assert [n.id for n in await notes.of_person("per_a")] == ["note_4", "note_1"]
    # As layout 2 left it: no note listed under its person.
    for key in [k async for k in redis.scan_iter(match=KEYS.notes_by_person("*"))]:
        await redis.delete(key)
    await redis.set(KEYS.SCHEMA, "2")
    assert await notes.of_person("per_a") == []
    with pytest.raises(LayoutError, match="layout 2, from an earlier CallGuard"):
        await ensure_current(redis, KEYS)

    done = await migrate(redis, KEYS)
    again = await migrate(redis, KEYS)

    assert (done.file_notes, again.file_notes) == (3, 0)
    assert await stored_layout(redis, KEYS) == LAYOUT == 3
    assert [n.id for n in await notes.of_person("per_a")] == ["note_4", "note_1"]
    assert [n.id for n in await notes.of_person("per_b")] == ["note_2"]
    assert [n.id for n in await notes.newest(None)] == ["note_4", "note_3", "note_2", "note_1"]
    assert await ensure_current(redis, KEYS) == LAYOUT


async def test_a_note_written_by_an_old_replica_during_the_migration_is_listed_too(
    redis: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every replica should be stopped first; if one is not, a note it writes (on layout 2:
    not listed under its person) while the notes are being listed is listed all the same."""
    notes = NoteStore(redis, KEYS)
    await notes.create(file_note("note_1", "per_a", AT), audit("file_note.create", "n", "per_a"))
    await redis.set(KEYS.SCHEMA, "2")
    index_notes = migrate_module._index_notes_by_person
    runs = 0

    async def then_an_old_replica_writes(client: Redis, keys: Keys) -> tuple[int, list[str]]:
        nonlocal runs
        result = await index_notes(client, keys)
        runs += 1
        if runs == 1:  # as layout 2 wrote a note: the note and the list of all notes only
            late = file_note("note_2", "per_a", AT + timedelta(hours=1))
            await redis.set(KEYS.note(late.id), late.model_dump_json())
            await redis.zadd(KEYS.NOTES, {late.id: late.created_at.timestamp()})
        return result

    monkeypatch.setattr(migrate_module, "_index_notes_by_person", then_an_old_replica_writes)
    done = await migrate(redis, KEYS)

    # Listed afresh: note_2 only (note_1 was written by this version, listed already).
    assert (runs, done.file_notes) == (2, 1)
    assert [n.id for n in await notes.of_person("per_a")] == ["note_2", "note_1"]
    assert await stored_layout(redis, KEYS) == LAYOUT
