"""Changes made at the same moment, to accounts (issue 14's admin pages, two admins) and to
a strategy: neither undoes the other, two admins never leave none, and the one that lost is
told so in a way the pages can answer. Each race is made to happen: the real store's reads
are held until both changes have read (the store itself is the real one, on a real Redis)."""

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


@pytest.mark.parametrize("change", ["demote", "disable"])
async def test_two_admins_changing_each_other_at_once_leave_one(
    client: Client, change: str
) -> None:
    """Each demotes (or disables) the other at the same moment: one is refused."""
    users = services(client).users
    names = ("ada.admin", "ivy.admin")
    for name in names:
        await users.put_user(User(name=name, role=Role.admin))
    accounts = await _accounts_racing(client)

    async def change_the_other(name: str, by: str) -> object:
        actor = Actor(name=by, role=Role.admin)
        if change == "demote":
            return await accounts.update_user(User(name=name, role=Role.manager), NOW, by=actor)
        return await accounts.set_disabled(name, True, NOW, by=actor)

    results = await asyncio.gather(
        change_the_other(names[1], names[0]),
        change_the_other(names[0], names[1]),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, AccountProblem)]
    assert len(refused) == 1, results
    assert "is the only admin who can sign in" in refused[0].message
    kept = [await users.get_user(n) for n in names]
    assert sum(u is not None and u.role is Role.admin and not u.disabled for u in kept) == 1


async def test_a_save_made_as_someone_is_disabled_does_not_enable_them(client: Client) -> None:
    users = services(client).users
    await users.put_user(User(name="ada.admin", role=Role.admin))
    await users.put_user(User(name="mo.manager", role=Role.manager))
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


async def test_a_token_made_as_someone_is_disabled_does_not_enable_them(client: Client) -> None:
    """``token create --line-manager`` changes the user's line manager: checked at the
    write like every change to an account, so a disable made between its reading of the
    user and its writing stands."""
    users = services(client).users
    for user in (
        User(name="ada.admin", role=Role.admin),
        User(name="mo.manager", role=Role.manager),
        User(name="ceo", role=Role.chief_executive),
        User(name="eve.staff", role=Role.staff, line_manager="mo.manager"),
    ):
        await users.put_user(user)
    accounts = services(client).accounts
    store = accounts.users
    ada = Actor(name="ada.admin", role=Role.admin)

    class DisabledAfterTheFirstRead:
        """The real store; its first read of Eve is followed, before it is answered, by
        another admin disabling her (through the real store)."""

        done = False

        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        async def get_user(self, name: str) -> Any:
            read = await store.get_user(name)
            if name == "eve.staff" and not self.done:
                self.done = True
                accounts.users = store
                await accounts.set_disabled("eve.staff", True, NOW, by=ada)
                accounts.users = self  # type: ignore[assignment]
            return read

    accounts.users = DisabledAfterTheFirstRead()  # type: ignore[assignment]
    try:
        await accounts.create_token("eve.staff", Role.staff, NOW, line_manager="ceo", by=ada)
    finally:
        accounts.users = store
    eve = await users.get_user("eve.staff")
    assert eve is not None and eve.disabled  # the disable holds
    assert eve.line_manager == "ceo"  # and so does the token's change


async def test_two_revisions_at_once_one_is_told_the_strategy_changed(client: Client) -> None:
    """The register's own race: both read version 1 and pass the check; the write of one
    finds version 2 (``StaleVersion``, which the pages answer with the form again)."""
    from callguard.domain.models import PersonIn, RevisionIn, StrategyIn
    from callguard.services.errors import StaleVersion

    register = services(client).register
    boss = Actor(name="mo.manager", role=Role.manager)
    person = await register.create_person(
        PersonIn.model_validate({"name": "Sam Sample", "phones": ["07700 900555"]}), boss, NOW
    )
    strategy = await register.create_strategy(
        StrategyIn.model_validate(
            {
                "person_id": person.id,
                "matter_ref": "CMP-2026-0777",
                "reason": "Repeated abusive calls",
                "restrictions": [{"kind": "recorded"}],
                "notified_on": "2026-11-20",
                "review_due": "2027-02-20",
            }
        ),
        boss,
        NOW,
    )
    store = register.store

    class ReadTogether(FirstReadsTogether):
        async def get_strategy(self, strategy_id: str) -> Any:
            return await self._together(await self.store.get_strategy(strategy_id))

    register.store = ReadTogether(store)  # type: ignore[assignment]
    try:
        results = await asyncio.gather(
            *(
                register.revise(
                    strategy.id,
                    RevisionIn.model_validate(
                        {"expected_version": 1, "changes": {"reason": reason}, "why": "Reworded"}
                    ),
                    boss,
                    NOW,
                )
                for reason in ("First wording", "Second wording")
            ),
            return_exceptions=True,
        )
    finally:
        register.store = store
    stale = [r for r in results if isinstance(r, StaleVersion)]
    assert len(stale) == 1 and stale[0].current == 2, results
    assert (await register.strategy(strategy.id)).version == 2
