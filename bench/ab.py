"""Alternated A/B of the decision server's CPU per call, for two copies of the repository
(say, before and after a change), run by hand:

    mkdir /tmp/before && git archive HEAD~1 | tar -x -C /tmp/before
    .venv/bin/python bench/ab.py /tmp/before . --rounds 10

One Redis (AOF on, as the bench loads it, 1,000 people) and one Twilio stand-in serve both;
each round runs one tree's server then the other's (the order swapped every round), each
with a warm-up then a timed ``wrk`` run of the issue 13 mix by default. On a shared
machine calls/s move with the other work; CPU per call of the server (and of Redis), and
above all its ratio between two runs minutes apart, move far less: the paired ratios'
median is the figure to trust. Each server runs with its own tree's CallGuard (its tree
first on ``PYTHONPATH``); the load is this tree's. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as ``python bench/ab.py``: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load, population, processes
from bench.webhook import embedded_redis

log = logging.getLogger("bench.ab")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Alternated A/B of CPU per call, two trees.")
    parser.add_argument("before", type=Path, help="a copy of the repository (the baseline)")
    parser.add_argument("after", type=Path, help="another copy (the change)")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=5.0, help="each timed run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--restricted-share", type=float, default=0.2)
    parser.add_argument("--refused-share", type=float, default=0.5)
    parser.add_argument("--loadgen", choices=("wrk", "aiohttp"), default="wrk")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for tree in trees.values():
        if not (tree / "bench" / "webhook.py").exists():
            raise SystemExit(f"ab: {tree} is not a copy of the repository")
    runs: dict[str, list[load.Measured]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="cg-ab-") as tmp:
        workdir = Path(tmp)
        children = processes.Children(workdir)
        try:
            with embedded_redis(workdir / "redis") as redis_server:
                assert redis_server.socket_path is not None and redis_server.process is not None
                asyncio.run(
                    population.load_people(redis_server.url, redis_server.socket_path, args.people)
                )
                standin = children.start("standin", ["standin"])
                pools = load.Pools(workdir, args.people, args.restricted_share, args.refused_share)
                driver = load.Driver(
                    args.loadgen, args.seconds, args.warmup, args.concurrency, pools
                )
                server_args = ["--redis-url", redis_server.url, "--twilio-base", standin.url]
                for round_no in range(args.rounds):
                    order = ["before", "after"] if round_no % 2 == 0 else ["after", "before"]
                    for name in order:
                        data_dir = ["--data-dir", str(workdir / f"service-{name}-{round_no}")]
                        server = children.start(
                            f"{name}-{round_no}",
                            ["callguard", *server_args, *data_dir],
                            tree=trees[name],
                        )
                        try:
                            measured = driver.measure(name, server, redis_server.process.pid)
                        finally:
                            children.stop(server)
                        runs[name].append(measured)
        finally:
            children.stop_all()
    pairs = list(zip(runs["before"], runs["after"], strict=True))
    result = {
        "rounds": args.rounds,
        "cpu_ms_per_call": {
            name: round(statistics.median(m.cpu_ms_per_call for m in done), 3)
            for name, done in runs.items()
        },
        "redis_cpu_ms_per_call": {
            name: round(statistics.median(m.redis_cpu_ms_per_call for m in done), 3)
            for name, done in runs.items()
        },
        "after_to_before_cpu": round(
            statistics.median(a.cpu_ms_per_call / b.cpu_ms_per_call for b, a in pairs), 3
        ),
        "after_to_before_redis_cpu": round(
            statistics.median(
                a.redis_cpu_ms_per_call / max(b.redis_cpu_ms_per_call, 1e-9) for b, a in pairs
            ),
            3,
        ),
        "rounds_after_cheaper": sum(a.cpu_ms_per_call < b.cpu_ms_per_call for b, a in pairs),
        "errors": sum(m.errors for done in runs.values() for m in done),
    }
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
