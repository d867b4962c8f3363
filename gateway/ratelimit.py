"""Rate limits: per company by plan, and per client address for failed authentication.

Counters use the `limits` library's moving window, which counts every hit in
the last window exactly (no burst at window edges). In memory by default; with
`CRM_RATE_LIMIT_STORAGE=redis://...` every process and host shares them, and the
hit is one atomic Redis script, so a limit holds however many servers run.

**Redis going away never takes the API down** (fail open, as rate limiters
commonly do): every Redis call is bounded by `REDIS_SECONDS`; when one fails,
requests are counted by per-process counters instead (the same limits, per
process), one warning is logged for the outage, readiness reports it, and
Redis is tried again every `RETRY_SECONDS` until it answers.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindowRateLimiter
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from crm.companies.schemas import Plan
from crm.companies.service import effective_plan
from crm.settings import RateLimit, Settings

log = logging.getLogger("gateway.ratelimit")

# A Redis answers in a millisecond; one that has not within this is away (the
# bound leaves room for a busy event loop, which delays reading the answer).
REDIS_SECONDS = 0.5
# While Redis is away, how often one request tries it again.
RETRY_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    policy: str
    quota: int
    window: int
    remaining: int
    reset: int  # seconds until the quota is whole again

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The IETF RateLimit-Policy and RateLimit structured headers."""
        policy = f'"{self.policy}";q={self.quota};w={self.window}'
        state = f'"{self.policy}";r={self.remaining};t={self.reset}'
        return [(b"ratelimit-policy", policy.encode()), (b"ratelimit", state.encode())]


class CoarseSweepMemoryStorage(MemoryStorage):
    """`limits`' in-memory storage, sweeping expired hits at most once a second.

    The stock storage starts a sweeping thread whenever the last one has ended,
    that is about every ten milliseconds under load. Counting is not affected:
    the moving window reads each hit's own time; the sweep only frees memory.
    """

    _next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # the stock hook's mangled name
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + 1.0
            super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]


def _item(limit: RateLimit, namespace: str) -> RateLimitItem:
    return RateLimitItemPerSecond(limit.count, limit.window, namespace=namespace)


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        url = settings.rate_limit_storage
        # In process memory the synchronous storage is the cheaper one (no I/O to
        # await, half the cost of the asynchronous one per hit); a shared store
        # (Redis) is reached asynchronously.
        # While a shared store is away, the local counters stand in for it.
        self._local = MovingWindowRateLimiter(CoarseSweepMemoryStorage())
        self._shared: AsyncMovingWindowRateLimiter | None = None
        self._retry_at: float | None = None  # set while the shared store is away
        if not url.startswith("memory://"):
            async_url = url if url.startswith("async+") else f"async+{url}"
            self._shared = AsyncMovingWindowRateLimiter(
                storage_from_string(
                    async_url, stream_timeout=REDIS_SECONDS, connect_timeout=REDIS_SECONDS
                )
            )
        self._plans = {
            Plan.FREE: _item(settings.rate_limit_free, "plan"),
            Plan.PRO: _item(settings.rate_limit_pro, "plan"),
            Plan.ENTERPRISE: _item(settings.rate_limit_enterprise, "plan"),
        }
        self._auth = _item(settings.auth_failure_limit, "auth")

    @property
    def degraded(self) -> bool:
        """True while the shared store is away and limits are counted per process."""
        return self._retry_at is not None

    def _lost(self, exc: BaseException) -> None:
        if self._retry_at is None:
            log.warning(
                "rate-limit storage unreachable (%s); counting per process until it returns",
                exc.__class__.__name__,
            )
        self._retry_at = time.monotonic() + RETRY_SECONDS

    def _found(self) -> None:
        if self._retry_at is not None:
            log.warning("rate-limit storage reachable again; limits are shared again")
            self._retry_at = None

    async def probe(self) -> bool:
        """Ask the shared store whether it answers (for readiness); True when it does."""
        if self._shared is None:
            return True
        try:
            async with asyncio.timeout(REDIS_SECONDS):
                if not await self._shared.storage.check():
                    raise ConnectionError("no answer to PING")
        except Exception as exc:
            self._lost(exc)
            return False
        self._found()
        return True

    async def _decide(self, item: RateLimitItem, policy: str, ident: str, hit: bool) -> Decision:
        shared = self._shared
        if shared is not None and (self._retry_at is None or time.monotonic() >= self._retry_at):
            try:
                async with asyncio.timeout(REDIS_SECONDS):
                    allowed = (
                        await shared.hit(item, ident) if hit else await shared.test(item, ident)
                    )
                    stats = await shared.get_window_stats(item, ident)
            except Exception as exc:  # away, frozen or refusing: count here meanwhile
                self._lost(exc)
            else:
                self._found()
                return self._decision(item, policy, allowed, stats.remaining, stats.reset_time)
        local = self._local
        allowed = local.hit(item, ident) if hit else local.test(item, ident)
        stats = local.get_window_stats(item, ident)
        return self._decision(item, policy, allowed, stats.remaining, stats.reset_time)

    @staticmethod
    def _decision(
        item: RateLimitItem, policy: str, allowed: bool, remaining: int, reset_time: float
    ) -> Decision:
        return Decision(
            allowed=allowed,
            policy=policy,
            quota=item.amount,
            window=item.get_expiry(),
            remaining=max(0, remaining),
            # The moving window frees its oldest hit at reset_time.
            reset=max(0, math.ceil(reset_time - time.time())),
        )

    async def hit_company(self, company_id: str, plan: str, subscription_status: str) -> Decision:
        """Count one request against the limit of the company's effective plan."""
        item = self._plans[effective_plan(plan, subscription_status)]
        return await self._decide(item, "plan", company_id, hit=True)

    async def check_address(self, address: str) -> Decision:
        """Whether this address may still try to authenticate (counts nothing)."""
        return await self._decide(self._auth, "auth", address, hit=False)

    async def fail_address(self, address: str) -> Decision:
        """Count one failed authentication from this address."""
        return await self._decide(self._auth, "auth", address, hit=True)
