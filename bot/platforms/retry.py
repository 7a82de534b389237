"""Retrying platform API calls: exponential backoff with full jitter, honouring Retry-After."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.platforms.base import TransientAPIError

T = TypeVar("T")


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Full-jitter delay before retry number ``attempt`` (1-based)."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))  # noqa: S311 - jitter only


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 4,
    base: float = 0.5,
    cap: float = 30.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``call``; on :class:`TransientAPIError` wait and try again, up to ``attempts`` tries.

    The platform's own ``retry_after`` wins over the computed delay. The last error propagates,
    so the outbox worker can schedule a later retry instead of blocking here for long.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except TransientAPIError as exc:
            if attempt == attempts:
                raise
            delay = exc.retry_after
            if delay is None:
                delay = backoff_delay(attempt, base, cap)
            await sleep(min(delay, cap))
    raise AssertionError("unreachable")  # pragma: no cover
