"""Accounts: who can sign in and with what (CONTRACT §5). The ``callguard user`` and
``callguard token`` commands and the admin pages both come here.

- A new user's name is letters, digits, ``.``, ``_`` and ``-``; a new password passes
  ``callguard.passwords``.
- A password change, a change of role and disabling end every session of the user in the
  same step as the change (``UserStore.set_password`` / ``replace_user``, one Lua script).
- An API token acts with its user's role *of the moment*: demoted, the token follows at once;
  disabled (or removed), the token is refused.
- Each change is in the audit trail (who did it, to which user or token; never a secret).

A refusal is an ``AccountProblem`` holding one sentence to show as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from callguard.domain.audit import AuditEntry
from callguard.domain.fields import EMAIL_PATTERN, HIDDEN_CHARACTERS, has_hidden_characters
from callguard.domain.roles import Role
from callguard.domain.users import NEW_USER_NAME, Actor, TokenInfo, User
from callguard.passwords import password_problem
from callguard.services.errors import KeptChanging
from callguard.store.sessions import LoginThrottle
from callguard.store.users import LastAdmin, UserChanged, UserStore

# Who acts from the command line: someone with the server's own access.
COMMAND_LINE = Actor(name="command line", role=Role.admin)
MAX_TOKEN_DAYS = 3650
_NEW_NAME = re.compile(NEW_USER_NAME)
_ROLE_WORDS = {
    Role.staff: "staff",
    Role.manager: "a manager",
    Role.chief_executive: "the chief executive",
    Role.admin: "an admin",
}


class AccountProblem(Exception):
    """Why an account change was refused, as one sentence for the person asking."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Accounts:
    def __init__(self, users: UserStore, throttle: LoginThrottle) -> None:
        self.users = users
        self.throttle = throttle

    # --- users -------------------------------------------------------------------------------

    async def create_user(
        self,
        name: str,
        role: Role,
        password: str | None,
        now: datetime,
        *,
        display_name: str = "",
        email: str | None = None,
        line_manager: str | None = None,
        by: Actor = COMMAND_LINE,
    ) -> User:
        """A new user; with a password they can sign in to the pages at once."""
        if not _NEW_NAME.fullmatch(name):
            raise AccountProblem(
                "Choose a user name of at most 64 letters, digits, '.', '_' or '-', with at "
                "least one letter or digit",
                "name",
            )
        taken = [u.name for u in await self.users.list_users() if u.name.lower() == name.lower()]
        if taken:  # "Alice" beside "alice" would be two people to everyone reading a page
            raise AccountProblem(f"A user named {taken[0]} already exists", "name")
        _check_details(display_name, email)
        if password is not None:
            self._check_password(password, name)
        await self._check_line_manager(line_manager, name)
        try:
            user = User(
                name=name,
                role=role,
                display_name=display_name or name,
                email=email or None,
                line_manager=line_manager or None,
            )
        except ValueError as error:
            raise AccountProblem(f"That user cannot be stored: {error}") from None
        if not await self.users.add_user(user):
            raise AccountProblem(f"A user named {name} already exists", "name")
        if password is not None:
            await self.users.set_password(name, password)
        await self._audit(by, now, "user.create", name, role.value)
        return user

    async def set_password(
        self, name: str, password: str, now: datetime, *, by: Actor = COMMAND_LINE
    ) -> int:
        """A new password; every session of the user ends. How many sessions ended."""
        await self._existing(name)
        self._check_password(password, name)
        ended = await self.users.set_password(name, password)
        await self.throttle.clear(name)
        await self._audit(by, now, "user.password", name, f"{ended} sessions ended")
        return ended

    async def role_change_refused(self, current: User, role: Role) -> AccountProblem | None:
        """Why ``current`` may not be given ``role`` (the only admin who can sign in), if it
        may not: a form can say so beside its other problems."""
        if current.role is Role.admin and role is not Role.admin:
            try:
                await self._keep_an_admin(current.name)
            except AccountProblem as refused:
                return refused
        return None

    async def update_user(self, updated: User, now: datetime, *, by: Actor) -> int:
        """Store the admin's changes to a user; a change of role ends their sessions.
        How many sessions ended. Whether they are disabled is theirs, not this form's; the
        last enabled admin keeps the role."""
        _check_details(updated.display_name, updated.email)
        await self._check_line_manager(updated.line_manager, updated.name)
        if updated.role not in LINE_MANAGER_ROLES:
            await self._check_manages_no_one(updated.name, "given a role that manages no one")
        current, new, ended = await self._replace(
            updated.name,
            lambda stored: updated.model_copy(update={"disabled": stored.disabled}),
            end_sessions=lambda stored, new: new.role is not stored.role,
        )
        if new.role is current.role:
            await self._audit(by, now, "user.update", new.name)
            return 0
        detail = f"role {current.role.value} -> {new.role.value}; {ended} sessions ended"
        await self._audit(by, now, "user.role", new.name, detail)
        return ended

    async def set_disabled(
        self, name: str, disabled: bool, now: datetime, *, by: Actor = COMMAND_LINE
    ) -> int:
        """Disable (every session ends; sign-in and tokens refused) or enable a user. How
        many sessions ended. The last enabled admin is not disabled."""
        if disabled and by.name == name:
            raise AccountProblem("You cannot disable your own account")
        if disabled:
            await self._check_manages_no_one(name, "disabled")
        _current, _new, ended = await self._replace(
            name,
            lambda stored: stored.model_copy(update={"disabled": disabled}),
            end_sessions=lambda _stored, _new: True,
        )
        action = "user.disable" if disabled else "user.enable"
        await self._audit(by, now, action, name, f"{ended} sessions ended" if disabled else "")
        return ended

    async def _replace(
        self,
        name: str,
        change: Callable[[User], User],
        *,
        end_sessions: Callable[[User, User], bool],
    ) -> tuple[User, User, int]:
        """``change`` applied to the user as stored, written only if they are still so and
        an enabled admin remains (``REPLACE_USER``), read again and retried when another
        change landed first: (the user as it was, as it is, how many sessions ended)."""
        for _attempt in range(ACCOUNT_ATTEMPTS):
            current, read = await self._existing_as_stored(name)
            new = change(current)
            try:
                ended = await self.users.replace_checked(
                    read,
                    new,
                    end_sessions=end_sessions(current, new),
                    leaves_no_admin=_enabled_admin(current) and not _enabled_admin(new),
                )
            except UserChanged:
                continue
            except LastAdmin:
                raise _only_admin(name) from None
            return current, new, ended
        raise KeptChanging(f"{name}'s account")

    async def unlocked(self, name: str, now: datetime, *, by: Actor) -> None:
        """Audit an admin's lifting of a user's sign-in lock-out (the throttle is the web
        layer's; the decision is recorded here)."""
        await self._audit(by, now, "user.unlock", name)

    # --- API tokens --------------------------------------------------------------------------

    async def create_token(
        self,
        user_name: str,
        role: Role,
        now: datetime,
        *,
        expires_in_days: int | None = None,
        line_manager: str | None = None,
        by: Actor = COMMAND_LINE,
    ) -> tuple[TokenInfo, str]:
        """A token for ``user_name``, made with ``role`` if the user is new; an existing
        user keeps their role (a token cannot change it)."""
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
            raise AccountProblem(f"Give --expires-in-days as a number from 1 to {MAX_TOKEN_DAYS}")
        user = await self.users.get_user(user_name)
        if user is None:
            user = await self.create_user(
                user_name, role, None, now, line_manager=line_manager, by=by
            )
        else:
            if user.role is not role:
                raise AccountProblem(
                    f"{user.name} is {_ROLE_WORDS[user.role]}, not {_ROLE_WORDS[role]}: a token "
                    "acts with its user's role; change the role on the admin pages first"
                )
            if user.disabled:
                raise AccountProblem(f"{user.name} is disabled: enable them first")
            if line_manager and line_manager != user.line_manager:
                await self._check_line_manager(line_manager, user.name)
                # Checked at the write, as every change to an account: a disable made
                # meanwhile stands (the token is then refused, as the user's are).
                _before, user, _ended = await self._replace(
                    user.name,
                    lambda stored: stored.model_copy(update={"line_manager": line_manager}),
                    end_sessions=lambda _stored, _new: False,
                )
        expires = now + timedelta(days=expires_in_days) if expires_in_days else None
        info, token = await self.users.issue_token(user.name, role, now, expires)
        await self._audit(by, now, "token.create", info.id, f"for {user.name}")
        return info, token

    async def list_tokens(self, user_name: str | None = None) -> list[TokenInfo]:
        tokens = await self.users.list_tokens()
        return [t for t in tokens if user_name is None or t.user == user_name]

    async def revoke_token(
        self, token_id: str, now: datetime, *, by: Actor = COMMAND_LINE
    ) -> TokenInfo:
        revoked = await self.users.revoke_token(token_id)
        if revoked is None:
            raise AccountProblem(f"There is no token {token_id[:40]!r} (see: callguard token list)")
        await self._audit(by, now, "token.revoke", token_id, f"of {revoked.user}")
        return revoked

    async def actor_for_token(self, token: str, now: datetime) -> Actor | None:
        """Who this API token acts as, with their role of the moment; None when the token is
        unknown, revoked or expired, or its user is disabled or gone (401)."""
        info = await self.users.resolve_token(token, now)
        if info is None:
            return None
        user = await self.users.get_user(info.user)
        if user is None or user.disabled:
            return None
        return Actor(name=user.name, role=user.role)

    # --- shared ------------------------------------------------------------------------------

    async def _existing(self, name: str) -> User:
        user = await self.users.get_user(name)
        if user is None:
            raise AccountProblem(f"There is no user named {name[:64]!r}", "name")
        return user

    async def _keep_an_admin(self, leaving: str) -> None:
        """Refuse to leave no enabled admin (nobody could manage users from the pages): the
        check a form makes before it is sent (the write checks again, ``REPLACE_USER``)."""
        others = [
            u
            for u in await self.users.list_users()
            if u.role is Role.admin and not u.disabled and u.name != leaving
        ]
        if not others:
            raise _only_admin(leaving)

    async def _check_manages_no_one(self, name: str, becoming: str) -> None:
        """§6.5: a member of staff's line manager is told when they end a call. Someone who
        is still a line manager is not to be disabled or given a role that manages no one:
        their staff would go on naming a manager who is never told."""
        users = await self.users.list_users()
        staff = [u for u in users if u.line_manager == name and not u.disabled]
        if staff:
            manager = next((u.full_name for u in users if u.name == name), name)
            names = ", ".join(u.full_name for u in staff[:3])
            more = f" and {len(staff) - 3} others" if len(staff) > 3 else ""
            raise AccountProblem(
                f"{manager} is the line manager of {names}{more}: give "
                f"{'them' if len(staff) > 1 else 'that person'} another line manager before "
                f"{manager} is {becoming}",
                "role",
            )

    async def _existing_as_stored(self, name: str) -> tuple[User, str]:
        found = await self.users.user_as_stored(name)
        if found is None:
            raise AccountProblem(f"There is no user named {name[:64]!r}", "name")
        return found

    @staticmethod
    def _check_password(password: str, name: str) -> None:
        problem = password_problem(password, name)
        if problem:
            raise AccountProblem(problem, "password")

    async def line_manager_refused(
        self, line_manager: str | None, name: str
    ) -> AccountProblem | None:
        """Why ``line_manager`` may not be ``name``'s line manager, if they may not (a form
        says so beside its other problems): themselves, unknown, disabled, or a role that
        manages no one."""
        if not line_manager:
            return None
        if line_manager == name:
            return AccountProblem("A user cannot be their own line manager", "line_manager")
        manager = await self.users.get_user(line_manager)
        if manager is None or manager.role not in LINE_MANAGER_ROLES or manager.disabled:
            return AccountProblem(
                "The line manager must be someone who can sign in, with the manager or chief "
                "executive role",
                "line_manager",
            )
        return None

    async def _check_line_manager(self, line_manager: str | None, name: str) -> None:
        refused = await self.line_manager_refused(line_manager, name)
        if refused is not None:
            raise refused

    async def _audit(
        self, by: Actor, now: datetime, action: str, target: str, detail: str = ""
    ) -> None:
        await self.users.audit(
            AuditEntry(
                at=now, who=by.name, role=by.role.value, action=action, target=target, detail=detail
            )
        )


# Roles whose holders may be a member of staff's line manager (§6.5).
LINE_MANAGER_ROLES = frozenset({Role.manager, Role.chief_executive})

# Tries at a change to an account that another change, written between its reading and its
# writing, made stale (each loss means that change landed; this one is checked again).
ACCOUNT_ATTEMPTS = 10


def _enabled_admin(user: User) -> bool:
    return user.role is Role.admin and not user.disabled


def _only_admin(name: str) -> AccountProblem:
    return AccountProblem(
        f"{name} is the only admin who can sign in: make another admin first", "role"
    )


def _check_details(display_name: str, email: str | None) -> None:
    """A user's full name and email address as people type them (the record itself takes
    whatever an earlier release stored)."""
    if has_hidden_characters(display_name):
        raise AccountProblem(f"The full name {HIDDEN_CHARACTERS}", "display_name")
    if email and not re.fullmatch(EMAIL_PATTERN, email.strip()):
        raise AccountProblem(
            "Enter an email address in the correct format, like name@example.com", "email"
        )
