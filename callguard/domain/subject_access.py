"""Subject access requests (UK GDPR Art. 12(3), 15): the one-month clock. Pure.

A request is answered within one calendar month of the day it was received: received on
3 January, due on 3 February; where the next month has no such day (31 January), the last
day of that month (28 or 29 February), as the ICO's guidance says.

Reminders: ``REMINDER_DAYS_BEFORE`` days before the due date, on the due date, and once
overdue (the day after), each once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from callguard.domain.dates import InputDate, add_months

REMINDER_DAYS_BEFORE = 7

Stage = Literal["due_soon", "due_today", "overdue"]


def due_on(received_on: date) -> date:
    """One calendar month after ``received_on`` (clamped to the month's last day)."""
    return add_months(received_on, 1)


def reminder_stage(due: date, today: date) -> Stage | None:
    """The reminder owed on ``today`` for a request due on ``due``, if any. A service that
    was down on the day sends the latest stage only."""
    if today > due:
        return "overdue"
    if today == due:
        return "due_today"
    if today >= due - timedelta(days=REMINDER_DAYS_BEFORE):
        return "due_soon"
    return None


class SubjectAccessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    received_on: InputDate


class SubjectAccessCompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    completed_on: InputDate


class SubjectAccessRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str
    person_id: str
    received_on: date
    due_on: date
    logged_at: datetime
    logged_by: str
    completed_on: date | None = None
    completed_by: str | None = None

    def overdue(self, today: date) -> bool:
        return self.completed_on is None and today > self.due_on
