"""The scenario suites' usual journey: the real app on the loopback platform with the demo org
(test_budgets and test_invoices define their own, with their config)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.fakes.loopback import LoopDirectory, LoopPlatform, loop_factory
from tests.scenario.journey import DEPARTMENTS, USERS, Journey, journey_config

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def journey(aiohttp_client: ClientMaker, tmp_path: Path) -> Journey:
    from bot.app import create_app

    platform = LoopPlatform("feishu", directory=LoopDirectory(dict(USERS), dict(DEPARTMENTS)))
    app = create_app(journey_config(tmp_path), platforms=[loop_factory(platform)])
    return Journey(await aiohttp_client(app), platform)
