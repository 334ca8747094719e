"""Roles (CONTRACT §4) and what each may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    staff = "staff"
    manager = "manager"
    chief_executive = "chief_executive"
    admin = "admin"


# Personal-data roles, lowest first. ``admin`` manages users and tokens and sees no personal data.
_RANK = {Role.staff: 1, Role.manager: 2, Role.chief_executive: 3}


def has_at_least(role: Role, needed: Role) -> bool:
    """True when ``role`` carries ``needed`` (admin only carries admin)."""
    if needed is Role.admin or role is Role.admin:
        return role is needed
    return _RANK[role] >= _RANK[needed]
