"""Leases for scheduled jobs, so one replica at a time performs each run.

A lease is ``SET lock:{job} token NX PX lease_ms``: whoever set it holds it until it is
released or expires. Releasing and extending compare the token first (in Lua, so nobody
else's lease is touched between the check and the write): a replica that stalled past its
lease and lost it cannot release or extend the lease another replica now holds. A replica
that dies holding a lease simply stops extending it, and another takes over when it expires.

A lease is not a guarantee of exclusion (a stalled holder may still be writing when its
lease expires), so every job's writes are also idempotent: each reminder is guarded by its
own marker (``store.outbox``), each deletion is counted only if it deleted something.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

from callguard.store.keys import JOB_RUN_TTL_S, Keys

# RELEASE_LEASE: delete the lease only if it is still ours.
#   KEYS[1] lock:{job}   ARGV[1] our token
# Returns 1 when released, 0 when it was not ours (expired, or another replica's).
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# EXTEND_LEASE: push the lease's expiry out only if it is still ours.
#   KEYS[1] lock:{job}   ARGV[1] our token   ARGV[2] new lease, ms
# Returns 1 when extended, 0 when it was lost.
EXTEND_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# FINISH_RUN: mark a job's run for a trigger period as done, then release the lease if it
# is still ours, in one step (no window where the run is neither locked nor marked).
#   KEYS[1] lock:{job}   KEYS[2] job:{job}:{period}
#   ARGV[1] our token    ARGV[2] marker value   ARGV[3] marker ttl, s
# Returns 1 when the lease was ours and is released, 0 when it had been lost.
FINISH_RUN = """
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Lease:
    job: str
    token: str
    lease_ms: int


class Leases:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._release = redis.register_script(RELEASE_LEASE)
        self._extend = redis.register_script(EXTEND_LEASE)
        self._finish = redis.register_script(FINISH_RUN)

    async def acquire(self, job: str, lease_ms: int) -> Lease | None:
        """The lease on ``job``, or None when another replica holds it."""
        token = secrets.token_hex(16)
        taken = await self.redis.set(self.keys.job_lock(job), token, nx=True, px=lease_ms)
        return Lease(job, token, lease_ms) if taken else None

    async def extend(self, lease: Lease) -> bool:
        """False when the lease was lost (it expired and perhaps another replica took it)."""
        result = await self._extend(
            keys=[self.keys.job_lock(lease.job)], args=[lease.token, lease.lease_ms]
        )
        return bool(result)

    async def release(self, lease: Lease) -> bool:
        result = await self._release(keys=[self.keys.job_lock(lease.job)], args=[lease.token])
        return bool(result)

    async def holder(self, job: str) -> str | None:
        """The token holding ``job`` now (for tests and diagnostics)."""
        token = await self.redis.get(self.keys.job_lock(job))
        return str(token) if token is not None else None

    # --- runs per trigger period ---------------------------------------------------------

    async def run_done(self, job: str, period: str) -> bool:
        return bool(await self.redis.exists(self.keys.job_run(job, period)))

    async def finish(self, lease: Lease, period: str, summary: str) -> bool:
        """Mark ``period``'s run done and release the lease; False if it had been lost."""
        result = await self._finish(
            keys=[self.keys.job_lock(lease.job), self.keys.job_run(lease.job, period)],
            args=[lease.token, summary, JOB_RUN_TTL_S],
        )
        return bool(result)
