"""Telling the line manager (§6.5) and staff welfare (§5.5): the in-app notification, the
e-mail through a real local SMTP server (aiosmtpd), and the one welfare alert per week."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller

from callguard.clock import FixedClock
from callguard.domain.roles import Role
from callguard.domain.users import User
from callguard.policy import Policy
from callguard.services.duties import JobRun
from callguard.settings import Settings
from tests.conftest import PUBLIC_URL, auth
from tests.helpers import Client, create_person, create_strategy, services
from tests.integration.test_live_controls import (
    PERSON_PHONE,
    connect_call,
    end,
    restricted_person,
    warn,
)

pytestmark = pytest.mark.timeout(30)

BLOCKED = [{"kind": "phone_blocked"}]
_next_mobile = iter(range(900200, 900300))


def unknown_uk_mobile() -> str:
    return f"+447700{next(_next_mobile)}"


# Every way the caller's full number could be written.
FULL_NUMBER_FORMS = ("+447700900123", "07700900123", "07700 900123", "7700 900123", "7700900123")


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)  # mailboxes that do not exist here
    spam_to: set[str] = field(default_factory=set)  # messages to these are refused as spam
    busy: set[str] = field(default_factory=set)  # mailboxes answering "try again later"
    tried: list[str] = field(default_factory=list)  # every recipient given, in order

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        self.tried.append(address)
        if address in self.refused:
            return "550 5.1.1 No such mailbox"
        if address in self.busy:
            return "451 4.3.0 Temporary server error, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.spam_to & set(envelope.rcpt_tos):
            return "554 5.7.1 Message refused as spam"
        raw = cast(bytes, envelope.content)
        self.messages.append(message_from_bytes(raw, policy=policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int
    controller: Controller
    running: bool = True

    def stop(self) -> None:
        if self.running:
            self.controller.stop()
            self.running = False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    server = SmtpServer(inbox, port, controller)
    yield server
    server.stop()


@pytest.fixture
def settings(settings: Settings, smtp_server: SmtpServer) -> Settings:
    """The suite's settings, with e-mail to the local SMTP server."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_server.port,
            "smtp_from": "callguard@opcc.example",
        }
    )


async def notifications(client: Client, token: str, unread: bool = False) -> list[dict[str, Any]]:
    query = "?unread=true" if unread else ""
    response = await client.get(f"/api/v1/notifications{query}", headers=auth(token))
    assert response.status == 200, await response.text()
    items: list[dict[str, Any]] = (await response.json())["items"]
    return items


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def test_the_line_manager_is_told_in_app_and_by_email(
    client: Client, tokens: dict[str, str], smtp_server: SmtpServer, clock: FixedClock
) -> None:
    await restricted_person(client, tokens)
    call_sid, _conference = await connect_call(client)
    assert (await warn(client, tokens["staff"], call_sid)).status == 201
    clock.advance(timedelta(minutes=4))

    ended = await end(client, tokens["staff"], call_sid)
    assert ended.status == 200
    note_id = (await ended.json())["file_note_id"]
    await services(client).background.drain()

    [message] = smtp_server.inbox.messages
    assert smtp_server.inbox.recipients == [["mo@example.org"]]
    assert message["To"] == "mo@example.org"
    assert message["From"] == "callguard@opcc.example"
    assert "Verbal abuse" in message["Subject"]
    text = body_of(message)
    assert text.startswith("Sam Staff ended a call under the contact policy")  # full name
    assert f"Call: {call_sid}" in text
    assert "Received: 27 November 2026 at 10am" in text
    assert "Ended: 27 November 2026 at 10:04am" in text
    assert "Matter: CMP-2026-0142" in text
    assert "Reason: Verbal abuse (verbal_abuse)" in text
    assert f"{PUBLIC_URL}/api/v1/file-notes/{note_id}" in text
    assert "+44*******123" in text
    raw = message.as_string()
    for form in FULL_NUMBER_FORMS:
        assert form not in raw

    [notice] = await notifications(client, tokens["manager"])
    assert notice["kind"] == "call_ended"
    assert (notice["call_sid"], notice["file_note_id"], notice["staff"]) == (
        call_sid,
        note_id,
        "sam.staff",
    )
    assert notice["email"] == "sent"
    assert notice["read_at"] is None
    assert not any(form in str(notice) for form in FULL_NUMBER_FORMS)
    # Only the line manager is told.
    assert await notifications(client, tokens["staff"]) == []
    assert await notifications(client, tokens["chief_executive"]) == []


async def test_a_notification_is_marked_read_by_its_recipient_only(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    await restricted_person(client, tokens)
    call_sid, _conference = await connect_call(client)
    assert (await end(client, tokens["staff"], call_sid, "threats")).status == 200
    [notice] = await notifications(client, tokens["manager"])
    path = f"/api/v1/notifications/{notice['id']}/read"

    assert (await client.post(path, headers=auth(tokens["staff"]))).status == 404
    clock.advance(timedelta(minutes=1))
    read = await client.post(path, headers=auth(tokens["manager"]))
    assert read.status == 200
    assert (await read.json())["read_at"] == "2026-11-27T10:01:00Z"
    assert await notifications(client, tokens["manager"], unread=True) == []
    assert (await client.get("/api/v1/notifications", headers=auth(tokens["admin"]))).status == 403


async def test_a_mail_server_that_is_down_never_fails_ending_a_call(
    client: Client, tokens: dict[str, str], smtp_server: SmtpServer
) -> None:
    await restricted_person(client, tokens)
    call_sid, _conference = await connect_call(client)
    smtp_server.stop()

    ended = await end(client, tokens["staff"], call_sid, "threats")

    assert ended.status == 200
    await services(client).background.drain()
    [notice] = await notifications(client, tokens["manager"])
    assert notice["email"] == "failed"
    assert smtp_server.inbox.messages == []


# --- welfare (§5.5) -------------------------------------------------------------------------


async def welfare_alerts(client: Client, token: str) -> list[dict[str, Any]]:
    return [n for n in await notifications(client, token) if n["kind"] == "welfare_alert"]


async def test_one_welfare_alert_when_the_weekly_threshold_is_reached(
    client: Client,
    tokens: dict[str, str],
    smtp_server: SmtpServer,
    clock: FixedClock,
    policy: Policy,
) -> None:
    assert policy.welfare.alert_threshold_per_week == 3
    await restricted_person(client, tokens)
    calls = [(await connect_call(client))[0] for _ in range(4)]

    # The same call warned on twice counts once.
    assert (await warn(client, tokens["staff"], calls[0])).status == 201
    assert (await warn(client, tokens["staff"], calls[0], "harassment")).status == 201
    assert (await warn(client, tokens["staff"], calls[1])).status == 201
    assert await welfare_alerts(client, tokens["manager"]) == []
    # The third call (ended at once) reaches the threshold.
    assert (await end(client, tokens["staff"], calls[2], "threats")).status == 200
    [alert] = await welfare_alerts(client, tokens["manager"])
    assert (alert["staff"], alert["week"]) == ("sam.staff", "2026-W48")
    # A fourth call in the same week raises nothing more.
    assert (await warn(client, tokens["staff"], calls[3])).status == 201
    assert (await end(client, tokens["staff"], calls[3])).status == 200
    assert len(await welfare_alerts(client, tokens["manager"])) == 1

    await services(client).background.drain()
    subjects = [m["Subject"] for m in smtp_server.inbox.messages]
    assert sum(s.startswith("Welfare") for s in subjects) == 1

    report = await client.get("/api/v1/welfare?weeks=2", headers=auth(tokens["manager"]))
    assert report.status == 200
    assert await report.json() == {
        "threshold_per_week": 3,
        "weeks": [
            {
                "week": "2026-W48",
                "staff": [{"name": "sam.staff", "calls": 4, "alert_raised": True}],
            },
            {"week": "2026-W47", "staff": []},
        ],
    }

    # A new office week starts a new count.
    clock.advance(timedelta(days=3))
    next_call, _conference = await connect_call(client)
    assert (await warn(client, tokens["staff"], next_call)).status == 201
    report = await client.get("/api/v1/welfare?weeks=1", headers=auth(tokens["manager"]))
    assert (await report.json())["weeks"] == [
        {"week": "2026-W49", "staff": [{"name": "sam.staff", "calls": 1, "alert_raised": False}]}
    ]


async def test_concurrent_warnings_raise_exactly_one_welfare_alert(
    client: Client, tokens: dict[str, str]
) -> None:
    await restricted_person(client, tokens)
    calls = [(await connect_call(client))[0] for _ in range(6)]

    responses = await asyncio.gather(*(warn(client, tokens["staff"], sid) for sid in calls))

    assert [r.status for r in responses] == [201] * 6
    assert len(await welfare_alerts(client, tokens["manager"])) == 1
    report = await (await client.get("/api/v1/welfare", headers=auth(tokens["manager"]))).json()
    assert report["weeks"][0]["staff"] == [{"name": "sam.staff", "calls": 6, "alert_raised": True}]


async def test_welfare_counts_are_for_managers(client: Client, tokens: dict[str, str]) -> None:
    assert (await client.get("/api/v1/welfare", headers=auth(tokens["staff"]))).status == 403
    assert (await client.get("/api/v1/welfare", headers=auth(tokens["admin"]))).status == 403
    assert (await client.get("/api/v1/welfare")).status == 401
    too_many = await client.get("/api/v1/welfare?weeks=500", headers=auth(tokens["manager"]))
    assert too_many.status == 422
    assert PERSON_PHONE not in await too_many.text()


async def test_a_review_reminder_is_emailed_once_to_the_strategy_owner(
    client: Client, tokens: dict[str, str], smtp_server: SmtpServer, clock: FixedClock
) -> None:
    person = await create_person(client, tokens["manager"])
    strategy = await create_strategy(
        client,
        tokens["manager"],
        person["id"],
        [{"kind": "phone_blocked"}],
        review_due="2026-11-30",
    )
    duties = services(client).duties

    first = await duties.run("reviews", clock.now())
    clock.advance(timedelta(hours=1))
    again = await duties.run("reviews", clock.now())

    assert first.summary is not None and first.summary["reminders"] == 1
    assert again.summary is not None and again.summary["reminders"] == 0
    [message] = smtp_server.inbox.messages  # once, however often the duty runs
    assert smtp_server.inbox.recipients == [["mo@example.org"]]
    assert message["Subject"] == "Review due in 3 days: contact strategy for CMP-2026-0142"
    text = body_of(message)
    assert "The review of the contact strategy for CMP-2026-0142 is due on" in text
    assert strategy["id"] not in text.split("https:")[0]  # an id only in a link
    assert f"{PUBLIC_URL}/console" in text
    [notice] = await notifications(client, tokens["manager"])
    assert (notice["kind"], notice["email"]) == ("review_reminder", "sent")


async def test_a_reminder_to_someone_without_an_address_stays_in_app(
    client: Client, tokens: dict[str, str], smtp_server: SmtpServer, clock: FixedClock
) -> None:
    # The chief executive has an address; the admin, who creates nothing, has none. Give
    # the strategy to a manager without an address: mo.manager's record, emptied.
    users = services(client).notifier.users
    mo = await users.get_user("mo.manager")
    assert mo is not None
    await users.put_user(mo.model_copy(update={"email": None}))
    person = await create_person(client, tokens["manager"])
    await create_strategy(
        client,
        tokens["manager"],
        person["id"],
        [{"kind": "phone_blocked"}],
        review_due="2026-11-30",
    )

    run = await services(client).duties.run("reviews", clock.now())

    assert run.summary is not None and run.summary["reminders"] == 1
    assert smtp_server.inbox.messages == []
    [notice] = await notifications(client, tokens["manager"])
    assert (notice["kind"], notice["email"]) == ("review_reminder", "no_address")


async def test_a_mail_server_that_is_down_never_stops_the_duty(
    client: Client,
    tokens: dict[str, str],
    smtp_server: SmtpServer,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    smtp_server.stop()  # refused from now on
    for _ in range(2):
        person = await create_person(client, tokens["manager"], phones=[unknown_uk_mobile()])
        await create_strategy(
            client, tokens["manager"], person["id"], BLOCKED, review_due="2026-11-30"
        )

    run = await services(client).duties.run("reviews", clock.now())

    # Both reminders are delivered in-app; the first e-mail failed, and the second was
    # not even tried (mail rests after a failure) but says so too.
    assert run.outcome == "performed" and run.summary is not None
    assert run.summary["reminders"] == 2
    notices = await notifications(client, tokens["manager"])
    assert sorted((n["kind"], n["email"]) for n in notices) == [("review_reminder", "failed")] * 2
    tried = [r for r in caplog.records if r.name == "callguard.notify" and "failed (" in r.message]
    assert len(tried) == 1


async def reminders_to_mo_then_max(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> tuple[str, JobRun]:
    """A second manager, Max, with an address; a strategy due for review for each of mo
    (first) and Max; the reviews duty run. Max's token, and the run."""
    users = services(client).notifier.users
    await users.put_user(
        User(name="max.manager", role=Role.manager, display_name="Max", email="max@example.org")
    )
    max_token = await users.create_token("max.manager", Role.manager)
    for token in (tokens["manager"], max_token):
        person = await create_person(client, token, phones=[unknown_uk_mobile()])
        await create_strategy(client, token, person["id"], BLOCKED, review_due="2026-11-30")
    return max_token, await services(client).duties.run("reviews", clock.now())


@pytest.mark.parametrize("refused", ["the mailbox", "the message"])
async def test_one_e_mail_the_mail_server_refuses_holds_up_no_other(
    client: Client,
    tokens: dict[str, str],
    smtp_server: SmtpServer,
    clock: FixedClock,
    refused: str,
) -> None:
    """A mistyped or departed address, or one message taken for spam, is refused for that
    message only; mail itself is working, so the next notice's e-mail is sent (mail rests
    only when it is down)."""
    if refused == "the mailbox":
        smtp_server.inbox.refused.add("mo@example.org")
    else:
        smtp_server.inbox.spam_to.add("mo@example.org")
    max_token, run = await reminders_to_mo_then_max(client, tokens, clock)

    assert run.summary is not None and run.summary["reminders"] == 2
    assert smtp_server.inbox.tried == ["mo@example.org", "max@example.org"]
    assert smtp_server.inbox.recipients == [["max@example.org"]]
    [mo_notice] = await notifications(client, tokens["manager"])
    [max_notice] = await notifications(client, max_token)
    assert (mo_notice["email"], max_notice["email"]) == ("failed", "sent")


async def test_mail_that_says_try_again_later_rests_before_the_next(
    client: Client, tokens: dict[str, str], smtp_server: SmtpServer, clock: FixedClock
) -> None:
    """A 4xx at the recipient is the server's trouble for now, not the address's: mail
    rests (``PAUSE_S``), and the next notice is marked failed without waiting on it."""
    smtp_server.inbox.busy.add("mo@example.org")
    max_token, _ = await reminders_to_mo_then_max(client, tokens, clock)

    assert smtp_server.inbox.tried == ["mo@example.org"]
    [max_notice] = await notifications(client, max_token)
    assert max_notice["email"] == "failed"
