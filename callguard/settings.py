"""Typed settings, read from ``CALLGUARD_*`` environment variables (CONTRACT §2).

The one source of settings for every entry point: ``serve``, ``worker``, each command and
the tests construct ``Settings`` (tests directly, with arguments), and nothing else reads a
``CALLGUARD_*`` variable. A bad value fails here, one line per problem, before anything
listens.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from callguard.phones import InvalidPhone, normalise_route
from callguard.store.connection import BadRedisUrl, is_cluster_url, parse_url
from callguard.store.keys import BadPrefix, check_prefix

# Shipped inside the package (callguard/policies links to the repository's policies/), so
# an installed CallGuard finds it too.
DEFAULT_POLICY = Path(__file__).parent / "policies" / "lancashire-opcc.toml"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Twilio's account SIDs: "AC" and 32 hexadecimal digits.
_ACCOUNT_SID = re.compile(r"AC[0-9a-fA-F]{32}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CALLGUARD_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    redis_url: str | None = None
    # Every Redis key starts with this; on a Redis Cluster it must hold a {hash tag}.
    redis_key_prefix: str = "cg:"
    data_dir: Path = Path("./var")
    public_url: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_api_base: str = "https://api.twilio.com"
    # The SharedKey secret of a Twilio Webhooks Setting (Webhook Rules), if one signs this
    # service's webhooks with HMAC-SHA256 instead of the auth token's HMAC-SHA1.
    twilio_webhook_shared_key: SecretStr | None = None
    default_route: str | None = None
    policy: Path = Path("policies/lancashire-opcc.toml")
    timezone: str = "Europe/London"
    # E-mail to line managers (optional; unset host = in-app notifications only).
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "callguard@localhost"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    # Per-operation Redis timeout on the inbound-call path; past it the call fails open.
    redis_timeout_ms: int = Field(default=250, ge=10, le=5000)
    # Scheduled duties (reminders, retention, reports) in this process; every replica may
    # run them, a lease per job makes one perform each run (callguard.services.duties).
    scheduler_enabled: bool = True
    # Seconds after start-up before the frequent jobs first fire (a restarted replica
    # catches up then); daily jobs keep their times.
    scheduler_first_run_s: float = Field(default=30.0, ge=0, le=3600)
    # Logs: "text", or "json" for one JSON object per line (phone numbers masked either way).
    log_format: Literal["text", "json"] = "text"
    # Single sign-on: the header a trusted proxy names the signed-in user in, and the
    # proxies' addresses or networks (comma-separated) whose header is believed.
    sso_header: str | None = Field(default=None, max_length=100)
    sso_trusted_proxies: Annotated[list[Network], NoDecode] = []
    # Failed sign-ins per user name in 15 minutes before the name is locked.
    login_max_failures: int = Field(default=5, ge=1, le=100)

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format(cls, value: object) -> object:
        if value not in ("text", "json"):
            raise ValueError("must be text or json")
        return value

    @field_validator("sso_trusted_proxies", mode="before")
    @classmethod
    def _networks(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return [
                    ipaddress.ip_network(part.strip(), strict=False)
                    for part in value.split(",")
                    if part.strip()
                ]
            except ValueError as exc:
                raise ValueError(
                    "must be addresses or networks separated by commas, like 10.0.0.5,10.1.0.0/24"
                ) from exc
        return value

    @field_validator("sso_header")
    @classmethod
    def _header_name(cls, value: str | None) -> str | None:
        if not value:  # set but empty: single sign-on off
            return None
        if not value.replace("-", "").isalnum():
            raise ValueError("must be an HTTP header name such as X-Forwarded-User")
        return value or None

    @model_validator(mode="after")
    def _proxies_for_header(self) -> Settings:
        if self.sso_header and not self.sso_trusted_proxies:
            raise ValueError(
                "CALLGUARD_SSO_TRUSTED_PROXIES must name the proxy's addresses when "
                "CALLGUARD_SSO_HEADER is set"
            )
        return self

    @field_validator("public_url")
    @classmethod
    def _public_url_form(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if "?" in value or "#" in value:
            raise ValueError("must not contain a query or fragment")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _redis_url_form(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_url(value)
            except BadRedisUrl as exc:
                raise ValueError(str(exc)) from exc
        return value

    @field_validator("redis_key_prefix")
    @classmethod
    def _prefix_form(cls, value: str) -> str:
        try:
            return check_prefix(value)
        except BadPrefix as exc:
            raise ValueError(str(exc)) from exc

    @model_validator(mode="after")
    def _cluster_needs_a_tag(self) -> Settings:
        if is_cluster_url(self.redis_url):
            try:
                check_prefix(self.redis_key_prefix, cluster=True)
            except BadPrefix as exc:
                raise ValueError(f"CALLGUARD_REDIS_KEY_PREFIX: {exc}") from exc
        return self

    @field_validator("twilio_api_base")
    @classmethod
    def _api_base_form(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("default_route")
    @classmethod
    def _route_form(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalise_route(value)
        except InvalidPhone as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def policy_path(self) -> Path:
        """The policy file; a relative default falls back to the one shipped in the repo."""
        if self.policy.exists() or self.policy.is_absolute():
            return self.policy
        return (
            DEFAULT_POLICY if self.policy == Path("policies/lancashire-opcc.toml") else self.policy
        )


REQUIRED_BY_SERVE = ("public_url", "twilio_account_sid", "twilio_auth_token", "default_route")


def problems_for_serve(settings: Settings) -> list[str]:
    """One line per setting that ``callguard serve`` needs and is missing or malformed."""
    problems = [
        f"CALLGUARD_{name.upper()}: required by 'callguard serve' but not set"
        for name in REQUIRED_BY_SERVE
        if getattr(settings, name) in (None, "")
    ]
    sid = settings.twilio_account_sid
    if sid and not _ACCOUNT_SID.fullmatch(sid):
        problems.append(
            "CALLGUARD_TWILIO_ACCOUNT_SID: must be AC followed by 32 hexadecimal digits, "
            "as shown in the Twilio Console"
        )
    token = settings.twilio_auth_token
    if token is not None and not token.get_secret_value().strip():
        problems.append("CALLGUARD_TWILIO_AUTH_TOKEN: required by 'callguard serve' but empty")
    return problems


def describe_validation_error(error: ValidationError) -> list[str]:
    """Turn a settings ValidationError into one clear line per problem."""
    lines = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        if not item["loc"]:  # a check across settings names its own settings
            lines.append(message)
            continue
        name = ".".join(str(part) for part in item["loc"])
        lines.append(f"CALLGUARD_{name.upper()}: {message}")
    return lines
