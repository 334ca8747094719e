"""Everything the handlers need, built once per app from settings (see bootstrap)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from callguard.clock import Clock
from callguard.policy import Policy
from callguard.services.background import Background
from callguard.services.calls import CallEvents
from callguard.services.controls import LiveControls
from callguard.services.duties import Duties, build_duties
from callguard.services.notes import FileNotes, bank_holidays
from callguard.services.notify import Notifier, SmtpMailer
from callguard.services.register import Register
from callguard.services.reminders import notice_emails
from callguard.services.screening import BUDGET_TIMEOUTS, Screening
from callguard.settings import Settings
from callguard.store.calls import CallStore
from callguard.store.notes import NoteStore, NotificationStore, WelfareStore
from callguard.store.register import RegisterStore
from callguard.store.spool import Spool
from callguard.store.users import UserStore
from callguard.telephony import Telephony, TwilioTelephony
from callguard.urls import Callbacks


@dataclass
class Services:
    settings: Settings
    policy: Policy
    clock: Clock
    redis: Redis
    register: Register
    users: UserStore
    calls: CallStore
    spool: Spool
    screening: Screening
    call_events: CallEvents
    telephony: Telephony
    callbacks: Callbacks
    background: Background
    notes: FileNotes
    notifier: Notifier
    controls: LiveControls
    duties: Duties

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz


def build_services(
    settings: Settings,
    policy: Policy,
    clock: Clock,
    redis: Redis,
    telephony: Telephony | None = None,
) -> Services:
    """Needs a running event loop (the Twilio HTTP client opens a session)."""
    missing = [
        name
        for name in ("public_url", "default_route", "twilio_account_sid", "twilio_auth_token")
        if getattr(settings, name) is None
    ]
    if missing:
        raise ValueError(f"settings missing: {', '.join(missing)}")
    assert settings.public_url and settings.default_route and settings.twilio_account_sid
    assert settings.twilio_auth_token is not None
    if telephony is None:
        telephony = TwilioTelephony(
            settings.twilio_account_sid,
            settings.twilio_auth_token.get_secret_value(),
            settings.twilio_api_base,
        )
    calls = CallStore(redis)
    spool = Spool(settings.data_dir / "spool")
    callbacks = Callbacks(settings.public_url)
    register_store = RegisterStore(redis)
    users = UserStore(redis)
    background = Background()
    note_store = NoteStore(redis)
    notes = FileNotes(note_store, calls, users, policy, settings.tz, bank_holidays())
    mailer = SmtpMailer(settings) if settings.smtp_host else None
    notifier = Notifier(
        NotificationStore(redis),
        WelfareStore(redis),
        users,
        mailer,
        background,
        policy,
        settings.tz,
        settings.public_url,
    )
    return Services(
        settings=settings,
        policy=policy,
        clock=clock,
        redis=redis,
        register=Register(register_store, policy, settings.tz),
        users=users,
        calls=calls,
        spool=spool,
        screening=Screening(
            calls,
            spool,
            policy,
            settings.tz,
            settings.default_route,
            budget_s=settings.redis_timeout_ms / 1000 * BUDGET_TIMEOUTS,
        ),
        call_events=CallEvents(calls, spool, telephony, callbacks),
        telephony=telephony,
        callbacks=callbacks,
        background=background,
        notes=notes,
        notifier=notifier,
        controls=LiveControls(
            calls=calls,
            note_store=note_store,
            notes=notes,
            notifier=notifier,
            users=users,
            register=register_store,
            telephony=telephony,
            callbacks=callbacks,
            policy=policy,
        ),
        duties=build_duties(
            redis, policy, settings.tz, emails=notice_emails(mailer, redis, settings.public_url)
        ),
    )
