"""``callguard worker`` (the scheduled duties without the web service) and
``callguard doctor`` (a checklist of what production needs)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from callguard.bootstrap import duties_for
from callguard.cli.common import (
    layout_problem,
    load_settings,
    load_settings_policy,
    problem,
    redis_url_for,
)
from callguard.clock import SystemClock
from callguard.policy import Policy
from callguard.scheduler import DutyScheduler
from callguard.services.duties import JobRun
from callguard.settings import Settings
from callguard.store.launcher import RedisLaunchError

log = logging.getLogger("callguard.worker")


async def run_worker(settings: Settings, policy: Policy, *, once: bool) -> list[JobRun]:
    """The duties without the web service. ``once`` runs every job for now and returns
    (for a cron-driven deployment); otherwise the scheduler runs until SIGINT or SIGTERM,
    and a run in flight then is cancelled (it releases its lease; the next replica to fire
    runs that period again)."""
    clock = SystemClock()
    async with duties_for(settings, policy) as duties:
        if once:
            return [await duties.run(name, clock.now()) for name in duties.jobs]
        scheduler = DutyScheduler(duties, clock, settings.tz)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        scheduler.start()
        log.info("worker running jobs: %s", ", ".join(scheduler.job_ids()))
        await stop.wait()
        await scheduler.stop()
        return scheduler.runs


def cmd_worker(args: argparse.Namespace) -> int:
    """Scheduled duties without the web service (callguard.scheduler); ``--once`` runs each
    job for now and exits. Safe beside ``serve`` replicas: a lease per job run."""
    loaded = load_settings_policy()
    if isinstance(loaded, list):
        return problem(loaded)
    settings, policy = loaded
    try:
        with redis_url_for(settings) as resolved:
            if found := layout_problem(resolved):
                return problem(found)
            runs = asyncio.run(run_worker(resolved, policy, once=args.once))
    except RedisLaunchError as error:
        return problem([f"embedded Redis: {error}"])
    for run in runs:
        print(f"{run.job} {run.period} {run.outcome} {dict(run.summary or {})}", flush=True)
    return 0


def cmd_doctor(_args: argparse.Namespace) -> int:
    """A checklist of what production needs; exit 1 if anything fails."""
    from callguard.doctor import doctor

    settings = load_settings()
    if isinstance(settings, list):
        for line in settings:
            print(f"[FAIL] settings: {line}")
        return 1
    try:
        with redis_url_for(settings) as resolved:
            lines, healthy = doctor(settings, resolved.redis_url)
    except RedisLaunchError as error:
        lines, healthy = [f"[FAIL] Redis: embedded redis-server: {error}"], False
    print("\n".join(lines))
    print("All checks passed." if healthy else "Some checks failed.")
    return 0 if healthy else 1


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands.add_parser(
        "doctor", help="check settings, Redis, Twilio and the public URL"
    ).set_defaults(run=cmd_doctor)
    worker = commands.add_parser("worker", help="run the scheduled duties without the web service")
    worker.add_argument("--once", action="store_true", help="run every job now, then exit")
    worker.set_defaults(run=cmd_worker)
