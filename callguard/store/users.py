"""Users, API tokens and passwords. Tokens are stored only as SHA-256 hashes; passwords only
as argon2id hashes, under their own key so that no dump of a user ever carries one."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import unicodedata
from datetime import UTC, datetime
from typing import Any, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis
from redis.exceptions import WatchError

from callguard.clock import SystemClock
from callguard.domain.audit import AuditEntry
from callguard.domain.roles import Role
from callguard.domain.users import TokenInfo, User
from callguard.store import audit as audit_store
from callguard.store.account_scripts import REPLACE_USER, SET_ENDING_SESSIONS
from callguard.store.keys import Keys
from callguard.store.readable import Shown, read_each, read_one
from callguard.store.scripts import lua

# Any name a stored user can have (``User.name``); nothing else is looked up.
STORED_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
TOKEN_PREFIX = "cg_"  # noqa: S105 - a marker, not a secret
TOKEN_ID_PREFIX = "tok_"  # noqa: S105 - a marker, not a secret
TOKEN_ID = re.compile(r"tok_[0-9a-f]{12}")
# A token's last use is written at most this often (each use is a request).
LAST_USED_EVERY_S = 60


# argon2-cffi's defaults (RFC 9106 low-memory profile: argon2id, t=3, m=64 MiB, p=4).
_HASHER = PasswordHasher()
# Checked against when the user is unknown, so that an unknown name takes as long as a
# wrong password and sign-in does not tell which names exist.
_DUMMY_HASH = _HASHER.hash("callguard: no such user")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserChanged(Exception):
    """A user's record changed between its reading and a write checked against it."""


class LastAdmin(Exception):
    """A change would have left no enabled admin."""


class UserStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        # Password hashes checked by this process (each costs ~64 MiB and tens of ms).
        self.passwords_checked = 0
        self.keys = keys
        self._set_ending_sessions = redis.register_script(lua(SET_ENDING_SESSIONS, keys))
        self._replace_user = redis.register_script(lua(REPLACE_USER, keys))
        # Token id -> epoch this process last wrote its last use.
        self._last_used_written: dict[str, float] = {}

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
        # One account read on its own is read strictly (``Unreadable``, answered with a plain
        # 409): taking one this release cannot read for absent would end its sessions on
        # every replica, or pass its reminders on.
        return read_one("the account", name, raw, User.model_validate_json)

    async def user_as_stored(self, name: str) -> tuple[User, str] | None:
        """The user and their record as stored (for ``replace_checked``), or None."""
        if not STORED_NAME.fullmatch(name):
            return None
        raw = cast(str | None, await self.redis.get(self.keys.user(name)))
        user = read_one("the account", name, raw, User.model_validate_json)
        return None if user is None or raw is None else (user, raw)

    async def replace_checked(
        self, read: str, new: User, *, end_sessions: bool, leaves_no_admin: bool
    ) -> int:
        """Store ``new`` over the record ``read`` (``REPLACE_USER``): how many of their
        sessions ended. ``UserChanged`` when the record is no longer ``read`` (nothing is
        stored: read it again); ``LastAdmin`` when ``leaves_no_admin`` and no other enabled
        admin remains (nothing is stored)."""
        answer = await self._replace_user(
            keys=[self.keys.user(new.name), self.keys.user_sessions(new.name), self.keys.USERS],
            args=[
                read,
                new.model_dump_json(),
                "1" if end_sessions else "0",
                "1" if leaves_no_admin else "0",
                new.name,
            ],
        )
        kind = answer[0].decode() if isinstance(answer[0], bytes) else str(answer[0])
        if kind == "changed":
            raise UserChanged(new.name)
        if kind == "last_admin":
            raise LastAdmin(new.name)
        return int(answer[1])

    async def list_users(self) -> Shown[User]:
        """Every account this release can read (one it cannot, written by a later release
        with a role this one does not know, say, is logged and left out: it takes no page
        that names staff, and no other account, down with it)."""
        names = sorted(cast(set[str], await self.redis.smembers(self.keys.USERS)))
        raws = await self.redis.mget([self.keys.user(n) for n in names]) if names else []
        stored = zip(names, raws, strict=True)
        return Shown.of(read_each("the account", stored, User.model_validate_json))

    async def add_user(self, user: User) -> bool:
        """Store a new user; False (nothing stored) when the name is taken."""
        if not await self.redis.set(self.keys.user(user.name), user.model_dump_json(), nx=True):
            return False
        await self.redis.sadd(self.keys.USERS, user.name)
        return True

    async def replace_user(self, user: User) -> int:
        """Store the changed user (a new role, disabled) and end every session of theirs in
        the same step; how many sessions ended."""
        return int(
            await self._set_ending_sessions(
                keys=[self.keys.user(user.name), self.keys.user_sessions(user.name)],
                args=[user.model_dump_json()],
            )
        )

    async def audit(self, entry: AuditEntry) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            audit_store.add(pipe, self.keys, entry)
            await pipe.execute()

    # --- API tokens --------------------------------------------------------------------------

    async def create_token(self, user: str, role: Role, now: datetime | None = None) -> str:
        """A new token for ``user`` that does not expire (tests, the demo); see ``issue_token``."""
        _info, token = await self.issue_token(user, role, now or SystemClock().now())
        return token

    async def issue_token(
        self, user: str, role: Role, now: datetime, expires: datetime | None = None
    ) -> tuple[TokenInfo, str]:
        """A new random token for ``user``, and what is kept about it; only its hash is
        stored. ``role`` is what it was made for (kept for the record: a token acts with its
        user's role of the moment)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(
            id=TOKEN_ID_PREFIX + secrets.token_hex(6), user=user, created=now, expires=expires
        )
        digest = hash_token(token)
        record = {
            "id": info.id,
            "user": user,
            "role": role.value,
            "created": now.timestamp(),
            "expires": expires.timestamp() if expires else None,
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.token(digest), json.dumps(record))
            if expires is not None:
                # Relative, so Redis's clock need not agree with ours; a minute's grace
                # (the expiry itself is checked on every use).
                ttl_s = int((expires - now).total_seconds()) + 60
                pipe.expire(self.keys.token(digest), max(ttl_s, 60))
            pipe.hset(self.keys.TOKENS, info.id, digest)
            await pipe.execute()
        return info, token

    async def resolve_token(self, token: str, now: datetime) -> TokenInfo | None:
        """What is kept about this token, or None when it is unknown, revoked or expired.
        Its last use is written at most once a minute (by this process)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = hash_token(token)
        raw = await self.redis.get(self.keys.token(digest))
        if raw is None:
            return None
        data = json.loads(raw)
        if "id" not in data:
            data = await self._adopt(digest, data)
        expires = data.get("expires")
        if expires is not None and now.timestamp() >= float(expires):
            return None
        token_id = str(data["id"])
        last_written = self._last_used_written.get(token_id)
        if last_written is None or now.timestamp() - last_written >= LAST_USED_EVERY_S:
            self._last_used_written[token_id] = now.timestamp()
            await self.redis.hset(self.keys.TOKENS_USED, token_id, repr(now.timestamp()))
        return _token_info(token_id, data, now.timestamp())

    async def _adopt(self, digest: str, data: dict[str, Any]) -> dict[str, Any]:
        """Give a token made before tokens had ids its id (from its hash, so two processes
        adopting it at once give it the same one), so it can be listed and revoked."""
        adopted = {**data, "id": TOKEN_ID_PREFIX + digest[:12], "created": None, "expires": None}
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.token(digest), json.dumps(adopted), xx=True)
            pipe.hset(self.keys.TOKENS, adopted["id"], digest)
            await pipe.execute()
        return adopted

    async def list_tokens(self) -> list[TokenInfo]:
        """Every live token (never the token itself), oldest first; a revoked or expired
        token's entry is dropped as it is found."""
        ids = cast(dict[str, str], await self.redis.hgetall(self.keys.TOKENS))
        if not ids:
            return []
        order = sorted(ids)
        raws = await self.redis.mget([self.keys.token(ids[i]) for i in order])
        used = await self.redis.hmget(self.keys.TOKENS_USED, order)
        found: list[TokenInfo] = []
        gone: list[str] = []
        for token_id, raw, last in zip(order, raws, used, strict=True):
            if raw is None:
                gone.append(token_id)
                continue
            found.append(_token_info(token_id, json.loads(raw), float(last) if last else None))
        if gone:
            await self.redis.hdel(self.keys.TOKENS, *gone)
            await self.redis.hdel(self.keys.TOKENS_USED, *gone)
        epoch = datetime.fromtimestamp(0, UTC)
        return sorted(found, key=lambda t: (t.created or epoch, t.id))

    async def revoke_token(self, token_id: str) -> TokenInfo | None:
        """Revoke the token with this id (it gets 401 from then on); None if there is none."""
        if not TOKEN_ID.fullmatch(token_id):
            return None
        digest = cast(str | None, await self.redis.hget(self.keys.TOKENS, token_id))
        if digest is None:
            return None
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.getdel(self.keys.token(digest))
            pipe.hdel(self.keys.TOKENS, token_id)
            pipe.hdel(self.keys.TOKENS_USED, token_id)
            raw, _, _ = await pipe.execute()
        return _token_info(token_id, json.loads(raw), None) if raw else None

    async def set_password(self, name: str, password: str) -> int:
        """Store an argon2id hash of ``password`` (hashed off the event loop) and end every
        session of the user in the same step; how many sessions ended."""
        hashed = await asyncio.to_thread(_HASHER.hash, _composed(password))
        return int(
            await self._set_ending_sessions(
                keys=[self.keys.password(name), self.keys.user_sessions(name)], args=[hashed]
            )
        )

    async def has_password(self, name: str) -> bool:
        return bool(await self.redis.exists(self.keys.password(name)))

    async def check_password(self, name: str, password: str) -> bool:
        """True when ``password`` is the user's."""
        return await self.verify_password(name, password) is not None

    async def verify_password(self, name: str, password: str) -> str | None:
        """The stored hash when ``password`` is the user's (rehashed first if the parameters
        changed, without ending any session), else None. Sign-in compares it with
        ``password_hash`` once its session exists: a change in between ends that session."""
        stored = cast(str | None, await self.redis.get(self.keys.password(name)))
        self.passwords_checked += 1
        composed = _composed(password)
        ok = await asyncio.to_thread(_verify, stored or _DUMMY_HASH, composed)
        if not ok and composed != password:
            # A password set before passwords were composed, typed as it was then; for an
            # unknown name too (against the dummy), so the time taken does not tell.
            ok = await asyncio.to_thread(_verify, stored or _DUMMY_HASH, password)
            self.passwords_checked += 1
        if not ok or stored is None:
            return None
        if _HASHER.check_needs_rehash(stored):
            rehashed = await asyncio.to_thread(_HASHER.hash, composed)
            # Only if unchanged meanwhile (a new password set by an admin wins).
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(self.keys.password(name))
                    if await pipe.get(self.keys.password(name)) != stored:
                        return None
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(self.keys.password(name), rehashed)
                    await pipe.execute()
                except WatchError:
                    return None
            return rehashed
        return stored

    async def password_hash(self, name: str) -> str | None:
        return cast(str | None, await self.redis.get(self.keys.password(name)))


def _composed(password: str) -> str:
    """The password with its accented letters in one form (Unicode NFC): "é" typed as one
    character on one keyboard and as "e" and an accent on another is the same password."""
    return unicodedata.normalize("NFC", password)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _when(epoch: object) -> datetime | None:
    return datetime.fromtimestamp(float(str(epoch)), UTC) if epoch is not None else None


def _token_info(token_id: str, data: dict[str, Any], last_used: float | None) -> TokenInfo:
    return TokenInfo(
        id=token_id,
        user=str(data["user"]),
        created=_when(data.get("created")),
        last_used=_when(last_used),
        expires=_when(data.get("expires")),
    )
