"""Text that people type into CallGuard may not hide or disguise what it says: no control
characters but tab and line breaks (other kinds of line break become line breaks), no
marks that reverse how text reads. What people paste legitimately is kept; what the store
already holds is read as it is."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from callguard.domain.fields import STORED
from callguard.domain.models import PersonIn, StrategyIn

pytestmark = pytest.mark.timeout(10)

HIDDEN = ["\x00", "\x07", "\x1b", "\x7f", "\x9b", "\u202d", "\u202e"]
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
        assert "contains characters that cannot be seen" in error["msg"]
        # Held already (written before this check): read as it is.
        stored = model.model_validate({**body, field: f"Alex{hidden}Example"}, context=STORED)
        assert getattr(stored, field) == f"Alex{hidden}Example"


def test_what_people_paste_legitimately_is_kept() -> None:
    for name in (
        "\u0639\u0644\u064a \u200fAli\u200e \u061c",  # Arabic, with the marks it needs
        "\u2068\u0639\u0644\u064a\u2069 Ali",  # a name a phone isolated in another direction
        "\u202bAli\u202c",  # embedded right to left, as some chat apps send it
        "Ana\u00adlise",  # a soft hyphen
        "\u0915\u094d\u200d\u0937",  # a zero-width joiner, as Devanagari uses it
        "Jo \U0001f600",  # an emoji
    ):
        assert PersonIn.model_validate({**PERSON, "name": name}).name == name
    reason = "First line\n\tindented\r\nlast line"
    assert StrategyIn.model_validate({**STRATEGY, "reason": reason}).reason == reason


def test_other_kinds_of_line_break_become_line_breaks() -> None:
    pasted = "Slide one\x0bline two\x0cpage two\x85next\u2028line\u2029paragraph"
    kept = StrategyIn.model_validate({**STRATEGY, "reason": pasted}).reason
    assert kept == "Slide one\nline two\npage two\nnext\nline\nparagraph"
