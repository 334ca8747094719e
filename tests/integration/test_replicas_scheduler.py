"""Two ``callguard serve`` processes, each running the scheduler, over one Redis: each
scheduled job's run for a trigger period is performed by exactly one of them, and the due
reminder is sent once."""

from __future__ import annotations

import asyncio
import re
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import pytest

from callguard.store.launcher import EmbeddedRedis
from tests.load import RESTRICTED
from tests.processes import get_json, run_cli
from tests.replicas import ONE_CALL_A_MONTH, create_restricted_person, replicas
from tests.twilio_standin import TwilioStandIn

pytestmark = pytest.mark.timeout(120)

FREQUENT_JOBS = ("reviews", "file_notes", "messages")
RUNS = re.compile(r'callguard_scheduler_runs_total\{job="(\w+)",result="(\w+)"\} (\d+)\.0')
# The frequent jobs' trigger periods are clock slots counted from the Unix epoch, so UTC
# (callguard.domain.duties.trigger_period): 15 minutes for file_notes and messages, an hour
# for reviews; every hour boundary is also a 15-minute one.
SLOT_S = 15 * 60
BOUNDARY_MARGIN_S = 20.0


def scheduler_runs(base: str, token: str) -> dict[tuple[str, str], int]:
    request = urllib.request.Request(
        f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        text = response.read().decode()
    return {(job, result): int(n) for job, result, n in RUNS.findall(text)}


async def clear_of_a_slot_boundary() -> None:
    """If the next slot boundary is less than ``BOUNDARY_MARGIN_S`` away, wait until just
    past it. Replicas firing on either side of a boundary would each perform the job, both
    rightly (two periods), and the test would count two runs. What is awaited is wall-clock
    time itself, for which there is no event: a bounded sleep (at most ~21 s)."""
    to_boundary = SLOT_S - time.time() % SLOT_S
    if to_boundary < BOUNDARY_MARGIN_S:
        await asyncio.sleep(to_boundary + 0.5)


async def test_each_scheduled_job_runs_once_across_two_serve_processes(
    tmp_path: Path, twilio: TwilioStandIn
) -> None:
    shared = EmbeddedRedis(tmp_path / "redis")
    url = shared.start()
    try:
        # The register first, through a replica that runs no jobs: a strategy whose review
        # is due in three days, so the reviews job owes its manager one reminder.
        no_jobs = {"CALLGUARD_SCHEDULER_ENABLED": "false"}
        async with replicas(
            tmp_path, twilio, url, count=1, extra_env=no_jobs, name="setup"
        ) as setup:
            await create_restricted_person(
                setup.bases[0],
                setup.token,
                RESTRICTED,
                ONE_CALL_A_MONTH,
                review_due=date.today() + timedelta(days=3),
            )
            manager_token = setup.token

        soon = {"CALLGUARD_SCHEDULER_FIRST_RUN_S": "0.5"}
        await clear_of_a_slot_boundary()
        async with replicas(tmp_path, twilio, url, extra_env=soon) as service:
            code, admin, err = await run_cli(
                ["token", "create", "--user", "ada", "--role", "admin"], service.env, tmp_path
            )
            assert code == 0, err
            # Both replicas fire every frequent job shortly after start; wait until each
            # has reported a result for each (the processes give no event to await).
            async with asyncio.timeout(60):
                while True:
                    runs = [
                        await asyncio.to_thread(scheduler_runs, base, admin.strip())
                        for base in service.bases
                    ]
                    fired = [{job for job, _ in replica} for replica in runs]
                    if all(set(FREQUENT_JOBS) <= jobs for jobs in fired):
                        break
                    await asyncio.sleep(0.2)
            status, notices = await asyncio.to_thread(
                get_json, f"{service.bases[0]}/api/v1/notifications", manager_token
            )
    finally:
        shared.stop()

    for job in FREQUENT_JOBS:
        performed = sum(replica.get((job, "performed"), 0) for replica in runs)
        elsewhere = sum(
            replica.get((job, "already_done"), 0) + replica.get((job, "busy"), 0)
            for replica in runs
        )
        failed = sum(replica.get((job, "failed"), 0) for replica in runs)
        assert (performed, elsewhere, failed) == (1, 1, 0), (job, runs)
    assert status == 200
    items = notices["items"]
    assert isinstance(items, list)
    reminders = [n for n in items if n["kind"] == "review_reminder"]
    assert len(reminders) == 1, notices
