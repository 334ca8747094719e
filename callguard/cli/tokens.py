"""``callguard token …``: API tokens, on the same Redis as ``serve``. A token is printed
once, when it is made; after that only its id (``tok_`` and 12 hex digits)."""

from __future__ import annotations

import argparse
from datetime import datetime

from callguard import wording
from callguard.cli.accounts import run_accounts
from callguard.cli.common import load_settings
from callguard.clock import SystemClock
from callguard.domain.roles import Role
from callguard.domain.users import TokenInfo
from callguard.services.accounts import Accounts
from callguard.settings import Settings


def cmd_token_create(args: argparse.Namespace) -> int:
    async def work(accounts: Accounts) -> str:
        _info, token = await accounts.create_token(
            args.user,
            Role(args.role),
            SystemClock().now(),
            expires_in_days=args.expires_in_days,
            line_manager=args.line_manager,
        )
        return token

    return run_accounts(work)


def cmd_token_list(args: argparse.Namespace) -> int:
    settings = load_settings()

    async def work(accounts: Accounts) -> str:
        tokens = await accounts.list_tokens(args.user)
        if not tokens:
            return "No tokens."
        return "\n".join(token_line(t, settings) for t in tokens)

    return run_accounts(work)


def token_line(token: TokenInfo, settings: Settings | list[str]) -> str:
    tz = settings.tz if isinstance(settings, Settings) else None

    def when(value: datetime | None, none: str) -> str:
        return none if value is None else wording.date_and_time(value, tz)

    expires = f"expires {when(token.expires, '')}" if token.expires else "does not expire"
    return "  ".join(
        [
            token.id,
            token.user,
            f"created {when(token.created, 'before token ids')}",
            f"last used {when(token.last_used, 'never')}",
            expires,
        ]
    )


def cmd_token_revoke(args: argparse.Namespace) -> int:
    async def work(accounts: Accounts) -> str:
        revoked = await accounts.revoke_token(args.id, SystemClock().now())
        return f"Token {revoked.id} of {revoked.user} revoked."

    return run_accounts(work)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token; prints only the token")
    create.add_argument("--user", required=True)
    create.add_argument(
        "--role", required=True, choices=[r.value for r in Role], help="for a new user"
    )
    create.add_argument("--line-manager", help="the user's line manager (staff)")
    create.add_argument("--expires-in-days", type=int, help="refused after this many days")
    create.set_defaults(run=cmd_token_create)
    listing = token_commands.add_parser("list", help="id, user, created, last used; no token")
    listing.add_argument("--user", help="only this user's tokens")
    listing.set_defaults(run=cmd_token_list)
    revoke = token_commands.add_parser("revoke", help="the token gets 401 from then on")
    revoke.add_argument("id", help="the token's id, tok_ and 12 hex digits")
    revoke.set_defaults(run=cmd_token_revoke)
