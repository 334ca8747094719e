"""The scheduler in the service and in ``callguard worker``: started only when enabled, every
duty scheduled, firings go through ``Duties.run`` (so a lease makes one replica perform).
The scheduler's own timing is APScheduler's; here it fires at once and is stopped."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from callguard.bootstrap import build_duties
from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.scheduler import SCHEDULE, DutyScheduler, Schedule
from callguard.services.duties import JobRun
from callguard.settings import Settings
from callguard.store.connection import connect
from callguard.store.container import build_stores
from callguard.store.locks import Leases
from callguard.web.app import SCHEDULER
from tests.conftest import KEYS, ROOT, make_app
from tests.integration.scheduler_support import TZ, at

pytestmark = pytest.mark.timeout(30)

ALL_JOBS = [
    "appeals",
    "file_notes",
    "held_updates",
    "messages",
    "notice_reminders",
    "oversight_report",
    "recordings",
    "retention",
    "reviews",
    "subject_access",
]


async def test_the_service_runs_the_scheduler_when_enabled(
    settings: Settings, policy: Policy, clock: FixedClock
) -> None:
    app = await make_app(settings.model_copy(update={"scheduler_enabled": True}), policy, clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        scheduler = client.app[SCHEDULER]
        assert scheduler.job_ids() == ALL_JOBS
        assert sorted(scheduler.duties.jobs) == ALL_JOBS


async def test_tests_and_disabled_services_run_no_scheduler(
    settings: Settings, policy: Policy, clock: FixedClock
) -> None:
    assert settings.scheduler_enabled is False
    assert Settings.model_fields["scheduler_enabled"].default is True  # a real service
    app = await make_app(settings, policy, clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        assert SCHEDULER not in client.app


async def test_every_duty_has_a_schedule() -> None:
    assert sorted(SCHEDULE) == ALL_JOBS


async def test_firings_run_each_duty_once_per_period_across_two_schedulers(
    redis_url: str, policy: Policy
) -> None:
    clock = FixedClock(at(2026, 11, 27, 10))
    every = {
        "reviews": Schedule(interval=timedelta(hours=1)),
        "messages": Schedule(interval=timedelta(minutes=15)),
    }
    clients = [connect(redis_url), connect(redis_url)]
    schedulers = [
        DutyScheduler(
            build_duties(build_stores(c, KEYS), policy, TZ),
            clock,
            TZ,
            schedule=every,
            first_run_delay_s=0,
        )
        for c in clients
    ]
    try:
        for scheduler in schedulers:
            scheduler.start()
        for _ in range(200):
            if all(len(s.runs) == 2 for s in schedulers):
                break
            await asyncio.sleep(0.02)
    finally:
        for scheduler in schedulers:
            await scheduler.stop()
        assert await Leases(clients[0], KEYS).holder("reviews") is None
        for c in clients:
            await c.aclose()

    runs = [run for s in schedulers for run in s.runs]
    for job in every:
        outcomes = sorted(r.outcome for r in runs if r.job == job)
        assert outcomes in (["busy", "performed"], ["already_done", "performed"]), job


def test_the_worker_command_runs_every_duty_once(redis_url: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CALLGUARD_REDIS_URL": redis_url,
        "CALLGUARD_REDIS_KEY_PREFIX": KEYS.prefix,
        "CALLGUARD_DATA_DIR": str(tmp_path),
    }
    first = subprocess.run(
        [sys.executable, "-m", "callguard.cli", "worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    second = subprocess.run(
        [sys.executable, "-m", "callguard.cli", "worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert first.returncode == 0, first.stderr
    outcomes = {line.split()[0]: line.split()[2] for line in first.stdout.splitlines()}
    assert outcomes == dict.fromkeys(ALL_JOBS, "performed")
    again = {line.split()[0]: line.split()[2] for line in second.stdout.splitlines()}
    # Daily jobs are done for today; the others may fall in a new 15-minute or hourly slot.
    assert again["retention"] == again["oversight_report"] == "already_done"


async def test_a_duty_in_flight_when_the_service_stops_is_stopped_not_logged_as_failing(
    redis_url: str,
    policy: Policy,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO, logger="callguard.scheduler")
    client = connect(redis_url)
    duties = build_duties(build_stores(client, KEYS), policy, TZ)
    started = asyncio.Event()

    async def run_until_stopped(name: str, now: datetime) -> JobRun:
        started.set()
        await asyncio.Event().wait()  # in flight until cancelled
        raise AssertionError("not reached")

    monkeypatch.setattr(duties, "run", run_until_stopped)
    scheduler = DutyScheduler(
        duties,
        FixedClock(at(2026, 11, 27, 10)),
        TZ,
        schedule={"messages": Schedule(interval=timedelta(minutes=15))},
        first_run_delay_s=0,
    )
    try:
        scheduler.start()
        await asyncio.wait_for(started.wait(), 10)
        await scheduler.stop()
    finally:
        await client.aclose()

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert "scheduled job messages stopped with the service" in caplog.text
