"""An access-token cache shared by the platform clients: early refresh, one refresh at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    expires_in: float  # seconds, as the platform reports it


class TokenCache:
    """Holds one token; ``get()`` refreshes it ``margin`` seconds before it expires.

    Concurrent callers share one refresh (double-checked under a lock), and ``invalidate()``
    lets a client drop a token the platform called expired so the next ``get()`` fetches anew.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[Token]],
        *,
        margin: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._margin = margin
        self._clock = clock
        self._value = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return bool(self._value) and self._clock() < self._expires_at

    async def get(self) -> str:
        if self._fresh():
            return self._value
        async with self._lock:
            if not self._fresh():
                token = await self._fetch()
                lifetime = max(token.expires_in - self._margin, token.expires_in / 2)
                self._value = token.value
                self._expires_at = self._clock() + lifetime
        return self._value

    def invalidate(self, value: str | None = None) -> None:
        """Forget the token (only if it is still ``value``, when given, so a newer one survives)."""
        if value is None or value == self._value:
            self._value = ""
            self._expires_at = 0.0
