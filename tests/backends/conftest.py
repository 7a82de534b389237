"""Shared fixtures: a SQLite storage, a webhook peer on port 0, a client session."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from storage import open_storage
from storage.base import Storage
from tests.backends.fake_webhook import FakeWebhookPeer


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
