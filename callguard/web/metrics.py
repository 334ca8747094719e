"""``/metrics`` for Prometheus: inbound calls by outcome and rule, time to answer, calls
that failed open, spool depth, scheduler runs. Aggregates only, no personal data; the
scrape needs an admin token like every other route."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from callguard import urls
from callguard.domain.roles import Role
from callguard.services.errors import Forbidden
from callguard.web.api import authenticate
from callguard.web.appkeys import SERVICES

HandlerFn = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Metrics:
    """One registry per app, so several apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "callguard_calls",
            "Inbound calls answered, by outcome and rule",
            ["outcome", "rule"],
            registry=self.registry,
        )
        self.degraded = Counter(
            "callguard_degraded_calls",
            "Inbound calls connected by the fail-open path",
            registry=self.registry,
        )
        self.answer_seconds = Histogram(
            "callguard_inbound_answer_seconds",
            "Time to answer an inbound-call webhook",
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.spool_depth = Gauge(
            "callguard_spool_depth",
            "Call records and updates waiting to be replayed",
            registry=self.registry,
        )
        self.scheduler_runs = Counter(
            "callguard_scheduler_runs",
            "Scheduled job runs by job and result",
            ["job", "result"],
            registry=self.registry,
        )
        # Each (outcome, rule)'s counter, found once: ``labels`` takes a lock and builds a
        # key on every call, and there are only a few dozen pairs.
        self._calls_by_label: dict[tuple[str, str], Counter] = {}

    @web.middleware
    async def middleware(self, request: web.Request, handler: HandlerFn) -> web.StreamResponse:
        if request.path != urls.VOICE:
            return await handler(request)
        started = time.perf_counter()
        response = await handler(request)
        self.answer_seconds.observe(time.perf_counter() - started)
        outcome = response.headers.get("X-CallGuard-Outcome")
        if outcome:
            label = (outcome, response.headers.get("X-CallGuard-Rule", ""))
            counter = self._calls_by_label.get(label)
            if counter is None:
                counter = self._calls_by_label.setdefault(label, self.calls.labels(*label))
            counter.inc()
        if response.headers.get("X-CallGuard-Degraded") == "1":
            self.degraded.inc()
        return response

    async def handle(self, request: web.Request) -> web.Response:
        actor = await authenticate(request)
        if actor.role is not Role.admin:
            raise Forbidden("metrics are for the admin role")
        self.spool_depth.set(request.app[SERVICES].spool.depth())
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )


METRICS = web.AppKey("metrics", Metrics)
