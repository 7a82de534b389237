"""``build_dingtalk``: what each mode exposes, and the configurations it refuses."""

from __future__ import annotations

import aiohttp
import pytest

from bot.platforms.dingtalk import DingtalkConfigError, build_dingtalk
from cards import render_card
from tests.dingtalk.conftest import (
    CARD_TOKEN,
    EVENT_AES_KEY,
    EVENT_TOKEN,
    RecordingSink,
    config_for,
)
from tests.fakes.dingtalk import FakeDingtalk


async def test_stream_mode_has_one_worker_and_no_routes(
    fake: FakeDingtalk, http: aiohttp.ClientSession, sink: RecordingSink
) -> None:
    platform = build_dingtalk(config_for(fake), http, render_card, sink)
    assert platform.name == "dingtalk"
    assert platform.routes == ()
    assert list(platform.workers()) == ["dingtalk-stream"]


async def test_http_mode_routes(
    fake: FakeDingtalk, http: aiohttp.ClientSession, sink: RecordingSink
) -> None:
    config = config_for(fake, mode="http", card_callback_token=CARD_TOKEN,
                        event_token=EVENT_TOKEN, event_aes_key=EVENT_AES_KEY)
    platform = build_dingtalk(config, http, render_card, sink)
    assert platform.routes == (
        ("POST", "/dingtalk/robot"), ("POST", "/dingtalk/events"),
        ("POST", f"/dingtalk/cards/{CARD_TOKEN}"),
    )
    assert platform.workers() == {}


async def test_http_mode_without_event_keys_has_no_events_route(
    fake: FakeDingtalk, http: aiohttp.ClientSession, sink: RecordingSink
) -> None:
    config = config_for(fake, mode="http", card_callback_token=CARD_TOKEN)
    routes = build_dingtalk(config, http, render_card, sink).routes
    assert ("POST", "/dingtalk/events") not in routes


@pytest.mark.parametrize("token", ["", "short"])
async def test_http_mode_needs_an_unguessable_card_token(
    fake: FakeDingtalk, http: aiohttp.ClientSession, sink: RecordingSink, token: str
) -> None:
    with pytest.raises(DingtalkConfigError, match="card_callback_token"):
        build_dingtalk(config_for(fake, mode="http", card_callback_token=token), http,
                       render_card, sink)


async def test_a_bad_event_key_names_the_config_key(
    fake: FakeDingtalk, http: aiohttp.ClientSession, sink: RecordingSink
) -> None:
    config = config_for(fake, event_token="t", event_aes_key="too-short")
    with pytest.raises(DingtalkConfigError, match=r"dingtalk\.event_aes_key"):
        build_dingtalk(config, http, render_card, sink)
