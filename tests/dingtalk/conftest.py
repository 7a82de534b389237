"""Fixtures for the DingTalk adapter: the fake platform, a session, and a recording sink."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config_model import DingtalkConfig
from bot.events import CardActionEvent, Event
from bot.platforms.base import Ingested
from bot.replies import InlineReply
from tests.fakes.dingtalk import FakeDingtalk

EVENT_TOKEN = "mryue"
EVENT_AES_KEY = "Yue0EfdN5900c1ce5cf6A152c63DDe1808a60c5ecd7"
CARD_TOKEN = "card-callback-token-0123456789"


class RecordingSink:
    """The pipeline's contract in miniature: dedup by event id, record, then return.

    ``gate`` holds every call until set (to watch what happens before the record is durable);
    ``failures`` makes the next calls raise, as a storage outage would.
    """

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.calls = 0
        self.seen: set[str] = set()
        self.gate: asyncio.Event | None = None
        self.inline: InlineReply | None = None
        self.failures = 0

    async def __call__(self, event: Event, budget: float) -> Ingested:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("storage unavailable")
        duplicate = event.event_id in self.seen
        if not duplicate:
            self.seen.add(event.event_id)
            self.events.append(event)
        inline = self.inline if isinstance(event, CardActionEvent) and not duplicate else None
        return Ingested(duplicate, inline)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingtalk]:
    platform = FakeDingtalk()
    await platform.start()
    yield platform
    await platform.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


def config_for(fake: FakeDingtalk, **overrides: str) -> DingtalkConfig:
    values = {
        "client_id": fake.client_id, "client_secret": fake.client_secret,
        "base_url": fake.url, "oapi_base_url": fake.url, "card_template_id": "tpl-0001.schema",
        **overrides,
    }
    return DingtalkConfig(**values)  # type: ignore[arg-type]
