"""``callguard token …``: API tokens, on the same Redis as ``serve``."""

from __future__ import annotations

import argparse
import asyncio

from callguard.bootstrap import stores_for
from callguard.cli.common import load_settings, problem, redis_url_for
from callguard.domain.roles import Role
from callguard.domain.users import User
from callguard.settings import Settings
from callguard.store.launcher import RedisLaunchError


async def _create_token(settings: Settings, user: str, role: Role, line_manager: str | None) -> str:
    async with stores_for(settings) as stores:
        users = stores.users
        existing = await users.get_user(user)
        if existing is None or existing.role is not role or line_manager:
            await users.put_user(
                User(
                    name=user,
                    role=role,
                    display_name=existing.display_name if existing else user,
                    email=existing.email if existing else None,
                    line_manager=line_manager or (existing.line_manager if existing else None),
                )
            )
        return await users.create_token(user, role)


def cmd_token_create(args: argparse.Namespace) -> int:
    settings = load_settings()
    if isinstance(settings, list):
        return problem(settings)
    try:
        with redis_url_for(settings) as resolved:
            token = asyncio.run(
                _create_token(resolved, args.user, Role(args.role), args.line_manager)
            )
    except RedisLaunchError as error:
        return problem([f"embedded Redis: {error}"])
    print(token)
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token; prints only the token")
    create.add_argument("--user", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--line-manager", help="the user's line manager (staff)")
    create.set_defaults(run=cmd_token_create)
