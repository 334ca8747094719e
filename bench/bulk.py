"""Loading people fast: their writes in the Redis protocol, from one template per kind of
person (ids and phones have fixed widths), streamed through ``redis-cli --pipe``."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.common import advocate_phone, person_id, person_phone, strategy_id
from bench.people import TEMPLATES, Template, Written, commands, template_of, written
from callguard.store.keys import Keys
from callguard.store.launcher import find_redis_server

# The benchmark runs one office under the default prefix.
KEYS = Keys()


def bulk(args: Sequence[str]) -> bytes:
    """Arguments in the Redis protocol, without the array header."""
    return b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)


def resp(command: Sequence[str]) -> bytes:
    """One command in the Redis protocol (what ``redis-cli --pipe`` reads)."""
    return b"*%d\r\n" % len(command) + bulk(command)


@dataclass(frozen=True)
class BulkParts:
    """One person's writes, regrouped so that a chunk of people takes few commands: every
    SET joins one MSET and the two shared LISTs one RPUSH each. Same keys, same values."""

    sets: bytes  # key, value, ... for MSET
    people: bytes  # the member for RPUSH people
    strategies: bytes  # the member for RPUSH strategies
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
        elif command[:2] == ["RPUSH", KEYS.PEOPLE]:
            people += command[2:]
        elif command[:2] == ["RPUSH", KEYS.STRATEGIES]:
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
    """The commands that write ``people``: one MSET, two RPUSHes, then each one's own."""
    rendered = []
    set_args = 0
    for i in people:
        parts = templates[template_of(i).name]
        values = dict(zip(SLOT_NAMES, (v.encode() for v in slot_values(i)), strict=True))
        rendered.append(BulkParts(*(part % values for part in vars(parts).values())))
        set_args += parts.set_args
    if not rendered:
        return b""
    rpush = b"*%d\r\n$5\r\nRPUSH\r\n" % (2 + len(rendered))
    return b"".join(
        [
            b"*%d\r\n$4\r\nMSET\r\n" % (1 + set_args),
            *(r.sets for r in rendered),
            rpush + bulk([KEYS.PEOPLE]),
            *(r.people for r in rendered),
            rpush + bulk([KEYS.STRATEGIES]),
            *(r.strategies for r in rendered),
            *(r.own for r in rendered),
        ]
    )


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
