"""What every command shares: settings and policy loaded once (one line per problem,
exit 2), and the Redis that ``serve`` uses, embedded or not."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator, Sequence

from pydantic import ValidationError

from callguard.bootstrap import stores_for
from callguard.policy import Policy, PolicyError, load_policy
from callguard.settings import Settings, describe_validation_error
from callguard.store.launcher import EmbeddedRedis

EXIT_CONFIG = 2

log = logging.getLogger("callguard.cli")


def problem(lines: Sequence[str]) -> int:
    """Print each line as a problem on stderr; the exit status for a bad configuration."""
    for line in lines:
        print(f"callguard: {line}", file=sys.stderr)
    return EXIT_CONFIG


def load_settings() -> Settings | list[str]:
    """The settings from the environment, or one line per problem."""
    try:
        return Settings()
    except ValidationError as error:
        return describe_validation_error(error)


def load_settings_policy() -> tuple[Settings, Policy] | list[str]:
    settings = load_settings()
    if isinstance(settings, list):
        return settings
    policy = load_policy_of(settings)
    if isinstance(policy, list):
        return policy
    return settings, policy


def load_policy_of(settings: Settings) -> Policy | list[str]:
    try:
        return load_policy(settings.policy_path())
    except PolicyError as error:
        return [f"CALLGUARD_POLICY {error.path}: {line}" for line in error.lines]


@contextlib.contextmanager
def redis_url_for(settings: Settings) -> Iterator[Settings]:
    """The settings with the Redis ``serve`` uses: CALLGUARD_REDIS_URL, else the embedded
    one under the data dir — attached to if ``serve`` is running, else started for this
    command and stopped after it. Raises RedisLaunchError if it cannot start."""
    if settings.redis_url is not None:
        yield settings
        return
    embedded = EmbeddedRedis(settings.data_dir / "redis")
    live = embedded.live_url()
    if live is not None:
        yield settings.model_copy(update={"redis_url": live})  # the running service owns it
        return
    url = embedded.start()
    try:
        yield settings.model_copy(update={"redis_url": url})
    finally:
        embedded.stop()


async def check_layout(settings: Settings, *, migrate_old: bool) -> str | None:
    """None when the stored register is in this version's layout (an old one is migrated
    first when ``migrate_old``); else the problem. An unreachable Redis is not a problem
    here: the service starts and fails open until Redis answers."""
    from redis.exceptions import RedisClusterException, RedisError

    from callguard.store.migrate import LayoutError, ensure_current, migrate

    try:
        async with stores_for(settings) as stores:
            if migrate_old:
                await migrate(stores.redis, stores.keys)
            await ensure_current(stores.redis, stores.keys)
    except LayoutError as error:
        return str(error)
    except (RedisError, RedisClusterException, OSError) as error:
        log.warning("could not check the register's layout (%s)", type(error).__name__)
    return None


def layout_problem(settings: Settings) -> list[str]:
    """For commands that write the register: [] when its layout is this version's."""
    found = asyncio.run(check_layout(settings, migrate_old=False))
    return [found] if found else []
