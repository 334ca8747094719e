"""Every restriction kind and adjustment kind the domain knows has words on the pages: a
kind added to the domain without a label would show its code to a manager."""

from callguard.domain.models import RESTRICTION_KINDS, AdjustmentKind
from callguard.web.pages.forms import ADJUSTMENT_LABELS, KIND_LABELS, KINDS


def test_the_strategy_form_offers_every_restriction_kind_of_the_domain_with_words() -> None:
    assert tuple(KINDS) == RESTRICTION_KINDS
    assert set(KIND_LABELS) == set(RESTRICTION_KINDS)
    assert all(label and "_" not in label for label in KIND_LABELS.values())


def test_every_adjustment_kind_has_words_on_the_pages() -> None:
    assert set(ADJUSTMENT_LABELS) == set(AdjustmentKind)
    assert all(label and "_" not in label for label in ADJUSTMENT_LABELS.values())
