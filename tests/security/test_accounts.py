"""Accounts (CONTRACT §5), through the app on a real Redis: a token acts with its user's
role of the moment (demoted: follows at once; disabled: 401); tokens are revoked by id,
expire, record their last use at most once a minute, and tokens from before ids keep
working; a password change, a change of role and disabling end every session of the user
at once; the admin pages list and revoke tokens and disable users, with CSRF and an audit
entry; the password rule."""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import AsyncIterator
from datetime import timedelta
from fnmatch import fnmatch
from pathlib import Path
from typing import cast

import pytest
from argon2 import PasswordHasher

from callguard.clock import FixedClock
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.passwords import common_passwords, password_problem
from callguard.policy import Policy
from callguard.services.accounts import AccountProblem
from callguard.settings import Settings
from callguard.store import users as store_users
from callguard.store.users import hash_token
from tests.conftest import KEYS, auth
from tests.e2e.support import (
    ADMIN,
    CEO,
    FULL_NAME,
    MANAGER,
    PASSWORD,
    STAFF,
    Client,
    fast_passwords,
    give_passwords,
    page_client,
    page_csrf,
    sign_in,
)
from tests.helpers import services

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("fast_passwords")]
__all__ = ["fast_passwords"]

ROOT = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "violet-harbour-42-ladder"


@pytest.fixture
async def pages(settings: Settings, policy: Policy, clock: FixedClock) -> AsyncIterator[Client]:
    assert settings.redis_url
    await give_passwords(settings.redis_url)
    async with page_client(settings, policy, clock) as client:
        yield client


def _admin() -> Actor:
    return Actor(name=ADMIN, role=Role.admin)


async def _token(pages: Client, user: str, role: Role, days: int | None = None) -> str:
    accounts = services(pages).accounts
    _info, token = await accounts.create_token(
        user, role, services(pages).clock.now(), expires_in_days=days
    )
    return token


async def _people_status(pages: Client, token: str) -> int:
    response = await pages.get("/api/v1/people", headers=auth(token))
    return response.status


async def _audit_actions(pages: Client) -> list[tuple[str, str, str]]:
    entries = cast(list[tuple[str, dict[str, str]]], await services(pages).redis.xrange(KEYS.AUDIT))
    return [(f["who"], f["action"], f["target"]) for _id, f in entries]


# --- tokens ----------------------------------------------------------------------------------


async def _manages_no_one(pages: Client, manager: str) -> None:
    """The manager's staff given the chief executive as line manager (§6.5: a line manager
    is not disabled or demoted while they manage someone)."""
    users, now = services(pages).users, services(pages).clock.now()
    for user in await users.list_users():
        if user.line_manager == manager:
            moved = user.model_copy(update={"line_manager": CEO})
            await services(pages).accounts.update_user(moved, now, by=_admin())


async def test_a_demoted_managers_token_follows_the_new_role_at_once(pages: Client) -> None:
    await _manages_no_one(pages, MANAGER)
    token = await _token(pages, MANAGER, Role.manager)
    assert await _people_status(pages, token) == 200
    assert (await pages.get("/api/v1/calls.csv", headers=auth(token))).status == 200
    manager = await services(pages).users.get_user(MANAGER)
    assert manager is not None
    demoted = manager.model_copy(update={"role": Role.staff})
    await services(pages).accounts.update_user(demoted, services(pages).clock.now(), by=_admin())
    assert await _people_status(pages, token) == 403
    assert (await pages.get("/api/v1/calls.csv", headers=auth(token))).status == 403


async def test_a_disabled_users_token_gets_401_and_works_again_once_enabled(pages: Client) -> None:
    await _manages_no_one(pages, MANAGER)
    token = await _token(pages, MANAGER, Role.manager)
    now = services(pages).clock.now()
    await services(pages).accounts.set_disabled(MANAGER, True, now, by=_admin())
    response = await pages.get("/api/v1/people", headers=auth(token))
    assert response.status == 401
    assert "disabled" in (await response.json())["message"]
    await services(pages).accounts.set_disabled(MANAGER, False, now, by=_admin())
    assert await _people_status(pages, token) == 200


async def test_a_revoked_token_gets_401_and_the_list_never_holds_a_token(pages: Client) -> None:
    token = await _token(pages, MANAGER, Role.manager)
    other = await _token(pages, MANAGER, Role.manager)
    accounts = services(pages).accounts
    listed = await accounts.list_tokens(MANAGER)
    assert len(listed) == 2
    assert all(t.id.startswith("tok_") and len(t.id) == 16 for t in listed)
    assert token not in repr(listed) and hash_token(token) not in repr(listed)
    mine = next(t for t in listed if t.created and t.id)
    revoked = await accounts.revoke_token(mine.id, services(pages).clock.now())
    statuses = {await _people_status(pages, token), await _people_status(pages, other)}
    assert statuses == {401, 200}
    assert [t.id for t in await accounts.list_tokens(MANAGER)] != [revoked.id]
    assert len(await accounts.list_tokens(MANAGER)) == 1


async def test_a_token_made_to_expire_is_refused_from_its_expiry(
    pages: Client, clock: FixedClock
) -> None:
    token = await _token(pages, MANAGER, Role.manager, days=7)
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    assert await _people_status(pages, token) == 200
    clock.advance(timedelta(seconds=1))
    assert await _people_status(pages, token) == 401


async def test_last_use_is_written_at_most_once_a_minute(pages: Client, clock: FixedClock) -> None:
    token = await _token(pages, MANAGER, Role.manager)
    first = clock.now()
    assert await _people_status(pages, token) == 200
    clock.advance(timedelta(seconds=59))
    assert await _people_status(pages, token) == 200
    [listed] = await services(pages).accounts.list_tokens(MANAGER)
    assert listed.last_used == first
    clock.advance(timedelta(seconds=1))
    assert await _people_status(pages, token) == 200
    [listed] = await services(pages).accounts.list_tokens(MANAGER)
    assert listed.last_used == first + timedelta(seconds=60)


async def test_a_token_from_before_ids_keeps_working_and_can_then_be_revoked(
    pages: Client,
) -> None:
    old = "cg_" + "o" * 43
    redis = services(pages).redis
    await redis.set(KEYS.token(hash_token(old)), json.dumps({"user": MANAGER, "role": "manager"}))
    assert await _people_status(pages, old) == 200
    [adopted] = await services(pages).accounts.list_tokens(MANAGER)
    assert adopted.id == "tok_" + hash_token(old)[:12] and adopted.created is None
    await services(pages).accounts.revoke_token(adopted.id, services(pages).clock.now())
    assert await _people_status(pages, old) == 401


async def test_token_create_refuses_a_role_other_than_the_users(pages: Client) -> None:
    with pytest.raises(AccountProblem, match="is a manager, not staff"):
        await _token(pages, MANAGER, Role.staff)
    assert await services(pages).accounts.list_tokens(MANAGER) == []


# --- sessions --------------------------------------------------------------------------------


async def _signed_in(pages: Client, name: str) -> None:
    response = await sign_in(pages, name)
    assert response.status == 303, await response.text()


async def _still_in(pages: Client) -> bool:
    response = await pages.get("/console", allow_redirects=False)
    return response.status == 200


@pytest.mark.parametrize("change", ["password", "role", "disable"])
async def test_a_change_ends_every_session_of_the_user_at_once(
    change: str, pages: Client, settings: Settings, policy: Policy, clock: FixedClock
) -> None:
    async with (
        page_client(settings, policy, clock) as phone,
        page_client(settings, policy, clock) as desk,
    ):
        await _signed_in(phone, STAFF)
        await _signed_in(desk, STAFF)
        await _signed_in(pages, MANAGER)  # someone else's session is left alone
        assert await _still_in(phone) and await _still_in(desk)
        accounts = services(pages).accounts
        now = clock.now()
        if change == "password":
            ended = await accounts.set_password(STAFF, NEW_PASSWORD, now, by=_admin())
        elif change == "role":
            staff = await services(pages).users.get_user(STAFF)
            assert staff is not None
            promoted = staff.model_copy(update={"role": Role.manager, "line_manager": None})
            ended = await accounts.update_user(promoted, now, by=_admin())
        else:
            ended = await accounts.set_disabled(STAFF, True, now, by=_admin())
        assert ended == 2
        assert not await _still_in(phone) and not await _still_in(desk)
        assert await _still_in(pages)
        assert await services(pages).sessions.count_of(STAFF) == 0


async def test_a_disabled_user_cannot_sign_in_even_with_the_right_password(pages: Client) -> None:
    await services(pages).accounts.set_disabled(STAFF, True, services(pages).clock.now())
    response = await sign_in(pages, STAFF)
    assert response.status == 403
    assert "This account is disabled" in await response.text()
    assert "callguard_session" not in response.cookies


async def test_a_session_from_before_the_per_user_sets_must_sign_in_again(pages: Client) -> None:
    await _signed_in(pages, STAFF)
    redis = services(pages).redis
    [key] = [k async for k in redis.scan_iter(match=KEYS.session("*"))]
    await redis.hdel(key, "listed")
    assert not await _still_in(pages)
    assert not await redis.exists(key)


# --- the admin pages -------------------------------------------------------------------------


async def test_admin_pages_list_and_revoke_tokens_with_csrf_and_an_audit_entry(
    pages: Client,
) -> None:
    token = await _token(pages, MANAGER, Role.manager)
    [info] = await services(pages).accounts.list_tokens(MANAGER)
    await _signed_in(pages, ADMIN)
    page = await pages.get("/admin/tokens")
    html = await page.text()
    assert page.status == 200 and info.id in html and MANAGER in html
    assert token not in html and hash_token(token) not in html
    refused = await pages.post(
        f"/admin/tokens/{info.id}/revoke", data={"csrf_token": "forged"}, allow_redirects=False
    )
    assert refused.status == 403
    assert await _people_status(pages, token) == 200
    # The list's link asks first; asking changes nothing.
    confirm = f"/admin/tokens/{info.id}/revoke"
    assert f'href="{confirm}"' in html
    asked = await (await pages.get(confirm)).text()
    assert f"Revoke token {info.id} of {FULL_NAME[MANAGER]}?" in asked  # by name
    assert "will be refused from now on. You cannot undo this" in asked
    assert await _people_status(pages, token) == 200
    csrf = await page_csrf(pages, confirm)
    revoked = await pages.post(confirm, data={"csrf_token": csrf}, allow_redirects=False)
    assert revoked.status == 303
    gone = await pages.get(confirm)
    assert gone.status == 404 and "may have been removed" in await gone.text()
    twice = await pages.post(confirm, data={"csrf_token": csrf})  # a second press
    assert "That token had already been revoked" in await twice.text()
    assert await _people_status(pages, token) == 401
    assert (ADMIN, "token.revoke", info.id) in await _audit_actions(pages)


async def test_an_admin_disables_and_enables_a_user_from_the_pages(
    pages: Client, settings: Settings, policy: Policy, clock: FixedClock
) -> None:
    async with page_client(settings, policy, clock) as staff:
        await _signed_in(staff, STAFF)
        await _signed_in(pages, ADMIN)
        csrf = await page_csrf(pages, f"/admin/users/{STAFF}")
        no_csrf = await pages.post(f"/admin/users/{STAFF}/disable", allow_redirects=False)
        assert no_csrf.status == 403 and await _still_in(staff)
        done = await pages.post(
            f"/admin/users/{STAFF}/disable", data={"csrf_token": csrf}, allow_redirects=False
        )
        assert done.status == 303
        assert not await _still_in(staff)
        page = await pages.get(f"/admin/users/{STAFF}")
        assert "signed out everywhere" in await page.text()
        assert (await sign_in(staff, STAFF)).status == 403
        csrf = await page_csrf(pages, f"/admin/users/{STAFF}")
        await pages.post(f"/admin/users/{STAFF}/enable", data={"csrf_token": csrf})
        await _signed_in(staff, STAFF)
    actions = [(who, action) for who, action, target in await _audit_actions(pages)]
    assert (ADMIN, "user.disable") in actions and (ADMIN, "user.enable") in actions


async def test_only_admins_reach_the_access_pages(pages: Client) -> None:
    await _signed_in(pages, MANAGER)
    assert (await pages.get("/admin/tokens", allow_redirects=False)).status == 403
    csrf = await page_csrf(pages, "/console")
    refused = await pages.post(
        f"/admin/users/{STAFF}/disable", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert refused.status == 403
    staff = await services(pages).users.get_user(STAFF)
    assert staff is not None and not staff.disabled


# --- the password rule -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "refused"),
    [
        ("short-one", "Choose a longer password: at least 12 characters"),
        ("abcabcabcabc", "Choose a password that is not the same few characters repeated"),
        ("sam.staff-is-here-2026", "Choose a password that does not contain the user name"),
        ("Password1234", "Choose a less common password"),
        ("qwertyuiop!!", "Choose a less common password"),
        ("x" * 257, "Choose a shorter password: at most 256 characters"),
    ],
)
def test_the_password_rule_refuses_with_one_clear_sentence(password: str, refused: str) -> None:
    problem = password_problem(password, "sam.staff")
    assert problem is not None and problem.startswith(refused)


def test_a_long_uncommon_password_passes_and_the_list_ships_in_the_wheel() -> None:
    assert password_problem(NEW_PASSWORD, "sam.staff") is None
    assert 150 <= len(common_passwords()) <= 200
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = cast(list[str], config["tool"]["setuptools"]["package-data"]["callguard"])
    assert any(fnmatch("data/common-passwords.txt", pattern) for pattern in shipped)


async def test_the_only_admin_who_can_sign_in_cannot_be_demoted_or_disabled(
    pages: Client,
) -> None:
    await _signed_in(pages, ADMIN)
    csrf = await page_csrf(pages, f"/admin/users/{ADMIN}")
    demote = await pages.post(
        f"/admin/users/{ADMIN}", data={"csrf_token": csrf, "role": "staff", "line_manager": ""}
    )
    assert demote.status == 422
    assert "the only admin who can sign in: make another admin first" in await demote.text()
    # Disabling one's own account from the page: refused, and said as a problem.
    csrf = await page_csrf(pages, f"/admin/users/{ADMIN}")
    own = await pages.post(f"/admin/users/{ADMIN}/disable", data={"csrf_token": csrf})
    said = await own.text()
    assert "There is a problem" in said and "You cannot disable your own account" in said
    assert "govuk-notification-banner--success" not in said
    accounts, now = services(pages).accounts, services(pages).clock.now()
    await accounts.create_user("second.admin", Role.admin, NEW_PASSWORD, now)
    with pytest.raises(AccountProblem, match="cannot disable your own account"):
        await accounts.set_disabled(ADMIN, True, now, by=_admin())
    await accounts.set_disabled("second.admin", True, now, by=_admin())
    with pytest.raises(AccountProblem, match="only admin who can sign in"):
        await accounts.set_disabled(ADMIN, True, now)
    await accounts.set_disabled("second.admin", False, now, by=_admin())
    await accounts.set_disabled(ADMIN, True, now)
    user = await services(pages).users.get_user(ADMIN)
    assert user is not None and user.disabled


async def test_a_password_changed_while_a_sign_in_is_checked_ends_that_sign_in(
    pages: Client, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The admin's change lands between this sign-in's password check and its new session:
    the session must not outlive the change."""
    checked = store_users._verify
    loop = asyncio.get_running_loop()
    store = services(pages).redis  # a Cluster client too, when the suite runs on one

    def verify_while_an_admin_resets(hashed: str, password: str) -> bool:
        # Runs in the hashing thread: the reset goes through the service's own client on
        # the event loop, which is free while this sign-in awaits the hash.
        ok = checked(hashed, password)
        new_hash = store_users._HASHER.hash(NEW_PASSWORD)

        async def reset() -> None:
            await store.set(KEYS.password(STAFF), new_hash)

        asyncio.run_coroutine_threadsafe(reset(), loop).result(timeout=10)
        return ok

    monkeypatch.setattr(store_users, "_verify", verify_while_an_admin_resets)
    response = await sign_in(pages, STAFF)
    assert response.status == 401
    assert await services(pages).sessions.count_of(STAFF) == 0
    assert not await _still_in(pages)


async def test_rehashing_an_old_hash_at_sign_in_ends_no_session(
    pages: Client, settings: Settings, policy: Policy, clock: FixedClock
) -> None:
    await _signed_in(pages, STAFF)
    old_params = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    await services(pages).redis.set(KEYS.password(STAFF), old_params.hash(PASSWORD))
    async with page_client(settings, policy, clock) as other:
        await _signed_in(other, STAFF)
        assert await _still_in(other)
    assert await _still_in(pages)
    rehashed = await services(pages).users.password_hash(STAFF)
    assert rehashed is not None and not store_users._HASHER.check_needs_rehash(rehashed)


@pytest.mark.parametrize(
    ("name", "fields", "refused"),
    [
        ("..", {}, "with at least one letter or digit"),
        (".", {}, "with at least one letter or digit"),
        ("ALICE.Smith", {}, "A user named alice.smith already exists"),
        ("bea.new", {"email": "sam@"}, "Enter an email address in the correct format"),
        ("bea.new", {"email": "not-an-email"}, "Enter an email address in the correct format"),
        ("bea.new", {"display_name": "\u202eBea"}, "characters that cannot be seen"),
    ],
)
async def test_a_new_user_is_refused_in_words(
    pages: Client, name: str, fields: dict[str, str], refused: str
) -> None:
    accounts, now = services(pages).accounts, services(pages).clock.now()
    await accounts.create_user("alice.smith", Role.staff, None, now, line_manager=MANAGER)
    with pytest.raises(AccountProblem) as problem:
        await accounts.create_user(
            name,
            Role.manager,
            None,
            now,
            display_name=fields.get("display_name", ""),
            email=fields.get("email"),
        )
    assert refused in problem.value.message
    assert await services(pages).users.get_user(name) is None or name.lower() == "alice.smith"


async def test_a_line_manager_is_not_disabled_or_demoted_while_they_manage_someone(
    pages: Client,
) -> None:
    """§6.5: the line manager is told when their staff end a call; one disabled, or given a
    role that manages no one, would be named and never told."""
    accounts, now = services(pages).accounts, services(pages).clock.now()
    await accounts.create_user("lee.manager", Role.manager, None, now, display_name="Lee Lane")
    await accounts.create_user(
        "kit.staff", Role.staff, None, now, display_name="Kit Staff", line_manager="lee.manager"
    )
    # Someone who has left (disabled) does not keep Lee from being disabled.
    await accounts.create_user(
        "left.staff", Role.staff, None, now, display_name="Left Staff", line_manager="lee.manager"
    )
    await accounts.set_disabled("left.staff", True, now, by=_admin())
    said = "Lee Lane is the line manager of Kit Staff: give that person another line manager"
    with pytest.raises(AccountProblem, match=said):
        await accounts.set_disabled("lee.manager", True, now, by=_admin())
    lee = await services(pages).users.get_user("lee.manager")
    assert lee is not None
    with pytest.raises(AccountProblem, match=said):
        await accounts.update_user(lee.model_copy(update={"role": Role.staff}), now, by=_admin())
    # Nor is a disabled manager anyone's line manager.
    await accounts.create_user("old.manager", Role.manager, None, now)
    await accounts.set_disabled("old.manager", True, now, by=_admin())
    with pytest.raises(AccountProblem, match="must be someone who can sign in"):
        await accounts.create_user("new.staff", Role.staff, None, now, line_manager="old.manager")
    # Nor is one chosen on an edit, and the admin page does not offer one.
    kit = await services(pages).users.get_user("kit.staff")
    assert kit is not None
    with pytest.raises(AccountProblem, match="must be someone who can sign in"):
        await accounts.update_user(
            kit.model_copy(update={"line_manager": "old.manager"}), now, by=_admin()
        )
    await _signed_in(pages, ADMIN)
    offered = await (await pages.get("/admin/users/kit.staff")).text()
    assert 'value="lee.manager"' in offered and 'value="old.manager"' not in offered
    # Once Kit has another line manager, Lee may be disabled.
    kit = await services(pages).users.get_user("kit.staff")
    assert kit is not None
    await accounts.update_user(kit.model_copy(update={"line_manager": MANAGER}), now, by=_admin())
    await accounts.set_disabled("lee.manager", True, now, by=_admin())
    lee = await services(pages).users.get_user("lee.manager")
    assert lee is not None and lee.disabled


async def test_a_password_with_accents_is_the_same_however_the_accents_were_typed(
    pages: Client,
) -> None:
    """One keyboard sends "é" as one character (NFC), another as "e" and an accent (NFD):
    either signs in, whichever the password was set with; and one set before passwords were
    composed still signs in as it was typed then."""
    import unicodedata

    users = services(pages).users
    password = "café-crème-brûlée-42"
    nfc, nfd = (unicodedata.normalize(form, password) for form in ("NFC", "NFD"))
    assert nfc != nfd
    for set_with in (nfc, nfd):
        await users.set_password(STAFF, set_with)
        assert await users.check_password(STAFF, nfc)
        assert await users.check_password(STAFF, nfd)
        assert not await users.check_password(STAFF, nfc.replace("42", "43"))
    # Hashed from the decomposed text, as an earlier release did.
    await services(pages).redis.set(KEYS.password(STAFF), PasswordHasher().hash(nfd))
    assert await users.check_password(STAFF, nfd)
    # A wrong password with a decomposed accent costs a known name and an unknown one the
    # same two checks, so the time taken does not tell which names exist.
    for name in (STAFF, "no.such.person"):
        before = users.passwords_checked
        assert not await users.check_password(name, nfd.replace("42", "43"))
        assert users.passwords_checked - before == 2, name
