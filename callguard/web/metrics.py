"""``/metrics`` for Prometheus: inbound calls by outcome and rule, time to answer, calls
that failed open, spool depth, scheduler runs. Aggregates only, no personal data; the
scrape needs an admin token like every other route."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from callguard.domain.roles import Role
from callguard.services.errors import Forbidden
from callguard.web.api import authenticate
from callguard.web.appkeys import SERVICES


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
        self.spool_set_aside = Gauge(
            "callguard_spool_set_aside",
            "Spooled call records and updates that could not be written, kept for a person",
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

    def inbound_answered(self, outcome: str, rule: str, degraded: bool, seconds: float) -> None:
        """An inbound call answered (the Twilio edge tells, as it answers): its outcome and
        rule, whether the fail-open path answered it, and how long the answer took."""
        self.answer_seconds.observe(seconds)
        label = (outcome, rule)
        counter = self._calls_by_label.get(label)
        if counter is None:
            counter = self._calls_by_label.setdefault(label, self.calls.labels(*label))
        counter.inc()
        if degraded:
            self.degraded.inc()

    async def handle(self, request: web.Request) -> web.Response:
        actor = await authenticate(request)
        if actor.role is not Role.admin:
            raise Forbidden("metrics are for the admin role")
        spool = request.app[SERVICES].spool
        self.spool_depth.set(spool.depth())
        self.spool_set_aside.set(spool.set_aside())
        return web.Response(
            body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )


METRICS = web.AppKey("metrics", Metrics)
