"""The ``callguard`` command: demo, serve, token create, simulate-call (CONTRACT §1)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from xml.etree import ElementTree

from aiohttp import web
from pydantic import ValidationError

from callguard.domain.roles import Role
from callguard.logs import configure as configure_logging
from callguard.policy import Policy, PolicyError, load_policy
from callguard.settings import (
    Settings,
    describe_validation_error,
    problems_for_serve,
)
from callguard.store import keys
from callguard.store.launcher import EmbeddedRedis, RedisLaunchError

EXIT_CONFIG = 2
DEMO_ACCOUNT_SID = "AC" + "d" * 32
DEMO_AUTH_TOKEN = "demo-auth-token-not-a-secret"  # noqa: S105 - the demo signs its own webhooks
DEMO_OFFICE_NUMBER = "+441772000000"


log = logging.getLogger("callguard.cli")


def _problem(lines: Sequence[str]) -> int:
    for line in lines:
        print(f"callguard: {line}", file=sys.stderr)
    return EXIT_CONFIG


def _load_settings() -> Settings | list[str]:
    try:
        settings = Settings()
    except ValidationError as error:
        return describe_validation_error(error)
    keys.use_prefix(settings.redis_key_prefix)
    return settings


def _load_policy(settings: Settings) -> Policy | list[str]:
    try:
        return load_policy(settings.policy_path())
    except PolicyError as error:
        return [f"CALLGUARD_POLICY {error.path}: {line}" for line in error.lines]


def demo_settings() -> Settings:
    """Everything embedded: no configuration, no running services (CONTRACT §1)."""
    base = _load_settings()
    host, port = ("127.0.0.1", 8080) if isinstance(base, list) else (base.host, base.port)
    public = f"http://{host}:{port}"
    return Settings(
        host=host,
        port=port,
        redis_url=None,
        data_dir=Path("var/demo"),
        public_url=public,
        twilio_account_sid=DEMO_ACCOUNT_SID,
        twilio_auth_token=DEMO_AUTH_TOKEN,
        twilio_api_base=public + "/demo/twilio",
        default_route="+441772000100",
    )


def _run(settings: Settings, policy: Policy, *, demo: bool) -> int:
    from callguard.bootstrap import build_app

    embedded: EmbeddedRedis | None = None
    if settings.redis_url is None:
        embedded = EmbeddedRedis(settings.data_dir / "redis")
        try:
            url = embedded.start()
        except RedisLaunchError as error:
            return _problem([f"embedded Redis: {error}"])
        settings = settings.model_copy(update={"redis_url": url})
    try:
        assert settings.redis_url is not None
        problem = asyncio.run(_check_layout(settings.redis_url, migrate_old=demo))
        if problem is not None:
            return _problem([problem])
        app = build_app(settings, policy=policy, demo=demo)
        if demo:
            app.on_startup.append(_announce_demo)
        listening = f"CallGuard listening on http://{settings.host}:{settings.port}"
        web.run_app(
            app,
            host=settings.host,
            port=settings.port,
            print=lambda _banner: print(listening, flush=True),
            access_log=None,
            shutdown_timeout=5,
        )
    except OSError as error:
        return _problem([f"cannot listen on {settings.host}:{settings.port}: {error}"])
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


async def _check_layout(redis_url: str, *, migrate_old: bool) -> str | None:
    """None when the stored register is in this version's layout (an old one is migrated
    first when ``migrate_old``); else the problem. An unreachable Redis is not a problem
    here: the service starts and fails open until Redis answers."""
    from redis.exceptions import RedisClusterException, RedisError

    from callguard.store.connection import connect
    from callguard.store.migrate import LayoutError, ensure_current, migrate

    redis = connect(redis_url, timeout_s=60)
    try:
        if migrate_old:
            await migrate(redis)
        await ensure_current(redis)
    except LayoutError as error:
        return str(error)
    except (RedisError, RedisClusterException, OSError) as error:
        log.warning("could not check the register's layout (%s)", type(error).__name__)
        return None
    finally:
        await redis.aclose()
    return None


def _layout_problem(redis_url: str) -> list[str]:
    """For commands that write the register: [] when its layout is this version's."""
    problem = asyncio.run(_check_layout(redis_url, migrate_old=False))
    return [problem] if problem else []


async def _announce_demo(app: web.Application) -> None:
    from callguard.demo import demo_passwords, demo_tokens, load_demo_data
    from callguard.web.appkeys import SERVICES
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
        "Try: callguard simulate-call --from '07700 900106'   (Ctrl-C stops everything)",
        flush=True,
    )


def cmd_demo(_args: argparse.Namespace) -> int:
    settings = demo_settings()
    policy = _load_policy(settings)
    if isinstance(policy, list):
        return _problem(policy)
    return _run(settings, policy, demo=True)


def cmd_serve(_args: argparse.Namespace) -> int:
    settings = _load_settings()
    if isinstance(settings, list):
        return _problem(settings)
    problems = problems_for_serve(settings)
    policy = _load_policy(settings)
    if isinstance(policy, list):
        problems += policy
    if problems:
        return _problem(problems)
    assert not isinstance(policy, list)
    return _run(settings, policy, demo=False)


async def _create_token(settings: Settings, user: str, role: Role, line_manager: str | None) -> str:
    from callguard.domain.users import User
    from callguard.store.connection import connect
    from callguard.store.users import UserStore

    assert settings.redis_url is not None
    redis = connect(settings.redis_url)
    try:
        users = UserStore(redis)
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
    finally:
        await redis.aclose()


@contextlib.contextmanager
def _redis_url_for(settings: Settings) -> Iterator[str]:
    """The Redis ``serve`` uses: CALLGUARD_REDIS_URL, else the embedded one under the data
    dir — attached to if ``serve`` is running, else started for this command and stopped."""
    if settings.redis_url is not None:
        yield settings.redis_url
        return
    embedded = EmbeddedRedis(settings.data_dir / "redis")
    live = embedded.live_url()
    if live is not None:
        yield live  # the running service owns it
        return
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


def cmd_token_create(args: argparse.Namespace) -> int:
    settings = _load_settings()
    if isinstance(settings, list):
        return _problem(settings)
    try:
        with _redis_url_for(settings) as url:
            token = asyncio.run(
                _create_token(
                    settings.model_copy(update={"redis_url": url}),
                    args.user,
                    Role(args.role),
                    args.line_manager,
                )
            )
    except RedisLaunchError as error:
        return _problem([f"embedded Redis: {error}"])
    print(token)
    return 0


def cmd_doctor(_args: argparse.Namespace) -> int:
    """A checklist of what production needs; exit 1 if anything fails."""
    from callguard.doctor import doctor

    settings = _load_settings()
    if isinstance(settings, list):
        for line in settings:
            print(f"[FAIL] settings: {line}")
        return 1
    try:
        with _redis_url_for(settings) as url:
            lines, healthy = doctor(settings, url)
    except RedisLaunchError as error:
        lines, healthy = [f"[FAIL] Redis: embedded redis-server: {error}"], False
    print("\n".join(lines))
    print("All checks passed." if healthy else "Some checks failed.")
    return 0 if healthy else 1


def _sign(url: str, params: list[tuple[str, str]], auth_token: str) -> str:
    from multidict import MultiDict
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(auth_token).compute_signature(url, MultiDict(params)))


def _post(
    settings: Settings, path: str, params: list[tuple[str, str]]
) -> tuple[str, dict[str, str]]:
    assert settings.public_url and settings.twilio_auth_token
    signature = _sign(
        settings.public_url + path, params, settings.twilio_auth_token.get_secret_value()
    )
    target = f"http://{settings.host}:{settings.port}{path}"
    request = urllib.request.Request(
        target,
        data=urlencode(params).encode(),
        method="POST",
        headers={
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.read().decode(), dict(response.headers)


def describe_twiml(twiml: str) -> list[str]:
    """What the caller hears and where the call goes, in plain words."""
    root = ElementTree.fromstring(twiml)  # noqa: S314 - our own service's answer
    lines: list[str] = []
    for element in root.iter():
        text = "".join(element.itertext()).strip() if element.tag == "Say" else ""
        if text:
            lines.append(f'  hears: "{text}"')
        elif element.tag == "Conference":
            lines.append(f"  is held in conference {element.text} while the other leg is dialled")
        elif element.tag in ("Number", "Sip", "Client"):
            lines.append(f"  is put straight through to {element.text}")
        elif element.tag == "Gather":
            lines.append(f"  may press a key (Gather, {element.get('timeout')} s)")
        elif element.tag == "Record":
            lines.append(f"  may leave a message of up to {element.get('maxLength')} s")
        elif element.tag == "Hangup":
            lines.append("  is hung up on")
    return lines


def cmd_simulate_call(args: argparse.Namespace) -> int:
    loaded = _load_settings()
    if isinstance(loaded, list):
        return _problem(loaded)
    settings = loaded if loaded.public_url and loaded.twilio_auth_token else demo_settings()
    call_sid = "CA" + secrets.token_hex(16)
    to = args.to or DEMO_OFFICE_NUMBER
    params = [
        ("AccountSid", settings.twilio_account_sid or DEMO_ACCOUNT_SID),
        ("CallSid", call_sid),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("From", args.caller),
        ("To", to),
        ("Caller", args.caller),
        ("Called", to),
    ]
    try:
        twiml, headers = _post(settings, "/webhooks/twilio/voice", params)
    except (urllib.error.URLError, OSError) as error:
        return _problem([f"cannot reach CallGuard at {settings.host}:{settings.port}: {error}"])
    outcome = headers.get("X-CallGuard-Outcome", "?")
    rule = headers.get("X-CallGuard-Rule", "?")
    print(f"Call {call_sid} from {args.caller} to {to}")
    print(
        f"Decision: {outcome} (rule: {rule})"
        + (" [degraded: failed open]" if headers.get("X-CallGuard-Degraded") == "1" else "")
    )
    if headers.get("X-CallGuard-Route"):
        print(f"The call goes to: {headers['X-CallGuard-Route']}")
    print("The caller:")
    print("\n".join(describe_twiml(twiml)))
    if args.digits:
        path = "/webhooks/twilio/gather?" + urlencode({"call_sid": call_sid})
        twiml, _ = _post(settings, path, [("CallSid", call_sid), ("Digits", args.digits)])
        print(f"After pressing {args.digits}, the caller:")
        print("\n".join(describe_twiml(twiml)))
    return 0


async def _import(settings: Settings, plan: Any) -> list[str]:
    from callguard.importer import apply_plan
    from callguard.store.connection import connect
    from callguard.store.register import RegisterStore

    assert settings.redis_url is not None
    redis = connect(settings.redis_url, timeout_s=60)
    try:
        return await apply_plan(RegisterStore(redis), plan)
    finally:
        await redis.aclose()


def cmd_import(args: argparse.Namespace) -> int:
    """Import a register from CSV: all rows, or none (see callguard/importer.py)."""
    from datetime import UTC, datetime

    from callguard.domain.users import Actor
    from callguard.importer import plan_import, progress_bar, report

    settings = _load_settings()
    if isinstance(settings, list):
        return _problem(settings)
    policy = _load_policy(settings)
    if isinstance(policy, list):
        return _problem(policy)
    started = time.perf_counter()
    now = datetime.now(UTC)
    progress = progress_bar("checking")
    try:
        plan = plan_import(
            Path(args.file),
            policy,
            Actor(name=args.as_user, role=Role(args.as_role)),
            now,
            now.astimezone(settings.tz).date(),
            progress,
        )
    except (OSError, ValueError) as error:
        return _problem([f"{args.file}: {error}"])
    print("\n".join(report(plan)))
    if plan.rejected:
        print("Nothing was imported: correct the rows above and run again.")
        return 1
    if args.dry_run:
        print(f"Dry run: nothing was imported ({time.perf_counter() - started:.1f} s).")
        return 0
    try:
        with _redis_url_for(settings) as url:
            if problem := _layout_problem(url):
                return _problem(problem)
            taken = asyncio.run(_import(settings.model_copy(update={"redis_url": url}), plan))
    except RedisLaunchError as error:
        return _problem([f"embedded Redis: {error}"])
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
    from redis.exceptions import RedisClusterException, RedisError

    from callguard.store.connection import BadRedisUrl, parse_url
    from callguard.store.copy import NotEmpty, Overlap

    settings = _load_settings()
    if isinstance(settings, list):
        return _problem(settings)
    try:
        parse_url(args.source)
        keys.check_prefix(args.source_prefix)
    except (BadRedisUrl, keys.BadPrefix) as error:
        return _problem([f"--from / --from-prefix: {error}"])
    started = time.perf_counter()
    try:
        with _redis_url_for(settings) as url:
            copied = asyncio.run(
                _copy_keys(
                    args.source,
                    args.source_prefix,
                    settings.model_copy(update={"redis_url": url}),
                    resume=args.resume,
                )
            )
    except (NotEmpty, Overlap) as error:
        return _problem([f"nothing copied: {error}"])
    except (RedisError, RedisClusterException, RedisLaunchError, OSError) as error:
        return _problem(
            [f"copy failed: {type(error).__name__}: {error}; mend it, then run again with --resume"]
        )
    print(
        f"Copied {copied} keys from {args.source_prefix} to {settings.redis_key_prefix} in "
        f"{time.perf_counter() - started:.1f} s."
    )
    return 0


async def _migrate(redis_url: str) -> str:
    from callguard.importer import progress_bar
    from callguard.store.connection import connect
    from callguard.store.migrate import migrate, stored_layout

    redis = connect(redis_url, timeout_s=60)
    progress = progress_bar("migrating")
    try:
        before = await stored_layout(redis)
        done = await migrate(redis, progress)
    finally:
        await redis.aclose()
    if before != 1:
        return "Nothing to migrate: the register is in the current layout."
    return (
        f"Migrated {done.people} people, {done.strategies} strategies and "
        f"{done.audit_entries} audit entries to the current layout."
    )


def cmd_migrate(_args: argparse.Namespace) -> int:
    """Move a register stored by an earlier CallGuard to this version's layout. Stop every
    replica first; safe to run again if stopped half-way."""
    from redis.exceptions import RedisClusterException, RedisError

    from callguard.store.migrate import LayoutError

    settings = _load_settings()
    if isinstance(settings, list):
        return _problem(settings)
    if settings.redis_url is None and EmbeddedRedis(settings.data_dir / "redis").live_url():
        return _problem(["CallGuard is running on this data: stop it first, then migrate"])
    started = time.perf_counter()
    try:
        with _redis_url_for(settings) as url:
            said = asyncio.run(_migrate(url))
    except (RedisError, RedisClusterException, RedisLaunchError, OSError) as error:
        return _problem([f"migration failed: {type(error).__name__}: {error}"])
    except LayoutError as error:
        return _problem([str(error)])
    print(f"{said} ({time.perf_counter() - started:.1f} s)")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Scheduled duties without the web service (callguard.scheduler); ``--once`` runs each
    job for now and exits. Safe beside ``serve`` replicas: a lease per job run."""
    from callguard.clock import SystemClock
    from callguard.scheduler import run_worker
    from callguard.services.notify import SmtpMailer

    settings = _load_settings()
    if isinstance(settings, list):
        return _problem(settings)
    policy = _load_policy(settings)
    if isinstance(policy, list):
        return _problem(policy)
    try:
        with _redis_url_for(settings) as url:
            if problem := _layout_problem(url):
                return _problem(problem)
            runs = asyncio.run(
                run_worker(
                    url,
                    policy,
                    settings.tz,
                    SystemClock(),
                    once=args.once,
                    mailer=SmtpMailer(settings) if settings.smtp_host else None,
                    public_url=settings.public_url,
                )
            )
    except RedisLaunchError as error:
        return _problem([f"embedded Redis: {error}"])
    for run in runs:
        print(f"{run.job} {run.period} {run.outcome} {dict(run.summary or {})}", flush=True)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="callguard", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo", help="run with an embedded Redis and demo data on :8080"
    ).set_defaults(run=cmd_demo)
    commands.add_parser("serve", help="run in production from CALLGUARD_* settings").set_defaults(
        run=cmd_serve
    )
    token = commands.add_parser("token", help="API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token; prints only the token")
    create.add_argument("--user", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--line-manager", help="the user's line manager (staff)")
    create.set_defaults(run=cmd_token_create)
    commands.add_parser(
        "doctor", help="check settings, Redis, Twilio and the public URL"
    ).set_defaults(run=cmd_doctor)
    importer = commands.add_parser("import", help="import a register from CSV, all or nothing")
    importer.add_argument("file")
    importer.add_argument("--dry-run", action="store_true", help="check and report only")
    importer.add_argument("--as-user", default="import", help="recorded as the author")
    importer.add_argument("--as-role", default="manager", choices=["manager", "chief_executive"])
    importer.set_defaults(run=cmd_import)
    simulate = commands.add_parser("simulate-call", help="send a signed inbound-call webhook")
    simulate.add_argument("--from", dest="caller", required=True)
    simulate.add_argument("--to")
    simulate.add_argument("--digits", help="keys the caller presses when offered")
    simulate.set_defaults(run=cmd_simulate_call)
    commands.add_parser(
        "migrate", help="move a register stored by an earlier CallGuard to this layout"
    ).set_defaults(run=cmd_migrate)
    copier = commands.add_parser(
        "copy-keys",
        help="copy an office's keys from another Redis into this one, under this prefix",
    )
    copier.add_argument("--from", dest="source", required=True, help="the source Redis URL")
    copier.add_argument(
        "--from-prefix", dest="source_prefix", default=keys.DEFAULT_PREFIX, help="default cg:"
    )
    copier.add_argument("--resume", action="store_true", help="finish a copy that stopped part-way")
    copier.set_defaults(run=cmd_copy_keys)
    worker = commands.add_parser("worker", help="run the scheduled duties without the web service")
    worker.add_argument("--once", action="store_true", help="run every job now, then exit")
    worker.set_defaults(run=cmd_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging(json_lines=os.environ.get("CALLGUARD_LOG_FORMAT", "text") == "json")
    args = build_parser().parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
