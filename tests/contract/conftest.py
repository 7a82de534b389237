"""Fixtures for the storage contract suite: one ``storage`` fixture, parametrized by backend.

SQLite runs on a fresh file under ``tmp_path``. Redis runs on the server at
``CLAIMBOT_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``) under a key prefix unique to the
test, deleted afterwards, so parallel runs never see each other's keys. When that server does not
answer, the Redis cases are skipped with the reason; CI refuses such a run.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import redis

from storage.base import Storage
from storage.redis import RedisStorage
from storage.sqlite import SqliteStorage
from tests.contract.support import FakeClock, MakeStorage
from tests.redis_keys import REDIS_URL, delete_prefix


def _redis_problem() -> str | None:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"Redis does not answer at {REDIS_URL} (set CLAIMBOT_TEST_REDIS_URL): {exc}"
    finally:
        client.close()
    return None


@pytest.fixture(scope="session")
def redis_problem() -> str | None:
    return _redis_problem()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def backend(request: pytest.FixtureRequest, redis_problem: str | None) -> str:
    """The backend under test; parametrize it indirectly with ``support.BACKENDS``."""
    name: str = request.param
    if name == "redis" and redis_problem:
        pytest.skip(redis_problem)
    return name


@pytest.fixture
async def make_storage(
    backend: str, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[MakeStorage]:
    """Open more instances over the same store as ``storage`` (another worker, a reopen)."""
    prefix = f"claimbot-test:{uuid.uuid4().hex}:"
    opened: list[Storage] = []

    async def make(**kw: Any) -> Storage:
        kw.setdefault("clock", clock)
        store: Storage
        if backend == "sqlite":
            store = SqliteStorage(str(tmp_path / "claimbot.db"), **kw)
        else:
            store = RedisStorage(REDIS_URL, prefix=prefix, **kw)
        await store.open()
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()
    if backend == "redis":
        await delete_prefix(prefix)


@pytest.fixture
async def storage(make_storage: MakeStorage) -> Storage:
    return await make_storage()
