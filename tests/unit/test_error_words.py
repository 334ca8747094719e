"""The API's reasons for invalid input are words: for every body and query model of every
route, bad values of every kind give reasons with no type's name, no pattern, no library
wording and none of the value sent."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from callguard.domain import error_words
from callguard.web.api import invalid_from
from callguard.web.app import API_ROUTES

pytestmark = pytest.mark.timeout(30)

MODELS: list[type[BaseModel]] = sorted(
    {m for r in API_ROUTES for e in r.endpoints for m in (e.body, e.query) if m is not None},
    key=lambda m: m.__name__,
)
SENT = "zz-sent-value-zz"
# Values of every JSON kind, for every field at once, and bodies that are not objects.
BAD_VALUES: list[Any] = [SENT, 12345, -1, 2**70, 1.5, True, None, [SENT], {SENT: SENT}, ""]
BAD_BODIES: list[Any] = [None, [], SENT, 7, {SENT: 1}]
# What no reason may hold: pydantic's own wording, a pattern's marks, the value sent.
NEVER = ("Input should", "Field required", "Extra inputs", "String should", "pattern", "^", "$")


def payloads(model: type[BaseModel]) -> list[Any]:
    fields = list(model.model_fields)
    every = [{name: value for name in fields} for value in BAD_VALUES]
    # Nested: a tagged object whose tag is unknown, lists of them, one with a field too many.
    tagged: list[Any] = [
        {"kind": SENT},
        [{"kind": SENT}],
        [{}],
        [{"kind": "call_windows", SENT: 1}],
    ]
    nested = [{name: value for name in fields} for value in tagged]
    return [*every, *nested, *BAD_BODIES]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_reason_is_in_words(model: type[BaseModel]) -> None:
    names = {m.__name__ for m in MODELS}
    seen = 0
    for payload in payloads(model):
        try:
            model.model_validate(payload)
        except ValidationError as error:
            for field, reason in invalid_from(error).problems:
                seen += 1
                said = f"{field}: {reason}"
                assert not any(word in reason for word in NEVER), said
                assert SENT not in reason, said  # (a name sent that is not a field is named)
                assert not any(name in reason for name in names), said
                assert reason and reason[0].islower(), said  # follows the field's name
    assert seen, model.__name__


def test_a_long_name_that_is_not_a_field_is_cut_short() -> None:
    from callguard.web.api_controls import ReasonIn

    with pytest.raises(ValidationError) as raised:
        ReasonIn.model_validate({"reason": "R", "x" * 100_000: 1})
    [(field, reason)] = invalid_from(raised.value).problems
    assert (field, reason) == ("x" * 64 + "…", "is not a field this takes")


def test_a_kind_missing_or_unknown_is_placed_on_the_kind() -> None:
    from callguard.domain.models import StrategyIn

    body = {"person_id": "per_1", "matter_ref": "M1", "reason": "R", "restrictions": [{}, {}]}
    body["restrictions"] = [{}, {"kind": "bogus"}]
    with pytest.raises(ValidationError) as raised:
        StrategyIn.model_validate(body)
    problems = dict(invalid_from(raised.value).problems)
    assert problems["restrictions[0].kind"] == "is required"
    assert problems["restrictions[1].kind"].startswith("must be one of 'call_windows', 'spoc'")


@pytest.mark.parametrize(
    ("item", "said"),
    [
        (
            {"type": "string_pattern_mismatch", "ctx": {"pattern": "^CA[0-9a-fA-F]{32}$"}},
            "CA and 32",
        ),
        ({"type": "date_from_datetime_inexact"}, "must be a date, such as 2026-11-27"),
        ({"type": "value_error", "msg": "Value error, not a phone number"}, "not a phone number"),
        ({"type": "a_type_of_a_later_pydantic"}, "is not a value this field takes"),
    ],
)
def test_reasons_by_kind(item: dict[str, Any], said: str) -> None:
    assert said in error_words.reason_for(item)


def test_true_is_not_a_number_nor_1_a_yes() -> None:
    """JSON's true is not taken as 1, nor 1 as true, where a count, a version or a yes
    or no is asked for (pydantic would take both)."""
    from callguard.domain.models import RevisionIn, StrategyIn

    window = {"days": ["mon"], "start": "09:00", "end": "12:00"}
    restriction = {"kind": "call_windows", "windows": [window], "max_calls": True, "per": "week"}
    body = {
        "person_id": "per_1",
        "matter_ref": "M1",
        "reason": "R",
        "restrictions": [{**restriction, "max_minutes": True}],
        "review_due": "2027-01-20",
        "interim": 1,
    }
    with pytest.raises(ValidationError) as raised:
        StrategyIn.model_validate(body)
    assert dict(invalid_from(raised.value).problems) == {
        "restrictions[0].max_calls": "must be a whole number",
        "restrictions[0].max_minutes": "must be a whole number",
        "interim": "must be true or false",
    }
    with pytest.raises(ValidationError) as raised:
        RevisionIn.model_validate(
            {"expected_version": True, "changes": {"reason": "S"}, "why": "W"}
        )
    assert dict(invalid_from(raised.value).problems) == {
        "expected_version": "must be a whole number"
    }
