"""Every restriction kind and adjustment kind the domain knows has words on the pages: a
kind added to the domain without a label would show its code to a manager."""

from callguard.domain.models import RESTRICTION_KINDS, AdjustmentKind
from callguard.services.reports import StrategyCounts
from callguard.web.api_call_log import CSV_COLUMNS, CSV_PERSON_NAME
from callguard.web.pages import messages
from callguard.web.pages.forms import ADJUSTMENT_LABELS, KIND_LABELS, KINDS
from callguard.web.pages.words import CSV_HEADINGS, STRATEGY_COUNT_LABELS


def test_the_strategy_form_offers_every_restriction_kind_of_the_domain_with_words() -> None:
    assert tuple(KINDS) == RESTRICTION_KINDS
    assert set(KIND_LABELS) == set(RESTRICTION_KINDS)
    assert all(label and "_" not in label for label in KIND_LABELS.values())


def test_every_adjustment_kind_has_words_on_the_pages() -> None:
    assert set(ADJUSTMENT_LABELS) == set(AdjustmentKind)
    assert all(label and "_" not in label for label in ADJUSTMENT_LABELS.values())


def test_every_column_of_the_call_log_download_has_a_heading_in_words() -> None:
    assert set(CSV_HEADINGS) == {*CSV_COLUMNS, CSV_PERSON_NAME}
    assert all(heading and "_" not in heading for heading in CSV_HEADINGS.values())


def test_an_error_names_a_field_as_its_label_does() -> None:
    """Errors say "What was said or done must be…", as the file note's form labels it,
    not "The summary must be…"; times as people say them."""
    too_long = {"type": "string_too_long", "ctx": {"max_length": 4000}}
    assert (
        messages.words_for_error(too_long, "summary")
        == "What was said or done must be 4,000 characters or fewer"
    )
    assert (
        messages.words_for_error(too_long, "grounds", "appeal")
        == "Why the person disagrees must be 4,000 characters or fewer"
    )
    assert messages.words_for_reason(
        "restrictions[0].windows[0].end", "start (17:00) must be before end (09:00)"
    ) == ("The end time must be later than the start time, 5pm")


def test_every_count_of_strategies_in_the_oversight_report_has_words() -> None:
    assert set(STRATEGY_COUNT_LABELS) == set(StrategyCounts.model_fields)
    assert all(label and "_" not in label for label in STRATEGY_COUNT_LABELS.values())
