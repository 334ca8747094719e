"""``callguard demo`` and ``callguard serve``: the web service, API and webhooks.

On SIGINT or SIGTERM the service stops taking new connections and then, in order: gives
the requests in flight up to ``SHUTDOWN_TIMEOUT_S`` to finish; gives background work (the
notices being sent) up to 5 s; replays the fail-open spool into Redis, retrying while Redis
is away, for up to 5 s (both in ``callguard.services.background``); closes Redis and the Twilio
client, stops an embedded Redis, and exits 0. What the spool still holds then stays on disk
(fsync'd) and is replayed at the next start.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from aiohttp import web

from callguard.bootstrap import build_app
from callguard.cli.common import check_layout, load_settings, load_settings_policy, problem
from callguard.policy import Policy
from callguard.settings import Settings, problems_for_serve
from callguard.store.launcher import EmbeddedRedis, RedisLaunchError
from callguard.web.appkeys import SERVICES

log = logging.getLogger("callguard.serve")

DEMO_ACCOUNT_SID = "AC" + "d" * 32
DEMO_AUTH_TOKEN = "demo-auth-token-not-a-secret"  # noqa: S105 - the demo signs its own webhooks
DEMO_OFFICE_NUMBER = "+441772000000"
# Requests in flight get this long to finish once a stop is asked for.
SHUTDOWN_TIMEOUT_S = 10.0


def demo_settings() -> Settings:
    """Everything embedded: no configuration, no running services (CONTRACT §1). The data
    is kept in ``var/demo``, or in ``CALLGUARD_DATA_DIR`` when that is set."""
    base = load_settings()
    host, port = ("127.0.0.1", 8080) if isinstance(base, list) else (base.host, base.port)
    public = f"http://{host}:{port}"
    # CALLGUARD_DATA_DIR, when it is set (and valid), through Settings like every setting.
    chosen = None
    if not isinstance(base, list) and "data_dir" in base.model_fields_set:
        chosen = base.data_dir
    return Settings(
        host=host,
        port=port,
        redis_url=None,
        data_dir=chosen or Path("var/demo"),
        public_url=public,
        twilio_account_sid=DEMO_ACCOUNT_SID,
        twilio_auth_token=DEMO_AUTH_TOKEN,
        twilio_api_base=public + "/demo/twilio",
        default_route="+441772000100",
    )


def run_service(settings: Settings, policy: Policy, *, demo: bool) -> int:
    embedded: EmbeddedRedis | None = None
    if settings.redis_url is None:
        embedded = EmbeddedRedis(settings.data_dir / "redis")
        try:
            url = embedded.start()
        except RedisLaunchError as error:
            return problem([f"embedded Redis: {error}"])
        settings = settings.model_copy(update={"redis_url": url})
    try:
        found = asyncio.run(check_layout(settings, migrate_old=demo))
        if found is not None:
            return problem([found])

        async def app() -> web.Application:
            application = await build_app(
                settings, policy=policy, demo=demo, wind_down_on_stop=True
            )
            application.on_shutdown.append(_announce_stopping)
            if demo:
                application.on_startup.append(_announce_demo)
            return application

        listening = f"CallGuard listening on http://{settings.host}:{settings.port}"
        web.run_app(
            app(),
            host=settings.host,
            port=settings.port,
            print=lambda _banner: print(listening, flush=True),
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        )
    except OSError as error:
        return problem([f"cannot listen on {settings.host}:{settings.port}: {error}"])
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


async def _announce_stopping(_app: web.Application) -> None:
    # After the listener is closed, while the requests in flight finish.
    log.info("stopping: finishing requests in flight (up to %.0f s)", SHUTDOWN_TIMEOUT_S)


async def _announce_demo(app: web.Application) -> None:
    from callguard.demo import demo_passwords, demo_tokens, load_demo_data
    from callguard.web.pages.assets import ASSETS

    services = app[SERVICES]
    await load_demo_data(services, services.clock.now())
    tokens = await demo_tokens(services)
    passwords = await demo_passwords(services)
    url = services.settings.public_url
    print(f"CallGuard demo running at {url}/", flush=True)
    print(f"Sign in at {url}/sign-in with one of these demo logins:", flush=True)
    for name, password in passwords.items():
        user = await services.users.get_user(name)
        role = user.role.value if user else "?"
        print(f"  {name:8} {role:16} password: {password}", flush=True)
    if not app[ASSETS].govuk:
        print(
            "  (GOV.UK Design System styles not installed: pages use plain styles. "
            "Run `npm ci` in the repository for them.)",
            flush=True,
        )
    print("API tokens (Authorization: Bearer TOKEN):", flush=True)
    for name, token in tokens.items():
        user = await services.users.get_user(name)
        role = user.role.value if user else "?"
        print(f"  {name:8} {role:16} {token}", flush=True)
    print(
        "Try: callguard simulate-call --from '07700 900106' --message 'Please call me back'"
        "   (Ctrl-C stops everything)",
        flush=True,
    )


def cmd_demo(_args: argparse.Namespace) -> int:
    from callguard.cli.common import load_policy_of

    settings = demo_settings()
    policy = load_policy_of(settings)
    if isinstance(policy, list):
        return problem(policy)
    return run_service(settings, policy, demo=True)


def cmd_serve(_args: argparse.Namespace) -> int:
    settings = load_settings()
    if isinstance(settings, list):
        return problem(settings)
    loaded = load_settings_policy()
    problems = problems_for_serve(settings) + (loaded if isinstance(loaded, list) else [])
    if problems or isinstance(loaded, list):
        return problem(problems)
    return run_service(settings, loaded[1], demo=False)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands.add_parser(
        "demo", help="run with an embedded Redis and demo data on :8080"
    ).set_defaults(run=cmd_demo)
    commands.add_parser("serve", help="run in production from CALLGUARD_* settings").set_defaults(
        run=cmd_serve
    )
