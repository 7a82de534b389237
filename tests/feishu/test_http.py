"""Feishu end to end: sealed callbacks through the server to the fake open platform and back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config_model import Config, FeishuConfig, ServerConfig, StorageConfig
from bot.dispatcher import HandlerContext, Router
from bot.events import CardActionEvent, MessageEvent
from bot.replies import Card, CardUpdate, InlineReply, Recipient, Text, Toast
from cards.samples import sample
from tests.fakes.feishu import FakeFeishu, FeishuCallbacks

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
CLAIM = "BX-2026-000123"
APPROVERS = ("ou_li", "ou_wang")


def router(seen: list[str]) -> Router:
    routes = Router()

    @routes.message(lambda event: event.text == "start")
    async def start(ctx: HandlerContext) -> None:
        for user in APPROVERS:
            to = Recipient("feishu", user_id=user)
            ctx.send(Card(to, "approval_request", sample("approval_request"), claim_id=CLAIM))

    @routes.message(lambda event: True)
    async def echo(ctx: HandlerContext) -> None:
        assert isinstance(ctx.event, MessageEvent)
        seen.append(ctx.event.text)
        to = Recipient("feishu", user_id=ctx.event.actor.user_id)
        ctx.send(Text(to, "收到：" + ctx.event.text))

    @routes.card_action("approve")
    async def approve(ctx: HandlerContext) -> None:
        assert isinstance(ctx.event, CardActionEvent)
        seen.append(ctx.event.action + " " + ctx.event.form.get("reason", ""))
        decided = sample("approval_decided")
        ctx.inline = InlineReply(Toast("已同意", "success"), "approval_decided", decided)
        ctx.send(CardUpdate(CLAIM, match="approval_request", name="approval_decided", data=decided))

    return routes


@pytest.fixture
async def server(
    aiohttp_client: ClientMaker, fake: FakeFeishu, config: FeishuConfig, tmp_path: Path
) -> tuple[TestClient[Any, Any], list[str]]:
    app_config = Config(
        server=ServerConfig(max_body_bytes=64 * 1024),
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'feishu.db'}"),
        feishu=FeishuConfig(
            fake.app_id,
            fake.app_secret,
            config.verification_token,
            config.encrypt_key,
            base_url=fake.url,
        ),
    )
    seen: list[str] = []
    return await aiohttp_client(create_app(app_config, router=router(seen))), seen


async def eventually(check: Callable[[], bool]) -> None:
    """Wait for the outbox worker to reach the fake (it runs on its own schedule)."""
    async with asyncio.timeout(5):
        while not check():  # noqa: ASYNC110 - polling what the fake recorded
            await asyncio.sleep(0.02)


async def deliver(
    client: TestClient[Any, Any],
    callbacks: FeishuCallbacks,
    payload: dict[str, Any],
    path: str = "/feishu/events",
) -> Any:
    body, headers = callbacks.seal(payload)
    return await client.post(path, data=body, headers=headers)


async def test_url_verification_on_both_routes(server: Any, callbacks: FeishuCallbacks) -> None:
    client, _ = server
    for path in ("/feishu/events", "/feishu/cards"):
        response = await deliver(client, callbacks, callbacks.url_verification("ch-1"), path)
        assert response.status == 200
        assert await response.json() == {"challenge": "ch-1"}


async def test_a_message_delivered_three_times_is_handled_once_and_answered(
    server: Any, fake: FakeFeishu, callbacks: FeishuCallbacks
) -> None:
    client, seen = server
    payload = callbacks.message("ou_zhang", {"text": "报销 打车 45.5 昨天"}, message_id="om_e2e")
    for _ in range(3):
        response = await deliver(client, callbacks, payload)
        assert response.status == 200
        assert await response.json() == {}
    await eventually(lambda: len(fake.messages) == 1)
    await asyncio.sleep(0.1)
    assert seen == ["报销 打车 45.5 昨天"]
    sent = next(iter(fake.messages.values()))
    assert (sent.receive_id, sent.receive_id_type) == ("ou_zhang", "open_id")
    assert json.loads(sent.content) == {"text": "收到：报销 打车 45.5 昨天"}


async def test_a_click_gets_an_inline_card_and_every_copy_is_patched(
    server: Any, fake: FakeFeishu, callbacks: FeishuCallbacks
) -> None:
    client, seen = server
    await deliver(client, callbacks, callbacks.message("ou_zhang", {"text": "start"}))
    await eventually(lambda: len(fake.messages) == 2)
    first = next(iter(fake.messages.values()))
    click = callbacks.card_action(
        "ou_li",
        {"a": f"approve:{CLAIM}:4"},
        form_value={"reason": "同意"},
        message_id=first.message_id,
    )
    response = await deliver(client, callbacks, click, "/feishu/cards")
    assert response.status == 200
    answer = await response.json()
    assert answer["toast"] == {"type": "success", "content": "已同意"}
    assert answer["card"]["type"] == "raw"
    assert answer["card"]["data"]["header"]["template"] == "green"
    again = await deliver(client, callbacks, click, "/feishu/cards")  # a double delivery
    assert again.status == 200
    await eventually(lambda: all(m.updates for m in fake.messages.values()))
    assert seen == [f"approve:{CLAIM}:4 同意"]
    assert len(fake.calls_to("/im/v1/messages/", "PATCH")) == 2


async def test_bad_requests_are_refused_and_change_nothing(
    server: Any, fake: FakeFeishu, callbacks: FeishuCallbacks
) -> None:
    client, seen = server
    body, headers = callbacks.seal(callbacks.message("ou_zhang", {"text": "hi"}))
    forged = await client.post(
        "/feishu/events", data=body, headers=headers | {"X-Lark-Signature": "0" * 64}
    )
    assert forged.status == 401
    garbage = await client.post("/feishu/events", data=b"{oops", headers=headers)
    assert garbage.status == 400
    huge = await client.post("/feishu/events", data=b"x" * (65 * 1024), headers=headers)
    assert huge.status == 413
    await asyncio.sleep(0.2)
    assert seen == []
    assert fake.messages == {}
