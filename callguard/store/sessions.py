"""Web sign-in state in Redis: server-side sessions and the failed sign-in counter.

The browser holds only a random session id; Redis holds its SHA-256, so a copy of the
store does not let anyone sign in. Sessions expire after ``SESSION_IDLE_TTL_S`` without
use, and after ``SESSION_MAX_S`` whatever happens.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from typing import cast

from redis.asyncio import Redis

from callguard.domain.roles import Role
from callguard.domain.users import Session
from callguard.store.account_scripts import RESERVE_SIGN_IN
from callguard.store.keys import LOGIN_WINDOW_S, SESSION_IDLE_TTL_S, SESSION_MAX_S, Keys


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def create(self, user: str, role: Role, now: datetime, *, sso: bool = False) -> Session:
        session = Session(
            id=secrets.token_urlsafe(32),
            user=user,
            role=role,
            csrf=secrets.token_urlsafe(32),
            created_at=now.timestamp(),
            sso=sso,
        )
        digest = _hash(session.id)
        key = self.keys.session(digest)
        mine = self.keys.user_sessions(user)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "user": session.user,
                    "role": session.role.value,
                    "csrf": session.csrf,
                    "created_at": repr(session.created_at),
                    "sso": "1" if sso else "0",
                    "flash": "[]",
                    # In the user's set of sessions (ended together; CONTRACT §5).
                    "listed": "1",
                },
            )
            pipe.expire(key, SESSION_IDLE_TTL_S)
            pipe.sadd(mine, digest)
            pipe.expire(mine, SESSION_MAX_S)
            await pipe.execute()
        return session

    async def get(self, session_id: str, now: datetime) -> Session | None:
        """The live session for this id (its idle timer restarted), or None."""
        if not session_id or len(session_id) > 100:
            return None
        key = self.keys.session(_hash(session_id))
        fields = cast(dict[str, str], await self.redis.hgetall(key))
        if not fields:
            return None
        created_at = float(fields["created_at"])
        # A session from before users' sets of sessions could not be ended with the others:
        # its user signs in again once.
        if now.timestamp() - created_at > SESSION_MAX_S or fields.get("listed") != "1":
            await self.delete(session_id, fields.get("user"))
            return None
        await self.redis.expire(key, SESSION_IDLE_TTL_S)
        return Session(
            id=session_id,
            user=fields["user"],
            role=Role(fields["role"]),
            csrf=fields["csrf"],
            created_at=created_at,
            sso=fields.get("sso") == "1",
        )

    async def delete(self, session_id: str, user: str | None = None) -> None:
        """End one session (``user``, when known, saves reading it)."""
        digest = _hash(session_id)
        if user is None:
            user = cast(str | None, await self.redis.hget(self.keys.session(digest), "user"))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.session(digest))
            if user:
                pipe.srem(self.keys.user_sessions(user), digest)
            await pipe.execute()

    async def count_of(self, user: str) -> int:
        """How many sessions ``user`` has (some may have run out)."""
        return int(await self.redis.scard(self.keys.user_sessions(user)))

    async def flash(self, session_id: str, message: str) -> None:
        """Keep a message to show on the next page (after a redirect)."""
        key = self.keys.session(_hash(session_id))
        raw = await self.redis.hget(key, "flash")
        if raw is None:
            return
        messages = [*json.loads(raw), message][-5:]
        await self.redis.hset(key, "flash", json.dumps(messages))

    async def take_flashes(self, session_id: str) -> list[str]:
        key = self.keys.session(_hash(session_id))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, "flash")
            pipe.hset(key, "flash", "[]")
            raw, _ = await pipe.execute()
        if raw is None:
            await self.redis.delete(key)  # hset on a gone session made a stub: drop it
            return []
        return [str(m) for m in json.loads(raw)]


class LoginThrottle:
    """At most ``max_failures`` failed sign-ins per name in ``LOGIN_WINDOW_S`` (a sliding
    window); past that the name is locked until the oldest failure leaves the window or an
    admin unlocks it. Unknown names are counted the same way, so lock-out does not tell
    which names exist.

    An attempt is *reserved* (``reserve``, one atomic script) before its password is checked
    and counts as a failure unless it succeeds (``clear``): so attempts arriving at the same
    moment cannot all pass the check, and at most ``max_failures`` passwords per name are
    ever hashed in the window; the rest are refused without a hash."""

    def __init__(self, redis: Redis, keys: Keys, max_failures: int = 5) -> None:
        self.redis = redis
        self.keys = keys
        self.max_failures = max_failures
        self._reserve = redis.register_script(RESERVE_SIGN_IN)

    async def reserve(self, name: str, now: datetime) -> int:
        """Take an attempt for ``name``: 0 when taken (check the password now), else the
        seconds until the name may try again (nothing taken, no password to check)."""
        taken, oldest = await self._reserve(
            keys=[self._key(name)],
            args=[
                repr(now.timestamp()),
                LOGIN_WINDOW_S,
                self.max_failures,
                secrets.token_hex(8),
            ],
        )
        if int(taken):
            return 0
        return max(1, int(float(oldest) + LOGIN_WINDOW_S - now.timestamp()))

    def _key(self, name: str) -> str:
        # Names are case-insensitive here so "Sam" and "sam" share one counter.
        return self.keys.login_failures(name.strip().lower()[:64])

    async def locked_for_s(self, name: str, now: datetime) -> int:
        """Seconds until ``name`` may try again; 0 when it is not locked."""
        key = self._key(name)
        start = now.timestamp() - LOGIN_WINDOW_S
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", start)
            pipe.zrange(key, 0, -1, withscores=True)
            _, failures = await pipe.execute()
        if len(failures) < self.max_failures:
            return 0
        # Unlocked when enough failures have aged out to drop below the limit.
        oldest_relevant = failures[-self.max_failures][1]
        return max(1, int(oldest_relevant + LOGIN_WINDOW_S - now.timestamp()))

    async def clear(self, name: str) -> None:
        await self.redis.delete(self._key(name))
