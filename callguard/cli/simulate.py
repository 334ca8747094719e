"""``callguard simulate-call``: an inbound call sent to the running service as Twilio
would send it (signed), and what the caller hears, in plain words."""

from __future__ import annotations

import argparse
import secrets
import urllib.error
import urllib.request
from urllib.parse import urlencode
from xml.etree import ElementTree

from callguard.cli.common import load_settings, problem
from callguard.cli.running import DEMO_ACCOUNT_SID, DEMO_OFFICE_NUMBER, demo_settings
from callguard.settings import Settings


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
    loaded = load_settings()
    if isinstance(loaded, list):
        return problem(loaded)
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
        return problem([f"cannot reach CallGuard at {settings.host}:{settings.port}: {error}"])
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


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = commands.add_parser("simulate-call", help="send a signed inbound-call webhook")
    simulate.add_argument("--from", dest="caller", required=True)
    simulate.add_argument("--to")
    simulate.add_argument("--digits", help="keys the caller presses when offered")
    simulate.set_defaults(run=cmd_simulate_call)
