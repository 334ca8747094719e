"""Users, API tokens and passwords. Tokens are stored only as SHA-256 hashes; passwords only
as argon2id hashes, under their own key so that no dump of a user ever carries one."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from callguard.domain.roles import Role
from callguard.domain.users import User
from callguard.store.keys import Keys

# Any name a stored user can have (``User.name``); nothing else is looked up.
STORED_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
TOKEN_PREFIX = "cg_"  # noqa: S105 - a marker, not a secret


# argon2-cffi's defaults (RFC 9106 low-memory profile: argon2id, t=3, m=64 MiB, p=4).
_HASHER = PasswordHasher()
# Checked against when the user is unknown, so that an unknown name takes as long as a
# wrong password and sign-in does not tell which names exist.
_DUMMY_HASH = _HASHER.hash("callguard: no such user")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        # Password hashes checked by this process (each costs ~64 MiB and tens of ms).
        self.passwords_checked = 0
        self.keys = keys

    async def put_user(self, user: User) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.user(user.name), user.model_dump_json())
            pipe.sadd(self.keys.USERS, user.name)
            await pipe.execute()

    async def get_user(self, name: str) -> User | None:
        if not STORED_NAME.fullmatch(name):
            # No such user can exist; and a name such as "sam:password" would name another
            # key (the password hash), never to be read as a user.
            return None
        raw = await self.redis.get(self.keys.user(name))
        return User.model_validate_json(raw) if raw else None

    async def list_users(self) -> list[User]:
        names = sorted(cast(set[str], await self.redis.smembers(self.keys.USERS)))
        raws = await self.redis.mget([self.keys.user(n) for n in names]) if names else []
        return [User.model_validate_json(r) for r in raws if r]

    async def create_token(self, user: str, role: Role) -> str:
        """A new random token for ``user``; only its hash is stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        await self.redis.set(
            self.keys.token(hash_token(token)), json.dumps({"user": user, "role": role.value})
        )
        return token

    async def resolve_token(self, token: str) -> tuple[str, Role] | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        raw = await self.redis.get(self.keys.token(hash_token(token)))
        if raw is None:
            return None
        data = json.loads(raw)
        return str(data["user"]), Role(data["role"])

    async def set_password(self, name: str, password: str) -> None:
        """Store an argon2id hash of ``password`` (hashed off the event loop)."""
        hashed = await asyncio.to_thread(_HASHER.hash, password)
        await self.redis.set(self.keys.password(name), hashed)

    async def has_password(self, name: str) -> bool:
        return bool(await self.redis.exists(self.keys.password(name)))

    async def check_password(self, name: str, password: str) -> bool:
        """True when ``password`` is the user's; rehashes it if the parameters changed."""
        stored = cast(str | None, await self.redis.get(self.keys.password(name)))
        self.passwords_checked += 1
        ok = await asyncio.to_thread(_verify, stored or _DUMMY_HASH, password)
        if not ok or stored is None:
            return False
        if _HASHER.check_needs_rehash(stored):
            await self.set_password(name, password)
        return True


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False
