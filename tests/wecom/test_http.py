"""WeCom end to end: encrypted callbacks through the server to the fake WeCom API and back."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.config_model import Config, ServerConfig, StorageConfig, WecomConfig
from bot.dispatcher import HandlerContext, Router
from bot.events import CardActionEvent, MessageEvent
from bot.replies import Card, CardUpdate, InlineReply, Recipient, Text, Toast
from cards.samples import sample
from tests.fakes.wecom import FakeWecom, WecomCallbacks
from tests.wecom.conftest import AES_KEY, AGENT_ID, CORP_ID, TOKEN

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
CLAIM = "BX-2026-000123"
APPROVERS = ("lisi", "wangwu")


def router(seen: list[str]) -> Router:
    routes = Router()

    @routes.message(lambda event: event.text == "start")
    async def start(ctx: HandlerContext) -> None:
        for user in APPROVERS:
            to = Recipient("wecom", user_id=user)
            ctx.send(Card(to, "approval_request", sample("approval_request"), claim_id=CLAIM))

    @routes.message(lambda event: True)
    async def echo(ctx: HandlerContext) -> None:
        assert isinstance(ctx.event, MessageEvent)
        seen.append(ctx.event.text)
        ctx.send(
            Text(Recipient("wecom", user_id=ctx.event.actor.user_id), "收到：" + ctx.event.text)
        )

    @routes.card_action("approve")
    async def approve(ctx: HandlerContext) -> None:
        assert isinstance(ctx.event, CardActionEvent)
        seen.append(ctx.event.action)
        decided = sample("approval_decided")
        ctx.inline = InlineReply(
            toast=Toast("已同意"), card_name="approval_decided", card_data=decided
        )
        ctx.send(CardUpdate(CLAIM, match="approval_request", name="approval_decided", data=decided))

    return routes


@pytest.fixture
async def server(
    aiohttp_client: ClientMaker, fake: FakeWecom, tmp_path: Path
) -> tuple[TestClient[Any, Any], list[str]]:
    config = Config(
        server=ServerConfig(max_body_bytes=64 * 1024),
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'wecom.db'}"),
        wecom=WecomConfig(CORP_ID, AGENT_ID, fake.secret, TOKEN, AES_KEY, base_url=fake.url),
    )
    seen: list[str] = []
    return await aiohttp_client(create_app(config, router=router(seen))), seen


async def eventually(check: Callable[[], bool]) -> None:
    """Wait for the outbox worker to reach the fake (it runs on its own schedule)."""
    async with asyncio.timeout(5):
        while not check():  # noqa: ASYNC110 - polling what the fake recorded
            await asyncio.sleep(0.02)


async def deliver(client: TestClient[Any, Any], callbacks: WecomCallbacks, xml: str) -> Any:
    query, body = callbacks.seal(xml)
    return await client.post("/wecom/callback", params=query, data=body)


async def test_url_verification(server: Any, callbacks: WecomCallbacks) -> None:
    client, _ = server
    query, echo = callbacks.verification()
    response = await client.get("/wecom/callback", params=query)
    assert response.status == 200
    assert await response.text() == echo


async def test_a_message_reaches_the_handler_and_the_reply_the_api(
    server: Any, fake: FakeWecom, callbacks: WecomCallbacks
) -> None:
    client, seen = server
    xml = callbacks.text("zhangsan", "报销 打车 45.5 昨天")
    for _ in range(3):  # WeCom retries a slow answer three times
        response = await deliver(client, callbacks, xml)
        assert response.status == 200
        assert await response.read() == b""
    await eventually(lambda: len(fake.sent) == 1)
    await asyncio.sleep(0.1)
    assert seen == ["报销 打车 45.5 昨天"]
    assert fake.sent[0].body["text"]["content"] == "收到：报销 打车 45.5 昨天"
    assert fake.sent[0].body["touser"] == "zhangsan"


async def test_a_click_gets_its_passive_reply_and_every_copy_is_updated(
    server: Any, fake: FakeWecom, callbacks: WecomCallbacks
) -> None:
    client, seen = server
    await deliver(client, callbacks, callbacks.text("zhangsan", "start"))
    await eventually(lambda: len(fake.sent) == 2)
    task_id = fake.sent[0].body["template_card"]["task_id"]
    click = callbacks.card_click(
        "lisi", f"approve:{CLAIM}:4", task_id, fake.click_code(), selected={"reason": ["other"]}
    )
    response = await deliver(client, callbacks, click)
    assert response.status == 200
    reply = callbacks.open_reply(await response.read())
    assert "<ReplaceName><![CDATA[已同意]]></ReplaceName>" in reply
    await eventually(lambda: len(fake.updates) == 2)
    assert sorted(u["userids"][0] for u in fake.updates) == sorted(APPROVERS)
    assert all(u["template_card"]["replace_text"] == "已同意" for u in fake.updates)
    assert seen == [f"approve:{CLAIM}:4"]


async def test_bad_callbacks_are_refused_and_store_nothing(
    server: Any, callbacks: WecomCallbacks
) -> None:
    client, seen = server
    query, body = callbacks.seal(callbacks.text("zhangsan", "hi"))
    query["msg_signature"] = "0" * 40
    assert (await client.post("/wecom/callback", params=query, data=body)).status == 401
    big = io.BytesIO(b"<xml><Encrypt>" + b"A" * (10 * 1024 * 1024) + b"</Encrypt></xml>")
    assert (await client.post("/wecom/callback", params=query, data=big)).status == 413
    depth = await client.app[keys.STORAGE].queue_depth()
    assert all(live == 0 and dead == 0 for live, dead in depth.values())
    assert seen == []
