"""The demo server with its emulator, on an ephemeral port, for the emulator's own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.emulator.demo import build_demo
from bot.emulator.web import Emulator
from tests.emulator.support import Demo

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def demo(aiohttp_client: ClientMaker, tmp_path: Path) -> AsyncIterator[Demo]:
    app, config, emulator = await build_demo(tmp_path, "127.0.0.1", 0)
    try:
        client = await aiohttp_client(app)
        await emulator.dingtalk.connected(within=10)
        yield Demo(client, emulator, config)
    finally:
        await emulator.close()


@pytest.fixture
def emulator(demo: Demo) -> Emulator:
    return demo.emulator
