"""The inbound scripts' sender packs each EVALSHA itself (``script_sender.packed``): the
same bytes redis-py's ``pack_command`` gives for the same arguments, and the same refusal
of a value it cannot send."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import Connection
from redis.exceptions import DataError

from callguard.store.script_sender import packed

pytestmark = pytest.mark.timeout(60)

CONNECTION = Connection()
SHA = "0123456789abcdef0123456789abcdef01234567"
VALUES = st.one_of(
    st.text(),
    st.binary(),
    st.integers(),
    st.floats(allow_nan=False),
    st.binary().map(bytearray),
    st.binary().map(lambda data: memoryview(data)),
)


@given(st.lists(VALUES, max_size=12))
def test_packed_as_redis_py_packs_it(args: list[Any]) -> None:
    command = ("EVALSHA", SHA, len(args) // 2, *args)

    ours = packed(command, CONNECTION.encoder)
    assert ours == b"".join(CONNECTION.pack_command(*command))  # hiredis's packer
    assert ours == b"".join(CONNECTION._pack_command_python(*command))  # redis-py's own


@pytest.mark.parametrize("value", [True, None, {"not": "a value"}, ["a"]])
def test_a_value_redis_py_would_not_send_is_refused_as_it_refuses_it(value: Any) -> None:
    command = ("EVALSHA", SHA, 0, value)
    with pytest.raises(DataError) as ours:
        packed(command, CONNECTION.encoder)
    with pytest.raises(DataError) as theirs:
        CONNECTION.pack_command(*command)
    assert str(ours.value) == str(theirs.value)


def test_text_is_encoded_as_the_client_is_set_to() -> None:
    latin = Connection(encoding="latin-1")
    command = ("EVALSHA", SHA, 1, "café")
    assert packed(command, latin.encoder) == b"".join(latin.pack_command(*command))
    assert b"caf\xe9" in packed(command, latin.encoder)
