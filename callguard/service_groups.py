"""The groups ``callguard.bootstrap.build_services`` builds the services in, each from the
stores and what the groups before it made: the settings they need (checked present), the
inbound call's path, the staff's work as calls come in, and the casework on the register."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr
from redis.asyncio import Redis

from callguard.clock import Clock
from callguard.domain.working_days import HolidayCalendar
from callguard.policy import Policy, letters_folder
from callguard.services.appeals import Appeals
from callguard.services.background import Background
from callguard.services.call_events import CallEvents
from callguard.services.call_log import CallLog
from callguard.services.controls import LiveControls
from callguard.services.kept_refusals import KeptRefusals
from callguard.services.letters import Letters
from callguard.services.notes import FileNotes
from callguard.services.notify import Mailer, Notifier, SmtpMailer
from callguard.services.read_audit import ReadAudit
from callguard.services.register import Register
from callguard.services.screening import BUDGET_TIMEOUTS, Screening
from callguard.services.subject_access import StoredAppeals, SubjectAccess
from callguard.settings import Settings
from callguard.store.call_records import CallStore
from callguard.store.container import Stores
from callguard.store.spool import Spool
from callguard.telephony import Telephony
from callguard.urls import Callbacks


@dataclass(frozen=True)
class Required:
    """The settings the service cannot start without, checked present."""

    redis_url: str
    public_url: str
    default_route: str
    twilio_account_sid: str
    twilio_auth_token: SecretStr


def required_settings(settings: Settings) -> Required:
    """The settings ``build_services`` needs, or a ValueError naming those missing."""
    missing = [
        name
        for name in ("redis_url", "public_url", "default_route", "twilio_account_sid")
        if getattr(settings, name) is None
    ]
    if missing or settings.twilio_auth_token is None:
        raise ValueError(f"settings missing: {', '.join(missing) or 'twilio_auth_token'}")
    assert settings.redis_url and settings.public_url and settings.default_route
    assert settings.twilio_account_sid and settings.twilio_auth_token
    return Required(
        settings.redis_url,
        settings.public_url,
        settings.default_route,
        settings.twilio_account_sid,
        settings.twilio_auth_token,
    )


@dataclass(frozen=True)
class CallPath:
    """The services an inbound call passes through, and the spool its record falls back to."""

    spool: Spool
    callbacks: Callbacks
    screening: Screening
    call_events: CallEvents
    kept: KeptRefusals


def build_call_path(
    settings: Settings,
    required: Required,
    stores: Stores,
    policy: Policy,
    telephony: Telephony,
    inbound_redis: Redis,
) -> CallPath:
    """The spool, the screening (through the inbound path's own client) and call events."""
    spool = Spool(settings.data_dir / "spool")
    callbacks = Callbacks(required.public_url)
    screening = Screening(
        stores.calls,
        spool,
        policy,
        settings.tz,
        required.default_route,
        budget_s=settings.redis_timeout_ms / 1000 * BUDGET_TIMEOUTS,
        inbound=CallStore(inbound_redis, stores.keys),
    )
    call_events = CallEvents(stores.calls, spool, telephony, callbacks)
    kept = KeptRefusals(stores.calls, stores.register, settings.tz, required.default_route)
    return CallPath(spool, callbacks, screening, call_events, kept)


@dataclass(frozen=True)
class StaffWork:
    """What staff use as calls come in: file notes, notifications and live controls."""

    background: Background
    mailer: Mailer | None
    notes: FileNotes
    notifier: Notifier
    controls: LiveControls


def build_staff_work(
    settings: Settings,
    required: Required,
    stores: Stores,
    policy: Policy,
    calls: CallPath,
    telephony: Telephony,
    holidays: HolidayCalendar,
) -> StaffWork:
    """File notes, notifications (by e-mail too when SMTP is set) and live controls."""
    tz = settings.tz
    background = Background()
    mailer = SmtpMailer(settings) if settings.smtp_host else None
    notes = FileNotes(stores.notes, stores.calls, stores.users, policy, tz, holidays)
    notifier = Notifier(
        stores.notifications,
        stores.welfare,
        stores.users,
        mailer,
        background,
        policy,
        tz,
        required.public_url,
    )
    controls = LiveControls(
        calls=stores.calls,
        note_store=stores.notes,
        notes=notes,
        notifier=notifier,
        users=stores.users,
        register=stores.register,
        telephony=telephony,
        callbacks=calls.callbacks,
        policy=policy,
    )
    return StaffWork(background, mailer, notes, notifier, controls)


@dataclass(frozen=True)
class Casework:
    """The register and the records kept on it: the call log (its reads audited), appeals,
    letters and subject access requests."""

    register: Register
    read_audit: ReadAudit
    call_log: CallLog
    appeals: Appeals
    letters: Letters
    subject_access: SubjectAccess


def build_casework(
    settings: Settings,
    stores: Stores,
    policy: Policy,
    clock: Clock,
    holidays: HolidayCalendar,
    kept: KeptRefusals,
) -> Casework:
    """The register (keeping ``kept`` right as it changes), and the call log, appeals,
    letters and subject access on it."""
    tz = settings.tz
    register = Register(stores.register, policy, tz, kept)
    reads = ReadAudit(stores.subject_access)
    letter_templates = letters_folder(settings.policy_path(), policy)
    return Casework(
        register=register,
        read_audit=reads,
        call_log=CallLog(stores.calls, clock, reads),
        appeals=Appeals(stores.appeals, register, stores.users, policy, tz, holidays),
        letters=Letters(
            stores.register, stores.appeals, stores.users, policy, tz, letter_templates
        ),
        subject_access=SubjectAccess(
            stores.subject_access,
            stores.register,
            stores.calls,
            stores.notes,
            tz,
            appeals=StoredAppeals(stores.appeals),
        ),
    )
