"""``callguard simulate-call``: an inbound call sent to the running service as Twilio
would send it (signed), and what the caller hears, in plain words."""

from __future__ import annotations

import argparse
import asyncio
from xml.etree import ElementTree

import aiohttp

from callguard.caller_leg import WebhookRefused, Webhooks, place_call
from callguard.cli.common import load_settings, problem
from callguard.cli.running import DEMO_ACCOUNT_SID, DEMO_OFFICE_NUMBER, demo_settings


def describe_twiml(twiml: str, until: str | None = None) -> list[str]:
    """What the caller hears and where the call goes, in plain words; ``until``: only what
    comes before that verb (what follows a ``Record`` is heard only when no message is
    left)."""
    root = ElementTree.fromstring(twiml)  # noqa: S314 - our own service's answer
    lines: list[str] = []
    verbs = list(root)
    if until is not None:
        verbs = verbs[: next((i for i, v in enumerate(verbs) if v.tag == until), len(verbs)) + 1]
    for element in (e for verb in verbs for e in verb.iter()):
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
    loaded = load_settings()
    if isinstance(loaded, list):
        return problem(loaded)
    settings = loaded if loaded.public_url and loaded.twilio_auth_token else demo_settings()
    assert settings.public_url and settings.twilio_auth_token
    to = args.to or DEMO_OFFICE_NUMBER
    hooks = Webhooks(
        base=f"http://{settings.host}:{settings.port}",
        public_url=settings.public_url,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        account_sid=settings.twilio_account_sid or DEMO_ACCOUNT_SID,
    )
    try:
        result = asyncio.run(
            place_call(hooks, caller=args.caller, to=to, digits=args.digits, message=args.message)
        )
    except (aiohttp.ClientError, OSError, TimeoutError, WebhookRefused) as error:
        return problem([f"cannot reach CallGuard at {settings.host}:{settings.port}: {error}"])
    print(f"Call {result.call_sid} from {args.caller} to {to}")
    print(
        f"Decision: {result.outcome} (rule: {result.rule})"
        + (" [degraded: failed open]" if result.degraded else "")
    )
    if result.route:
        print(f"The call goes to: {result.route}")
    # What follows the offer of a message is heard only by a caller who leaves none.
    left = "Record" if result.message_left else None
    print("The caller:")
    print("\n".join(describe_twiml(result.twiml, left if result.after_digits is None else None)))
    if result.after_digits is not None:
        print(f"After pressing {args.digits}, the caller:")
        print("\n".join(describe_twiml(result.after_digits, left)))
    if result.connected:
        print("The caller stays on the line until staff end the call or it is hung up.")
    elif result.message_left:
        print("The caller leaves a message, now waiting to be triaged, and then:")
        if result.thanks:
            print("\n".join(describe_twiml(result.thanks)))
    else:
        if args.message:
            print("No message was left: the caller was not offered one.")
        print("The caller hung up.")
    return 0


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = commands.add_parser("simulate-call", help="send a signed inbound-call webhook")
    simulate.add_argument("--from", dest="caller", required=True)
    simulate.add_argument("--to")
    simulate.add_argument("--digits", help="keys the caller presses when offered")
    simulate.add_argument(
        "--message", help="what a refused caller says when offered to leave a message"
    )
    simulate.set_defaults(run=cmd_simulate_call)
