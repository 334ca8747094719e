"""Webhooks signed by a Twilio Webhooks Setting: ``X-Twilio-Webhooks-Signature-Settings``
names the setting's algorithm (HMAC-SHA256), and the signature is made with its shared key
(``CALLGUARD_TWILIO_WEBHOOK_SHARED_KEY``) instead of the auth token. Anything else that
claims such a signature gets 403 and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from multidict import MultiDict
from pydantic import SecretStr
from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator

from callguard import urls
from callguard.clock import FixedClock
from callguard.policy import Policy
from callguard.settings import Settings
from tests.conftest import AUTH_TOKEN, PUBLIC_URL, auth, make_app
from tests.helpers import Client, new_call_sid, services, voice_params
from tests.integration.test_webhook_security import _assert_refused_and_unchanged
from tests.twilio_standin import TwilioStandIn
from webhooks.signature import SETTINGS_HEADER

pytestmark = pytest.mark.timeout(30)

SHARED_KEY = "webhooks-shared-key-secret-0123456789"
SHA256_SETTINGS = "key=webhooks_sharedkey_0123,algorithm=HMAC_SHA256"
CALLER = "+447700900999"


def signed(params: list[tuple[str, str]], key: str, algorithm: str) -> str:
    validator = RequestValidator(key)
    return str(validator.compute_signature(PUBLIC_URL + urls.VOICE, MultiDict(params), algorithm))


@pytest.fixture
async def shared(settings: Settings, policy: Policy, clock: FixedClock) -> AsyncIterator[Client]:
    configured = settings.model_copy(update={"twilio_webhook_shared_key": SecretStr(SHARED_KEY)})
    app = await make_app(configured, policy, clock)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield client


async def test_a_sha256_signature_with_the_shared_key_is_accepted(
    shared: Client, tokens: dict[str, str]
) -> None:
    call_sid = new_call_sid()
    params = voice_params(call_sid, CALLER)
    response = await shared.post(
        urls.VOICE,
        data=MultiDict(params),
        headers={
            "X-Twilio-Signature": signed(params, SHARED_KEY, HMAC_SHA256),
            SETTINGS_HEADER: SHA256_SETTINGS,
        },
    )
    assert response.status == 200, await response.text()
    assert response.headers["X-CallGuard-Outcome"] == "connect"
    await services(shared).background.drain()
    record = await shared.get(f"/api/v1/calls/{call_sid}", headers=auth(tokens["manager"]))
    assert record.status == 200


# (what the request says, the key and algorithm it was really signed with)
REFUSED = [
    pytest.param(SHA256_SETTINGS, AUTH_TOKEN, HMAC_SHA1, id="claims-a-setting-signed-by-token"),
    pytest.param(SHA256_SETTINGS, AUTH_TOKEN, HMAC_SHA256, id="sha256-with-the-auth-token"),
    pytest.param("", SHARED_KEY, HMAC_SHA256, id="no-settings-header"),
    pytest.param(
        "key=webhooks_sharedkey_0123,algorithm=HMAC_MD5",
        SHARED_KEY,
        HMAC_SHA256,
        id="unknown-algorithm",
    ),
]


@pytest.mark.parametrize(("settings_header", "key", "algorithm"), REFUSED)
async def test_a_signature_not_made_as_the_request_claims_is_refused(
    shared: Client,
    tokens: dict[str, str],
    twilio: TwilioStandIn,
    settings: Settings,
    settings_header: str,
    key: str,
    algorithm: str,
) -> None:
    call_sid = new_call_sid()
    params = voice_params(call_sid, CALLER)
    headers = {"X-Twilio-Signature": signed(params, key, algorithm)}
    if settings_header:
        headers[SETTINGS_HEADER] = settings_header
    await _assert_refused_and_unchanged(
        shared, tokens, twilio, settings, call_sid, params=params, headers=headers
    )


async def test_without_a_shared_key_configured_a_settings_signature_is_refused(
    client: Client, tokens: dict[str, str], twilio: TwilioStandIn, settings: Settings
) -> None:
    call_sid = new_call_sid()
    params = voice_params(call_sid, CALLER)
    await _assert_refused_and_unchanged(
        client,
        tokens,
        twilio,
        settings,
        call_sid,
        params=params,
        headers={
            "X-Twilio-Signature": signed(params, SHARED_KEY, HMAC_SHA256),
            SETTINGS_HEADER: SHA256_SETTINGS,
        },
    )
