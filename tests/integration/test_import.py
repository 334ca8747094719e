"""``callguard import``: a 10,000-row register, and a file with bad rows (all or nothing)."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import cast

import pytest
import redis

from callguard.store.launcher import EmbeddedRedis
from tests.conftest import KEYS
from tests.processes import clean_env, run_cli

pytestmark = pytest.mark.timeout(180)

HEADER = [
    "name",
    "phones",
    "emails",
    "adjustments",
    "matter_ref",
    "reason",
    "restrictions",
    "notified_on",
    "review_due",
]
WINDOWS = [
    {
        "kind": "call_windows",
        "windows": [{"days": ["tue"], "start": "09:00", "end": "12:00"}],
        "max_calls": 1,
        "per": "week",
    }
]


def row(index: int, **overrides: str) -> dict[str, str]:
    review_due = (date.today() + timedelta(days=60)).isoformat()
    base = {
        "name": f"Person {index}",
        "phones": f"07911 {100000 + index}",
        "emails": "",
        "adjustments": "needs_extra_time:speaks slowly" if index % 7 == 0 else "",
        "matter_ref": f"CMP-{index:05d}",
        "reason": "Repeated calls after the complaint closed",
        "restrictions": json.dumps(WINDOWS if index % 2 else [{"kind": "phone_blocked"}]),
        "notified_on": (date.today() - timedelta(days=3)).isoformat(),
        "review_due": review_due,
    }
    base.update(overrides)
    return base


def write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[str, redis.Redis]]:
    server = EmbeddedRedis(tmp_path / "redis", appendonly=False)
    url = server.start()
    client = redis.Redis.from_url(url, decode_responses=True)
    yield url, client
    client.close()
    server.stop()


async def test_ten_thousand_rows_are_imported_in_one_go(
    tmp_path: Path, store: tuple[str, redis.Redis]
) -> None:
    url, client = store
    path = tmp_path / "register.csv"
    write(path, [row(i) for i in range(10_000)])
    started = time.perf_counter()
    code, out, err = await run_cli(
        ["import", str(path)], clean_env(CALLGUARD_REDIS_URL=url), tmp_path
    )
    elapsed = time.perf_counter() - started
    print(out, f"\nwall time {elapsed:.1f} s")
    assert code == 0, out + err
    assert "rows: 10000; people: 10000; strategies: 10000; rejected rows: 0" in out
    assert "checking [#########################] 100% (10000/10000)" in err
    assert client.llen(KEYS.PEOPLE) == 10_000
    assert client.llen(KEYS.STRATEGIES) == 10_000
    assert client.get(KEYS.phone_owner("+447911100042")) is not None


async def test_one_bad_row_imports_nothing_and_every_bad_row_is_reported(
    tmp_path: Path, store: tuple[str, redis.Redis]
) -> None:
    url, client = store
    client.set(KEYS.phone_owner("+447911100009"), "per_existing")
    rows = [row(i) for i in range(10)]
    rows[2] = row(2, phones="12345")
    rows[3] = row(3, review_due=(date.today() + timedelta(days=200)).isoformat())
    rows[4] = row(4, restrictions=json.dumps([{"kind": "no_response"}]))
    rows[5] = row(5, restrictions="[{not json")
    rows[6] = row(6, phones="07911 100001", name="Someone else")
    rows[7] = row(7, matter_ref="", restrictions="")  # a person without a strategy: fine
    path = tmp_path / "register.csv"
    write(path, rows)
    env = clean_env(CALLGUARD_REDIS_URL=url)

    code, out, _err = await run_cli(["import", str(path), "--dry-run"], env, tmp_path)
    print(out)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "rows: 10; people: 5; strategies: 4; rejected rows: 5"
    assert any(line.startswith("row 3: phones[0]: not a valid phone number") for line in lines)
    assert any(
        line.startswith("row 4: review_due: must be no more than 3 calendar months")
        for line in lines
    )
    assert "row 5: restrictions: the manager role may not create no_response" in lines
    assert any(line.startswith("row 6: restrictions: not valid JSON") for line in lines)
    assert any(
        line.startswith("row 7: phones: the first phone belongs to an earlier row")
        for line in lines
    )
    assert lines[-1] == "Nothing was imported: correct the rows above and run again."
    assert client.llen(KEYS.PEOPLE) == 0

    good = [r for i, r in enumerate(rows) if i not in (2, 3, 4, 5, 6)]
    write(path, good)
    code, out, _err = await run_cli(["import", str(path)], env, tmp_path)
    assert code == 1
    assert "phones already held by someone else: +447911100009" in out
    assert client.llen(KEYS.PEOPLE) == 0 and client.llen(KEYS.STRATEGIES) == 0

    client.delete(KEYS.phone_owner("+447911100009"))
    code, out, _err = await run_cli(["import", str(path)], env, tmp_path)
    assert code == 0, out
    assert (client.llen(KEYS.PEOPLE), client.llen(KEYS.STRATEGIES)) == (5, 4)
    entries = cast(list[tuple[str, dict[str, str]]], client.xrange(KEYS.AUDIT))
    actions = [fields["action"] for _id, fields in entries]
    assert actions.count("person.import") == 5 and actions.count("strategy.import") == 4
