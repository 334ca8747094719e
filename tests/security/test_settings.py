"""Settings (CONTRACT §5, issue 14 point 6): the Twilio credentials' form, single sign-on and
the log format are all checked in ``callguard.settings`` before anything listens, one line
per problem. ``tests/integration/test_cli.py`` runs ``serve`` with them (exit 2, no port)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from callguard.settings import Settings, describe_validation_error, problems_for_serve

pytestmark = pytest.mark.timeout(10)

GOOD = {
    "public_url": "https://callguard.example.org",
    "twilio_account_sid": "AC" + "0123456789abcdef" * 2,
    "twilio_auth_token": "a-real-looking-auth-token",
    "default_route": "+441772000100",
}


def settings(tmp_path: Path, **changed: object) -> Settings:
    return Settings.model_validate({"data_dir": tmp_path, **GOOD, **changed})


def test_well_formed_twilio_credentials_pass(tmp_path: Path) -> None:
    assert problems_for_serve(settings(tmp_path)) == []


@pytest.mark.parametrize(
    ("changed", "line"),
    [
        (
            {"twilio_account_sid": "nope"},
            "CALLGUARD_TWILIO_ACCOUNT_SID: must be AC followed by 32 hexadecimal digits, "
            "as shown in the Twilio Console",
        ),
        (
            {"twilio_account_sid": "AC" + "g" * 32},
            "CALLGUARD_TWILIO_ACCOUNT_SID: must be AC followed by 32 hexadecimal digits, "
            "as shown in the Twilio Console",
        ),
        (
            {"twilio_auth_token": ""},
            "CALLGUARD_TWILIO_AUTH_TOKEN: required by 'callguard serve' but empty",
        ),
        (
            {"twilio_auth_token": "   "},
            "CALLGUARD_TWILIO_AUTH_TOKEN: required by 'callguard serve' but empty",
        ),
    ],
)
def test_serve_refuses_malformed_twilio_credentials_in_one_line_each(
    tmp_path: Path, changed: dict[str, object], line: str
) -> None:
    assert problems_for_serve(settings(tmp_path, **changed)) == [line]


@pytest.mark.parametrize(
    ("changed", "says"),
    [
        ({"log_format": "xml"}, "CALLGUARD_LOG_FORMAT: must be text or json"),
        ({"sso_header": "X-Forwarded-User"}, "CALLGUARD_SSO_TRUSTED_PROXIES must name"),
    ],
)
def test_single_sign_on_and_the_log_format_are_checked_with_the_rest(
    tmp_path: Path, changed: dict[str, object], says: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        settings(tmp_path, **changed)
    [line] = describe_validation_error(refused.value)
    assert says in line
