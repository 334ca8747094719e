"""Scheduled duties: what runs, how often, and how one run happens once across replicas.

``Duties.run(job, now)`` is what the scheduler (``callguard.scheduler``) and
``callguard worker`` call. Each job has a trigger period (``every``): a run belongs to the
period holding ``now``, and happens once per period whichever replica fires first:

1. take the job's lease (``store.locks``); if another replica holds it: ``busy``;
2. if the period's run is already marked done: ``already_done``;
3. do the work, extending the lease every third of it while it runs; if the lease is lost
   (this replica stalled past it), stop: another replica may be doing it;
4. mark the period done and release the lease, in one script.

A replica that dies midway leaves its lease to expire and its period unmarked: the next
replica to fire takes over and runs the whole job again. That is safe because each job is
idempotent in its writes: every reminder has its own once-only marker written with it
(``store.outbox``), every deletion logs only what it deleted (``store.retention``), a
lapse is a compare-and-set on the strategy's version.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from callguard.domain.duties import trigger_period
from callguard.services.followups import FollowUps
from callguard.services.reports import OversightReports
from callguard.services.retention import LegalHolds, Retention
from callguard.services.reviews import ReviewDuties
from callguard.store.locks import Lease, Leases

log = logging.getLogger("callguard.duties")

DEFAULT_LEASE_MS = 60_000
RunOutcome = Literal["performed", "busy", "already_done"]
Summary = Mapping[str, int | str]


class LeaseLost(Exception):
    """The job's lease expired under this replica: it stopped, another may carry on."""


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    work: Callable[[datetime], Awaitable[Summary]]


@dataclass(frozen=True)
class JobRun:
    job: str
    period: str
    outcome: RunOutcome
    summary: Summary | None = None


class Duties:
    def __init__(
        self,
        leases: Leases,
        jobs: list[Job],
        tz: ZoneInfo,
        *,
        reviews: ReviewDuties,
        followups: FollowUps,
        retention: Retention,
        holds: LegalHolds,
        reports: OversightReports,
        lease_ms: int = DEFAULT_LEASE_MS,
    ) -> None:
        self.leases = leases
        self.jobs = {job.name: job for job in jobs}
        self.tz = tz
        self.reviews = reviews
        self.followups = followups
        self.retention = retention
        self.holds = holds
        self.reports = reports
        self.lease_ms = lease_ms

    async def run(self, name: str, now: datetime) -> JobRun:
        job = self.jobs[name]
        period = trigger_period(now, self.tz, job.every)
        lease = await self.leases.acquire(name, self.lease_ms)
        if lease is None:
            return JobRun(name, period, "busy")
        try:
            if await self.leases.run_done(name, period):
                await self.leases.release(lease)
                return JobRun(name, period, "already_done")
            summary = await self._while_held(lease, job.work(now))
        except BaseException:
            # A crash or a cancellation: let another replica take over at once. (A replica
            # that dies outright cannot do this; its lease simply expires.)
            with contextlib.suppress(Exception):
                await self.leases.release(lease)
            raise
        if not await self.leases.finish(lease, period, json.dumps(summary)):
            log.warning("job %s finished after its lease was lost; it was idempotent", name)
        log.info("job %s (%s) performed: %s", name, period, summary)
        return JobRun(name, period, "performed", summary)

    async def _while_held(self, lease: Lease, work: Awaitable[Summary]) -> Summary:
        """Run ``work``, extending ``lease`` as it goes; LeaseLost if the lease is lost."""
        task = asyncio.ensure_future(work)
        keeper = asyncio.ensure_future(self._keep(lease))
        try:
            await asyncio.wait({task, keeper}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                return task.result()
            raise LeaseLost(f"lease on {lease.job} lost while it ran")
        finally:
            for pending in (task, keeper):
                pending.cancel()
            await asyncio.gather(task, keeper, return_exceptions=True)

    async def _keep(self, lease: Lease) -> None:
        """Extend the lease every third of it; return when it is lost."""
        interval_s = lease.lease_ms / 3000
        held_until = time.monotonic() + lease.lease_ms / 1000
        while True:
            await asyncio.sleep(interval_s)
            try:
                if not await self.leases.extend(lease):
                    return
                held_until = time.monotonic() + lease.lease_ms / 1000
            except Exception as error:  # Redis away: keep trying while the lease may hold
                log.warning("extending lease on %s failed (%s)", lease.job, type(error).__name__)
                if time.monotonic() >= held_until:
                    return
