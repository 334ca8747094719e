"""Users and API tokens. Tokens are stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import cast

from redis.asyncio import Redis

from callguard.domain.roles import Role
from callguard.domain.users import User
from callguard.store import keys

TOKEN_PREFIX = "cg_"  # noqa: S105 - a marker, not a secret


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserStore:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def put_user(self, user: User) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(keys.user(user.name), user.model_dump_json())
            pipe.sadd(keys.USERS, user.name)
            await pipe.execute()

    async def get_user(self, name: str) -> User | None:
        raw = await self.redis.get(keys.user(name))
        return User.model_validate_json(raw) if raw else None

    async def list_users(self) -> list[User]:
        names = sorted(cast(set[str], await self.redis.smembers(keys.USERS)))
        raws = await self.redis.mget([keys.user(n) for n in names]) if names else []
        return [User.model_validate_json(r) for r in raws if r]

    async def create_token(self, user: str, role: Role) -> str:
        """A new random token for ``user``; only its hash is stored."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        await self.redis.set(
            keys.token(hash_token(token)), json.dumps({"user": user, "role": role.value})
        )
        return token

    async def resolve_token(self, token: str) -> tuple[str, Role] | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        raw = await self.redis.get(keys.token(hash_token(token)))
        if raw is None:
            return None
        data = json.loads(raw)
        return str(data["user"]), Role(data["role"])
