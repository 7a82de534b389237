"""The real server with the DingTalk adapter against the fake DingTalk, over Stream and HTTP.

A message reaches the dispatcher and the reply lands at the fake API; a card click over Stream is
answered in its ACK with the new card; a socket dropped mid-run loses nothing acknowledged.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config_model import Config, DingtalkConfig, ServerConfig, StorageConfig
from bot.dispatcher import HandlerContext, Router
from bot.events import CardActionEvent, MessageEvent
from bot.replies import InlineReply, Recipient, Text, Toast
from cards.samples import sample
from tests.dingtalk.conftest import CARD_TOKEN, config_for
from tests.fakes.dingtalk import (
    DingtalkSender,
    FakeDingtalk,
    card_callback_payload,
    robot_payload,
)

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
BATCH = "/v1.0/robot/oToMessages/batchSend"


def echo_router(seen: list[str]) -> Router:
    router = Router()

    @router.message(lambda e: True)
    async def echo(ctx: HandlerContext) -> None:
        assert isinstance(ctx.event, MessageEvent)
        seen.append(ctx.event.event_id)
        ctx.send(Text(Recipient("dingtalk", user_id=ctx.event.actor.user_id),
                      "echo:" + ctx.event.text))

    @router.card_action("approve")
    async def approve(ctx: HandlerContext) -> None:
        assert isinstance(ctx.event, CardActionEvent)
        seen.append(ctx.event.event_id)
        ctx.inline = InlineReply(Toast("已同意"), "approval_decided", sample("approval_decided"))

    return router


async def texts_sent(fake: FakeDingtalk, count: int, within: float = 10.0) -> list[str]:
    """The texts the fake received through robot batch sends, once there are ``count``."""
    async with asyncio.timeout(within):
        while True:
            texts = [json.loads(c.body["msgParam"])["content"] for c in fake.calls_to(BATCH)]
            if len(texts) >= count:
                return texts
            await asyncio.sleep(0.02)


def server_config(tmp_path: Path, dingtalk: DingtalkConfig) -> Config:
    return Config(server=ServerConfig(max_body_bytes=8192),
                  storage=StorageConfig(url=f"sqlite:///{tmp_path / 'claims.db'}"),
                  dingtalk=dingtalk)


async def test_stream_message_reaches_the_dispatcher_and_the_reply_lands(
    aiohttp_client: ClientMaker, fake: FakeDingtalk, tmp_path: Path
) -> None:
    seen: list[str] = []
    app = create_app(server_config(tmp_path, config_for(fake)), router=echo_router(seen))
    client = await aiohttp_client(app)
    await fake.wait_connected()
    message_id = await fake.push_robot_message(robot_payload("报销 打车 45.5", msg_id="e2e-1"))
    assert (await fake.wait_ack(message_id))["code"] == 200
    assert await texts_sent(fake, 1) == ["echo:报销 打车 45.5"]
    ready = await (await client.get("/readyz")).json()
    assert ready["workers"]["dingtalk-stream"]["running"] is True


async def test_stream_card_click_is_answered_in_the_ack(
    aiohttp_client: ClientMaker, fake: FakeDingtalk, tmp_path: Path
) -> None:
    seen: list[str] = []
    await aiohttp_client(create_app(server_config(tmp_path, config_for(fake)),
                                    router=echo_router(seen)))
    params = {"action": "approve:BX-2026-000123:4", "reason": ""}
    message_id = await fake.push_card_callback(card_callback_payload("trk-1", "zhaoliu", params))
    response = json.loads((await fake.wait_ack(message_id))["data"])["response"]
    assert response["cardData"]["cardParamMap"]["status"].startswith("已同意")
    assert seen == ["card:" + message_id]


async def test_stream_drop_mid_run_loses_nothing_acknowledged(
    aiohttp_client: ClientMaker, fake: FakeDingtalk, tmp_path: Path
) -> None:
    seen: list[str] = []
    await aiohttp_client(create_app(server_config(tmp_path, config_for(fake)),
                                    router=echo_router(seen)))
    sent = [f"drop-{n}" for n in range(12)]
    for n, msg_id in enumerate(sent):
        await fake.push_robot_message(robot_payload(f"m{n}", msg_id=msg_id))
        if n == 5:
            await fake.drop()
    await fake.wait_connected(2)
    for _ in range(40):
        await asyncio.sleep(0.05)
        if not await fake.redeliver_unacknowledged():
            break
    assert not fake.unacknowledged()
    texts = await texts_sent(fake, len(sent))
    assert sorted(texts) == sorted(f"echo:m{n}" for n in range(12))
    await asyncio.sleep(0.2)
    assert sorted(seen) == sorted(sent)


async def test_http_robot_message_reaches_the_dispatcher_and_the_reply_lands(
    aiohttp_client: ClientMaker, fake: FakeDingtalk, tmp_path: Path
) -> None:
    seen: list[str] = []
    config = config_for(fake, mode="http", card_callback_token=CARD_TOKEN)
    client = await aiohttp_client(create_app(server_config(tmp_path, config),
                                             router=echo_router(seen)))
    sender = DingtalkSender(fake.client_id, fake.client_secret)
    body = json.dumps(robot_payload("我的报销", msg_id="http-1")).encode()
    first = await client.post("/dingtalk/robot", data=body, headers=sender.robot_headers())
    again = await client.post("/dingtalk/robot", data=body, headers=sender.robot_headers())
    assert (first.status, again.status) == (200, 200)
    assert await texts_sent(fake, 1) == ["echo:我的报销"]
    await asyncio.sleep(0.2)
    assert seen == ["http-1"]


@pytest.mark.parametrize(("headers", "body", "status"), [
    ({"timestamp": "1", "sign": "forged"}, None, 401),
    (None, b"{not json", 400),
    (None, b"x" * 9000, 413),
])
async def test_http_bad_input_is_refused_and_nothing_is_sent(
    aiohttp_client: ClientMaker, fake: FakeDingtalk, tmp_path: Path,
    headers: dict[str, str] | None, body: bytes | None, status: int,
) -> None:
    config = config_for(fake, mode="http", card_callback_token=CARD_TOKEN)
    client = await aiohttp_client(create_app(server_config(tmp_path, config),
                                             router=echo_router([])))
    sender = DingtalkSender(fake.client_id, fake.client_secret)
    raw = body if body is not None else json.dumps(robot_payload()).encode()
    response = await client.post("/dingtalk/robot", data=raw,
                                 headers=headers or sender.robot_headers())
    assert response.status == status
    await asyncio.sleep(0.1)
    assert fake.calls_to(BATCH) == []


async def test_http_card_click_is_answered_with_the_new_card(
    aiohttp_client: ClientMaker, fake: FakeDingtalk, tmp_path: Path
) -> None:
    config = config_for(fake, mode="http", card_callback_token=CARD_TOKEN)
    client = await aiohttp_client(create_app(server_config(tmp_path, config),
                                             router=echo_router([])))
    payload = card_callback_payload("trk-2", "zhaoliu", {"action": "approve:BX-2026-000123:4"})
    response = await client.post(f"/dingtalk/cards/{CARD_TOKEN}", json=payload)
    assert response.status == 200
    answer = await response.json()
    assert answer["cardData"]["cardParamMap"]["buttons"] == "[]"
    wrong = await client.post("/dingtalk/cards/guessed-token", json=payload)
    assert wrong.status == 404
