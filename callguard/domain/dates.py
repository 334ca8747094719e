"""Calendar arithmetic for reviews (§3.12), and the range of dates CallGuard accepts."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

# Dates and times given to CallGuard (API bodies and queries, forms) lie in these years:
# outside them a date is a mistake, and arithmetic on it (a window a week later, a time
# zone offset, a Redis score) could overflow. Checked where input is read, so the answer
# is 422 naming the field, never a failure later on.
MIN_YEAR = 1970
MAX_YEAR = 2999
YEAR_RANGE = f"must be in a year from {MIN_YEAR} to {MAX_YEAR}"


def year_in_range(year: int) -> bool:
    return MIN_YEAR <= year <= MAX_YEAR


def _date_in_range(value: date) -> date:
    if not year_in_range(value.year):
        raise ValueError(YEAR_RANGE)
    return value


def _time_in_range(value: datetime) -> datetime:
    # Both as given and in UTC: "9999-12-31T23:59:59-14:00" is in year 10000 in UTC.
    if not year_in_range(value.year) or not MIN_YEAR <= _utc_year(value) <= MAX_YEAR:
        raise ValueError(YEAR_RANGE)
    return value


def _utc_year(value: datetime) -> int:
    offset = value.utcoffset()
    if offset is None:
        return value.year
    try:
        return (value.replace(tzinfo=None) - offset).year
    except OverflowError:
        return 0


# A date (``YYYY-MM-DD``) and an ISO 8601 date-time with an offset, each in range.
InputDate = Annotated[date, AfterValidator(_date_in_range)]
InputDateTime = Annotated[AwareDatetime, AfterValidator(_time_in_range)]


def add_months(day: date, months: int) -> date:
    """The same day ``months`` calendar months later, clamped to the month's end.

    30 November + 3 months is 28 February (29 in a leap year).
    """
    years, month_index = divmod(day.month - 1 + months, 12)
    year = day.year + years
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
