"""Every action audited about a person has words in their subject access bundle (the
bundle is read by the person: "Appeal decide" or "Person update" is not a sentence)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from callguard.web.pages.subject_access import AUDIT_WORDS

pytestmark = pytest.mark.timeout(10)

SOURCE = Path(__file__).resolve().parents[2] / "callguard"
# Actions about the people on the register (users and tokens are about staff accounts).
FAMILIES = "person|strategy|call|call_log|file_note|legal_hold|subject_access|appeal"
ACTION = re.compile(rf'"((?:{FAMILIES})\.[a-z_]+(?:\.[a-z_]+)?)"')


def audited_actions() -> set[str]:
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        if path.name == "subject_access.py" and path.parent.name == "pages":
            continue
        found.update(a for a in ACTION.findall(path.read_text()) if not a.endswith(".html"))
    return found


def test_the_source_is_scanned() -> None:
    assert {"person.create", "appeal.decide", "person.update"} <= audited_actions()


def test_every_action_audited_about_a_person_has_words() -> None:
    missing = sorted(audited_actions() - set(AUDIT_WORDS))
    assert missing == []
