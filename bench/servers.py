"""The servers the bench measures or talks to, each run in its own process
(``webhook.py --role NAME``) so none shares an event loop with the load generator:

  callguard       the service, from ``callguard.bootstrap.build_app``, as ``serve`` runs it
                  beside a worker (``CALLGUARD_SCHEDULER_ENABLED=false``: no scheduled duties)
  standin         Twilio's REST API, answered at once in Twilio's shape
  static          baseline: a bare handler answering fixed TwiML
  one_round_trip  baseline: + the signed form read and checked, + one EVALSHA to Redis
  floor           baseline: + one fire-and-forget POST to the stand-in for each caller not
                  refused; the least work a correct answer needs. Who is refused it knows
                  for free from the kind of person loaded (``people.refused``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import ClientSession, ClientTimeout, web
from multidict import MultiDict, MultiDictProxy
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from twilio.request_validator import RequestValidator

from bench import people
from bench.common import ACCOUNT_SID, AUTH_TOKEN, DEFAULT_ROUTE, PUBLIC_URL, VOICE_URL
from callguard import urls
from callguard.demo_phone import twilio_like_answer, twilio_like_status
from callguard.store.connection import connect
from callguard.store.keys import Keys
from callguard.telephony import dial_form
from webhooks.signature import SignatureChecker

# The benchmark runs one office under the default prefix.
KEYS = Keys()

BASELINES = ("static", "one_round_trip", "floor")
# ``--lean-floor``: the floor doing its work as the decision does it (see ``Floor.lean``).
LEAN_FLOOR = "lean_floor"


async def serve(app: web.Application | Awaitable[web.Application], ready: Path) -> None:
    """Listen on a free loopback port (as ``web.run_app`` does for ``callguard serve``,
    access log off), write the port to ``ready``, and run until SIGTERM or SIGINT."""
    if not isinstance(app, web.Application):
        app = await app
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await asyncio.to_thread(ready.write_text, str(port))
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def callguard_app(redis_url: str, twilio_base: str, data_dir: Path) -> web.Application:
    from callguard.bootstrap import build_app
    from callguard.settings import Settings

    # As ``callguard serve`` logs: INFO to stderr (here, the child's log file).
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings(
        # The scheduled duties run apart from the calls with a large register
        # (docs/operations.md). In this process their first run, 30 s after the start, lands
        # in the measured turns, and at a million people its scans of every strategy take a
        # third of the process's CPU while they last (docs/performance.md, twelfth pass).
        scheduler_enabled=False,
        redis_url=redis_url,
        data_dir=data_dir,
        public_url=PUBLIC_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base=twilio_base,
        default_route=DEFAULT_ROUTE,
    )
    return await build_app(settings)


def standin_app() -> web.Application:
    async def answer(request: web.Request) -> web.Response:
        raw = await request.post()
        form: MultiDict[str] = MultiDict((k, str(v)) for k, v in raw.items())
        return web.json_response(
            twilio_like_answer(request.path, form),
            status=twilio_like_status(request.method, request.path),
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    return app


HEADERS_CONNECT = {
    "X-CallGuard-Outcome": "connect",
    "X-CallGuard-Rule": "none",
    "X-CallGuard-Route": DEFAULT_ROUTE,
    "X-CallGuard-Degraded": "0",
}
HEADERS_REFUSE = {**HEADERS_CONNECT, "X-CallGuard-Outcome": "refuse", "X-CallGuard-Route": ""}
_SAY = '<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="Polly.Amy" language="en-GB">'
STATIC_TWIML = (
    _SAY + "Thank you for calling. Connecting you now.</Say><Dial><Number>"
    f"{DEFAULT_ROUTE}</Number></Dial></Response>"
)
# What a connected caller is answered: held in a conference named after the call.
CONNECT_TWIML = (
    _SAY + 'Thank you for calling. Connecting you now.</Say><Dial><Conference beep="false" '
    'endConferenceOnExit="true" participantLabel="caller" startConferenceOnEnter="false" '
    'statusCallback="{base}/webhooks/twilio/conference?call_sid={sid}" '
    'statusCallbackEvent="start end join leave announcement" statusCallbackMethod="POST">'
    "cg-{sid}</Conference></Dial></Response>"
)
REFUSE_TWIML = (
    _SAY + 'We cannot take your call now.</Say><Record action="{base}/webhooks/twilio/message?'
    'call_sid={sid}" maxLength="120" method="POST" playBeep="true" timeout="5"/></Response>'
)
# The baselines' one round trip: new-CallSid check, the caller's owner, the record.
#   KEYS[1] bench:call:{sid}   KEYS[2] cg:phone:{e164}   ARGV from, to, received epoch
# Returns {"existing"} | {owner id or ""}
FLOOR_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {'existing'} end
local owner = redis.call('GET', KEYS[2])
redis.call('HSET', KEYS[1], 'from', ARGV[1], 'to', ARGV[2], 'received_at', ARGV[3],
  'outcome', owner and 'refuse' or 'connect')
return {owner or ''}
"""
DIAL_EVENTS = ("initiated", "ringing", "answered", "completed")


@dataclass
class Floor:
    """The least a correct answer needs (``one_round_trip`` stops before the POST)."""

    redis_url: str
    twilio_base: str
    post: bool
    # The least work indeed: one HMAC for a good signature (``SignatureChecker``), the dial's
    # form encoded as the decision encodes it (``dial_form``) with its auth header made once,
    # and a Redis client without per-command timeouts under one ``asyncio.timeout``. The
    # plain floor (the issue's) checks with twilio's ``validate`` (two HMACs), encodes the
    # form through aiohttp's ``FormData`` and sends each command with its own timeout.
    lean: bool = False
    signatures: SignatureChecker | None = None
    auth_header: str = ""
    validator: RequestValidator = field(default_factory=lambda: RequestValidator(AUTH_TOKEN))
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    redis: Redis | None = None
    script: AsyncScript | None = None
    http: ClientSession | None = None

    @property
    def participants_url(self) -> str:
        return f"{self.twilio_base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/cg-{{sid}}/Participants.json"  # noqa: E501

    async def resources(self, app: web.Application) -> AsyncIterator[None]:
        self.redis = connect(self.redis_url, per_command_timeout=not self.lean)
        self.signatures = SignatureChecker(PUBLIC_URL, AUTH_TOKEN, None)
        pair = f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()
        self.auth_header = "Basic " + base64.b64encode(pair).decode()
        self.script = self.redis.register_script(FLOOR_SCRIPT)
        self.http = ClientSession(timeout=ClientTimeout(total=5))
        yield
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.http.close()
        await self.redis.aclose()

    async def answer(self, request: web.Request) -> web.Response:
        assert self.script is not None
        form = await request.post()
        params = MultiDict((k, v) for k, v in form.items() if isinstance(v, str))
        signature = request.headers.get("X-Twilio-Signature", "")
        if self.lean:
            assert self.signatures is not None
            valid = self.signatures.valid(VOICE_URL, MultiDictProxy(params), signature)
        else:
            valid = self.validator.validate(VOICE_URL, params, signature)
        if not valid:
            raise web.HTTPForbidden()
        call_sid, caller, to = params["CallSid"], params["From"], params["To"]
        round_trip = self.script(
            keys=[f"bench:call:{call_sid}", KEYS.phone_owner(caller)],
            args=[caller, to, time.time()],
        )
        if self.lean:
            async with asyncio.timeout(1.0):  # the decision's budget: twice the Redis timeout
                found = await round_trip
        else:
            found = await round_trip
        if not self.post:
            return web.Response(text=STATIC_TWIML, content_type="text/xml", headers=HEADERS_CONNECT)
        if found[0] not in ("", "existing") and people.refused(found[0]):
            text = REFUSE_TWIML.format(base=PUBLIC_URL, sid=call_sid)
            return web.Response(text=text, content_type="text/xml", headers=HEADERS_REFUSE)
        task = asyncio.get_running_loop().create_task(self.dial_other_leg(call_sid, to))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        text = CONNECT_TWIML.format(base=PUBLIC_URL, sid=call_sid)
        return web.Response(text=text, content_type="text/xml", headers=HEADERS_CONNECT)

    async def dial_other_leg(self, call_sid: str, caller_id: str) -> None:
        """What ``TwilioTelephony.dial_into_conference`` sends, with a bare aiohttp POST."""
        assert self.http is not None
        if self.lean:
            body = dial_form(
                caller_id=caller_id,
                to=DEFAULT_ROUTE,
                label="staff",
                status_callback=f"{PUBLIC_URL}{urls.LEG}?call_sid={call_sid}",
                ring_timeout_s=25,
                time_limit_s=None,
            )
            headers = {
                "Authorization": self.auth_header,
                "Content-Type": "application/x-www-form-urlencoded",
            }
            with contextlib.suppress(Exception):
                async with self.http.post(
                    self.participants_url.format(sid=call_sid),
                    data=body.encode("ascii"),
                    headers=headers,
                ) as response:
                    await response.read()
            return
        form = [
            ("From", caller_id),
            ("To", DEFAULT_ROUTE),
            ("Label", "staff"),
            ("Timeout", "25"),
            ("StatusCallback", f"{PUBLIC_URL}{urls.LEG}?call_sid={call_sid}"),
            ("StatusCallbackMethod", "POST"),
            *[("StatusCallbackEvent", event) for event in DIAL_EVENTS],
            ("StartConferenceOnEnter", "true"),
            ("EndConferenceOnExit", "true"),
            ("Beep", "false"),
        ]
        auth = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        with contextlib.suppress(Exception):
            async with self.http.post(
                self.participants_url.format(sid=call_sid),
                data=form,
                headers={"Authorization": "Basic " + auth},
            ) as response:
                await response.read()


def baseline_app(kind: str, redis_url: str, twilio_base: str) -> web.Application:
    app = web.Application()
    if kind == "static":

        async def static(request: web.Request) -> web.Response:
            return web.Response(text=STATIC_TWIML, content_type="text/xml", headers=HEADERS_CONNECT)

        app.router.add_post(urls.VOICE, static)
        return app
    floor = Floor(
        redis_url, twilio_base, post=kind in ("floor", LEAN_FLOOR), lean=kind == LEAN_FLOOR
    )
    app.cleanup_ctx.append(floor.resources)
    app.router.add_post(urls.VOICE, floor.answer)
    return app


def run(role: str, ready: Path, redis_url: str, twilio_base: str, data_dir: str) -> None:
    app: web.Application | Awaitable[web.Application]
    if role == "callguard":
        app = callguard_app(redis_url, twilio_base, Path(data_dir))
    elif role == "standin":
        app = standin_app()
    elif role in (*BASELINES, LEAN_FLOOR):
        app = baseline_app(role, redis_url, twilio_base)
    else:
        raise SystemExit(f"unknown role {role}")
    asyncio.run(serve(app, ready))
