"""The app factory: ``init_app(services)``, the API, the pages and the health routes on the
services ``callguard.bootstrap`` built (the webhooks come in as an installer from there)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from aiohttp import web

from callguard.phones import load_metadata
from callguard.scheduler import DutyScheduler
from callguard.services.background import replay_forever, wind_down
from callguard.services.container import Services
from callguard.web import (
    api_appeals,
    api_call_log,
    api_controls,
    api_notes,
    api_register,
    api_reports,
    api_subject_access,
)
from callguard.web.api import ApiRoutes, json_response
from callguard.web.appkeys import SERVICES
from callguard.web.metrics import METRICS, Metrics
from callguard.web.middlewares import error_middleware, security_headers
from callguard.web.openapi import openapi_document
from callguard.web.pages import install_pages

API_ROUTES: Sequence[ApiRoutes] = (
    api_register.routes,
    api_call_log.routes,
    api_controls.routes,
    api_notes.routes,
    api_reports.routes,
    api_appeals.routes,
    api_subject_access.routes,
)

# The scheduled duties in this process, when ``settings.scheduler_enabled``.
SCHEDULER = web.AppKey("scheduler", DutyScheduler)

# Something that adds routes and start-up/clean-up steps to the app (the Twilio edge does).
Installer = Callable[[web.Application], None]

# A start-up and clean-up step (``app.cleanup_ctx``): what comes before its ``yield`` runs
# at start-up, the rest at clean-up.
CleanupContext = Callable[[web.Application], AsyncIterator[None]]


# The collector's thresholds once start-up is over (Python's are 700, 10, 10): what a call
# allocates is freed by reference counting (the bench's load left ~250 objects in cycles
# over 14,000 calls), so collections find next to nothing.
GC_THRESHOLDS = (10_000, 20, 20)


def settle_after_start_up() -> None:
    """Once start-up is over, spare the first calls what they would pay for, and every call
    the collector's scans of start-up objects: libphonenumber's metadata is loaded, and
    the ~95,000 objects start-up left alive are moved out of the collector's reach
    (``gc.freeze``, once per process), and young collections made rarer. Measured under
    the bench's load (docs/performance.md): ~580 young and 5 full collections in 6 s,
    0.65 s of the service's CPU (a full one ~60 ms, the event loop blocked), before; 2
    young collections, 6 ms, after."""
    load_metadata()
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def _after_start_up(app: web.Application) -> None:
    settle_after_start_up()


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    try:
        # Its own budget, shorter than the connection's timeout: a stalled Redis is "not
        # ready" in 0.5 s.
        async with asyncio.timeout(0.5):
            await request.app[SERVICES].check_store()
    except Exception as exc:  # any failure means "not ready", and says why
        return json_response({"status": "unavailable", "redis": type(exc).__name__}, 503)
    return json_response({"status": "ready", "redis": "ok"})


def init_app(
    services: Services,
    *,
    installers: Sequence[Installer] = (),
    api_routes: Sequence[ApiRoutes] = (),
    wind_down_on_stop: bool = False,
) -> web.Application:
    """The web service on ``services``; it closes them when the app is cleaned up. With
    ``wind_down_on_stop`` (``serve``, ``demo``) it first lets the background work finish and
    replays the spool (``services.background.wind_down``)."""
    metrics = Metrics()
    app = web.Application(
        middlewares=[security_headers, error_middleware],
        client_max_size=1024 * 1024,
    )
    app[METRICS] = metrics
    app[SERVICES] = services
    app.cleanup_ctx.append(_services_lifetime(services, wind_down_on_stop))
    if services.settings.scheduler_enabled:
        # After the services' step, so it stops (and its runs release their leases) before
        # Redis is closed.
        app.cleanup_ctx.append(_scheduler_lifetime(services, metrics))
    _install_api(app, [*API_ROUTES, *api_routes])
    _install_health_and_metrics(app, metrics)
    # The staff and managers' pages, sign-in and their assets (callguard.web.pages).
    install_pages(app, services)
    for install in installers:
        install(app)
    # After every start-up step above (aiohttp runs cleanup contexts' first).
    app.on_startup.append(_after_start_up)
    return app


def _services_lifetime(services: Services, wind_down_on_stop: bool) -> CleanupContext:
    """The spool replayed while the app runs (what it set aside before tried again first);
    at clean-up, the replay stopped, the wind-down when asked for, and the services closed."""

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        await services.spool.retry_set_aside()
        # Not in ``background``: that set is for work that finishes (tests drain it).
        replay = asyncio.get_running_loop().create_task(
            replay_forever(services.spool.pending, services.screening.replay_spool)
        )
        yield
        replay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await replay
        if wind_down_on_stop:
            spool = services.spool
            await wind_down(
                services.background, spool.depth, spool.pending, services.screening.replay_spool
            )
        await services.close()

    return services_ctx


def _scheduler_lifetime(services: Services, metrics: Metrics) -> CleanupContext:
    """The scheduled duties started with the app (``app[SCHEDULER]``), stopped at clean-up."""

    async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
        scheduler = DutyScheduler(
            services.duties,
            services.clock,
            services.tz,
            first_run_delay_s=services.settings.scheduler_first_run_s,
            on_run=lambda job, outcome: metrics.scheduler_runs.labels(job, outcome).inc(),
        )
        scheduler.start()
        app[SCHEDULER] = scheduler
        yield
        await scheduler.stop()

    return scheduler_ctx


def _install_api(app: web.Application, all_routes: Sequence[ApiRoutes]) -> None:
    """The API's routes, and their OpenAPI document at ``/api/openapi.json``."""
    for routes in all_routes:
        routes.install(app)
    document = openapi_document(tuple(e for r in all_routes for e in r.endpoints))

    async def openapi(request: web.Request) -> web.Response:
        return json_response(document)

    app.router.add_get("/api/openapi.json", openapi, name="openapi")


def _install_health_and_metrics(app: web.Application, metrics: Metrics) -> None:
    """Liveness, readiness (Redis answers) and the metrics, for the platform."""
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/readyz", readyz, name="readyz")
    app.router.add_get("/metrics", metrics.handle, name="metrics")


def services_of(app: web.Application) -> Services:
    return app[SERVICES]


__all__: list[Any] = ["init_app", "services_of"]
