"""Changes to accounts made at the same moment (issue 14's admin pages, with two admins):
neither undoes the other, and together they never leave no enabled admin. Each race is
made to happen: the real store's reads are held until both changes have read (the store
itself is the real one, on a real Redis)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from callguard.domain.roles import Role
from callguard.domain.users import Actor, User
from callguard.services.accounts import AccountProblem, Accounts
from tests.helpers import Client, services

pytestmark = pytest.mark.timeout(30)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


class FirstReadsTogether:
    """The real user store, whose first ``parties`` reads of a user wait for each other."""

    def __init__(self, store: Any, parties: int = 2) -> None:
        self.store, self.waiting, self.all_read = store, parties, asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def _together(self, read: Any) -> Any:
        if self.waiting == 0:
            return read
        self.waiting -= 1
        if self.waiting == 0:
            self.all_read.set()
        await self.all_read.wait()
        return read

    async def get_user(self, name: str) -> Any:
        return await self._together(await self.store.get_user(name))

    async def user_as_stored(self, name: str) -> Any:
        return await self._together(await self.store.user_as_stored(name))


async def _accounts_racing(client: Client) -> Accounts:
    accounts = services(client).accounts
    accounts.users = FirstReadsTogether(accounts.users)  # type: ignore[assignment]
    return accounts


async def test_two_admins_demoting_each_other_at_once_leave_one(client: Client) -> None:
    users = services(client).users
    for name in ("ada.admin", "ivy.admin"):
        await users.put_user(User(name=name, role=Role.admin))
    accounts = await _accounts_racing(client)
    ada, ivy = (Actor(name=n, role=Role.admin) for n in ("ada.admin", "ivy.admin"))
    results = await asyncio.gather(
        accounts.update_user(User(name="ivy.admin", role=Role.manager), NOW, by=ada),
        accounts.update_user(User(name="ada.admin", role=Role.manager), NOW, by=ivy),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, AccountProblem)]
    assert len(refused) == 1, results
    assert "is the only admin who can sign in" in refused[0].message
    roles = [(await users.get_user(n)) for n in ("ada.admin", "ivy.admin")]
    assert sorted(u.role.value for u in roles if u) == ["admin", "manager"]


async def test_two_admins_disabling_each_other_at_once_leave_one(client: Client) -> None:
    users = services(client).users
    for name in ("ada.admin", "ivy.admin"):
        await users.put_user(User(name=name, role=Role.admin))
    accounts = await _accounts_racing(client)
    ada, ivy = (Actor(name=n, role=Role.admin) for n in ("ada.admin", "ivy.admin"))
    results = await asyncio.gather(
        accounts.set_disabled("ivy.admin", True, NOW, by=ada),
        accounts.set_disabled("ada.admin", True, NOW, by=ivy),
        return_exceptions=True,
    )
    assert sum(isinstance(r, AccountProblem) for r in results) == 1, results
    kept = [await users.get_user(n) for n in ("ada.admin", "ivy.admin")]
    assert sorted(u.disabled for u in kept if u) == [False, True]


async def test_a_save_made_as_someone_is_disabled_does_not_enable_them(client: Client) -> None:
    users = services(client).users
    await users.put_user(User(name="ada.admin", role=Role.admin))
    await users.put_user(User(name="eve.staff", role=Role.staff, line_manager="mo.manager"))
    accounts = await _accounts_racing(client)
    ada = Actor(name="ada.admin", role=Role.admin)
    saved = User(
        name="eve.staff", role=Role.staff, display_name="Eve Staff", line_manager="mo.manager"
    )
    await asyncio.gather(
        accounts.set_disabled("eve.staff", True, NOW, by=ada),
        accounts.update_user(saved, NOW, by=ada),
    )
    eve = await users.get_user("eve.staff")
    assert eve is not None and eve.disabled  # the disable holds
    assert eve.display_name == "Eve Staff"  # and so does the save
