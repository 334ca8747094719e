"""Users of CallGuard (staff, managers, the chief executive, admins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from callguard.domain.roles import Role

# What a user's name may hold: letters, digits and . _ @ - (it is part of keys and paths).
USER_NAME_PATTERN = r"^[A-Za-z0-9._@-]+$"


class User(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=64, pattern=USER_NAME_PATTERN)
    role: Role
    display_name: str = ""
    email: str | None = None
    # §6.5: every member of staff has a line manager, who is told when they end a call.
    line_manager: str | None = None
    # Disabled: cannot sign in; sessions and API tokens refused (CONTRACT §5).
    disabled: bool = False

    @property
    def full_name(self) -> str:
        """How pages, messages and letters name them: their full name, else their user name."""
        return self.display_name or self.name


# A new user's name (CONTRACT §5): letters, digits, ".", "_" and "-". Users stored before
# this rule (an "@" in a single-sign-on name) keep working; no new one gets such a name.
# A new user's name: letters, digits, . _ and -, with at least one letter or digit (a name
# of dots alone would be a path no page can reach).
NEW_USER_NAME = r"(?=[._-]*[A-Za-z0-9])[A-Za-z0-9._-]{1,64}"


class Actor(BaseModel):
    """Who is acting, for permission checks and the audit trail."""

    model_config = ConfigDict(frozen=True)
    name: str
    role: Role


class TokenInfo(BaseModel):
    """What is kept about an API token beside its hash: never the token itself."""

    model_config = ConfigDict(frozen=True)
    id: str
    user: str
    # None for a token made before tokens had ids (adopted when first used).
    created: datetime | None = None
    last_used: datetime | None = None
    expires: datetime | None = None


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
