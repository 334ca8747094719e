"""Commands that move a register: ``import`` (from CSV, all or nothing), ``migrate`` (an
earlier layout to this one) and ``copy-keys`` (to another Redis, e.g. a Cluster)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from redis.exceptions import RedisClusterException, RedisError

from callguard.bootstrap import stores_for
from callguard.cli.common import (
    layout_problem,
    load_settings,
    load_settings_policy,
    problem,
    redis_url_for,
)
from callguard.domain.roles import Role
from callguard.domain.users import Actor
from callguard.importer import ImportPlan, apply_plan, plan_import, progress_bar, report
from callguard.settings import Settings
from callguard.store.keys import DEFAULT_PREFIX, BadPrefix, check_prefix
from callguard.store.launcher import EmbeddedRedis, RedisLaunchError
from callguard.store.migrate import LayoutError


async def _import(settings: Settings, plan: ImportPlan) -> list[str]:
    async with stores_for(settings) as stores:
        return await apply_plan(stores.register, plan)


def cmd_import(args: argparse.Namespace) -> int:
    """Import a register from CSV: all rows, or none (see callguard/importer.py)."""
    loaded = load_settings_policy()
    if isinstance(loaded, list):
        return problem(loaded)
    settings, policy = loaded
    started = time.perf_counter()
    now = datetime.now(UTC)
    try:
        plan = plan_import(
            Path(args.file),
            policy,
            Actor(name=args.as_user, role=Role(args.as_role)),
            now,
            now.astimezone(settings.tz).date(),
            progress_bar("checking"),
        )
    except (OSError, ValueError) as error:
        return problem([f"{args.file}: {error}"])
    print("\n".join(report(plan)))
    if plan.rejected:
        print("Nothing was imported: correct the rows above and run again.")
        return 1
    if args.dry_run:
        print(f"Dry run: nothing was imported ({time.perf_counter() - started:.1f} s).")
        return 0
    try:
        with redis_url_for(settings) as resolved:
            if found := layout_problem(resolved):
                return problem(found)
            taken = asyncio.run(_import(resolved, plan))
    except RedisLaunchError as error:
        return problem([f"embedded Redis: {error}"])
    if taken:
        print(f"Nothing was imported: phones already held by someone else: {', '.join(taken)}")
        return 1
    print(
        f"Imported {len(plan.people)} people and {len(plan.strategies)} strategies in "
        f"{time.perf_counter() - started:.1f} s."
    )
    return 0


async def _copy_keys(
    source_url: str, source_prefix: str, settings: Settings, *, resume: bool
) -> int:
    from callguard.store.connection import connect
    from callguard.store.copy import copy_keys

    assert settings.redis_url is not None
    source = connect(source_url, timeout_s=60, decode_responses=False)
    destination = connect(settings.redis_url, timeout_s=60, decode_responses=False)

    def progress(done: int) -> None:
        print(f"\rcopied {done} keys", end="", file=sys.stderr, flush=True)

    try:
        return await copy_keys(
            source,
            source_prefix,
            destination,
            settings.redis_key_prefix,
            progress,
            resume=resume,
        )
    finally:
        print(file=sys.stderr)
        await source.aclose()
        await destination.aclose()


def cmd_copy_keys(args: argparse.Namespace) -> int:
    """Copy an office's keys from another Redis into this one, under this prefix (moving
    to a Redis Cluster: docs/operations.md). Stop the office's replicas first."""
    from callguard.store.connection import BadRedisUrl, parse_url
    from callguard.store.copy import NotEmpty, Overlap

    settings = load_settings()
    if isinstance(settings, list):
        return problem(settings)
    try:
        parse_url(args.source)
        check_prefix(args.source_prefix)
    except (BadRedisUrl, BadPrefix) as error:
        return problem([f"--from / --from-prefix: {error}"])
    started = time.perf_counter()
    try:
        with redis_url_for(settings) as resolved:
            copied = asyncio.run(
                _copy_keys(args.source, args.source_prefix, resolved, resume=args.resume)
            )
    except (NotEmpty, Overlap) as error:
        return problem([f"nothing copied: {error}"])
    except (RedisError, RedisClusterException, RedisLaunchError, OSError) as error:
        return problem(
            [f"copy failed: {type(error).__name__}: {error}; mend it, then run again with --resume"]
        )
    print(
        f"Copied {copied} keys from {args.source_prefix} to {settings.redis_key_prefix} in "
        f"{time.perf_counter() - started:.1f} s."
    )
    return 0


async def _migrate(settings: Settings) -> str:
    from callguard.store.migrate import migrate, stored_layout

    async with stores_for(settings) as stores:
        before = await stored_layout(stores.redis, stores.keys)
        done = await migrate(stores.redis, stores.keys, progress_bar("migrating"))
    notes = f"{done.file_notes} file notes listed under the person they are about"
    if before == 1:
        return (
            f"Migrated {done.people} people, {done.strategies} strategies and "
            f"{done.audit_entries} audit entries, with {notes}, to the current layout."
        )
    if before == 2:
        return f"Moved the register to the current layout: {notes}."
    if done.strategies:
        return f"Brought {done.strategies} strategies up to date in the current layout."
    return "Nothing to migrate: the register is in the current layout."


def cmd_migrate(_args: argparse.Namespace) -> int:
    """Move a register stored by an earlier CallGuard to this version's layout. Stop every
    replica first; safe to run again if stopped half-way."""
    settings = load_settings()
    if isinstance(settings, list):
        return problem(settings)
    if settings.redis_url is None and EmbeddedRedis(settings.data_dir / "redis").live_url():
        return problem(["CallGuard is running on this data: stop it first, then migrate"])
    started = time.perf_counter()
    try:
        with redis_url_for(settings) as resolved:
            said = asyncio.run(_migrate(resolved))
    except (RedisError, RedisClusterException, RedisLaunchError, OSError) as error:
        return problem([f"migration failed: {type(error).__name__}: {error}"])
    except LayoutError as error:
        return problem([str(error)])
    print(f"{said} ({time.perf_counter() - started:.1f} s)")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    importer = commands.add_parser("import", help="import a register from CSV, all or nothing")
    importer.add_argument("file")
    importer.add_argument("--dry-run", action="store_true", help="check and report only")
    importer.add_argument("--as-user", default="import", help="recorded as the author")
    importer.add_argument("--as-role", default="manager", choices=["manager", "chief_executive"])
    importer.set_defaults(run=cmd_import)
    commands.add_parser(
        "migrate", help="move a register stored by an earlier CallGuard to this layout"
    ).set_defaults(run=cmd_migrate)
    copier = commands.add_parser(
        "copy-keys",
        help="copy an office's keys from another Redis into this one, under this prefix",
    )
    copier.add_argument("--from", dest="source", required=True, help="the source Redis URL")
    copier.add_argument(
        "--from-prefix", dest="source_prefix", default=DEFAULT_PREFIX, help="default cg:"
    )
    copier.add_argument("--resume", action="store_true", help="finish a copy that stopped part-way")
    copier.set_defaults(run=cmd_copy_keys)
