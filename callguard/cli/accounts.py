"""``callguard user …``: people who sign in to the pages, on the same Redis as ``serve``
(attached to its embedded Redis when it is running). The work is ``services.accounts``'s;
a refusal is one line on stderr and exit 1; nothing secret is printed."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable

from callguard import wording
from callguard.bootstrap import build_accounts, stores_for
from callguard.cli.common import load_settings, problem, redis_url_for
from callguard.clock import SystemClock
from callguard.domain.roles import Role
from callguard.services.accounts import AccountProblem, Accounts
from callguard.settings import Settings
from callguard.store.launcher import RedisLaunchError

EXIT_REFUSED = 1

Work = Callable[[Accounts], Awaitable[str]]


def run_accounts(work: Work) -> int:
    """Run ``work`` on the accounts of ``serve``'s Redis; print what it says, or why not."""
    settings = load_settings()
    if isinstance(settings, list):
        return problem(settings)
    try:
        with redis_url_for(settings) as resolved:
            said = asyncio.run(_on_accounts(resolved, work))
    except RedisLaunchError as error:
        return problem([f"embedded Redis: {error}"])
    except AccountProblem as refused:
        print(f"callguard: {refused.message}", file=sys.stderr)
        return EXIT_REFUSED
    if said:
        print(said)
    return 0


async def _on_accounts(settings: Settings, work: Work) -> str:
    async with stores_for(settings) as stores:
        return await work(build_accounts(stores))


def read_password() -> str:
    """The first line of stdin (without its line ending); asked for without echo when
    stdin is a terminal."""
    line = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise AccountProblem("Give the password on the first line of standard input")
    return password


def _refusing(make: Callable[[], Work]) -> Callable[[argparse.Namespace], int]:
    def run(_args: argparse.Namespace) -> int:
        try:
            work = make()
        except AccountProblem as refused:
            print(f"callguard: {refused.message}", file=sys.stderr)
            return EXIT_REFUSED
        return run_accounts(work)

    return run


def cmd_user_create(args: argparse.Namespace) -> int:
    def make() -> Work:
        password = read_password()

        async def work(accounts: Accounts) -> str:
            user = await accounts.create_user(
                args.name,
                Role(args.role),
                password,
                SystemClock().now(),
                display_name=args.display_name or "",
                email=args.email,
                line_manager=args.line_manager,
            )
            done = f"User {user.name} created ({user.role.value}); they can sign in now."
            if user.role is Role.staff and user.line_manager is None:
                done += (
                    " They have no line manager, who is told when they end a call (§6.5):"
                    " give them one on the Users page."
                )
            return done

        return work

    return _refusing(make)(args)


def cmd_user_set_password(args: argparse.Namespace) -> int:
    def make() -> Work:
        password = read_password()

        async def work(accounts: Accounts) -> str:
            ended = await accounts.set_password(args.name, password, SystemClock().now())
            return f"New password set for {args.name}; {_sessions(ended)} ended."

        return work

    return _refusing(make)(args)


def cmd_user_disable(args: argparse.Namespace) -> int:
    async def work(accounts: Accounts) -> str:
        ended = await accounts.set_disabled(args.name, True, SystemClock().now())
        return f"{args.name} is disabled; {_sessions(ended)} ended, their tokens refused."

    return run_accounts(work)


def cmd_user_enable(args: argparse.Namespace) -> int:
    async def work(accounts: Accounts) -> str:
        await accounts.set_disabled(args.name, False, SystemClock().now())
        return f"{args.name} can sign in again."

    return run_accounts(work)


def _sessions(count: int) -> str:
    return wording.plural(count, "session")


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    user = commands.add_parser("user", help="people who sign in to the pages")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    create = user_commands.add_parser("create", help="create a user who can sign in")
    create.add_argument("--name", required=True, help="letters, digits, '.', '_' or '-'")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--display-name", help="the name shown on the pages")
    create.add_argument("--email")
    create.add_argument("--line-manager", help="the user's line manager (staff)")
    create.add_argument(
        "--password-stdin", action="store_true", required=True, help="read the password from stdin"
    )
    create.set_defaults(run=cmd_user_create)
    set_password = user_commands.add_parser(
        "set-password", help="set a new password; every session of the user ends"
    )
    set_password.add_argument("name")
    set_password.add_argument("--password-stdin", action="store_true", required=True)
    set_password.set_defaults(run=cmd_user_set_password)
    disable = user_commands.add_parser(
        "disable", help="no more sign-in; sessions and API tokens stop working at once"
    )
    disable.add_argument("name")
    disable.set_defaults(run=cmd_user_disable)
    enable = user_commands.add_parser("enable", help="let a disabled user sign in again")
    enable.add_argument("name")
    enable.set_defaults(run=cmd_user_enable)
