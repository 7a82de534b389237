"""Shared fixtures: SQLite (and Redis) storage, a webhook peer on port 0, a client session."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from storage import open_storage
from storage.base import Storage, StorageUnavailable
from tests.backends.fake_webhook import FakeWebhookPeer
from tests.redis_keys import REDIS_URL, delete_prefix


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    store = open_storage(f"sqlite:///{tmp_path / 'sync.db'}")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def peer() -> AsyncIterator[tuple[FakeWebhookPeer, str]]:
    fake = FakeWebhookPeer()
    server = TestServer(fake.app(), port=0)
    await server.start_server()
    yield fake, str(server.make_url("/hook"))
    await server.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client




@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
async def any_storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """SQLite, then a real Redis under a prefix of its own (deleted afterwards)."""
    if request.param == "sqlite":
        store = open_storage(f"sqlite:///{tmp_path / 'sync.db'}")
        await store.open()
        yield store
        await store.close()
        return
    prefix = f"claimbot-test:{uuid.uuid4().hex}:"
    store = open_storage(REDIS_URL, prefix=prefix)
    try:
        await store.open()
    except StorageUnavailable as exc:
        pytest.skip(f"Redis does not answer at {REDIS_URL}: {exc}")
    yield store
    await store.close()
    await delete_prefix(prefix)
