"""Hostile input: generated webhook forms and API bodies (huge fields, wrong types, odd
unicode, missing and repeated fields) get 2xx or 4xx — never 5xx — and a 4xx stores nothing.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callguard.clock import FixedClock
from callguard.domain.roles import Role
from callguard.domain.users import User
from callguard.policy import load_policy
from callguard.settings import Settings
from callguard.store.connection import connect
from callguard.store.launcher import EmbeddedRedis
from callguard.store.users import UserStore
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, DEFAULT_NOW, KEYS, POLICY_PATH, PUBLIC_URL
from tests.helpers import sign
from tests.live_server import LiveServer, live_server

pytestmark = pytest.mark.timeout(240)

WEBHOOK_PATHS = [
    "/webhooks/twilio/voice",
    "/webhooks/twilio/status",
    "/webhooks/twilio/fallback",
    "/webhooks/twilio/conference?call_sid=CA" + "a" * 32,
    "/webhooks/twilio/leg?call_sid=CA" + "a" * 32,
    "/webhooks/twilio/gather?call_sid=CA" + "a" * 32,
    "/webhooks/twilio/message?call_sid=CA" + "a" * 32 + "&for_spoc=0&new_matter=1",
    "/webhooks/twilio/recording?call_sid=CA" + "a" * 32,
    "/webhooks/twilio/unanswered?call_sid=CA" + "a" * 32,
    "/webhooks/twilio/announce?call_sid=CA" + "a" * 32 + "&kind=warning&reason=threats",
    "/webhooks/twilio/announce?call_sid=x&kind=closing&reason=nope",
]
FIELDS = [
    "CallSid",
    "From",
    "To",
    "CallStatus",
    "CallDuration",
    "Digits",
    "RecordingSid",
    "RecordingUrl",
    "RecordingDuration",
    "StatusCallbackEvent",
    "ConferenceSid",
    "RecordingStatus",
    "AccountSid",
]
odd_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=300),
    st.just("CA" + "0" * 32),
    st.just("+447700900123"),
    st.just("anonymous"),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["\u0000", "\ufeff", "😀" * 200, "a" * 20_000, "%00", "../../etc", "\r\n"]),
)
forms = st.lists(
    st.tuples(st.one_of(st.sampled_from(FIELDS), st.text(max_size=20)), odd_text), max_size=16
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | odd_text,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=15), inner, max_size=6)
    ),
    max_leaves=30,
)


@dataclass
class Target:
    live: LiveServer
    redis: redis.Redis
    token: str  # a chief executive's: every route, every restriction kind
    staff_token: str  # staff's: most routes refused, the rest masked
    redis_url: str


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    data = tmp_path_factory.mktemp("hostile")
    embedded = EmbeddedRedis(data / "redis", appendonly=False)
    url = embedded.start()
    app_settings = Settings(
        redis_url=url,
        data_dir=data / "app",
        public_url=PUBLIC_URL,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_api_base="http://127.0.0.1:9",
        default_route="+441772000100",
        policy=POLICY_PATH,
    )
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        token = asyncio.run(_token(url, "fuzz", Role.chief_executive))
        staff_token = asyncio.run(_token(url, "fuzz.staff", Role.staff))
        with live_server(app_settings, load_policy(POLICY_PATH), FixedClock(DEFAULT_NOW)) as live:
            yield Target(live, client, token, staff_token, url)
    finally:
        client.close()
        embedded.stop()


async def _token(redis_url: str, user: str, role: Role) -> str:
    connection = connect(redis_url)
    try:
        users = UserStore(connection, KEYS)
        await users.put_user(User(name=user, role=role))
        return await users.create_token(user, role)
    finally:
        await connection.aclose()


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def snapshot(client: redis.Redis) -> set[str]:
    return {k for k in client.scan_iter("cg:*") if not k.startswith(("cg:token:", "cg:user"))}


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.sampled_from(WEBHOOK_PATHS), form=forms)
def test_signed_webhook_forms_never_5xx_and_4xx_stores_nothing(
    target: Target, path: str, form: list[tuple[str, str]]
) -> None:
    # What an earlier example's update left to write (spooled for a call not in Redis,
    # replayed after its answer) is written before this one is looked at, and this one's
    # after it.
    target.live.settle()
    before = snapshot(target.redis)
    headers = {
        "X-Twilio-Signature": sign(PUBLIC_URL + path, form),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    status = post(target.live.base_url + path, urlencode(form).encode(), headers)
    assert status < 500, (path, form)
    if status >= 400:
        target.live.settle()
        assert snapshot(target.redis) == before


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(
        [
            "/api/v1/people",
            "/api/v1/strategies",
            "/api/v1/preview",
            "/api/v1/strategies/str_x/revisions",
            "/api/v1/calls/CAx/message/triage",
        ]
    ),
    body=st.one_of(
        json_values,
        st.fixed_dictionaries({"name": odd_text, "phones": st.lists(odd_text, max_size=3)}),
        st.fixed_dictionaries(
            {
                "person_id": odd_text,
                "matter_ref": odd_text,
                "reason": odd_text,
                "review_due": odd_text,
                "restrictions": st.lists(
                    st.dictionaries(
                        st.sampled_from(
                            [
                                "kind",
                                "windows",
                                "max_calls",
                                "per",
                                "phone",
                                "name",
                                "email",
                                "advocate_phones",
                            ]
                        ),
                        json_values,
                        max_size=5,
                    ),
                    max_size=3,
                ),
            }
        ),
    ),
)
def test_api_bodies_never_5xx_and_4xx_stores_nothing(target: Target, path: str, body: Any) -> None:
    before = snapshot(target.redis)
    headers = {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"}
    status = post(target.live.base_url + path, json.dumps(body).encode(), headers)
    assert status < 500, (path, body)
    if status >= 400:
        assert snapshot(target.redis) == before


def test_a_body_that_is_not_json_too_deep_or_too_big_is_refused(target: Target) -> None:
    url = target.live.base_url + "/api/v1/people"
    headers = {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"}
    assert post(url, b"\xff\xfe", headers) == 400  # not UTF-8 (CONTRACT §5)
    assert post(url, b"[" * 100_000, headers) == 422
    assert post(url, json.dumps({"name": "x" * 2_000_000}).encode(), headers) == 413


# Schemathesis against the OpenAPI document the service serves, with a token: no 5xx, no
# response that breaks the schema, no request the schema forbids accepted, for every
# operation. Its pytest plugin does not run under pytest 9, so its CLI is driven instead.
# "positive_data_acceptance" is left out on purpose: some rules cannot be written in JSON
# Schema (a number must be a real phone number, review_due within three months of today).
# Run once with a chief executive's token (every operation allowed) and once with staff's
# (most refused with 403, the rest masked); together bounded to about a minute.
SCHEMATHESIS_EXAMPLES = 6


@pytest.mark.parametrize("role", ["chief_executive", "staff"])
def test_the_api_honours_its_openapi_document(target: Target, tmp_path: Path, role: str) -> None:
    token = target.token if role == "chief_executive" else target.staff_token
    report = tmp_path / "schemathesis.json"
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        target.live.base_url + "/api/openapi.json",
        "-H",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(SCHEMATHESIS_EXAMPLES),
        "--seed",
        "20261128",
        "--exclude-checks",
        "positive_data_acceptance",
        "--phases",
        # Staff are refused most operations (403): the coverage phase's every-boundary
        # requests add little there, so staff's run is examples and fuzzing only.
        "examples,coverage,fuzzing" if role == "chief_executive" else "examples,fuzzing",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=90, check=False, cwd=tmp_path
    )
    summary = "\n".join(result.stdout.splitlines()[-25:])
    print(summary)
    assert result.returncode == 0, result.stdout[-6000:]
    assert "generated" in summary


# The admin's access pages (issue 14 points 2, 3): odd token ids and user names in the path,
# odd forms, with a signed-in admin's session and CSRF token: never 5xx.
ACCESS_PATHS = st.sampled_from(
    [
        "/admin/tokens/{}/revoke",
        "/admin/users/{}/disable",
        "/admin/users/{}/enable",
        "/admin/users/{}/password",
    ]
)
SEGMENTS = st.one_of(
    st.sampled_from(["fuzz.target", "tok_" + "0" * 12, "tok_zz", "%2e%2e", "%2F", "%00"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._-:@%", min_size=1, max_size=80),
)
ADMIN_PASSWORD = "saffron-quarry-7-lantern"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def _request(
    url: str, body: bytes | None = None, cookies: dict[str, str] | None = None
) -> tuple[int, str, dict[str, str]]:
    """Status, body and the cookies set, following no redirect."""
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=body, headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            status, text, got = response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        status, text, got = error.code, error.read().decode(), error.headers
    set_cookies = {}
    for line in got.get_all("Set-Cookie") or []:
        name, _, rest = line.partition("=")
        set_cookies[name] = rest.split(";", 1)[0]
    return status, text, set_cookies


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


@pytest.fixture(scope="module")
def admin_session(target: Target) -> tuple[dict[str, str], str]:
    """A signed-in admin's cookies and a CSRF token."""

    async def make() -> None:
        connection = connect(target.redis_url)
        try:
            users = UserStore(connection, KEYS)
            await users.put_user(User(name="fuzz.admin", role=Role.admin))
            await users.put_user(User(name="fuzz.target", role=Role.staff))
            await users.set_password("fuzz.admin", ADMIN_PASSWORD)
        finally:
            await connection.aclose()

    asyncio.run(make())
    base = target.live.base_url
    _, page, cookies = _request(base + "/sign-in")
    found = CSRF_INPUT.search(page)
    assert found
    form = {"username": "fuzz.admin", "password": ADMIN_PASSWORD, "csrf_token": found.group(1)}
    status, _, signed_in = _request(base + "/sign-in", urlencode(form).encode(), cookies)
    assert status == 303
    status, page, _ = _request(base + "/admin/tokens", cookies=signed_in)
    found = CSRF_INPUT.search(page)
    assert status == 200 and found
    return signed_in, found.group(1)


@settings(
    max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
@given(path=ACCESS_PATHS, segment=SEGMENTS, form=forms, with_csrf=st.booleans())
def test_the_access_pages_never_5xx(
    target: Target,
    admin_session: tuple[dict[str, str], str],
    path: str,
    segment: str,
    form: list[tuple[str, str]],
    with_csrf: bool,
) -> None:
    cookies, csrf = admin_session
    body = form + ([("csrf_token", csrf)] if with_csrf else [])
    url = target.live.base_url + path.format(segment)
    status, _, _ = _request(url, urlencode(body).encode(), cookies)
    assert status < 500, (url, body)
    if not with_csrf:  # refused (or no such page: a segment such as %2F leaves the route)
        assert status in (403, 404), (url, body)
