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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from callguard.clock import Clock
from callguard.domain.duties import JOB_TIMINGS
from callguard.services.duties import Duties, JobRun

log = logging.getLogger("callguard.scheduler")

FIRST_RUN_DELAY_S = 30.0
MISFIRE_GRACE_S = 3600


@dataclass(frozen=True)
class Schedule:
    """When a job fires: every ``interval``, or daily at ``daily_at`` (office-local)."""

    interval: timedelta | None = None
    daily_at: tuple[int, int] | None = None


# From the one table of job timings (callguard.domain.duties): a daily job at its time,
# the others every period.
SCHEDULE: Mapping[str, Schedule] = {
    name: Schedule(daily_at=timing.daily_at)
    if timing.daily_at
    else Schedule(interval=timing.period)
    for name, timing in JOB_TIMINGS.items()
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
        except asyncio.CancelledError:
            # Stopped with the service (``stop``): not a failure, and not left to APScheduler,
            # which would log a cancelled job as one that raised. Its lease is released.
            log.info("scheduled job %s stopped with the service; it runs at its next trigger", name)
            return None
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
