"""Load: pools of signed webhooks (each CallSid new), driven by ``wrk`` with
``webhook.lua``, else by an aiohttp client in its own process; and the py-spy profile."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from aiohttp import ClientSession, TCPConnector
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from bench.common import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    OFFICE_NUMBER,
    VOICE_URL,
    person_phone,
    unknown_phone,
)
from bench.people import template_of
from bench.processes import ENTRY_POINT, Child, cpu_s
from callguard import urls

WRK_SCRIPT = Path(__file__).resolve().with_name("webhook.lua")

log = logging.getLogger("bench")


def voice_params(call_sid: str, caller: str) -> list[tuple[str, str]]:
    """The form Twilio posts for an inbound call (as tests/helpers.py sends it)."""
    return [
        ("AccountSid", ACCOUNT_SID),
        ("ApiVersion", "2010-04-01"),
        ("CallSid", call_sid),
        ("CallStatus", "ringing"),
        ("Called", OFFICE_NUMBER),
        ("Caller", caller),
        ("Direction", "inbound"),
        ("From", caller),
        ("FromCountry", "GB"),
        ("To", OFFICE_NUMBER),
        ("ToCountry", "GB"),
    ]


@dataclass
class Pools:
    """Files of signed webhooks, one per line ("signature<TAB>body"); no CallSid repeats
    within a run. ``restricted_share`` of the calls come from the N registered people; of
    those, ``refused_share`` from people whose calls are refused whatever the time and count
    (the rest from the others, refused only once a quota is full), or, if None, from anyone.
    """

    workdir: Path
    n: int
    restricted_share: float
    refused_share: float | None = None
    rng: random.Random = field(default_factory=lambda: random.Random(20261127))
    issued: int = 0

    def registered_caller(self) -> int:
        if self.refused_share is None:
            return self.rng.randrange(self.n)
        refused = self.rng.random() < self.refused_share
        while True:
            i = self.rng.randrange(self.n)
            if template_of(i).refused == refused:
                return i

    def write(self, count: int) -> Path:
        validator = RequestValidator(AUTH_TOKEN)
        path = self.workdir / f"pool-{self.issued}.txt"
        run = os.getpid() & 0xFFFF
        with open(path, "w", encoding="ascii") as out:
            for _ in range(count):
                self.issued += 1
                call_sid = f"CA{run:04x}{self.issued:028x}"
                if self.rng.random() < self.restricted_share:
                    caller = person_phone(self.registered_caller())
                else:
                    caller = unknown_phone(self.rng)
                params = voice_params(call_sid, caller)
                signature = validator.compute_signature(VOICE_URL, MultiDict(params))
                out.write(f"{signature}\t{urlencode(params)}\n")
        return path


@dataclass
class Measured:
    kind: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    outcomes: dict[str, int]
    cpu_ms_per_call: float  # CPU of the server process (and its background work) per call
    redis_cpu_ms_per_call: float


def measured(
    kind: str, raw: dict[str, Any], cpu_used_s: tuple[float, float], *, fresh: bool
) -> Measured:
    """Errors: socket errors, non-200 answers, fail-open (degraded) answers, and, when
    every CallSid must be new (``fresh``), requests that had to reuse one."""
    errors = raw["socket_errors"] + raw["non200"] + raw["degraded"]
    if fresh:
        errors += raw["reused"]
    return Measured(
        kind=kind,
        rps=raw["requests"] / raw["duration_s"],
        p50_ms=raw["p50_ms"],
        p99_ms=raw["p99_ms"],
        requests=raw["requests"],
        errors=errors,
        outcomes=raw["outcomes"],
        cpu_ms_per_call=cpu_used_s[0] * 1000 / max(1, raw["requests"]),
        redis_cpu_ms_per_call=cpu_used_s[1] * 1000 / max(1, raw["requests"]),
    )


def combined(raws: list[dict[str, Any]]) -> dict[str, Any]:
    """Timed runs of one server taken together (``Driver.measure_alternated``)."""
    counted = ("requests", "duration_s", "socket_errors", "non200", "degraded", "reused")
    together: dict[str, Any] = {key: sum(raw[key] for raw in raws) for key in counted}
    together["p50_ms"] = statistics.median(raw["p50_ms"] for raw in raws)
    together["p99_ms"] = max(raw["p99_ms"] for raw in raws)
    together["outcomes"] = {
        outcome: sum(raw["outcomes"][outcome] for raw in raws) for outcome in raws[0]["outcomes"]
    }
    return together


def run_wrk(url: str, pool: Path, seconds: float, concurrency: int) -> dict[str, Any]:
    threads = 1  # one wrk thread keeps up with 50 connections here and leaves a core free
    command = [
        *("wrk", f"-t{threads}", f"-c{concurrency}", f"-d{seconds:g}s", "--timeout", "10s"),
        *("-s", str(WRK_SCRIPT), url + urls.VOICE, "--", str(pool), str(threads)),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    for line in done.stdout.splitlines():
        if line.startswith("BENCH-JSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("BENCH-JSON "))
            return result
    raise RuntimeError(f"wrk gave no result (exit {done.returncode}): {done.stdout}{done.stderr}")


def run_aiohttp_driver(url: str, pool: Path, seconds: float, concurrency: int) -> dict[str, Any]:
    command = [
        *(sys.executable, str(ENTRY_POINT), "--role", "drive", "--target", url + urls.VOICE),
        *("--pool", str(pool), "--seconds", str(seconds), "--concurrency", str(concurrency)),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 120, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


async def drive(target: str, lines: list[str], seconds: float, concurrency: int) -> dict[str, Any]:
    """The fallback load generator: ``concurrency`` connections, each posting in a loop."""
    latencies: list[float] = []
    counts = {"socket_errors": 0, "non200": 0, "degraded": 0, "reused": 0}
    outcomes = {"connect": 0, "divert_spoc": 0, "refuse": 0, "other": 0}
    next_line = 0
    deadline = time.monotonic() + seconds

    async def worker(session: ClientSession) -> None:
        nonlocal next_line
        while time.monotonic() < deadline:
            counts["reused"] += next_line >= len(lines)
            signature, body = lines[next_line % len(lines)].split("\t", 1)
            next_line += 1
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            }
            started = time.perf_counter()
            try:
                async with session.post(target, data=body.encode(), headers=headers) as response:
                    await response.read()
            except Exception:
                counts["socket_errors"] += 1
                continue
            latencies.append(time.perf_counter() - started)
            counts["non200"] += response.status != 200
            counts["degraded"] += response.headers.get("X-CallGuard-Degraded") == "1"
            outcome = response.headers.get("X-CallGuard-Outcome", "other")
            outcomes[outcome if outcome in outcomes else "other"] += 1

    began = time.monotonic()
    async with ClientSession(connector=TCPConnector(limit=concurrency)) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    latencies.sort()

    def percentile_ms(q: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "requests": len(latencies),
        "duration_s": time.monotonic() - began,
        "p50_ms": percentile_ms(0.50),
        "p99_ms": percentile_ms(0.99),
        "max_ms": percentile_ms(1.0),
        **counts,
        "outcomes": outcomes,
    }


@dataclass
class Driver:
    loadgen: str  # "wrk" or "aiohttp"
    seconds: float
    warmup_s: float
    concurrency: int
    pools: Pools

    def run(self, url: str, pool: Path, seconds: float) -> dict[str, Any]:
        if self.loadgen == "wrk":
            return run_wrk(url, pool, seconds, self.concurrency)
        return run_aiohttp_driver(url, pool, seconds, self.concurrency)

    def warm(self, server: Child) -> float:
        """A warm-up run; its calls per second (to size the timed runs' pools)."""
        warm_pool = self.pools.write(max(2000, int(4000 * self.warmup_s)))
        warm = self.run(server.url, warm_pool, self.warmup_s)
        warm_pool.unlink()
        return float(warm["requests"] / warm["duration_s"])

    def timed(
        self, server: Child, redis_pid: int, rate: float, seconds: float
    ) -> tuple[dict[str, Any], tuple[float, float]]:
        """One timed run with a pool big enough that no CallSid repeats; what the load
        generator counted, and the CPU seconds the server and Redis used meanwhile."""
        pool = self.pools.write(int(rate * seconds * 1.6) + 5000)
        cpu_before = cpu_s(server.pid), cpu_s(redis_pid)
        raw = self.run(server.url, pool, seconds)
        cpu_used = cpu_s(server.pid) - cpu_before[0], cpu_s(redis_pid) - cpu_before[1]
        pool.unlink()
        return raw, cpu_used

    def measure(self, kind: str, server: Child, redis_pid: int) -> Measured:
        """A warm-up, then one timed run."""
        raw, cpu_used = self.timed(server, redis_pid, self.warm(server), self.seconds)
        result = measured(kind, raw, cpu_used, fresh=kind != "static")
        self.log_result(kind, raw, result)
        return result

    def measure_alternated(
        self, first: tuple[str, Child], second: tuple[str, Child], redis_pid: int, slices: int
    ) -> tuple[Measured, Measured]:
        """Two servers measured in turns, ``slices`` timed runs each of ``seconds / slices``
        (rounded to whole seconds),
        in the order A B B A A B ... (each pair of turns swapped, so a drift in the
        machine's speed falls on both alike). On a shared machine whose speed moves by
        10-20% from one minute to the next, two servers measured one after the other differ
        by that much whatever they do; measured in turns, they see the same machine.
        Calls, time and CPU are summed over a server's turns; p50 is the median of its
        turns', p99 the highest of them."""
        servers = (first, second)
        turn_s = max(1, round(self.seconds / slices))  # wrk takes whole seconds
        rates = [self.warm(server) for _, server in servers]
        raws: list[list[dict[str, Any]]] = [[], []]
        cpus: list[list[tuple[float, float]]] = [[], []]
        for turn in range(2 * slices):
            which = (turn + 1) // 2 % 2  # 0 1 1 0 0 1 1 0 ...
            raw, cpu_used = self.timed(servers[which][1], redis_pid, rates[which], turn_s)
            raws[which].append(raw)
            cpus[which].append(cpu_used)
        results = []
        for which, (kind, _) in enumerate(servers):
            raw = combined(raws[which])
            cpu_used = (sum(c[0] for c in cpus[which]), sum(c[1] for c in cpus[which]))
            result = measured(kind, raw, cpu_used, fresh=True)
            self.log_result(kind, raw, result)
            results.append(result)
        return results[0], results[1]

    def log_result(self, kind: str, raw: dict[str, Any], result: Measured) -> None:
        if result.errors:
            counts = {k: raw[k] for k in ("socket_errors", "non200", "degraded", "reused")}
            log.warning("  %s errors: %s", kind, counts)
        log.info(
            "  %-15s %6.0f calls/s  p50 %6.1f ms  p99 %6.1f ms  CPU ms/call %5.2f (Redis %4.2f)"
            "  errors %d  %s",
            *(kind, result.rps, result.p50_ms, result.p99_ms, result.cpu_ms_per_call),
            *(result.redis_cpu_ms_per_call, result.errors, result.outcomes),
        )

    def profile(self, server: Child, py_spy: str, out: Path) -> None:
        """One more timed run with py-spy sampling the server; prints the heaviest frames."""
        pool = self.pools.write(int(6000 * self.seconds))
        command = [
            *(py_spy, "record", "--pid", str(server.pid), "--duration", str(int(self.seconds))),
            *("--rate", "250", "--nonblocking", "--format", "raw", "--output", str(out)),
        ]
        with contextlib.ExitStack() as stack:
            sampler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            stack.callback(sampler.kill)
            raw = self.run(server.url, pool, self.seconds)
            _, problem = sampler.communicate(timeout=60)
        pool.unlink()
        if not out.exists():
            log.warning("  py-spy wrote no profile: %s", problem.decode(errors="replace")[-300:])
            return
        log.info(
            "  profiled run: %.0f calls/s; stacks in %s", raw["requests"] / raw["duration_s"], out
        )
        for frame, share in top_frames(out):
            log.info("    %5.1f%%  %s", share * 100, frame)


def top_frames(collapsed: Path, limit: int = 30) -> list[tuple[str, float]]:
    """Share of samples in which each function is on the stack (inclusive), from
    py-spy's collapsed stacks; asyncio's own frames, present in all, left out."""
    inclusive: dict[str, int] = {}
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            # A frame name py-spy misread (with --nonblocking) as a docstring holding
            # line breaks: the sample's stack is broken across lines; its pieces are skipped.
            continue
        count = int(count_text)
        total += count
        frames = set()
        for frame in stack.split(";"):
            name, _, where = frame.partition(" (")
            frames.add(f"{name} ({where.split(':')[0]})")
        for frame in frames:
            inclusive[frame] = inclusive.get(frame, 0) + count
    ranked = sorted(inclusive.items(), key=lambda kv: -kv[1])
    kept = [(f, c / total) for f, c in ranked if "asyncio/" not in f and "bench/" not in f]
    return kept[:limit]
