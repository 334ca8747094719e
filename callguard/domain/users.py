"""Users of CallGuard (staff, managers, the chief executive, admins)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from callguard.domain.roles import Role


class User(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    role: Role
    display_name: str = ""
    email: str | None = None
    # §6.5: every member of staff has a line manager, who is told when they end a call.
    line_manager: str | None = None


class Actor(BaseModel):
    """Who is acting, for permission checks and the audit trail."""

    model_config = ConfigDict(frozen=True)
    name: str
    role: Role


# NCSC guidance: length over complexity rules; a cap keeps hashing cheap to ask for.
PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256


def password_problems(password: str) -> list[str]:
    """Why a new password is not acceptable (empty when it is)."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return [f"must be at least {PASSWORD_MIN_LENGTH} characters"]
    if len(password) > PASSWORD_MAX_LENGTH:
        return [f"must be at most {PASSWORD_MAX_LENGTH} characters"]
    if not password.strip():
        return ["must not be only spaces"]
    return []


@dataclass(frozen=True)
class Session:
    """A signed-in web session (``callguard.store.sessions`` keeps it in Redis)."""

    id: str
    user: str
    role: Role
    csrf: str
    created_at: float
    # Signed in through the single-sign-on proxy (no sign-out form of our own makes sense).
    sso: bool = False
