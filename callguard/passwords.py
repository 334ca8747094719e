"""The rule for a new password (CONTRACT §5), the same for ``callguard user`` and the admin
pages. NCSC guidance: length over complexity rules, and no password from the lists that
attackers try first (``callguard/data/common-passwords.txt``, shipped in the wheel).
Pure: the list is package data, read once.
"""

from __future__ import annotations

import functools
import string
from importlib import resources

MIN_LENGTH = 12
# A cap keeps the hash cheap to ask for.
MAX_LENGTH = 256
# Fewer different characters than this is a pattern, not a password ("abcabcabcabc").
MIN_DIFFERENT_CHARACTERS = 5
# A user name shorter than this is too likely to turn up by chance ("al" in "totally").
MIN_NAME_TO_CHECK = 3

_TRAILING_EXTRAS = string.digits + string.punctuation + " "


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("callguard").joinpath("data/common-passwords.txt").read_text("utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def password_problem(password: str, user_name: str = "") -> str | None:
    """Why ``password`` may not be the new password of ``user_name``, as one sentence to
    show the person choosing it; None when it may."""
    if len(password) < MIN_LENGTH:
        return f"Choose a longer password: at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"Choose a shorter password: at most {MAX_LENGTH} characters"
    if len(set(password.lower())) < MIN_DIFFERENT_CHARACTERS:
        return "Choose a password that is not the same few characters repeated"
    lowered = password.lower()
    name = user_name.strip().lower()
    if len(name) >= MIN_NAME_TO_CHECK and name in lowered:
        return "Choose a password that does not contain the user name"
    common = common_passwords()
    if lowered in common or lowered.rstrip(_TRAILING_EXTRAS) in common:
        return "Choose a less common password: this one is among those tried first by attackers"
    return None
