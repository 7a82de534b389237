"""Shared fixtures: a Feishu config, the fake open platform, and a platform wired to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from bot.config_model import FeishuConfig
from bot.events import Event
from bot.platforms.base import InboundRequest, Ingested
from bot.platforms.feishu import FeishuPlatform, build_feishu
from bot.replies import InlineReply
from cards import render_card
from tests.fakes.feishu import FakeFeishu, FeishuCallbacks

TOKEN = "test-verification-token"
KEY = "test-encrypt-key"


@pytest.fixture
def config() -> FeishuConfig:
    return FeishuConfig(
        app_id="cli_fake", app_secret="fake-secret", verification_token=TOKEN, encrypt_key=KEY
    )


@pytest.fixture
def callbacks() -> FeishuCallbacks:
    return FeishuCallbacks(TOKEN, KEY)


class RecordingSink:
    """The pipeline's entry reduced to dedup by event id plus an optional inline reply."""

    def __init__(self, inline: InlineReply | None = None) -> None:
        self.events: list[Event] = []
        self.seen: set[str] = set()
        self.inline = inline

    async def __call__(self, event: Event, budget: float) -> Ingested:
        duplicate = event.event_id in self.seen
        self.seen.add(event.event_id)
        if not duplicate:
            self.events.append(event)
        return Ingested(duplicate=duplicate, inline=self.inline)


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
async def fake() -> AsyncIterator[FakeFeishu]:
    server = FakeFeishu()
    await server.start()
    yield server
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def platform(
    config: FeishuConfig, fake: FakeFeishu, http: aiohttp.ClientSession, sink: RecordingSink
) -> FeishuPlatform:
    return build_feishu(replace(config, base_url=fake.url), http, render_card, sink)


def request(body: bytes, headers: dict[str, str], path: str = "/feishu/events") -> InboundRequest:
    lowered = {k.lower(): v for k, v in headers.items()}
    return InboundRequest("POST", path, lowered, {}, body)


def sealed(
    callbacks: FeishuCallbacks, payload: dict[str, Any], path: str = "/feishu/events"
) -> InboundRequest:
    return request(*callbacks.seal(payload), path=path)
