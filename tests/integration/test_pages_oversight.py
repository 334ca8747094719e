"""The oversight report's page over the demo data: what it counts as in force is what
applies to calls (§3.6), and a report kept by an earlier release still shows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from callguard.clock import FixedClock
from tests.e2e.support import Client, fast_passwords
from tests.helpers import services
from tests.integration.test_pages_register import visible_text
from tests.integration.test_scheduler_reports import KEPT_BEFORE_NOTICE_COUNTED

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]


async def test_a_strategy_awaiting_notice_is_shown_apart_not_as_in_force(
    manager: Client, clock: FixedClock
) -> None:
    # The demo: ten strategies (made a second apart), one of them awaiting notice.
    clock.set(clock.now() + timedelta(minutes=1))
    text = visible_text(await (await manager.get("/oversight")).text())

    assert "In force 9 " in text
    assert "Active at end 9 " in text
    assert "Not yet in force: the person has not been told in writing 1 " in text
    assert "Telephone calls blocked 1 " in text
    assert "awaiting" not in text.lower()


async def test_a_report_kept_before_notice_was_counted_shows_it_was_not(manager: Client) -> None:
    kept = KEPT_BEFORE_NOTICE_COUNTED
    await services(manager).duties.reports.store.put_if_absent("2026-Q2", json.dumps(kept))

    response = await manager.get("/oversight?quarter=2026-Q2")

    assert response.status == 200
    text = visible_text(await response.text())
    assert "Active at end 3 " in text
    assert (
        "Not yet in force: the person has not been told in writing "
        "Not counted when this report was kept"
    ) in text
