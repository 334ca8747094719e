"""The people the bench loads: N people, each with one active contact strategy, written
in exactly the layout the register uses, fast enough for a million.

A few people (one of each kind) are stored through ``RegisterStore`` itself; the bulk
commands for the same people are then checked against what it wrote, key for key and
byte for byte, before everyone else is streamed through ``redis-cli --pipe``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from bench.common import (
    SPOC_PHONE,
    advocate_phone,
    person_id,
    person_phone,
    strategy_id,
)
from callguard.domain.audit import AuditEntry
from callguard.domain.models import (
    AdjustmentKind,
    Person,
    ReasonableAdjustment,
    Strategy,
    StrategyStatus,
)
from callguard.store import keys
from callguard.store.calls import CallStore
from callguard.store.connection import connect
from callguard.store.launcher import find_redis_server
from callguard.store.register import RegisterStore, screen_json

log = logging.getLogger("bench")

ALWAYS = [
    {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}
]
SPOC = {"kind": "spoc", "name": "Jo Bloggs", "phone": SPOC_PHONE}
REASON = (
    "Repeated abusive and threatening calls to staff after the complaint was finalised; "
    "see file note FN-2026-0117 and the review of 14 November."
)


@dataclass(frozen=True)
class Template:
    """One kind of restricted person; ``share`` of every hundred people are of this kind.

    Call windows span the whole week so the outcome does not depend on when the bench
    runs; their quotas still count, so repeated callers are refused once a quota is full.
    """

    name: str
    share: int
    restrictions: list[dict[str, Any]]
    adjustments: tuple[AdjustmentKind, ...] = ()
    advocate: bool = False

    @property
    def refused(self) -> bool:
        """Whether the person's own calls are refused whatever the time and count."""
        kinds = {r["kind"] for r in self.restrictions}
        return bool(kinds & {"written_only", "phone_blocked", "advocate_only", "no_response"})


TEMPLATES = (
    Template(
        "call_windows",
        30,
        [{"kind": "call_windows", "windows": ALWAYS, "max_calls": 3, "per": "week"}],
    ),
    Template(
        "call_windows+spoc",
        15,
        [{"kind": "call_windows", "windows": ALWAYS, "max_calls": 5, "per": "week"}, SPOC],
    ),
    Template("spoc", 15, [SPOC]),
    Template(
        "recorded+call_windows, extra time",
        10,
        [
            {"kind": "recorded"},
            {"kind": "call_windows", "windows": ALWAYS, "max_calls": 2, "per": "window"},
        ],
        adjustments=(AdjustmentKind.needs_extra_time,),
    ),
    Template(
        "written_only",
        10,
        [
            {
                "kind": "written_only",
                "email": "complaints@example.org",
                "postal_address": "County Hall, Preston PR1 8XJ",
            }
        ],
    ),
    Template("phone_blocked", 8, [{"kind": "phone_blocked"}]),
    Template(
        "advocate_only",
        7,
        [{"kind": "advocate_only", "advocate_phones": [advocate_phone(0)]}],
        advocate=True,
    ),
    Template("no_response", 5, [{"kind": "no_response"}]),
)
SLOTS = [t for t in TEMPLATES for _ in range(t.share)]
assert len(SLOTS) == 100


def template_of(i: int) -> Template:
    return SLOTS[i % len(SLOTS)]


def refused(owner_id: str) -> bool:
    """Whether calls from the person with this id are refused (for the ``floor`` baseline,
    which knows the answer without deciding it)."""
    return template_of(int(owner_id.removeprefix("per_"), 16)).refused


@dataclass(frozen=True)
class Written:
    """A person and their strategy as the register would store them."""

    person: Person
    strategy: Strategy
    audits: tuple[AuditEntry, AuditEntry]


def written(i: int, template: Template, created: datetime) -> Written:
    pid, sid = person_id(i), strategy_id(i)
    restrictions = json.loads(
        json.dumps(template.restrictions).replace(advocate_phone(0), advocate_phone(i))
    )
    person = Person(
        name="A. Bench-Person",
        phones=[person_phone(i)],
        emails=["a.person@example.org"],
        reasonable_adjustments=[ReasonableAdjustment(kind=k) for k in template.adjustments],
        id=pid,
        created_at=created,
        created_by="mo.manager",
        updated_at=created,
    )
    strategy = Strategy(
        id=sid,
        person_id=pid,
        matter_ref="CMP-2026-0142",
        reason=REASON,
        restrictions=restrictions,
        notified_on=created.date(),
        review_due=(created + timedelta(days=84)).date(),
        starts_on=created.date(),
        status=StrategyStatus.active,
        created_at=created,
        created_by="mo.manager",
        updated_at=created,
    )

    def audit(action: str, target: str) -> AuditEntry:
        return AuditEntry(
            at=created,
            who="mo.manager",
            role="manager",
            action=action,
            target=target,
            person_id=pid,
        )

    return Written(person, strategy, (audit("person.create", pid), audit("strategy.create", sid)))


def commands(w: Written) -> list[list[str]]:
    """The writes of ``RegisterStore.create_person`` then ``create_strategy``, as commands
    (``verify_layout`` checks them against the store itself)."""
    person, strategy = w.person, w.strategy
    pid, sid = person.id, strategy.id
    person_score = repr(person.created_at.timestamp())
    score = repr(strategy.created_at.timestamp())
    person_audit = [v for pair in w.audits[0].fields().items() for v in pair]
    strategy_audit = [v for pair in w.audits[1].fields().items() for v in pair]
    advocates = [
        phone
        for r in strategy.restrictions
        if r.kind == "advocate_only"
        for phone in r.advocate_phones
    ]
    return [
        *[["SET", keys.phone_owner(p), pid] for p in person.phones],
        ["SET", keys.person(pid), person.model_dump_json()],
        [
            "SET",
            keys.person_adjustments(pid),
            json.dumps([a.kind.value for a in person.reasonable_adjustments]),
        ],
        ["ZADD", keys.PEOPLE, person_score, pid],
        ["XADD", keys.AUDIT, "*", *person_audit],
        ["XADD", keys.audit_person(pid), "*", *person_audit],
        ["SET", keys.strategy(sid), strategy.model_dump_json()],
        ["SET", keys.strategy_screen(sid), screen_json(strategy)],
        ["ZADD", keys.person_active_strategies(pid), score, sid],
        *[["ZADD", keys.advocate(p), score, sid] for p in advocates],
        ["ZADD", keys.STRATEGIES, score, sid],
        ["SADD", keys.person_strategies(pid), sid],
        ["XADD", keys.AUDIT, "*", *strategy_audit],
        ["XADD", keys.audit_person(pid), "*", *strategy_audit],
    ]


def bulk(args: Sequence[str]) -> bytes:
    """Arguments in the Redis protocol, without the array header."""
    return b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)


def resp(command: Sequence[str]) -> bytes:
    """One command in the Redis protocol (what ``redis-cli --pipe`` reads)."""
    return b"*%d\r\n" % len(command) + bulk(command)


@dataclass(frozen=True)
class BulkParts:
    """One person's writes, regrouped so that a chunk of people takes few commands: every
    SET joins one MSET and the two shared ZSETs one ZADD each. Same keys, same values."""

    sets: bytes  # key, value, ... for MSET
    people: bytes  # score, member for ZADD people
    strategies: bytes  # score, member for ZADD strategies
    own: bytes  # the person's other commands, whole

    @property
    def set_args(self) -> int:
        return self.sets.count(b"\r\n") // 2


def bulk_parts(w: Written) -> BulkParts:
    sets: list[str] = []
    people: list[str] = []
    strategies: list[str] = []
    own: list[bytes] = []
    for command in commands(w):
        assert not any("\r\n" in arg for arg in command)  # ``set_args`` counts on it
        if command[0] == "SET":
            sets += command[1:]
        elif command[:2] == ["ZADD", keys.PEOPLE]:
            people += command[2:]
        elif command[:2] == ["ZADD", keys.STRATEGIES]:
            strategies += command[2:]
        else:
            own.append(resp(command))
    return BulkParts(bulk(sets), bulk(people), bulk(strategies), b"".join(own))


SAMPLE = 0xABCDEF  # a person index whose ids and phones appear nowhere else
SLOT_NAMES = (b"p", b"s", b"ph", b"adv")


def slot_values(i: int) -> tuple[str, str, str, str]:
    return person_id(i), strategy_id(i), person_phone(i), advocate_phone(i)


def bulk_template(template: Template, created: datetime) -> BulkParts:
    """One person of this kind, with their ids and phones as %-placeholders: every id and
    phone has a fixed width, so the lengths in the protocol stay right."""
    sample = bulk_parts(written(SAMPLE, template, created))
    everything = b"".join(vars(sample).values())
    for value in slot_values(SAMPLE)[:3]:
        if value.encode() not in everything:
            raise AssertionError(f"{value} missing from the {template.name} template")

    def slotted(raw: bytes) -> bytes:
        raw = raw.replace(b"%", b"%%")
        for value, name in zip(slot_values(SAMPLE), SLOT_NAMES, strict=True):
            raw = raw.replace(value.encode(), b"%(" + name + b")s")
        return raw

    return BulkParts(*(slotted(part) for part in vars(sample).values()))


def render_chunk(templates: dict[str, BulkParts], people: Sequence[int]) -> bytes:
    """The commands that write ``people``: one MSET, two ZADDs, then each one's own."""
    rendered = []
    set_args = 0
    for i in people:
        parts = templates[template_of(i).name]
        values = dict(zip(SLOT_NAMES, (v.encode() for v in slot_values(i)), strict=True))
        rendered.append(BulkParts(*(part % values for part in vars(parts).values())))
        set_args += parts.set_args
    if not rendered:
        return b""
    zadd = b"*%d\r\n$4\r\nZADD\r\n" % (2 + 2 * len(rendered))
    return b"".join(
        [
            b"*%d\r\n$4\r\nMSET\r\n" % (1 + set_args),
            *(r.sets for r in rendered),
            zadd + bulk([keys.PEOPLE]),
            *(r.people for r in rendered),
            zadd + bulk([keys.STRATEGIES]),
            *(r.strategies for r in rendered),
            *(r.own for r in rendered),
        ]
    )


def first_of_each_template(n: int) -> list[int]:
    seen: dict[str, int] = {}
    for i in range(min(n, len(SLOTS))):
        seen.setdefault(template_of(i).name, i)
    return sorted(seen.values())


async def check_stored(redis: Redis, w: Written, *, shared_audit: bool = True) -> set[str]:
    """Assert Redis holds what ``commands(w)`` writes; return the keys they write. Without
    ``shared_audit`` the one audit stream of everyone (N entries and more) is not read."""
    written_keys: set[str] = set()
    for command in commands(w):
        name, key, *rest = command
        written_keys.add(key)
        if key == keys.AUDIT and not shared_audit:
            continue
        if name == "SET":
            got = await redis.get(key)
            assert got == rest[0], f"{key}: Redis holds {got!r}, the bulk load writes {rest[0]!r}"
        elif name == "ZADD":
            assert await redis.zscore(key, rest[1]) == float(rest[0]), key
        elif name == "SADD":
            assert await redis.sismember(key, rest[0]), key
        elif name == "XADD":
            fields = dict(zip(rest[1::2], rest[2::2], strict=True))
            entries = await redis.xrange(key) or []
            assert any(f == fields for _id, f in entries), key
    return written_keys


async def verify_layout(redis: Redis, people: Sequence[int], created: datetime) -> None:
    """Store ``people`` through ``RegisterStore`` (the code the API uses), then check that
    the bulk commands would write exactly the same keys and values."""
    store = RegisterStore(redis)
    expected_keys: set[str] = set()
    for i in people:
        w = written(i, template_of(i), created)
        await store.create_person(w.person, w.audits[0])
        await store.create_strategy(w.strategy, w.audits[1])
        expected_keys |= await check_stored(redis, w)
    stored = {k async for k in redis.scan_iter(match=keys.PREFIX + "*", count=1000)}
    assert stored == expected_keys, f"the register writes other keys: {stored ^ expected_keys}"


def redis_cli() -> str:
    server = Path(find_redis_server())
    beside = server.with_name("redis-cli")
    found = str(beside) if beside.exists() else shutil.which("redis-cli")
    if not found:
        raise SystemExit("bench: redis-cli not found (needed to load large N)")
    return found


def bulk_load(socket_path: Path, n: int, skip: set[int], created: datetime) -> None:
    """Everyone but ``skip``, streamed through ``redis-cli --pipe`` in bounded chunks."""
    templates = {t.name: bulk_template(t, created) for t in TEMPLATES}
    pipe = subprocess.Popen(
        [redis_cli(), "-s", str(socket_path), "--pipe"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert pipe.stdin is not None and pipe.stdout is not None
    try:
        chunk = 5_000
        for start in range(0, n, chunk):
            people = [i for i in range(start, min(n, start + chunk)) if i not in skip]
            pipe.stdin.write(render_chunk(templates, people))
        pipe.stdin.close()
        report = pipe.stdout.read().decode(errors="replace")
        if pipe.wait(timeout=600) != 0 or not re.search(r"errors: 0,", report):
            raise RuntimeError(f"redis-cli --pipe failed: {report[-500:]}")
    finally:
        if pipe.poll() is None:
            pipe.kill()
            pipe.wait()


@dataclass
class Loaded:
    bytes_per_strategy: float
    bytes_by_key: dict[str, float]
    load_s: float


async def load_people(redis_url: str, socket_path: Path, n: int) -> Loaded:
    """Load N people and report Redis memory per strategy (one strategy per person)."""
    started = time.monotonic()
    created = datetime.now(UTC).replace(microsecond=0) - timedelta(days=7)
    redis = connect(redis_url, timeout_s=60)
    try:
        # The AOF stays on, as in production, but is never rewritten here: a rewrite forks
        # and serialises the whole dataset, again and again as a bulk load grows it, and one
        # landing in a measurement would swamp it. Appends and fsyncs go on as configured.
        await redis.config_set("auto-aof-rewrite-percentage", "0")
        before = int((await redis.info("memory"))["used_memory"])
        checked = first_of_each_template(n)
        await verify_layout(redis, checked, created)
        await asyncio.to_thread(bulk_load, socket_path, n, set(checked), created)
        log.info("  %d people loaded in %.0f s", n, time.monotonic() - started)
        for i in random.Random(2).sample(range(n), min(n, 20)):
            await check_stored(redis, written(i, template_of(i), created), shared_audit=False)
        after = int((await redis.info("memory"))["used_memory"])
        assert await redis.zcard(keys.STRATEGIES) == n
        await smoke_test(redis, n)
        by_key = await memory_by_key(redis, n)
    finally:
        await redis.aclose()
    return Loaded((after - before) / n, by_key, time.monotonic() - started)


async def smoke_test(redis: Redis, n: int) -> None:
    """The inbound path's own lookup finds loaded people and no one else."""
    calls = CallStore(redis)
    for i in {0, n // 2, n - 1}:
        match, _usage = await calls.lookup(person_phone(i))
        assert match is not None and match.entries[0].strategy_id == strategy_id(i), i
    match, _usage = await calls.lookup("+447500000000")
    assert match is None


async def memory_by_key(redis: Redis, n: int) -> dict[str, float]:
    """Bytes per person by key kind (MEMORY USAGE of a sample; shared keys divided by N)."""
    sample = random.Random(1).sample(range(n), min(n, 300))
    kinds: dict[str, list[int]] = {}

    async def usage(key: str) -> int:
        value = await redis.memory_usage(key, samples=0)
        return int(value or 0)

    for i in sample:
        pid, sid = person_id(i), strategy_id(i)
        per_person = {
            "phone": keys.phone_owner(person_phone(i)),
            "person": keys.person(pid),
            "person_adj": keys.person_adjustments(pid),
            "person_active": keys.person_active_strategies(pid),
            "person_strategies": keys.person_strategies(pid),
            "strategy": keys.strategy(sid),
            "strategy_screen": keys.strategy_screen(sid),
            "audit_person": keys.audit_person(pid),
        }
        if template_of(i).advocate:
            per_person["advocate"] = keys.advocate(advocate_phone(i))
        for kind, key in per_person.items():
            kinds.setdefault(kind, []).append(await usage(key))
    out = {kind: sum(v) / len(sample) for kind, v in kinds.items()}
    for kind, key in (
        ("people", keys.PEOPLE),
        ("strategies", keys.STRATEGIES),
        ("audit", keys.AUDIT),
    ):
        out[kind] = await usage(key) / n
    return {kind: round(v) for kind, v in out.items()}
