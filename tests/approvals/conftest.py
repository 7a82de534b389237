"""Fixtures: each platform's fake and a ``start`` for its approvals driver; Redis under a key
prefix unique to the test (tests/reminders/conftest.py); a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.approvals.drive import (
    Approvals,
    DingtalkApprovals,
    FeishuApprovals,
    Start,
    WecomApprovals,
    starter,
)
from tests.fakes.dingtalk import FakeDingtalk
from tests.fakes.feishu import FakeFeishu
from tests.fakes.wecom import FakeWecom
from tests.filing.drive import WECOM_CORP, ClientMaker
from tests.reminders.conftest import redis_prefix
from tests.reminders.support import Clock

__all__ = ["redis_prefix"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


async def _start(kind: Callable[..., Approvals], fake: object, make_client: ClientMaker,
                 tmp_path: Path) -> AsyncIterator[Start]:
    started: list[Approvals] = []
    yield starter(kind, make_client, tmp_path, fake, started)
    for driver in started:
        await driver.stop()


@pytest.fixture
async def feishu(aiohttp_client: ClientMaker, tmp_path: Path) -> AsyncIterator[Start]:
    fake = FakeFeishu()
    await fake.start()
    async for start in _start(FeishuApprovals, fake, aiohttp_client, tmp_path):
        yield start
    await fake.close()


@pytest.fixture
async def wecom(aiohttp_client: ClientMaker, tmp_path: Path) -> AsyncIterator[Start]:
    fake = FakeWecom(corp_id=WECOM_CORP)
    await fake.start()
    async for start in _start(WecomApprovals, fake, aiohttp_client, tmp_path):
        yield start
    await fake.close()


@pytest.fixture
async def dingtalk(aiohttp_client: ClientMaker, tmp_path: Path) -> AsyncIterator[Start]:
    fake = FakeDingtalk()
    await fake.start()
    async for start in _start(DingtalkApprovals, fake, aiohttp_client, tmp_path):
        yield start
    await fake.close()
