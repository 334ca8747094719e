"""Fixtures the integration tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from tests.e2e.support import MANAGER, Client, demo_pages, fast_passwords

__all__ = ["fast_passwords"]


@pytest.fixture
async def manager(
    settings: Settings, policy: Policy, clock: FixedClock, fast_passwords: None
) -> AsyncIterator[Client]:
    """The pages over the demo data, a manager signed in (the API takes the suite's
    tokens)."""
    async with demo_pages(settings, policy, clock, signed_in_as=MANAGER) as client:
        yield client
