"""The test Redis and cleaning up after a test: every suite that uses it keeps its keys under a
prefix of its own and deletes them afterwards."""

from __future__ import annotations

import os

import redis.asyncio as aioredis

REDIS_URL = os.environ.get("CLAIMBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def delete_prefix(prefix: str, url: str = REDIS_URL) -> None:
    """Delete every key under ``prefix`` (in batches, so a big run stays within arg limits)."""
    client = aioredis.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(keys), 500):
            await client.delete(*keys[start : start + 500])
    finally:
        await client.aclose()
