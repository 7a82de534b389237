"""``mode = "websocket"``: our aiohttp long-connection client against a fake Feishu server.

The fake (``ws_fake``) frames with lark-oapi's generated protobuf module, so the client's own
codec meets an independent implementation of the wire format.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import pytest

from bot.config_model import FeishuConfig
from bot.events import CardActionEvent, Event, MessageEvent
from bot.platforms.base import Ingested
from bot.platforms.feishu import build_feishu, frames
from bot.platforms.feishu.inbound import FeishuInbound
from bot.platforms.feishu.longconn import (
    ClientConfig,
    FrameBridge,
    LongConnection,
    LongConnSettings,
    answer_frame,
)
from bot.replies import InlineReply, Toast
from cards import render_card
from cards.samples import sample
from tests.fakes.feishu import FakeFeishu, FeishuCallbacks
from tests.feishu.conftest import TOKEN, RecordingSink

pytest.importorskip("lark_oapi")
from tests.feishu.ws_fake import BAD_CREDENTIALS, FakeLongConnection, data_frame

FAST = LongConnSettings(backoff_base=0.01, backoff_cap=0.05, drain_timeout=1.0)
CALLBACKS = FeishuCallbacks(TOKEN)  # frames are plain JSON, no envelope
INLINE = InlineReply(Toast("已同意", "success"), "approval_decided", sample("approval_decided"))


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        for _ in iter(condition, True):
            await asyncio.sleep(0.01)


class GatedSink(RecordingSink):
    """Records only once ``gate`` is set; fails ``failures`` times first."""

    def __init__(self, inline: InlineReply | None = None) -> None:
        super().__init__(inline)
        self.gate = asyncio.Event()
        self.gate.set()
        self.failures = 0
        self.calls = 0

    async def __call__(self, event: Event, budget: float) -> Ingested:
        self.calls += 1
        await self.gate.wait()
        if self.failures:
            self.failures -= 1
            raise RuntimeError("storage down")
        return await super().__call__(event, budget)


class Sleeps:
    """Records the reconnect delays and waits a token amount instead."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0.01)


@pytest.fixture
async def server(config: FeishuConfig) -> AsyncIterator[FakeLongConnection]:
    fake = FakeLongConnection(config.app_id, config.app_secret)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
def ws_config(config: FeishuConfig, server: FakeLongConnection) -> FeishuConfig:
    return replace(config, mode="websocket", base_url=server.url, verification_token="")


@pytest.fixture
def sink() -> GatedSink:
    return GatedSink(INLINE)


@contextlib.asynccontextmanager
async def running(
    config: FeishuConfig, sink: RecordingSink, settings: LongConnSettings = FAST,
    sleep: Callable[[float], Any] | None = None,
) -> AsyncIterator[LongConnection]:
    inbound = FeishuInbound(config, render_card)
    extra: dict[str, Any] = {"sleep": sleep} if sleep is not None else {}
    connection = LongConnection(config, inbound, sink, 2.0, settings=settings, **extra)
    task = asyncio.create_task(connection.run())
    try:
        yield connection
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


@pytest.fixture
async def connection(
    ws_config: FeishuConfig, sink: GatedSink, server: FakeLongConnection
) -> AsyncIterator[LongConnection]:
    async with running(ws_config, sink) as client:
        await server.wait_connected()
        yield client


async def test_the_platform_runs_the_long_connection_as_a_worker(
    ws_config: FeishuConfig, server: FakeLongConnection
) -> None:
    sink = RecordingSink(INLINE)
    async with aiohttp.ClientSession() as http:
        platform = build_feishu(ws_config, http, render_card, sink)
        assert platform.routes == ()
        workers = platform.workers()
        assert set(workers) == {"feishu-identity", "feishu-ws"}
        task: asyncio.Future[None] = asyncio.ensure_future(workers["feishu-ws"]())
        try:
            message = CALLBACKS.message("ou_a", {"text": "报销 打车 45"}, message_id="om_ws")
            answer = await server.push(message)
            assert answer == {"code": 200}
            answer = await server.push(CALLBACKS.card_action("ou_boss", {"a": "approve:BX-1:1"}))
            assert answer["data"]["toast"] == {"type": "success", "content": "已同意"}
            assert answer["data"]["card"]["data"]["schema"] == "2.0"
            assert (await server.push(message))["code"] == 200  # a re-push: recorded once
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert [type(e) for e in sink.events] == [MessageEvent, CardActionEvent]
    assert sink.events[0].event_id == "msg:om_ws"


async def test_the_answer_is_the_received_frame_with_biz_rt_and_a_json_response(
    connection: LongConnection, server: FakeLongConnection
) -> None:
    message_id, answer = await server.send(CALLBACKS.message("ou_a", {"text": "x"}))
    await answer
    frame = server.answers[message_id]
    headers = [(h.key, h.value) for h in frame.headers]
    assert headers[:5] == [("type", "event"), ("message_id", message_id), ("trace_id", "trace"),
                           ("sum", "1"), ("seq", "0")]
    assert headers[5][0] == "biz_rt"
    assert int(headers[5][1]) >= 0
    assert (frame.SeqID, frame.LogID, frame.service, frame.method) == (1, 42, 7, 1)
    assert frame.LogIDNew == "log-new"
    assert json.loads(frame.payload) == {"code": 200}


async def test_the_event_is_recorded_before_the_frame_is_answered(
    connection: LongConnection, server: FakeLongConnection, sink: GatedSink
) -> None:
    sink.gate.clear()
    message = CALLBACKS.message("ou_a", {"text": "x"}, message_id="om_1")
    message_id, answer = await server.send(message)
    await until(lambda: sink.calls == 1)
    await asyncio.sleep(0.2)
    assert not answer.done()
    assert message_id not in server.answers
    sink.gate.set()
    await asyncio.wait_for(answer, 5)
    assert [e.event_id for e in sink.events] == ["msg:om_1"]


async def test_an_event_not_recorded_is_not_answered_and_the_repush_is(
    connection: LongConnection, server: FakeLongConnection, sink: GatedSink
) -> None:
    sink.failures = 1
    message = CALLBACKS.message("ou_a", {"text": "x"}, message_id="om_retry")
    message_id, _ = await server.send(message)
    await until(lambda: sink.calls == 1)
    await asyncio.sleep(0.2)
    assert message_id not in server.answers
    assert (await server.push(message))["code"] == 200
    assert [e.event_id for e in sink.events] == ["msg:om_retry"]


async def test_a_slow_event_does_not_hold_back_the_next(
    connection: LongConnection, server: FakeLongConnection, sink: GatedSink
) -> None:
    sink.gate.clear()
    _, slow = await server.send(CALLBACKS.message("ou_a", {"text": "x"}, message_id="om_slow"))
    await until(lambda: sink.calls == 1)
    sink.gate.set()  # both are recorded; the second is not queued behind the first frame
    fast = await server.push(CALLBACKS.message("ou_a", {"text": "y"}, message_id="om_fast"))
    assert fast["code"] == 200
    await asyncio.wait_for(slow, 5)


async def test_card_clicks_get_the_inline_answer_in_event_and_card_frames(
    connection: LongConnection, server: FakeLongConnection, sink: GatedSink
) -> None:
    for n, kind in enumerate(("event", "card")):
        click = CALLBACKS.card_action("ou_boss", {"a": f"approve:BX-{n}:1"})
        answer = await server.push(click, kind=kind)
        assert answer["code"] == 200
        assert answer["data"]["toast"] == {"type": "success", "content": "已同意"}
        assert answer["data"]["card"]["type"] == "raw"
    assert [type(e) for e in sink.events] == [CardActionEvent, CardActionEvent]


async def test_a_card_click_without_an_inline_reply_is_answered_with_an_empty_body(
    ws_config: FeishuConfig, server: FakeLongConnection
) -> None:
    async with running(ws_config, RecordingSink()):
        answer = await server.push(CALLBACKS.card_action("ou_boss", {"a": "approve:BX-1:1"}))
    assert answer == {"code": 200, "data": {}}


@pytest.mark.parametrize("parts", [2, 3, 7])
async def test_fragmented_payloads_are_reassembled(
    connection: LongConnection, server: FakeLongConnection, sink: GatedSink, parts: int
) -> None:
    text = "报销 打车 45 " + "备注" * 2000
    message = CALLBACKS.message("ou_a", {"text": text}, message_id=f"om_parts_{parts}")
    message_id, answer = await server.send(message, parts=parts)
    assert (await asyncio.wait_for(answer, 5))["code"] == 200
    assert [e.event_id for e in sink.events] == [f"msg:om_parts_{parts}"]
    last = {h.key: h.value for h in server.answers[message_id].headers}
    assert last["seq"] == "0"  # the part that completed the payload (sent last) is answered


async def test_an_incomplete_fragmented_payload_is_neither_recorded_nor_answered(
    connection: LongConnection, server: FakeLongConnection, sink: GatedSink
) -> None:
    body = json.dumps(CALLBACKS.message("ou_a", {"text": "x"})).encode()
    await server.send_raw(data_frame("m-half", body[:10], total=2, seq=0).SerializeToString())
    await asyncio.sleep(0.2)
    assert sink.calls == 0
    assert "m-half" not in server.answers


async def test_pings_are_sent_on_the_endpoints_interval_and_pongs_update_it(
    ws_config: FeishuConfig, server: FakeLongConnection
) -> None:
    server.client_config = {"PingInterval": 0.05, "ReconnectInterval": 3, "ReconnectNonce": 2}
    async with running(ws_config, RecordingSink()) as client:
        await until(lambda: len(server.pings) >= 3)
        assert client.client_config == ClientConfig(0.05, 3.0, 2.0)
        ping = server.pings[0]
        assert (ping.service, ping.method) == (7, 0)
        assert [(h.key, h.value) for h in ping.headers] == [("type", "ping")]
        server.pong_config = {"PingInterval": 0.5, "ReconnectCount": -1}
        await until(lambda: client.client_config.ping_interval == 0.5)
        assert client.client_config.reconnect_interval == 3.0


async def test_a_silent_server_is_a_dead_connection(
    ws_config: FeishuConfig, server: FakeLongConnection
) -> None:
    server.client_config = {"PingInterval": 0.05, "ReconnectNonce": 0}
    server.answer_pings = False
    async with running(ws_config, RecordingSink()):
        await server.wait_connected(3)


async def test_the_client_reconnects_after_the_server_drops_the_socket(
    ws_config: FeishuConfig, server: FakeLongConnection
) -> None:
    sink = RecordingSink()
    sleeps = Sleeps()
    server.client_config = {"ReconnectNonce": 4}
    async with running(ws_config, sink, sleep=sleeps) as client:
        await server.wait_connected()
        for message_id in ("om_1", "om_2"):
            message = CALLBACKS.message("ou_a", {"text": "x"}, message_id=message_id)
            assert (await server.push(message))["code"] == 200
            if message_id == "om_1":
                await server.drop()
                await server.wait_connected(2)
        assert client.connections == 2
    assert [e.event_id for e in sink.events] == ["msg:om_1", "msg:om_2"]
    assert len(sleeps.delays) == 1
    assert 0 <= sleeps.delays[0] <= 4  # within ReconnectNonce after a healthy connection


async def test_bad_credentials_are_retried_with_backoff(
    ws_config: FeishuConfig, server: FakeLongConnection, caplog: pytest.LogCaptureFixture
) -> None:
    sleeps = Sleeps()
    settings = replace(FAST, backoff_base=1.0, backoff_cap=4.0)
    with caplog.at_level(logging.WARNING):
        async with running(replace(ws_config, app_secret="wrong"), RecordingSink(), settings,
                           sleeps) as client:
            await until(lambda: server.endpoint_calls >= 5)
            assert not client.connected
    assert server.connections == 0
    for n, delay in enumerate(sleeps.delays[:5]):
        assert 0 <= delay <= min(4.0, 2.0**n)
    assert f"code {BAD_CREDENTIALS}: bad credentials" in caplog.text


async def test_server_errors_are_retried_with_backoff_until_the_endpoint_answers(
    ws_config: FeishuConfig, server: FakeLongConnection, caplog: pytest.LogCaptureFixture
) -> None:
    server.endpoint_failures = [500, 503, 502]
    sleeps = Sleeps()
    with caplog.at_level(logging.WARNING):
        async with running(ws_config, RecordingSink(), FAST, sleeps):
            await server.wait_connected()
    assert server.endpoint_calls == 4
    assert len(sleeps.delays) == 3
    assert all(0 <= d <= 0.05 for d in sleeps.delays)
    assert "HTTP 503: system busy" in caplog.text


@pytest.mark.parametrize(
    "reply",
    [
        {"code": 0, "data": {}},
        {"code": 0, "data": {"URL": "http://example.test/ws?device_id=d&service_id=1"}},
        {"code": 0, "data": {"URL": "ws://127.0.0.1:9/ws?device_id=d"}},
        {"code": 0, "data": {"URL": "ws://127.0.0.1:9/ws?device_id=d&service_id=x"}},
        {"code": 1, "msg": "system busy"},
        ["not", "an", "object"],
    ],
)
async def test_an_unusable_endpoint_reply_is_retried(
    ws_config: FeishuConfig, server: FakeLongConnection, reply: Any
) -> None:
    server.endpoint_reply = reply
    async with running(ws_config, RecordingSink(), FAST, Sleeps()) as client:
        await until(lambda: server.endpoint_calls >= 3)
        assert client.connections == 0


async def test_cancelling_the_worker_closes_the_socket(
    ws_config: FeishuConfig, server: FakeLongConnection
) -> None:
    async with running(ws_config, RecordingSink()) as client:
        await server.wait_connected()
        await until(lambda: client.connected)
    await server.wait_for(lambda: not server.is_open)
    assert not client.connected


async def test_unreadable_frames_are_dropped_with_a_warning(
    connection: LongConnection, server: FakeLongConnection, sink: GatedSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        await server.send_raw(b"\x08")  # not a frame: nothing to answer
        not_json = data_frame("m-bad", b"{not json")
        await server.send_raw(not_json.SerializeToString())
        await server.wait_for(lambda: "m-bad" in server.answers)
        assert json.loads(server.answers["m-bad"].payload) == {"code": 200}
        ok = await server.push(CALLBACKS.message("ou_a", {"text": "x"}, message_id="om_ok"))
    assert ok["code"] == 200
    assert [e.event_id for e in sink.events] == ["msg:om_ok"]
    assert "truncated varint" in caplog.text
    assert "dropping an unreadable frame" in caplog.text


async def test_data_frames_of_other_types_or_without_headers_are_ignored(
    connection: LongConnection, server: FakeLongConnection, sink: GatedSink
) -> None:
    body = json.dumps(CALLBACKS.message("ou_a", {"text": "x"})).encode()
    await server.send_raw(data_frame("m-other", body, kind="other").SerializeToString())
    no_id = frames.Frame(method=1, headers=(frames.Header("type", "event"),), payload=body)
    await server.send_raw(frames.encode(no_id))
    after = CALLBACKS.message("ou_a", {"text": "y"}, message_id="om_after")
    assert (await server.push(after))["code"] == 200
    assert [e.event_id for e in sink.events] == ["msg:om_after"]
    assert "m-other" not in server.answers


async def test_the_emulators_long_connection_keeps_the_client_online(
    config: FeishuConfig, fake: FakeFeishu
) -> None:
    fake.long_connections.ping_interval = 1
    emulated = replace(config, mode="websocket", base_url=fake.url)
    async with running(emulated, RecordingSink()) as client:
        await until(lambda: client.connected and fake.long_connections.pings >= 2)
        assert client.client_config.ping_interval == 1.0
        async with running(replace(emulated, app_secret="wrong"), RecordingSink(), FAST,
                           Sleeps()) as refused:
            await until(lambda: len([c for c in fake.calls if "ws/endpoint" in c.path]) >= 3)
            assert refused.connections == 0
    await until(lambda: not fake.long_connections.sockets)


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


@pytest.mark.parametrize("module", ["bot.platforms.feishu", "bot.app"])
def test_the_server_does_not_import_lark_oapi(module: str) -> None:
    code = f"import sys, {module}; sys.exit('lark_oapi' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], check=False)  # noqa: S603 - our own code
    assert run.returncode == 0


def test_client_config_takes_only_sensible_values() -> None:
    config = ClientConfig()
    assert config.updated(None) == config
    assert config.updated({"PingInterval": 0, "ReconnectInterval": -1, "ReconnectNonce": -1,
                           "ReconnectCount": 3}) == config
    assert config.updated({"PingInterval": "5", "ReconnectNonce": True}) == config
    assert config.updated({"PingInterval": 5, "ReconnectNonce": 0}) == ClientConfig(5.0, 120.0, 0.0)


def test_answer_frame_carries_the_body_base64_encoded() -> None:
    frame = frames.Frame(3, 4, 7, 1, (frames.Header("message_id", "m"),), payload=b"{}")
    answer = answer_frame(frame, {"toast": {"content": "好"}}, 12)
    assert answer.headers == (frames.Header("message_id", "m"), frames.Header("biz_rt", "12"))
    response = json.loads(answer.payload)
    assert response["code"] == 200
    assert json.loads(base64.b64decode(response["data"])) == {"toast": {"content": "好"}}
    assert (answer.seq_id, answer.log_id, answer.service) == (3, 4, 7)
    assert json.loads(answer_frame(frame, None, 0).payload) == {"code": 200}


async def test_the_bridge_drops_payloads_that_are_not_events(config: FeishuConfig) -> None:
    sink = RecordingSink()
    bridge = FrameBridge(FeishuInbound(config, render_card), sink, 2.0)
    for payload in (b"{not json", b"[1]", b'{"schema": "2.0", "header": {"event_type": 1}}'):
        assert await bridge.handle(payload) is None
    assert sink.events == []
