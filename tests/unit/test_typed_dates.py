"""Dates and times as people type them into the pages (``web/pages/typed_dates.py``)."""

from __future__ import annotations

from datetime import date

import pytest

from callguard.web.pages.typed_dates import clock_time, date_from_parts, date_parts

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("9am", "09:00"),
        ("9:30am", "09:30"),
        ("2.15pm", "14:15"),
        ("12pm", "12:00"),
        ("12am", "00:00"),
        ("14:00", "14:00"),
        (" 9:05 A.M. ", "09:05"),
        ("midday", "12:00"),
        ("noon", "12:00"),
        ("midnight", "24:00"),
        ("24:00", "24:00"),
    ],
)
def test_a_time_as_people_write_it_is_read_as_the_apis(typed: str, read: str) -> None:
    assert clock_time(typed) == read


@pytest.mark.parametrize("typed", ["9", "13pm", "24:30", "9:75", "teatime", " half past "])
def test_a_time_that_cannot_be_read_is_left_as_typed_for_the_model_to_refuse(typed: str) -> None:
    assert clock_time(typed) == typed.strip()


def test_a_date_inputs_three_fields_make_one_date() -> None:
    form = {"due-day": " 5", "due-month": "3 ", "due-year": "2027"}
    assert date_from_parts(form, "due") == "2027-03-05"


def test_a_date_input_left_blank_is_no_date() -> None:
    assert date_from_parts({"due-day": " ", "due-month": "", "due-year": ""}, "due") is None
    assert date_from_parts({}, "due") is None


@pytest.mark.parametrize(
    ("day", "month", "year"),
    [("5", "3", "27"), ("5", "March", "2027"), ("", "3", "2027"), ("123", "3", "2027")],
)
def test_a_date_input_that_is_not_a_date_is_left_as_typed(day: str, month: str, year: str) -> None:
    form = {"due-day": day, "due-month": month, "due-year": year}
    assert date_from_parts(form, "due") == f"{day}/{month}/{year}"


def test_a_date_fills_a_date_input_and_reads_back_the_same() -> None:
    values = date_parts("due", date(2027, 2, 15))
    assert values == {"due-day": "15", "due-month": "2", "due-year": "2027"}
    assert date_from_parts(values, "due") == "2027-02-15"
