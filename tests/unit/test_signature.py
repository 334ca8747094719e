"""``SignatureChecker.valid`` answers as twilio's ``RequestValidator.validate`` does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import RequestValidator

from webhooks.signature import SignatureChecker

pytestmark = pytest.mark.timeout(30)

TOKEN = "test-auth-token-0123456789abcdef"
CHECKER = SignatureChecker("https://callguard.test.example", TOKEN)
VALIDATOR = RequestValidator(TOKEN)

URLS = st.sampled_from(
    [
        "https://callguard.test.example/webhooks/twilio/voice",
        "https://callguard.test.example:443/webhooks/twilio/voice",
        "https://callguard.test.example:8443/webhooks/twilio/leg?call_sid=CA1",
        "http://callguard.test.example/webhooks/twilio/status",
        "http://callguard.test.example:80/webhooks/twilio/message?call_sid=CA1&for_spoc=0",
    ]
)
FORMS = st.lists(
    st.tuples(st.sampled_from(["CallSid", "From", "To", "Digits", "x"]), st.text(max_size=12)),
    max_size=6,
)


def signatures(url: str, form: MultiDict[str]) -> list[str]:
    """Right ones (the URL as given, without its port, with the default port), and wrong."""
    host = url.split("/")[2]
    plain = url.replace(host, host.split(":")[0])
    ported = plain.replace(host.split(":")[0], host.split(":")[0] + ":443", 1)
    right = [VALIDATOR.compute_signature(u, form) for u in (url, plain, ported)]
    return [*right, "", "nope", right[0][:-1], right[0] + "=", "é" + right[0][1:]]


@given(url=URLS, pairs=FORMS, other=st.text(max_size=30))
def test_valid_answers_as_the_validator_does(
    url: str, pairs: list[tuple[str, str]], other: str
) -> None:
    form = MultiDictProxy(MultiDict(pairs))
    for signature in [*signatures(url, MultiDict(pairs)), other]:
        assert CHECKER.valid(url, form, signature) == VALIDATOR.validate(url, form, signature)


def test_a_signature_for_the_url_with_its_default_port_is_accepted() -> None:
    url = "https://callguard.test.example/webhooks/twilio/voice"
    form = MultiDictProxy(MultiDict([("CallSid", "CA1"), ("From", "+447700900123")]))
    with_port = VALIDATOR.compute_signature(url.replace(".example/", ".example:443/"), form)
    assert CHECKER.valid(url, form, with_port)
    assert CHECKER.valid(url, form, VALIDATOR.compute_signature(url, form))
    assert not CHECKER.valid(url, form, VALIDATOR.compute_signature(url + "x", form))
