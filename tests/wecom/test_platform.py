"""``build_wecom`` wires one adapter the server can mount."""

from __future__ import annotations

import aiohttp

from bot.config_model import WecomConfig
from bot.events import Event
from bot.platforms.base import Ingested, PlatformAdapter
from bot.platforms.wecom import build_wecom
from cards import render_card
from tests.wecom.conftest import AES_KEY, AGENT_ID, CORP_ID, TOKEN


async def sink(event: Event, budget: float) -> Ingested:
    return Ingested(duplicate=False)


async def test_build_wecom(http: aiohttp.ClientSession) -> None:
    config = WecomConfig(CORP_ID, AGENT_ID, "secret", TOKEN, AES_KEY, "http://127.0.0.1:1")
    adapter: PlatformAdapter = build_wecom(config, http, render_card, sink)
    assert adapter.name == "wecom"
    assert list(adapter.routes) == [("GET", "/wecom/callback"), ("POST", "/wecom/callback")]
    assert 0 < adapter.card_budget < 5
    assert adapter.workers() == {}
