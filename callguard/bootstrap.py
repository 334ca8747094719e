"""The composition root: the one place that builds CallGuard's parts from ``Settings``.

Every entry point asks here: ``serve`` and ``demo`` (``build_app``), ``worker`` and each
command (``services_for``), the tests and the benchmark. It makes one Redis client, one
``Keys`` for the office's prefix, one of each store, and the services on top of them; the
app factory (``callguard.web.app.init_app``) takes the finished ``Services``. Only this
module imports ``webhooks`` (the phone system's edge), an import contract that
``scripts/test`` checks (``[tool.importlinter]`` in pyproject.toml;
``tests/unit/test_layers.py`` shows it fails on a violation).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiohttp import web
from redis.asyncio import Redis

import webhooks
from callguard.clock import Clock, SystemClock
from callguard.demo_phone import DemoPhoneSystem
from callguard.domain.duties import JOB_TIMINGS
from callguard.domain.roles import Role
from callguard.policy import Policy, letters_folder, load_policy
from callguard.services.accounts import Accounts
from callguard.services.appeal_duties import AppealDuties
from callguard.services.appeals import Appeals
from callguard.services.background import Background
from callguard.services.call_events import CallEvents
from callguard.services.call_log import CallLog
from callguard.services.container import Services
from callguard.services.controls import LiveControls
from callguard.services.duties import DEFAULT_LEASE_MS, Duties, Job, Summary
from callguard.services.followups import FollowUps
from callguard.services.letters import Letters
from callguard.services.notes import FileNotes, bank_holidays
from callguard.services.notice_reminders import NoticeReminders
from callguard.services.notify import Mailer, Notifier, SmtpMailer
from callguard.services.read_audit import ReadAudit
from callguard.services.register import Register
from callguard.services.reminders import NoticeEmails, Outbox, Recipients
from callguard.services.reports import OversightReports
from callguard.services.retention import LegalHolds, Retention
from callguard.services.reviews import ReviewDuties
from callguard.services.screening import BUDGET_TIMEOUTS, Screening
from callguard.services.subject_access import StoredAppeals, SubjectAccess, SubjectAccessDuties
from callguard.settings import Settings
from callguard.store.appeals import AppealStore
from callguard.store.call_records import CallStore
from callguard.store.connection import connect
from callguard.store.file_notes import NoteStore
from callguard.store.keys import Keys
from callguard.store.locks import Leases
from callguard.store.notifications import NotificationStore
from callguard.store.outbox import OutboxStore
from callguard.store.register import RegisterStore
from callguard.store.reports import ReportStore
from callguard.store.retention import HoldStore, RetentionStore
from callguard.store.sessions import LoginThrottle, SessionStore
from callguard.store.spool import Spool
from callguard.store.subject_access import SubjectAccessStore
from callguard.store.users import UserStore
from callguard.store.welfare import WelfareStore
from callguard.telephony import Telephony, TwilioTelephony
from callguard.urls import Callbacks
from callguard.web.app import Installer, init_app
from callguard.web.metrics import METRICS


# The Redis client's own timeout off the inbound path (pages, duties): generous, as the
# inbound path keeps its own budget (CALLGUARD_REDIS_TIMEOUT_MS).
def _client_timeout_s(settings: Settings) -> float:
    return max(settings.redis_timeout_ms / 1000 * 8, 2.0)


@dataclass(frozen=True)
class Stores:
    """One of each store, on one Redis client and one office's keys."""

    redis: Redis
    keys: Keys
    register: RegisterStore
    calls: CallStore
    notes: NoteStore
    notifications: NotificationStore
    welfare: WelfareStore
    users: UserStore
    outbox: OutboxStore
    reports: ReportStore
    retention: RetentionStore
    holds: HoldStore
    leases: Leases
    sessions: SessionStore
    login_throttle: LoginThrottle
    appeals: AppealStore
    subject_access: SubjectAccessStore


def build_stores(redis: Redis, keys: Keys, *, login_max_failures: int = 5) -> Stores:
    return Stores(
        redis=redis,
        keys=keys,
        register=RegisterStore(redis, keys),
        calls=CallStore(redis, keys),
        notes=NoteStore(redis, keys),
        notifications=NotificationStore(redis, keys),
        welfare=WelfareStore(redis, keys),
        users=UserStore(redis, keys),
        outbox=OutboxStore(redis, keys),
        reports=ReportStore(redis, keys),
        retention=RetentionStore(redis, keys),
        holds=HoldStore(redis, keys),
        leases=Leases(redis, keys),
        sessions=SessionStore(redis, keys),
        login_throttle=LoginThrottle(redis, keys, login_max_failures),
        appeals=AppealStore(redis, keys),
        subject_access=SubjectAccessStore(redis, keys),
    )


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
    missing = [
        name
        for name in ("redis_url", "public_url", "default_route", "twilio_account_sid")
        if getattr(settings, name) is None
    ]
    if missing or settings.twilio_auth_token is None:
        raise ValueError(f"settings missing: {', '.join(missing) or 'twilio_auth_token'}")
    assert settings.redis_url and settings.public_url and settings.default_route
    assert settings.twilio_account_sid and settings.twilio_auth_token
    policy = policy or load_policy(settings.policy_path())
    clock = clock or SystemClock()
    tz = settings.tz
    # The inbound path's own client: Screening bounds each call's commands by its budget,
    # so this one has no per-command timeout of its own (a task and a timer less for each
    # command; docs/performance.md). Previews, replays and everything else use ``redis``.
    inbound_redis = redis or connect(
        settings.redis_url, timeout_s=settings.redis_timeout_ms / 1000, per_command_timeout=False
    )
    redis = redis or connect(settings.redis_url, timeout_s=_client_timeout_s(settings))
    stores = build_stores(
        redis, Keys(settings.redis_key_prefix), login_max_failures=settings.login_max_failures
    )
    telephony = telephony or TwilioTelephony(
        settings.twilio_account_sid,
        settings.twilio_auth_token.get_secret_value(),
        settings.twilio_api_base,
    )
    spool = Spool(settings.data_dir / "spool")
    callbacks = Callbacks(settings.public_url)
    background = Background()
    mailer = SmtpMailer(settings) if settings.smtp_host else None
    holidays = bank_holidays()
    notes = FileNotes(stores.notes, stores.calls, stores.users, policy, tz, holidays)
    notifier = Notifier(
        stores.notifications,
        stores.welfare,
        stores.users,
        mailer,
        background,
        policy,
        tz,
        settings.public_url,
    )
    budget_s = settings.redis_timeout_ms / 1000 * BUDGET_TIMEOUTS
    register = Register(stores.register, policy, tz)
    reads = ReadAudit(stores.subject_access)
    return Services(
        settings=settings,
        policy=policy,
        clock=clock,
        keys=stores.keys,
        redis=redis,
        register=register,
        users=stores.users,
        calls=stores.calls,
        call_log=CallLog(stores.calls, clock, reads),
        spool=spool,
        screening=Screening(
            stores.calls,
            spool,
            policy,
            tz,
            settings.default_route,
            budget_s=budget_s,
            inbound=CallStore(inbound_redis, stores.keys),
        ),
        call_events=CallEvents(stores.calls, spool, telephony, callbacks),
        telephony=telephony,
        callbacks=callbacks,
        background=background,
        notes=notes,
        notifier=notifier,
        controls=LiveControls(
            calls=stores.calls,
            note_store=stores.notes,
            notes=notes,
            notifier=notifier,
            users=stores.users,
            register=stores.register,
            telephony=telephony,
            callbacks=callbacks,
            policy=policy,
        ),
        duties=build_duties(
            stores,
            policy,
            tz,
            emails=notice_emails(stores, mailer, settings.public_url),
            telephony=telephony,
        ),
        sessions=stores.sessions,
        login_throttle=stores.login_throttle,
        inbound_redis=inbound_redis,
        accounts=build_accounts(stores),
        appeals=Appeals(stores.appeals, register, stores.users, policy, tz, holidays),
        letters=Letters(
            stores.register,
            stores.appeals,
            stores.users,
            policy,
            tz,
            letters_folder(settings.policy_path(), policy),
        ),
        subject_access=SubjectAccess(
            stores.subject_access,
            stores.register,
            stores.calls,
            stores.notes,
            tz,
            appeals=StoredAppeals(stores.appeals),
        ),
        read_audit=reads,
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
