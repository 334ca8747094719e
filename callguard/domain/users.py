"""Users of CallGuard (staff, managers, the chief executive, admins)."""

from __future__ import annotations

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
