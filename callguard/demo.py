"""The demo data set: users of every role and a person under every kind of restriction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from callguard.domain.appeals import AppealIn
from callguard.domain.dates import add_months
from callguard.domain.models import PersonIn, StrategyIn
from callguard.domain.roles import Role
from callguard.domain.users import Actor, User
from callguard.services.container import Services
from callguard.services.errors import Conflict

DEMO_USERS = (
    User(
        name="sam",
        role=Role.staff,
        display_name="Sam Patel",
        email="sam@opcc.example",
        line_manager="morgan",
    ),
    User(
        name="morgan",
        role=Role.manager,
        display_name="Morgan Lee",
        email="morgan@opcc.example",
    ),
    User(
        name="chris",
        role=Role.chief_executive,
        display_name="Chris Ward",
        email="chris@opcc.example",
    ),
    User(name="ada", role=Role.admin, display_name="Ada Jones"),
)

SPOC = {"kind": "spoc", "name": "Jo Bloggs", "phone": "+441772000001"}


@dataclass(frozen=True)
class DemoPerson:
    name: str
    phone: str
    restrictions: list[dict[str, Any]]
    adjustments: tuple[dict[str, str], ...] = ()
    reason: str = "Repeated abusive calls after the complaint was finalised"
    override: dict[str, str] | None = None
    # False: the person has not yet been told in writing, so the strategy awaits notice (§3.6).
    notified: bool = True


DEMO_PEOPLE = (
    DemoPerson(
        "Alex Window",
        "07700 900101",
        [
            {
                "kind": "call_windows",
                "windows": [{"days": ["tue"], "start": "09:00", "end": "12:00"}],
                "max_calls": 1,
                "per": "week",
                "max_minutes": 20,
            },
            SPOC,
            {"kind": "recorded"},
        ],
    ),
    DemoPerson(
        "Bea Spoc",
        "07700 900102",
        [SPOC],
        reason="Contacting several members of staff for a different outcome",
    ),
    DemoPerson("Cal Recorded", "07700 900103", [{"kind": "recorded"}]),
    DemoPerson(
        "Dee Written",
        "07700 900104",
        [
            {
                "kind": "written_only",
                "email": "complaints@opcc.example",
                "postal_address": "OPCC, County Hall, Preston PR1 0LD",
            },
        ],
        reason="Calls excessively long and repetitive; written contact agreed",
    ),
    DemoPerson(
        "Eli Advocate",
        "07700 900105",
        [
            {"kind": "advocate_only", "advocate_phones": ["07700 900205"]},
        ],
        adjustments=({"kind": "needs_advocate_support", "detail": "Advocate: R. Shah"},),
    ),
    DemoPerson(
        "Fay Blocked",
        "07700 900106",
        [{"kind": "phone_blocked"}],
        reason="Threats to staff by phone",
    ),
    DemoPerson(
        "Gus Final",
        "07700 900107",
        [{"kind": "no_response"}],
        reason="Complaint fully investigated; all reviews exhausted",
    ),
    DemoPerson(
        "Hal Adjusted",
        "07700 900108",
        [
            {
                "kind": "call_windows",
                "windows": [
                    {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "14:00", "end": "16:00"}
                ],
                "max_calls": 2,
                "per": "week",
            },
        ],
        adjustments=(
            {"kind": "needs_extra_time", "detail": "Speaks slowly after a stroke"},
            {"kind": "needs_phone_contact", "detail": "Cannot read or write letters"},
        ),
    ),
    DemoPerson(
        "Ida Waiting",
        "07700 900109",
        [{"kind": "phone_blocked"}],
        adjustments=({"kind": "needs_interpreter", "detail": "Polish"},),
        reason="Threatening calls to two members of staff; letter being translated",
        notified=False,
    ),
    DemoPerson(
        "Jon Largeprint",
        "07700 900110",
        [
            {
                "kind": "written_only",
                "email": "complaints@opcc.example",
                "postal_address": "OPCC, County Hall, Preston PR1 0LD",
            },
        ],
        adjustments=({"kind": "large_print", "detail": "Letters in 16 point or larger"},),
        reason="Calls excessively long and repetitive; written contact agreed",
    ),
)


async def load_demo_data(services: Services, now: datetime) -> bool:
    """Create the demo people and strategies once; False when they were already there."""
    if not await services.redis.set(services.keys.demo_loaded(), "1", nx=True):
        return False
    for user in DEMO_USERS:
        await services.users.put_user(user)
    manager = Actor(name="morgan", role=Role.manager)
    ceo = Actor(name="chris", role=Role.chief_executive)
    today = now.astimezone(services.tz).date()
    for index, demo in enumerate(DEMO_PEOPLE):
        try:
            person = await services.register.create_person(
                PersonIn.model_validate(
                    {
                        "name": demo.name,
                        "phones": [demo.phone],
                        "reasonable_adjustments": list(demo.adjustments),
                    }
                ),
                manager,
                now + timedelta(seconds=index),
            )
        except Conflict:
            continue
        body = StrategyIn.model_validate(
            {
                "person_id": person.id,
                "matter_ref": f"CMP-2026-{140 + index:04d}",
                "reason": demo.reason,
                "restrictions": demo.restrictions,
                "notified_on": (today - timedelta(days=7)).isoformat() if demo.notified else None,
                "review_due": add_months(today, 2).isoformat(),
                "adjustment_override": demo.override,
            }
        )
        actor = ceo if any(r["kind"] == "no_response" for r in demo.restrictions) else manager
        await services.register.create_strategy(body, actor, now + timedelta(seconds=index))
    await _demo_appeal(services, now, ceo)
    return True


async def _demo_appeal(services: Services, now: datetime, decider: Actor) -> None:
    """One appeal awaiting a decision: Alex Window asks for the call times to be looked at
    again; the chief executive, not involved in the strategy, is to decide."""
    strategies, _ = await services.register.store.list_strategies(0, 1)
    if not strategies:
        return
    today = now.astimezone(services.tz).date()
    body = AppealIn(
        received_on=max(today - timedelta(days=2), strategies[0].starts_on),
        grounds="One call a week on Tuesday mornings is not enough while my complaint is open.",
        decider=decider.name,
    )
    manager = Actor(name="morgan", role=Role.manager)
    await services.appeals.record(strategies[0].id, body, manager, now + timedelta(minutes=1))


async def demo_tokens(services: Services) -> dict[str, str]:
    """A fresh API token for each demo user (only hashes are stored, so new ones each run)."""
    return {u.name: await services.users.create_token(u.name, u.role) for u in DEMO_USERS}


# Sign-in passwords for the demo users (printed by ``callguard demo``; the demo listens on
# 127.0.0.1 only and its data is made up). Set again at every start, stored as argon2 hashes.
DEMO_PASSWORDS = {u.name: f"callguard-{u.name}-demo" for u in DEMO_USERS}


async def demo_passwords(services: Services) -> dict[str, str]:
    """Give each demo user their demo password; returns name -> password."""
    for name, password in DEMO_PASSWORDS.items():
        await services.users.set_password(name, password)
    return dict(DEMO_PASSWORDS)
