"""The one-month clock of a subject access request (UK GDPR Art. 12(3)), pure."""

from __future__ import annotations

from datetime import date

import pytest

from callguard.domain.subject_access import due_on, reminder_stage


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2026, 11, 16), date(2026, 12, 16)),
        (date(2026, 12, 31), date(2027, 1, 31)),
        (date(2027, 1, 31), date(2027, 2, 28)),
        (date(2028, 1, 30), date(2028, 2, 29)),
        (date(2026, 3, 31), date(2026, 4, 30)),
    ],
)
def test_due_one_calendar_month_later_or_the_months_last_day(received: date, due: date) -> None:
    assert due_on(received) == due


@pytest.mark.parametrize(
    ("today", "stage"),
    [
        (date(2026, 12, 8), None),
        (date(2026, 12, 9), "due_soon"),
        (date(2026, 12, 15), "due_soon"),
        (date(2026, 12, 16), "due_today"),
        (date(2026, 12, 17), "overdue"),
        (date(2027, 3, 1), "overdue"),
    ],
)
def test_the_reminder_owed_on_each_day(today: date, stage: str | None) -> None:
    assert reminder_stage(date(2026, 12, 16), today) == stage
