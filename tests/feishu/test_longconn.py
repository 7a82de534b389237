"""``mode = "websocket"``: lark-oapi's ws.Client on its own thread, events into the main loop."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import pytest

from bot.config_model import FeishuConfig
from bot.events import CardActionEvent, Event, MessageEvent
from bot.platforms.base import Ingested
from bot.platforms.feishu import build_feishu
from bot.platforms.feishu.inbound import FeishuInbound
from bot.platforms.feishu.longconn import FrameBridge
from bot.replies import InlineReply, Toast
from cards import render_card
from cards.samples import sample
from tests.fakes.feishu import FeishuCallbacks
from tests.feishu.conftest import TOKEN, RecordingSink

pytest.importorskip("lark_oapi")
from tests.feishu.ws_fake import FakeLongConnection


@pytest.fixture
async def server(config: FeishuConfig) -> AsyncIterator[FakeLongConnection]:
    fake = FakeLongConnection(config.app_id, config.app_secret)
    await fake.start()
    yield fake
    await fake.close()


async def test_events_and_card_clicks_over_the_long_connection(
    config: FeishuConfig, server: FakeLongConnection
) -> None:
    inline = InlineReply(Toast("已同意", "success"), "approval_decided", sample("approval_decided"))
    sink = RecordingSink(inline)
    ws_config = replace(config, mode="websocket", base_url=server.url, verification_token="")
    async with aiohttp.ClientSession() as http:
        platform = build_feishu(ws_config, http, render_card, sink)
        workers = platform.workers()
        assert set(workers) == {"feishu-identity", "feishu-ws"}
        task: asyncio.Future[None] = asyncio.ensure_future(workers["feishu-ws"]())
        try:
            callbacks = FeishuCallbacks(TOKEN)  # frames are plain JSON, no envelope
            message = callbacks.message("ou_a", {"text": "报销 打车 45"}, message_id="om_ws")
            answer = await server.push(message)
            assert answer["code"] == 200
            assert "data" not in answer
            click = callbacks.card_action("ou_boss", {"a": "approve:BX-1:1"})
            answer = await server.push(click)
            assert answer["data"]["toast"] == {"type": "success", "content": "已同意"}
            assert answer["data"]["card"]["data"]["schema"] == "2.0"
            await server.push(message)  # a re-push: recorded once
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert [type(e) for e in sink.events] == [MessageEvent, CardActionEvent]
    assert sink.events[0].event_id == "msg:om_ws"


async def test_a_dead_endpoint_does_not_block_the_main_loop(config: FeishuConfig) -> None:
    ws_config = replace(config, mode="websocket", base_url="http://127.0.0.1:9")
    async with aiohttp.ClientSession() as http:
        platform = build_feishu(ws_config, http, render_card, RecordingSink())
        task: asyncio.Future[None] = asyncio.ensure_future(platform.workers()["feishu-ws"]())
        await asyncio.sleep(0.2)
        ticks = 0
        for _ in range(5):
            await asyncio.sleep(0.01)
            ticks += 1
        assert ticks == 5
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_the_package_does_not_import_lark_oapi() -> None:
    code = "import sys, bot.platforms.feishu; sys.exit('lark_oapi' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], check=False)  # noqa: S603 - our own code
    assert run.returncode == 0


class SlowSink(RecordingSink):
    def __init__(self, delay: float = 0.0, error: Exception | None = None) -> None:
        super().__init__()
        self.delay = delay
        self.error = error

    async def __call__(self, event: Event, budget: float) -> Ingested:
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return await super().__call__(event, budget)


def bridge(config: FeishuConfig, sink: RecordingSink) -> FrameBridge:
    inbound = FeishuInbound(config, render_card)
    return FrameBridge(inbound, sink, 2.0, asyncio.get_running_loop(), answer_within=0.2)


async def test_a_card_click_not_yet_recorded_is_not_answered(config: FeishuConfig) -> None:
    """An answer would acknowledge a click that may not be on disk yet."""
    frame = json.dumps(FeishuCallbacks(TOKEN).card_action("ou_a", {"a": "x:1:1"})).encode()
    with pytest.raises(TimeoutError):
        await asyncio.to_thread(bridge(config, SlowSink(delay=0.5)).handle, frame)


async def test_an_unrecorded_event_is_not_acknowledged(config: FeishuConfig) -> None:
    frame = json.dumps(FeishuCallbacks(TOKEN).message("ou_a", {"text": "x"})).encode()
    for sink in (SlowSink(delay=0.5), SlowSink(error=RuntimeError("storage down"))):
        with pytest.raises((TimeoutError, RuntimeError)):
            await asyncio.to_thread(bridge(config, sink).handle, frame)


async def test_an_unreadable_frame_is_dropped(config: FeishuConfig) -> None:
    sink = RecordingSink()
    assert await asyncio.to_thread(bridge(config, sink).handle, b"{not json") is None
    assert sink.events == []
