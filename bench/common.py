"""What the bench's processes share: the pretend Twilio account, the office, and the
phone numbers and ids of the people loaded (fixed width, so bulk templates stay valid)."""

from __future__ import annotations

import random

from callguard import urls

PUBLIC_URL = "https://callguard.bench.example"
VOICE_URL = PUBLIC_URL + urls.VOICE
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"  # noqa: S105 - a throwaway token
DEFAULT_ROUTE = "+441772000100"
SPOC_PHONE = "+441772000001"
OFFICE_NUMBER = "+441772000000"


def person_phone(i: int) -> str:
    return f"+4474{i:08d}"


def advocate_phone(i: int) -> str:
    return f"+4479{i:08d}"


def unknown_phone(rng: random.Random) -> str:
    """A valid UK mobile number that nobody in the register holds."""
    return f"+4475{rng.randrange(10**8):08d}"


def person_id(i: int) -> str:
    return f"per_{i:016x}"  # the shape of ``services.register.new_id``: prefix, 16 hex digits


def strategy_id(i: int) -> str:
    return f"str_{i:016x}"
