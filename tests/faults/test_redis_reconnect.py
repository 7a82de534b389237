"""RedisStorage after its Redis restarts: once Redis answers again, every call succeeds.

Connections idle in the pool while Redis was away still point at the dead server; the first
command on each would fail ("Connection closed by server") although Redis is back — a 503 to
the platform, or a worker crash that leaves its leased rows waiting out their visibility.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage.base import StorageUnavailable
from storage.redis import RedisStorage
from tests.faults.support import RedisServer

pytestmark = pytest.mark.redis

CONCURRENT = 12


async def test_no_stale_connection_fails_once_redis_is_back(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    await redis.start()
    storage = RedisStorage(redis.url)
    await storage.open()
    try:
        # Many calls at once fill the pool with connections, which then sit idle.
        await asyncio.gather(*(storage.mark_seen("wecom", f"a{n}", 60) for n in range(CONCURRENT)))
        await redis.kill()
        with pytest.raises(StorageUnavailable):
            await storage.mark_seen("wecom", "during", 60)
        assert not await storage.ping()
        await redis.start()
        results = await asyncio.gather(
            *(storage.mark_seen("wecom", f"b{n}", 60) for n in range(CONCURRENT)),
            return_exceptions=True,
        )
        assert [r for r in results if r is not True] == []
        assert await storage.ping()
    finally:
        await storage.close()
        await redis.kill()
