"""The composition root: the one place that builds CallGuard's parts from ``Settings``.

Every entry point asks here: ``serve`` and ``demo`` (``build_app``), ``worker`` and each
command (``services_for``), the tests and the benchmark. It makes the Redis clients, one
``Keys`` for the office's prefix, one of each store (``store/container.py``), and the
services on top of them, group by group (``service_groups.py``); the app factory
(``callguard.web.app.init_app``) takes the finished ``Services``. Only this module imports
``webhooks`` (the phone system's edge), an import contract that ``scripts/test`` checks
(``[tool.importlinter]`` in pyproject.toml; ``tests/unit/test_layers.py`` shows it fails
on a violation).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from redis.asyncio import Redis

import webhooks
from callguard.clock import Clock, SystemClock
from callguard.demo_phone import DemoPhoneSystem
from callguard.domain.duties import JOB_TIMINGS
from callguard.domain.roles import Role
from callguard.policy import Policy, load_policy
from callguard.service_groups import (
    CallPath,
    Casework,
    StaffWork,
    build_call_path,
    build_casework,
    build_staff_work,
    required_settings,
)
from callguard.services.accounts import Accounts
from callguard.services.appeal_duties import AppealDuties
from callguard.services.container import Services
from callguard.services.duties import DEFAULT_LEASE_MS, Duties, Job, Summary
from callguard.services.followups import FollowUps
from callguard.services.notes import bank_holidays
from callguard.services.notice_reminders import NoticeReminders
from callguard.services.notify import Mailer, SmtpMailer
from callguard.services.reminders import NoticeEmails, Outbox, Recipients
from callguard.services.reports import OversightReports
from callguard.services.retention import LegalHolds, Retention
from callguard.services.reviews import ReviewDuties
from callguard.services.spooled_updates import SpooledUpdates
from callguard.services.subject_access import SubjectAccessDuties
from callguard.settings import Settings
from callguard.store.connection import connect
from callguard.store.container import Stores, build_stores
from callguard.store.keys import Keys
from callguard.telephony import Telephony, TwilioTelephony
from callguard.web.app import Installer, init_app
from callguard.web.metrics import METRICS


# The Redis client's own timeout off the inbound path (pages, duties): generous, as the
# inbound path keeps its own budget (CALLGUARD_REDIS_TIMEOUT_MS).
def _client_timeout_s(settings: Settings) -> float:
    return max(settings.redis_timeout_ms / 1000 * 8, 2.0)


def build_accounts(stores: Stores) -> Accounts:
    """Users, passwords and tokens (``callguard user``/``token`` and the admin pages)."""
    return Accounts(stores.users, stores.login_throttle)


@asynccontextmanager
async def stores_for(settings: Settings, *, timeout_s: float = 60.0) -> AsyncIterator[Stores]:
    """The stores on ``settings.redis_url``, for a command; the client closed after it."""
    assert settings.redis_url is not None, "the CLI resolves the embedded Redis first"
    redis = connect(settings.redis_url, timeout_s=timeout_s)
    try:
        yield build_stores(
            redis, Keys(settings.redis_key_prefix), login_max_failures=settings.login_max_failures
        )
    finally:
        await redis.aclose()


@asynccontextmanager
async def duties_for(settings: Settings, policy: Policy) -> AsyncIterator[Duties]:
    """The scheduled duties alone (``callguard worker``): Redis, and SMTP if configured;
    no Twilio settings needed (without them, recordings to delete wait in their queue)."""
    async with stores_for(settings, timeout_s=_client_timeout_s(settings)) as stores:
        mailer = SmtpMailer(settings) if settings.smtp_host else None
        telephony = None
        if settings.twilio_account_sid and settings.twilio_auth_token:
            telephony = TwilioTelephony(
                settings.twilio_account_sid,
                settings.twilio_auth_token.get_secret_value(),
                settings.twilio_api_base,
            )
        try:
            yield build_duties(
                stores,
                policy,
                settings.tz,
                emails=notice_emails(stores, mailer, settings.public_url),
                telephony=telephony,
            )
        finally:
            if telephony is not None:
                await telephony.close()


def notice_emails(
    stores: Stores, mailer: Mailer | None, public_url: str | None
) -> NoticeEmails | None:
    """E-mail for the duties' notices, when there is a mailer (SMTP configured)."""
    if mailer is None:
        return None
    return NoticeEmails(mailer, stores.users, stores.notifications, public_url)


def build_duties(
    stores: Stores,
    policy: Policy,
    tz: ZoneInfo,
    *,
    outbox: Outbox | None = None,
    emails: NoticeEmails | None = None,
    lease_ms: int = DEFAULT_LEASE_MS,
    triage_role: Role = Role.manager,
    telephony: Telephony | None = None,
) -> Duties:
    """Every scheduled duty on the given stores. ``outbox`` is replaceable for tests that
    stop a replica midway through sending; ``emails`` sends its notices by e-mail too."""
    outbox = outbox or Outbox(stores.outbox, emails)
    recipients = Recipients(stores.users)
    reviews = ReviewDuties(stores.register, stores.reports, outbox, recipients, policy, tz)
    followups = FollowUps(stores.notes, stores.calls, outbox, recipients, policy, tz, triage_role)
    retention = Retention(
        stores.retention,
        stores.calls,
        stores.notes,
        stores.register,
        policy,
        tz,
        telephony=telephony,
        subject_access=stores.subject_access,
    )
    reports = OversightReports(
        stores.reports, stores.register, stores.calls, tz, appeals=stores.appeals
    )
    appeals = AppealDuties(stores.appeals, outbox, recipients, policy, tz)
    work: dict[str, Callable[[datetime], Awaitable[Summary]]] = {
        "reviews": reviews.run,
        "file_notes": followups.file_notes,
        "messages": followups.messages,
        "retention": retention.run,
        "oversight_report": reports.keep_previous_quarter,
        "notice_reminders": NoticeReminders(
            stores.register, outbox, policy, tz, bank_holidays(), recipients
        ).run,
        "appeals": appeals.run,
        "subject_access": SubjectAccessDuties(stores.subject_access, outbox, recipients, tz).run,
        "recordings": retention.delete_recordings,
        "held_updates": SpooledUpdates(stores.calls).sweep,
    }
    jobs = [Job(name, timing.period, work[name]) for name, timing in JOB_TIMINGS.items()]
    return Duties(
        stores.leases,
        jobs,
        tz,
        reviews=reviews,
        followups=followups,
        retention=retention,
        holds=LegalHolds(stores.holds, stores.calls, stores.notes, stores.register),
        reports=reports,
        lease_ms=lease_ms,
    )


def _redis_clients(settings: Settings, redis_url: str, redis: Redis | None) -> tuple[Redis, Redis]:
    """The inbound path's client and the one for everything else (``redis`` as both, when
    given). The inbound path's has no per-command timeout: Screening bounds each call's
    commands by its budget (a task and a timer less for each command; docs/performance.md).
    Previews, replays and everything else use the other, with a timeout on every command."""
    inbound_redis = redis or connect(
        redis_url, timeout_s=settings.redis_timeout_ms / 1000, per_command_timeout=False
    )
    return inbound_redis, redis or connect(redis_url, timeout_s=_client_timeout_s(settings))


def build_services(
    settings: Settings,
    *,
    policy: Policy | None = None,
    clock: Clock | None = None,
    telephony: Telephony | None = None,
    redis: Redis | None = None,
) -> Services:
    """Every service, from the settings. Needs a running event loop (the Twilio HTTP
    client opens a session) and ``settings.redis_url`` (the CLI starts an embedded Redis
    first when none is configured)."""
    required = required_settings(settings)
    policy = policy or load_policy(settings.policy_path())
    clock = clock or SystemClock()
    inbound_redis, redis = _redis_clients(settings, required.redis_url, redis)
    stores = build_stores(
        redis, Keys(settings.redis_key_prefix), login_max_failures=settings.login_max_failures
    )
    telephony = telephony or TwilioTelephony(
        required.twilio_account_sid,
        required.twilio_auth_token.get_secret_value(),
        settings.twilio_api_base,
    )
    holidays = bank_holidays()
    calls = build_call_path(settings, required, stores, policy, telephony, inbound_redis)
    staff = build_staff_work(settings, required, stores, policy, calls, telephony, holidays)
    emails = notice_emails(stores, staff.mailer, required.public_url)
    duties = build_duties(stores, policy, settings.tz, emails=emails, telephony=telephony)
    casework = build_casework(settings, stores, policy, clock, holidays, calls.kept)
    return _assemble_services(
        settings, policy, clock, stores, inbound_redis, telephony, calls, staff, casework, duties
    )


def _assemble_services(
    settings: Settings,
    policy: Policy,
    clock: Clock,
    stores: Stores,
    inbound_redis: Redis,
    telephony: Telephony,
    calls: CallPath,
    staff: StaffWork,
    casework: Casework,
    duties: Duties,
) -> Services:
    """What ``build_services`` built, as one ``Services``: the groups, the duties, and the
    stores the services' users also read directly."""
    return Services(
        settings=settings,
        policy=policy,
        clock=clock,
        keys=stores.keys,
        redis=stores.redis,
        register=casework.register,
        users=stores.users,
        calls=stores.calls,
        call_log=casework.call_log,
        spool=calls.spool,
        screening=calls.screening,
        call_events=calls.call_events,
        telephony=telephony,
        callbacks=calls.callbacks,
        background=staff.background,
        notes=staff.notes,
        notifier=staff.notifier,
        controls=staff.controls,
        duties=duties,
        sessions=stores.sessions,
        login_throttle=stores.login_throttle,
        inbound_redis=inbound_redis,
        accounts=build_accounts(stores),
        appeals=casework.appeals,
        letters=casework.letters,
        subject_access=casework.subject_access,
        read_audit=casework.read_audit,
    )


@asynccontextmanager
async def services_for(
    settings: Settings, *, policy: Policy | None = None, clock: Clock | None = None
) -> AsyncIterator[Services]:
    """The services for a command or the worker, closed when it is done."""
    services = build_services(settings, policy=policy, clock=clock)
    try:
        yield services
    finally:
        await services.close()


async def build_app(
    settings: Settings,
    *,
    policy: Policy | None = None,
    clock: Clock | None = None,
    telephony: Telephony | None = None,
    demo: bool = False,
    wind_down_on_stop: bool = False,
) -> web.Application:
    """The web service (API, pages, webhooks) on services built from ``settings``: what
    ``serve`` and ``demo`` run (``web.run_app`` awaits it), and the tests and bench too."""
    services = build_services(settings, policy=policy, clock=clock, telephony=telephony)

    def install_twilio_edge(app: web.Application) -> None:
        webhooks.install(app, settings, answered=app[METRICS].inbound_answered)

    installers: list[Installer] = [install_twilio_edge]
    if demo:
        installers.append(DemoPhoneSystem().install)
    return init_app(services, installers=installers, wind_down_on_stop=wind_down_on_stop)
