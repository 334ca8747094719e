"""Benchmark of the inbound-call webhook (``POST /webhooks/twilio/voice``), run by hand:

    .venv/bin/python bench/webhook.py --sizes 1000,1000000

Not part of the test suite. The machine it runs on is shared and noisy, so every figure
is printed beside baselines measured in the same run, on the same machine, with the same
load generator and concurrency (see ``bench/servers.py``):

  static          a bare aiohttp handler answering fixed TwiML
  one_round_trip  + the signed form read and checked, and one EVALSHA to Redis
  floor           + one fire-and-forget REST POST to the Twilio stand-in for each caller
                  not refused: the least work a correct answer needs
  decision        CallGuard itself, from ``callguard.bootstrap.build_app``

For each size N: a throwaway ``redis-server`` (AOF on, as in production) is loaded with N
people, each with one active contact strategy, in exactly the register's layout
(``bench/people.py``, ``bench/population.py``); then correctly signed webhooks, each with a
new CallSid, 90% from unknown numbers and 10% from the N people, are driven at a fixed
concurrency for a fixed time by ``wrk`` (``apt-get install wrk``) with
``bench/webhook.lua``, else by an aiohttp client in its own process. Every process started
is stopped on exit, Ctrl-C or failure.

Prints one JSON line per N on stdout; progress goes to stderr. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from callguard.store.launcher import EmbeddedRedis, find_redis_server

if __package__ in (None, ""):  # run as ``python bench/webhook.py``: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load, population, processes, servers

log = logging.getLogger("bench")
KINDS = (*servers.BASELINES, "decision")


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        cpuinfo = Path("/proc/cpuinfo").read_text()
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
        cpu = found.group(1).strip() if found else cpu
    words = subprocess.run(
        [find_redis_server(), "--version"], capture_output=True, text=True, check=False
    ).stdout.split()
    redis = next((w.removeprefix("v=") for w in words if w.startswith("v=")), "?")
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, Redis {redis}"


@contextlib.contextmanager
def embedded_redis(data_dir: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(data_dir, appendonly=True)  # the AOF as production configures it
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def report_problems(server: processes.Child) -> None:
    """Pass on what the server logged as a warning or worse (fail-open answers, say)."""
    lines = server.log_path.read_text(errors="replace").splitlines()
    problems = [line for line in lines if re.search(r" (WARNING|ERROR|CRITICAL) ", line)]
    if problems:
        log.warning("  %s logged %d problems, e.g. %s", server.name, len(problems), problems[:3])


def median(results: list[load.Measured]) -> load.Measured:
    return sorted(results, key=lambda m: m.rps)[len(results) // 2]


def bench_size(
    n: int,
    args: argparse.Namespace,
    children: processes.Children,
    standin: processes.Child,
    workdir: Path,
) -> dict[str, Any]:
    log.info("N = %d", n)
    runs: dict[str, list[load.Measured]] = {kind: [] for kind in KINDS}
    peak_rss_mib = 0.0
    with embedded_redis(workdir / f"redis-{n}") as redis_server:
        assert redis_server.socket_path is not None and redis_server.process is not None
        redis_pid = redis_server.process.pid
        loaded = asyncio.run(population.load_people(redis_server.url, redis_server.socket_path, n))
        log.info(
            "  loaded in %.0f s; Redis bytes per strategy: %.0f, by key %s",
            *(loaded.load_s, loaded.bytes_per_strategy, loaded.bytes_by_key),
        )
        pools = load.Pools(workdir, n, args.restricted_share, args.refused_share)
        driver = load.Driver(args.loadgen, args.seconds, args.warmup, args.concurrency, pools)
        server_args = ["--redis-url", redis_server.url, "--twilio-base", standin.url]
        server_args += ["--data-dir", str(workdir / f"service-{n}")]
        for round_no in range(args.rounds):
            for kind in ("static", "one_round_trip"):
                server = children.start(f"{kind}-{n}-{round_no}", [kind, *server_args])
                try:
                    runs[kind].append(driver.measure(kind, server, redis_pid))
                finally:
                    children.stop(server)
                    report_problems(server)
            # The floor and the decision, the pair the target compares, in turns.
            floor_role = servers.LEAN_FLOOR if args.lean_floor else "floor"
            floor_server = children.start(f"floor-{n}-{round_no}", [floor_role, *server_args])
            decision_server = children.start(
                f"decision-{n}-{round_no}", ["callguard", *server_args]
            )
            try:
                measured_floor, measured_decision = driver.measure_alternated(
                    ("floor", floor_server), ("decision", decision_server), redis_pid, args.turns
                )
                runs["floor"].append(measured_floor)
                runs["decision"].append(measured_decision)
                peak_rss_mib = max(peak_rss_mib, processes.rss_mib(decision_server.pid)[1])
                # The floor is profiled too: what the decision does beyond it is the
                # difference of the two profiles.
                if args.profile and round_no == 0:
                    for kind, server in (("floor", floor_server), ("decision", decision_server)):
                        out = Path(args.profile) / f"{kind}-{n}.collapsed"
                        out.parent.mkdir(parents=True, exist_ok=True)
                        driver.profile(server, args.py_spy, out)
            finally:
                for server in (decision_server, floor_server):
                    children.stop(server)
                    report_problems(server)
    # Each round's decision against the floor measured just before it, minutes apart at most:
    # on a shared machine these pairs say more than medians taken across rounds.
    by_round = [
        {
            "rps": round(d.rps / f.rps, 3),
            "cpu_floor_to_decision": round(f.cpu_ms_per_call / d.cpu_ms_per_call, 3),
        }
        for d, f in zip(runs["decision"], runs["floor"], strict=True)
    ]
    for round_no, ratios in enumerate(by_round):
        log.info(
            "  round %d: decision / floor %.3f; CPU per call floor / decision %.3f",
            round_no,
            ratios["rps"],
            ratios["cpu_floor_to_decision"],
        )
    best = {kind: median(results) for kind, results in runs.items()}
    decision, floor, static = best["decision"], best["floor"], best["static"]
    return {
        "n": n,
        "decision_rps": round(decision.rps, 1),
        "static_rps": round(static.rps, 1),
        "one_round_trip_rps": round(best["one_round_trip"].rps, 1),
        "floor_rps": round(floor.rps, 1),
        "ratio_decision_to_floor": round(decision.rps / floor.rps, 3),
        "ratio_decision_to_static": round(decision.rps / static.rps, 3),
        "p50_ms": round(decision.p50_ms, 2),
        "p99_ms": round(decision.p99_ms, 2),
        "floor_p99_ms": round(floor.p99_ms, 2),
        "ratio_p99_to_floor": round(decision.p99_ms / floor.p99_ms, 3),
        "service_rss_mib": round(peak_rss_mib, 1),
        "redis_bytes_per_strategy": round(loaded.bytes_per_strategy),
        "errors": sum(m.errors for results in runs.values() for m in results),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": args.machine,
        # Beyond the brief: CPU per call hardly moves with the machine's other load.
        "cpu_ms_per_call": {kind: round(m.cpu_ms_per_call, 3) for kind, m in best.items()},
        "redis_cpu_ms_per_call": {
            kind: round(m.redis_cpu_ms_per_call, 3) for kind, m in best.items()
        },
        "ratio_floor_cpu_to_decision_cpu": round(
            floor.cpu_ms_per_call / decision.cpu_ms_per_call, 3
        ),
        "ratios_by_round": by_round,
        "outcomes": decision.outcomes,
        "redis_bytes_by_key": loaded.bytes_by_key,
        "load_s": round(loaded.load_s, 1),
        "seconds": args.seconds,
        "rounds": args.rounds,
        "turns": args.turns,
        "lean_floor": args.lean_floor,
        "concurrency": args.concurrency,
        "loadgen": args.loadgen,
        "restricted_share": args.restricted_share,
        "refused_share": args.refused_share,
    }


Line = dict[str, Any]
TARGETS: tuple[tuple[str, Callable[[Line], bool]], ...] = (
    ("decision_rps >= 0.8 x floor", lambda r: r["ratio_decision_to_floor"] >= 0.8),
    ("p99 <= 1.25 x floor p99", lambda r: r["ratio_p99_to_floor"] <= 1.25),
    ("Redis <= 2 KiB per strategy", lambda r: r["redis_bytes_per_strategy"] <= 2048),
    ("service RSS <= 150 MiB", lambda r: r["service_rss_mib"] <= 150),
)


def report_targets(lines: list[dict[str, Any]]) -> None:
    for line in lines:
        for name, met in TARGETS:
            log.info("N=%-8d %-32s %s", line["n"], name, "met" if met(line) else "NOT met")
    if len(lines) > 1:
        ratio = lines[-1]["p99_ms"] / lines[0]["p99_ms"]
        verdict = "met" if ratio <= 1.2 else "NOT met"
        log.info(
            "p99 at N=%d is %.2f x N=%d (<= 1.2): %s", lines[-1]["n"], ratio, lines[0]["n"], verdict
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark CallGuard's inbound-call webhook.")
    parser.add_argument("--sizes", default="1000,1000000", help="people loaded, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="each timed run")
    parser.add_argument("--warmup", type=float, default=3.0, help="before each timed run")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1, help="repeat all four; take medians")
    parser.add_argument(
        "--lean-floor",
        action="store_true",
        help="a floor doing its own work as the decision does (bench/servers.py Floor.lean)",
    )
    parser.add_argument(
        "--turns",
        type=int,
        default=5,
        help="the floor and the decision are measured in turns, this many each a round "
        "(each turn --seconds / --turns, in whole seconds)",
    )
    parser.add_argument(
        "--restricted-share", type=float, default=0.10, help="calls from registered people"
    )
    parser.add_argument(
        "--refused-share",
        type=float,
        default=None,
        help="of those, calls from people always refused (default: people drawn evenly)",
    )
    parser.add_argument("--loadgen", choices=("auto", "wrk", "aiohttp"), default="auto")
    parser.add_argument(
        "--profile", metavar="DIR", help="also profile the service and the floor (py-spy)"
    )
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    # Internal: the bench runs its servers and the fallback load generator as children.
    parser.add_argument("--role", help=argparse.SUPPRESS)
    for name in ("--ready", "--redis-url", "--twilio-base", "--data-dir", "--target", "--pool"):
        parser.add_argument(name, default="", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.role == "drive":
        pool = Path(args.pool).read_text(encoding="ascii").splitlines()
        result = asyncio.run(load.drive(args.target, pool, args.seconds, args.concurrency))
        print(json.dumps(result), flush=True)
        return 0
    if args.role:
        servers.run(args.role, Path(args.ready), args.redis_url, args.twilio_base, args.data_dir)
        return 0

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "aiohttp"
        if args.loadgen == "aiohttp":
            log.warning("wrk not found (apt-get install wrk): using the slower aiohttp client")
    if args.profile and not shutil.which(args.py_spy):
        raise SystemExit("bench: --profile needs py-spy (pip install py-spy) or --py-spy PATH")
    sizes = [int(size) for size in args.sizes.split(",") if size.strip()]
    args.machine = machine()
    # SIGTERM and SIGHUP end the bench as Ctrl-C does: through the clean-up below.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    lines: list[dict[str, Any]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="cg-bench-") as tmp:
            workdir = Path(tmp)
            children = processes.Children(workdir)
            try:
                standin = children.start("standin", ["standin"])
                for n in sizes:
                    lines.append(bench_size(n, args, children, standin, workdir))
                    print(json.dumps(lines[-1]), flush=True)
            finally:
                children.stop_all()
    except KeyboardInterrupt:
        log.warning("interrupted; everything the bench started is stopped")
        return 130
    report_targets(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
