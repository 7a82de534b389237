"""Stream mode against the fake gateway: ACK after the durable record, reconnects, no loss."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from bot.events import CardActionEvent, MessageEvent
from bot.platforms.dingtalk.stream import StreamClient, StreamSettings
from bot.replies import InlineReply, Toast
from cards import render_card
from cards.samples import sample
from tests.dingtalk.conftest import RecordingSink
from tests.fakes.dingtalk import ROBOT_TOPIC, FakeDingtalk, card_callback_payload, robot_payload


async def until(condition: Callable[[], bool], within: float = 5.0) -> None:
    """Poll state the fake and the sink change from other tasks (no event to wait on)."""
    async with asyncio.timeout(within):
        for _ in iter(condition, True):
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running(
    fake: FakeDingtalk, http: aiohttp.ClientSession, sink: RecordingSink, **settings: Any
) -> AsyncIterator[StreamClient]:
    values: dict[str, Any] = {"silence_timeout": 5.0, "heartbeat": 5.0, "backoff_base": 0.01,
                              "backoff_cap": 0.05, **settings}
    config = StreamSettings(fake.client_id, settings.pop("secret", fake.client_secret), fake.url,
                            **{k: v for k, v in values.items() if k != "secret"})
    client = StreamClient(http, config, sink, render_card)
    task = asyncio.create_task(client.run())
    try:
        yield client
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def stream(
    fake: FakeDingtalk, http: aiohttp.ClientSession, sink: RecordingSink
) -> AsyncIterator[StreamClient]:
    async with running(fake, http, sink) as client:
        await fake.wait_connected()
        yield client


def ack_data(ack: dict[str, Any]) -> Any:
    return json.loads(ack["data"])


async def test_connects_with_a_ticket_and_subscribes_to_messages_and_cards(
    fake: FakeDingtalk, stream: StreamClient
) -> None:
    topics = {s["topic"] for s in fake.gateway.subscriptions}
    assert topics == {"/v1.0/im/bot/messages/get", "/v1.0/card/instances/callback"}
    assert stream.connected


async def test_robot_message_is_recorded_then_acknowledged(
    fake: FakeDingtalk, stream: StreamClient, sink: RecordingSink
) -> None:
    message_id = await fake.push_robot_message(robot_payload("报销 打车 45.5", msg_id="msgS1"))
    ack = await fake.wait_ack(message_id)
    assert ack["code"] == 200
    assert ack["headers"]["messageId"] == message_id
    assert ack_data(ack) == {"response": "OK"}
    [event] = sink.events
    assert isinstance(event, MessageEvent)
    assert (event.event_id, event.text, event.actor.user_id) == ("msgS1", "报销 打车 45.5",
                                                                 "manager0001")


async def test_no_acknowledgement_before_the_sink_has_recorded(
    fake: FakeDingtalk, stream: StreamClient, sink: RecordingSink
) -> None:
    sink.gate = asyncio.Event()
    message_id = await fake.push_robot_message(robot_payload())
    await until(lambda: sink.calls == 1)
    await asyncio.sleep(0.2)
    assert message_id not in fake.gateway.acks
    sink.gate.set()
    await fake.wait_ack(message_id)
    assert len(sink.events) == 1


async def test_a_slow_frame_does_not_hold_back_the_next(
    fake: FakeDingtalk, stream: StreamClient, sink: RecordingSink
) -> None:
    gate = asyncio.Event()
    original = sink.__call__

    async def slow_first(event: Any, budget: float) -> Any:
        if event.event_id == "slow":
            await gate.wait()
        return await original(event, budget)

    stream.sink = slow_first
    slow = await fake.push_robot_message(robot_payload(msg_id="slow"))
    fast = await fake.push_robot_message(robot_payload(msg_id="fast"))
    await fake.wait_ack(fast)
    assert slow not in fake.gateway.acks
    gate.set()
    await fake.wait_ack(slow)


async def test_duplicate_frames_have_one_effect_and_are_all_acknowledged(
    fake: FakeDingtalk, stream: StreamClient, sink: RecordingSink
) -> None:
    payload = robot_payload(msg_id="msgDup")
    first = await fake.push_robot_message(payload)
    await fake.wait_ack(first)
    again = await fake.push_robot_message(payload, message_id=first)
    second = await fake.push_robot_message(payload)
    await fake.wait_ack(second)
    await until(lambda: len(fake.gateway.acks[again]) == 2)
    assert [e.event_id for e in sink.events] == ["msgDup"]


async def test_card_click_is_answered_with_the_updated_card_in_the_ack(
    fake: FakeDingtalk, stream: StreamClient, sink: RecordingSink
) -> None:
    sink.inline = InlineReply(Toast("已同意"), "approval_decided", sample("approval_decided"))
    params = {"action": "approve:BX-2026-000123:4", "reason": ""}
    message_id = await fake.push_card_callback(card_callback_payload("trk-9", "zhaoliu", params))
    response = ack_data(await fake.wait_ack(message_id))["response"]
    card = response["cardData"]["cardParamMap"]
    assert card["buttons"] == "[]"
    assert card["status"].startswith("已同意")
    assert response["userPrivateData"]["cardParamMap"] == {"notice": "已同意"}
    [event] = sink.events
    assert isinstance(event, CardActionEvent)
    assert event.event_id == "card:" + message_id
    assert event.action == "approve:BX-2026-000123:4"
    assert event.card_ref == {"out_track_id": "trk-9"}


async def test_card_click_without_an_inline_answer_is_acknowledged_empty(
    fake: FakeDingtalk, stream: StreamClient
) -> None:
    payload = card_callback_payload("trk-9", "zhaoliu", {"action": "open:BX-2026-000123:4"})
    message_id = await fake.push_card_callback(payload)
    assert ack_data(await fake.wait_ack(message_id)) == {"response": {}}


async def test_ping_is_answered_with_its_data(fake: FakeDingtalk, stream: StreamClient) -> None:
    message_id = await fake.ping()
    ack = await fake.wait_ack(message_id)
    assert ack["code"] == 200
    assert "opaque" in json.loads(ack["data"])


@pytest.mark.parametrize(("data", "topic", "code"), [
    ("not json", ROBOT_TOPIC, 400),
    ("[1, 2]", ROBOT_TOPIC, 400),
    (json.dumps({"outTrackId": "t", "userId": "u", "content": "{}"}),
     "/v1.0/card/instances/callback", 400),
    ("{}", "/v1.0/graph/api/invoke", 404),
])
async def test_unusable_frames_are_refused_in_the_ack_so_they_are_not_redelivered(
    fake: FakeDingtalk, stream: StreamClient, sink: RecordingSink, data: str, topic: str,
    code: int,
) -> None:
    message_id = await fake.push_frame("CALLBACK", topic, data)
    assert (await fake.wait_ack(message_id))["code"] == code
    assert sink.events == []


async def test_disconnect_notice_is_acknowledged_and_the_client_reconnects_at_once(
    fake: FakeDingtalk, stream: StreamClient, sink: RecordingSink
) -> None:
    await fake.wait_ack(await fake.disconnect_notice())
    await fake.wait_connected(2)
    message_id = await fake.push_robot_message(robot_payload(msg_id="after-notice"))
    await fake.wait_ack(message_id)
    assert [e.event_id for e in sink.events] == ["after-notice"]


async def test_dropped_socket_is_replaced(
    fake: FakeDingtalk, stream: StreamClient, sink: RecordingSink
) -> None:
    await fake.drop()
    await fake.wait_connected(2)
    await fake.wait_ack(await fake.push_robot_message(robot_payload(msg_id="after-drop")))
    assert stream.connections == 2


async def test_silent_connection_is_treated_as_dead(
    fake: FakeDingtalk, http: aiohttp.ClientSession, sink: RecordingSink
) -> None:
    async with running(fake, http, sink, silence_timeout=0.3):
        await fake.wait_connected(1)
        await fake.wait_connected(2)
        await fake.wait_connected(3)


async def test_a_frame_that_could_not_be_recorded_is_not_acknowledged_and_comes_back(
    fake: FakeDingtalk, stream: StreamClient, sink: RecordingSink
) -> None:
    sink.failures = 1
    message_id = await fake.push_robot_message(robot_payload(msg_id="retry-me"))
    await until(lambda: sink.calls == 1)
    await asyncio.sleep(0.1)
    assert fake.unacknowledged() == [message_id]
    await fake.redeliver_unacknowledged()
    await fake.wait_ack(message_id)
    assert [e.event_id for e in sink.events] == ["retry-me"]


async def test_nothing_acknowledged_is_lost_when_the_socket_drops_mid_run(
    fake: FakeDingtalk, stream: StreamClient, sink: RecordingSink
) -> None:
    sent: list[str] = []
    for n in range(30):
        sent.append(f"msg-{n}")
        await fake.push_robot_message(robot_payload(msg_id=sent[-1]))
        if n == 14:
            await fake.drop()
    await fake.wait_connected(2)
    redelivered: list[str] = []
    for _ in range(20):
        await asyncio.sleep(0.05)  # let frames in flight finish
        again = await fake.redeliver_unacknowledged()
        if not again:
            break
        redelivered += again
    assert redelivered, "the drop should have cost some acknowledgements"
    acknowledged = [fake.gateway.pushed[m] for m in fake.gateway.acks]
    recorded = {e.event_id for e in sink.events}
    assert {json.loads(frame["data"])["msgId"] for frame in acknowledged} <= recorded
    assert recorded == set(sent)
    assert len(sink.events) == len(sent)


async def test_rejected_credentials_back_off_and_keep_trying(
    fake: FakeDingtalk, http: aiohttp.ClientSession, sink: RecordingSink
) -> None:
    async with running(fake, http, sink, secret="wrong") as client:
        await until(lambda: len(fake.calls_to("/v1.0/gateway/connections/open")) >= 3)
        assert not client.connected
        assert fake.gateway.connections == 0


async def test_cancelling_the_worker_closes_the_socket(
    fake: FakeDingtalk, http: aiohttp.ClientSession, sink: RecordingSink
) -> None:
    async with running(fake, http, sink) as client:
        await fake.wait_connected()
        assert client.connected
    await until(lambda: not fake.gateway.sockets)
    assert not client.connected


async def test_a_stuck_frame_does_not_block_the_reconnect_and_comes_back_later(
    fake: FakeDingtalk, http: aiohttp.ClientSession, sink: RecordingSink
) -> None:
    sink.gate = asyncio.Event()
    async with running(fake, http, sink, drain_timeout=0.2):
        message_id = await fake.push_robot_message(robot_payload(msg_id="stuck"))
        await until(lambda: sink.calls == 1)
        await fake.drop()
        await fake.wait_connected(2)
        assert fake.unacknowledged() == [message_id]
        sink.gate.set()
        await fake.redeliver_unacknowledged()
        await fake.wait_ack(message_id)
        assert [e.event_id for e in sink.events] == ["stuck"]
