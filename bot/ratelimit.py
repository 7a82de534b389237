"""Token-bucket rate limits at the HTTP edge: per route before decoding, per sender after.

The buckets live in this process: with N instances behind a round-robin balancer the effective
limit is N times the configured one. That is deliberate: a shared limiter would put a Redis
round trip in front of every callback, and the limits exist to shed floods, not to meter.

A limited request is answered ``429`` *before anything is recorded*, never recorded-and-dropped:
platforms redeliver what they did not get a 2xx for, so a limited event arrives again later and
is applied then (dedup makes the repeat harmless), while an acknowledged event is never lost.
A flooding sender's excess, once the platform gives up retrying, is what gets shed.

The same middleware refuses a body on routes that take none (health, readiness, metrics).
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from bot.config_model import ServerConfig
from bot.events import Event
from bot.metrics import Metrics

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BODYLESS_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
MAX_KEYS = 50_000  # buckets kept per limiter; idle ones go first, then the least recently used


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``rate`` tokens a second per key, up to ``burst`` saved; one request spends one token."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1, got {rate} and {burst}")
        self.rate, self.burst = rate, float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def allow(self, key: str) -> bool:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            self._make_room(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        else:
            self._buckets.move_to_end(key)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self.burst, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def __len__(self) -> int:
        return len(self._buckets)

    def _make_room(self, now: float) -> None:
        if len(self._buckets) < self._max_keys:
            return
        refill = self.burst / self.rate  # a bucket idle this long is full: the same as no bucket
        for key in [k for k, b in self._buckets.items() if now - b.updated >= refill]:
            del self._buckets[key]
        while len(self._buckets) >= self._max_keys:
            self._buckets.popitem(last=False)


@dataclass(frozen=True, slots=True)
class EdgeLimits:
    route: RateLimiter | None = None
    sender: RateLimiter | None = None

    @classmethod
    def from_config(cls, server: ServerConfig) -> EdgeLimits:
        """A rate of 0 turns that limit off."""
        return cls(
            route=_limiter(server.rate_limit_route, server.rate_limit_route_burst),
            sender=_limiter(server.rate_limit_sender, server.rate_limit_sender_burst),
        )


def _limiter(rate: float, burst: int) -> RateLimiter | None:
    return RateLimiter(rate, burst) if rate > 0 else None


def too_many(metrics: Metrics, route: str, reason: str) -> web.Response:
    metrics.rate_limited.labels(route, reason).inc()
    return web.json_response(
        {"error": "too many requests"}, status=429, headers={"Retry-After": "1"}
    )


# Routes whose last segment is a secret (DingTalk's card callback token): never a label.
SECRET_ROUTES = ("/dingtalk/cards/",)


def route_name(request: web.Request) -> str:
    """The route's bounded, secret-free name: a metrics label and a per-route limiter key."""
    resource = request.match_info.route.resource
    if resource is None:
        return "unmatched"
    name = resource.canonical
    return next((p + "…" for p in SECRET_ROUTES if name.startswith(p)), name)


def edge_middleware(
    limits: EdgeLimits, metrics: Metrics
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Per-route limit (before any decoding) and no body where a route takes none."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        route = route_name(request)
        if limits.route is not None and not limits.route.allow(route):
            return too_many(metrics, route, "route")
        if route in BODYLESS_ROUTES and request.body_exists:
            return web.json_response({"error": "this route takes no body"}, status=413)
        return await handler(request)

    return guard


SenderGate = Callable[[web.Request, Sequence[Event]], web.Response | None]


def sender_gate(limits: EdgeLimits, metrics: Metrics) -> SenderGate | None:
    """After decoding, before anything is recorded: 429 when a request's sender is over limit."""
    limiter = limits.sender
    if limiter is None:
        return None

    def admit(request: web.Request, events: Sequence[Event]) -> web.Response | None:
        for event in events:
            actor = getattr(event, "actor", None)
            if actor is not None and not limiter.allow(actor.key):
                return too_many(metrics, route_name(request), "sender")
        return None

    return admit


def bearer_ok(request: web.Request, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time; True when no token is set."""
    if not token:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    offered = given.strip().encode("utf-8", "surrogateescape")  # header bytes as they came
    return scheme.lower() == "bearer" and hmac.compare_digest(offered, token.encode())
