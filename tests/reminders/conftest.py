"""Fixtures: a shared Redis under a key prefix unique to the test (skipped when Redis is down)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis

from tests.redis_keys import REDIS_URL, delete_prefix
from tests.reminders.support import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A fresh key prefix on the test Redis; every key under it is deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis does not answer at {REDIS_URL} (set CLAIMBOT_TEST_REDIS_URL): {exc}")
    finally:
        client.close()
    prefix = f"claimbot-test:{uuid.uuid4().hex}:"
    yield prefix
    await delete_prefix(prefix)
