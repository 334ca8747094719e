"""Follow-ups as scheduled duties: a file note past its deadline (§6.5) gets one reminder to
its author, then one escalation to their line manager; a caller's message not triaged in
time (§3.10, §8.7) gets one reminder to the managers. Real calls, real notes, real Redis;
time from the fixed clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from callguard.clock import FixedClock
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from tests.conftest import auth
from tests.helpers import Client, inbound_call, new_call_sid, services
from tests.integration.scheduler_support import at, notices
from tests.integration.test_file_notes import COMPLETE, ended_call, patch

pytestmark = pytest.mark.timeout(30)


async def run(client: Client, job: str, now: datetime) -> dict[str, Any]:
    result = await services(client).duties.run(job, now)
    assert result.outcome == "performed", result
    assert result.summary is not None
    return dict(result.summary)


async def test_a_late_file_note_gets_one_reminder_then_one_escalation(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    # Ended on Friday 27 November at 10:03: due by the end of Monday 30 November (§6.5).
    _call, note_id = await ended_call(client, tokens, clock)
    redis = services(client).redis
    staff = Actor(name="sam.staff", role=Role.staff)
    note = await services(client).notes.get(note_id, staff, clock.now())
    assert note.due_at == at(2026, 11, 30, 17, 0)

    steps = [
        (at(2026, 11, 30, 16, 59), (0, 0)),
        (at(2026, 11, 30, 17, 0), (1, 0)),
        (at(2026, 11, 30, 17, 30), (0, 0)),
        (at(2026, 12, 1, 16, 59), (0, 0)),
        (at(2026, 12, 1, 17, 0), (0, 1)),
        (at(2026, 12, 1, 17, 15), (0, 0)),
        (at(2026, 12, 8, 9, 0), (0, 0)),
    ]
    for now, expected in steps:
        summary = await run(client, "file_notes", now)
        assert (summary["reminders"], summary["escalations"]) == expected, now

    (reminder,) = await notices(redis, "sam.staff", "file_note_overdue")
    assert reminder.file_note_id == note_id
    assert "30 November 2026 at 5pm" in reminder.text
    assert note_id not in reminder.text  # the note is named by its call, its id is the link
    (escalation,) = await notices(redis, "mo.manager", "file_note_escalation")
    assert escalation.file_note_id == note_id and escalation.staff == "sam.staff"
    assert escalation.title == "File note by Sam Staff still not completed"  # full name
    # Nobody else was chased about it.
    assert await notices(redis, "ceo") == []


async def test_a_file_note_completed_in_time_is_not_chased(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    _call, note_id = await ended_call(client, tokens, clock)
    response = await patch(client, tokens["staff"], note_id, COMPLETE)
    assert response.status == 200, await response.text()

    summary = await run(client, "file_notes", at(2026, 12, 10))

    assert (summary["reminders"], summary["escalations"]) == (0, 0)


async def test_a_note_completed_after_its_reminder_is_not_escalated(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    _call, note_id = await ended_call(client, tokens, clock)
    await run(client, "file_notes", at(2026, 11, 30, 17, 30))
    response = await patch(client, tokens["staff"], note_id, COMPLETE)
    assert response.status == 200, await response.text()

    summary = await run(client, "file_notes", at(2026, 12, 2))

    assert summary["escalations"] == 0
    assert await notices(services(client).redis, "mo.manager", "file_note_escalation") == []


async def leave_message(client: Client, caller: str, now: datetime) -> str:
    call_sid = new_call_sid()
    response = await inbound_call(client, caller, call_sid)
    assert response.status == 200
    await services(client).call_events.message_recorded(
        call_sid,
        recording_sid="RE" + "1" * 32,
        recording_url="https://api.twilio.com/recordings/RE1",
        duration_s=40,
        new_matter=False,
        for_spoc=None,
        now=now,
    )
    return call_sid


async def test_a_message_not_triaged_in_time_raises_one_reminder_to_managers(
    client: Client, tokens: dict[str, str], clock: FixedClock
) -> None:
    hours = services(client).policy.messages.triage_within_hours
    left_at = clock.now()
    waiting = await leave_message(client, "07700 900555", left_at)
    triaged = await leave_message(client, "07700 900556", left_at)
    response = await client.post(
        f"/api/v1/calls/{triaged}/message/triage",
        json={"outcome": "no_action", "notes": "Asked for a call back; done."},
        headers=auth(tokens["staff"]),
    )
    assert response.status == 200, await response.text()

    early = await run(client, "messages", left_at + timedelta(hours=hours, minutes=-1))
    due = await run(client, "messages", left_at + timedelta(hours=hours))
    again = await run(client, "messages", left_at + timedelta(hours=hours + 3))

    assert (early["reminders"], due["reminders"], again["reminders"]) == (0, 1, 0)
    redis = services(client).redis
    (reminder,) = await notices(redis, "mo.manager", "message_untriaged")
    assert reminder.call_sid == waiting
    assert f"over {hours} hours" in reminder.title
    # No phone number in what managers are sent.
    assert "900555" not in reminder.text + reminder.title
    assert await notices(redis, "sam.staff", "message_untriaged") == []
