"""Text that people type into CallGuard may not hide or disguise what it says: no control
characters but tab and line breaks, no marks that force or isolate a direction of writing.
What the store already holds is read as it is."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from callguard.domain.fields import STORED
from callguard.domain.models import PersonIn, StrategyIn

pytestmark = pytest.mark.timeout(10)

HIDDEN = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u202a", "\u202d", "\u202e", "\u2066", "\u2069"]
PERSON = {"name": "Alex Example", "phones": ["+447700900123"]}
STRATEGY = {
    "person_id": "per_1",
    "matter_ref": "CMP-2026-0142",
    "reason": "Repeated abusive calls",
    "restrictions": [{"kind": "recorded"}],
    "review_due": "2027-01-20",
}


@pytest.mark.parametrize("hidden", HIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_hidden_characters_are_refused_where_people_type(hidden: str) -> None:
    for model, body, field in (
        (PersonIn, PERSON, "name"),
        (StrategyIn, STRATEGY, "matter_ref"),
        (StrategyIn, STRATEGY, "reason"),
    ):
        with pytest.raises(ValidationError) as refused:
            model.model_validate({**body, field: f"Alex{hidden}Example"})
        [error] = refused.value.errors(include_url=False)
        assert error["loc"] == (field,)
        assert "must not contain hidden characters" in error["msg"]
        # Held already (written before this check): read as it is.
        stored = model.model_validate({**body, field: f"Alex{hidden}Example"}, context=STORED)
        assert getattr(stored, field) == f"Alex{hidden}Example"


def test_line_breaks_tabs_and_right_to_left_text_are_kept() -> None:
    name = "\u0639\u0644\u064a \u200fAli\u200e \u061c"  # Arabic, with the marks it needs
    assert PersonIn.model_validate({**PERSON, "name": name}).name == name
    reason = "First line\n\tindented\r\nlast line"
    assert StrategyIn.model_validate({**STRATEGY, "reason": reason}).reason == reason
