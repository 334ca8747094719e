"""``callguard user …`` and ``callguard token …`` as real processes on a real Redis
(CONTRACT §5): a refusal is exit 1 and one clear line, with nothing stored; nothing secret
is printed; set-password and disable end the user's sessions; tokens are listed by id
(never the token) and revoked."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from callguard.domain.roles import Role
from callguard.domain.users import User
from callguard.services.accounts import Accounts
from callguard.store.connection import connect
from callguard.store.sessions import LoginThrottle, SessionStore
from callguard.store.users import UserStore
from tests.conftest import KEYS, TEST_PREFIX
from tests.processes import CLI, clean_env

pytestmark = pytest.mark.timeout(120)

PASSWORD = "violet-harbour-42-ladder"
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def env(redis_url: str, tmp_path: Path) -> dict[str, str]:
    return clean_env(
        CALLGUARD_REDIS_URL=redis_url,
        CALLGUARD_REDIS_KEY_PREFIX=TEST_PREFIX,
        CALLGUARD_DATA_DIR=str(tmp_path / "data"),
    )


async def cli(env: dict[str, str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *CLI,
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await process.communicate(stdin.encode())
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_user_create_reads_the_password_from_stdin_and_prints_nothing_secret(
    env: dict[str, str], redis: Redis
) -> None:
    code, out, err = await cli(
        env,
        *("user", "create", "--name", "ada.admin", "--role", "admin"),
        *("--display-name", "Ada Admin", "--password-stdin"),
        stdin=PASSWORD + "\nignored second line\n",
    )
    assert (code, err) == (0, "")
    assert out.strip() == "User ada.admin created (admin); they can sign in now."
    users = UserStore(redis, KEYS)
    assert await users.get_user("ada.admin") == User(
        name="ada.admin", role=Role.admin, display_name="Ada Admin"
    )
    assert await users.check_password("ada.admin", PASSWORD)
    assert PASSWORD not in out + err


@pytest.mark.parametrize(
    ("args", "stdin", "said"),
    [
        (["--name", "sam"], "short\n", "Choose a longer password: at least 12 characters"),
        (["--name", "sam"], "password1234\n", "Choose a less common password"),
        (["--name", "sam"], "sam-sam-sam-2026\n", "Choose a password that does not contain"),
        (["--name", "sam:password"], PASSWORD, "Choose a user name of at most 64 letters"),
        (["--name", "sam\nforged"], PASSWORD, "Choose a user name of at most 64 letters"),
        (["--name", "sam"], "", "Give the password on the first line of standard input"),
        (["--name", "x" * 65], PASSWORD, "Choose a user name of at most 64 letters"),
        (["--name", "sam", "--line-manager", "nobody"], PASSWORD, "The line manager must be"),
    ],
)
async def test_user_create_refuses_with_exit_1_one_line_and_nothing_stored(
    args: list[str], stdin: str, said: str, env: dict[str, str], redis: Redis
) -> None:
    code, out, err = await cli(
        env, "user", "create", *args, "--role", "staff", "--password-stdin", stdin=stdin
    )
    assert code == 1 and out == ""
    [line] = err.splitlines()
    assert line.startswith(f"callguard: {said}")
    assert await redis.dbsize() == 0


async def test_an_existing_name_is_refused(env: dict[str, str], redis: Redis) -> None:
    await UserStore(redis, KEYS).put_user(User(name="sam", role=Role.staff))
    code, _out, err = await cli(
        env,
        "user",
        "create",
        "--name",
        "sam",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert (code, err.strip()) == (1, "callguard: A user named sam already exists")
    user = await UserStore(redis, KEYS).get_user("sam")
    assert user is not None and user.role is Role.staff


async def test_set_password_and_disable_end_every_session_and_disable_refuses_tokens(
    env: dict[str, str], redis: Redis
) -> None:
    users, sessions = UserStore(redis, KEYS), SessionStore(redis, KEYS)
    await users.put_user(User(name="sam", role=Role.staff))
    token = await users.create_token("sam", Role.staff, NOW)
    first = [await sessions.create("sam", Role.staff, NOW) for _ in range(2)]
    set_password = ("user", "set-password", "sam", "--password-stdin")
    code, out, err = await cli(env, *set_password, stdin=PASSWORD)
    assert (code, err, out.strip()) == (0, "", "New password set for sam; 2 sessions ended.")
    assert [await sessions.get(s.id, NOW) for s in first] == [None, None]
    assert await users.check_password("sam", PASSWORD)

    weak = await cli(env, *set_password, stdin="sam123456789")
    assert weak[0] == 1 and await users.check_password("sam", PASSWORD)

    again = await sessions.create("sam", Role.staff, NOW)
    code, out, _ = await cli(env, "user", "disable", "sam")
    assert code == 0 and "1 session ended" in out
    assert await sessions.get(again.id, NOW) is None
    user = await users.get_user("sam")
    assert user is not None and user.disabled
    assert await users.resolve_token(token, NOW) is not None  # kept, but its user is disabled
    accounts = Accounts(users, LoginThrottle(redis, KEYS))
    assert await accounts.actor_for_token(token, NOW) is None
    assert (await cli(env, "user", "enable", "sam"))[0] == 0
    assert await accounts.actor_for_token(token, NOW) is not None

    missing = await cli(env, "user", "disable", "nobody")
    assert missing[0] == 1 and missing[2].strip() == "callguard: There is no user named 'nobody'"


async def test_tokens_are_listed_by_id_never_printed_again_and_revoked(
    env: dict[str, str], redis: Redis
) -> None:
    code, token, err = await cli(
        env, "token", "create", "--user", "mo", "--role", "manager", "--expires-in-days", "30"
    )
    assert (code, err) == (0, "")
    token = token.strip()
    assert token.startswith("cg_")
    code, listed, _ = await cli(env, "token", "list", "--user", "mo")
    [line] = listed.splitlines()
    token_id = line.split()[0]
    assert code == 0 and token_id.startswith("tok_") and len(token_id) == 16
    assert " mo " in line and "last used never" in line and "expires " in line
    assert token not in listed

    other_role = await cli(env, "token", "create", "--user", "mo", "--role", "staff")
    assert other_role[0] == 1
    assert other_role[2].strip().startswith("callguard: mo is a manager, not staff")
    too_long = await cli(
        env, "token", "create", "--user", "mo", "--role", "manager", "--expires-in-days", "0"
    )
    assert too_long[0] == 1 and "--expires-in-days" in too_long[2]

    code, out, _ = await cli(env, "token", "revoke", token_id)
    assert (code, out.strip()) == (0, f"Token {token_id} of mo revoked.")
    assert await UserStore(redis, KEYS).resolve_token(token, NOW) is None
    assert (await cli(env, "token", "list"))[1].strip() == "No tokens."
    gone = await cli(env, "token", "revoke", token_id)
    assert gone[0] == 1 and "There is no token" in gone[2]


async def test_a_staff_account_made_without_a_line_manager_is_made_and_said_to_need_one(
    env: dict[str, str], redis: Redis
) -> None:
    code, out, err = await cli(
        env,
        "user",
        "create",
        "--name",
        "kim",
        "--role",
        "staff",
        "--password-stdin",
        stdin=PASSWORD,
    )
    assert code == 0, err
    assert "They have no line manager" in out and "on the Users page" in out
    assert await UserStore(redis, KEYS).get_user("kim") is not None
