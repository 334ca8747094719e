"""Ordinals as GOV.UK writes them: words from first to ninth, then 10th, 11th, 21st."""

from __future__ import annotations

import pytest

from callguard.wording import ordinal

pytestmark = pytest.mark.timeout(10)


@pytest.mark.parametrize(
    ("n", "said"),
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (9, "ninth"),
        (10, "10th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (23, "23rd"),
        (111, "111th"),
    ],
)
def test_ordinal(n: int, said: str) -> None:
    assert ordinal(n) == said
