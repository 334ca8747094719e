"""APScheduler (3.x, asyncio) firing the scheduled duties: thin calls into ``Duties.run``.

The scheduler only decides *when* to fire, by the wall clock; each job asks the injected
``Clock`` for ``now`` and does its work through ``callguard.services.duties``, where a lease
and a per-period marker make each trigger period's run happen once across replicas. So every
replica runs the same schedule, and tests drive ``Duties.run`` directly with a fixed clock.

Frequent jobs fire shortly after start-up too, so a restarted replica catches up at once;
``coalesce`` folds missed firings into one.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from callguard.clock import Clock
from callguard.policy import Policy
from callguard.services.duties import Duties, JobRun, build_duties
from callguard.services.notify import Mailer
from callguard.services.reminders import notice_emails
from callguard.store.connection import connect

log = logging.getLogger("callguard.scheduler")

FIRST_RUN_DELAY_S = 30.0
MISFIRE_GRACE_S = 3600


@dataclass(frozen=True)
class Schedule:
    """When a job fires: every ``interval``, or daily at ``daily_at`` (office-local)."""

    interval: timedelta | None = None
    daily_at: tuple[int, int] | None = None


SCHEDULE: Mapping[str, Schedule] = {
    "reviews": Schedule(interval=timedelta(hours=1)),
    "file_notes": Schedule(interval=timedelta(minutes=15)),
    "messages": Schedule(interval=timedelta(minutes=15)),
    "retention": Schedule(daily_at=(2, 30)),
    "oversight_report": Schedule(daily_at=(6, 0)),
}


class DutyScheduler:
    def __init__(
        self,
        duties: Duties,
        clock: Clock,
        tz: ZoneInfo,
        *,
        schedule: Mapping[str, Schedule] = SCHEDULE,
        first_run_delay_s: float = FIRST_RUN_DELAY_S,
        on_run: Callable[[str, str], None] | None = None,
    ) -> None:
        self.duties = duties
        self.clock = clock
        self.tz = tz
        self.schedule = schedule
        self.first_run_delay_s = first_run_delay_s
        # Told (job, outcome) after every firing; outcome "failed" when the run raised.
        self.on_run = on_run
        self.runs: list[JobRun] = []  # the latest runs, newest last (for diagnostics)
        self._scheduler = AsyncIOScheduler(timezone=tz)
        self._in_flight: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        first = datetime.now(self.tz) + timedelta(seconds=self.first_run_delay_s)
        for name, when in self.schedule.items():
            if name not in self.duties.jobs:
                raise ValueError(f"no duty named {name}")
            options: dict[str, Any] = {
                "id": name,
                "args": [name],
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": MISFIRE_GRACE_S,
            }
            if when.interval is not None:
                trigger = IntervalTrigger(seconds=when.interval.total_seconds(), timezone=self.tz)
                options["next_run_time"] = first
            else:
                assert when.daily_at is not None
                hour, minute = when.daily_at
                trigger = CronTrigger(hour=hour, minute=minute, timezone=self.tz)
            self._scheduler.add_job(self.fire, trigger, **options)
        self._scheduler.start()

    def job_ids(self) -> list[str]:
        return sorted(job.id for job in self._scheduler.get_jobs())

    async def fire(self, name: str) -> JobRun | None:
        """One firing: run the duty for now; never raises (the scheduler only logs)."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            run = await self.duties.run(name, self.clock.now())
        except Exception:
            log.exception("scheduled job %s failed; it runs again at its next trigger", name)
            if self.on_run is not None:
                self.on_run(name, "failed")
            return None
        finally:
            if task is not None:
                self._in_flight.discard(task)
        self.runs = [*self.runs[-49:], run]
        if self.on_run is not None:
            self.on_run(name, run.outcome)
        return run

    async def stop(self) -> None:
        """Stop firing, and cancel runs in flight (each releases its lease as it stops)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for task in list(self._in_flight):
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)


async def run_worker(
    redis_url: str,
    policy: Policy,
    tz: ZoneInfo,
    clock: Clock,
    *,
    once: bool,
    mailer: Mailer | None = None,
    public_url: str | None = None,
) -> list[JobRun]:
    """``callguard worker``: the duties without the web service. ``once`` runs every job
    for now and returns (for a cron-driven deployment); otherwise the scheduler runs until
    SIGINT or SIGTERM. With a ``mailer``, notices are e-mailed too."""
    redis = connect(redis_url)
    duties = build_duties(redis, policy, tz, emails=notice_emails(mailer, redis, public_url))
    try:
        if once:
            return [await duties.run(name, clock.now()) for name in duties.jobs]
        scheduler = DutyScheduler(duties, clock, tz)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        scheduler.start()
        log.info("worker running jobs: %s", ", ".join(scheduler.job_ids()))
        await stop.wait()
        await scheduler.stop()
        return scheduler.runs
    finally:
        await redis.aclose()
