"""The call-record plan encodes each field exactly as ``json.dumps`` would."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callguard.store.calls import _json_text

pytestmark = pytest.mark.timeout(30)

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(JSON_VALUES)
def test_a_field_is_encoded_as_json_dumps_encodes_it(value: Any) -> None:
    assert _json_text(value) == json.dumps(value)
