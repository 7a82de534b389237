"""The real handlers on Feishu: file by chat, submit on the card, reject with a reason in the
approval card's form, and every copy updated — sealed callbacks in, the fake open platform out."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config_model import (
    ApprovalConfig,
    ApprovalStepConfig,
    CategoryConfig,
    Config,
    FeishuConfig,
    StorageConfig,
)
from tests.fakes.feishu import FakeFeishu, FeishuCallbacks, Message

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def action(card: Any, verb: str) -> str:
    buttons = [b for b in walk(card) if b.get("tag") == "button"]
    payloads = [str(b["behaviors"][0]["value"]["a"]) for b in buttons]
    return next(p for p in payloads if p.startswith(verb + ":"))


@pytest.fixture
async def client(
    aiohttp_client: ClientMaker, fake: FakeFeishu, config: FeishuConfig, tmp_path: Path
) -> TestClient[Any, Any]:
    fake.add_user("ou_zhang", "张三", leader="ou_li", departments=["od-m"])
    fake.add_user("ou_li", "李四", departments=["od-m"])
    fake.add_department("od-m", "市场部", leader="ou_wang")
    app_config = Config(
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'scenario.db'}"),
        feishu=FeishuConfig(
            fake.app_id,
            fake.app_secret,
            config.verification_token,
            config.encrypt_key,
            base_url=fake.url,
        ),
        categories=(CategoryConfig("taxi", "交通-打车", aliases=("打车",)),),
        approval=ApprovalConfig(steps=(ApprovalStepConfig("直属上级", "manager"),)),
    )
    return await aiohttp_client(create_app(app_config))


async def eventually(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not check():  # noqa: ASYNC110 - polling what the fake recorded
            await asyncio.sleep(0.02)


def cards_to(fake: FakeFeishu, user: str) -> list[Message]:
    return [
        m for m in fake.messages.values() if m.receive_id == user and m.msg_type == "interactive"
    ]


async def post(
    client: TestClient[Any, Any],
    callbacks: FeishuCallbacks,
    payload: Any,
    path: str = "/feishu/events",
) -> Any:
    body, headers = callbacks.seal(payload)
    response = await client.post(path, data=body, headers=headers)
    assert response.status == 200
    return await response.json()


async def test_file_submit_and_reject_with_a_reason(
    client: TestClient[Any, Any], fake: FakeFeishu, callbacks: FeishuCallbacks
) -> None:
    await post(
        client, callbacks, callbacks.message("ou_zhang", {"text": "报销 打车 45.5 昨天 去客户现场"})
    )
    await eventually(lambda: len(cards_to(fake, "ou_zhang")) == 1)
    draft = cards_to(fake, "ou_zhang")[0]
    assert draft.card["schema"] == "2.0"

    click = callbacks.card_action(
        "ou_zhang", {"a": action(draft.card, "submit")}, message_id=draft.message_id
    )
    answer = await post(client, callbacks, click, "/feishu/cards")
    assert answer["toast"]["type"] == "success"
    assert answer["card"]["data"]["schema"] == "2.0"
    await eventually(lambda: len(cards_to(fake, "ou_li")) == 1)

    request = cards_to(fake, "ou_li")[0]
    reject = callbacks.card_action(
        "ou_li",
        {"a": action(request.card, "reject")},
        form_value={"reason": "票据不全"},
        message_id=request.message_id,
    )
    answer = await post(client, callbacks, reject, "/feishu/cards")
    assert answer["card"]["data"]["header"]["template"] == "red"
    await eventually(
        lambda: any("票据不全" in m.content for m in fake.messages.values() if m.msg_type == "text")
    )
    await eventually(lambda: bool(request.updates))
    notice = next(m for m in fake.messages.values() if m.msg_type == "text")
    assert notice.receive_id == "ou_zhang"
    assert json.loads(request.updates[-1])["header"]["template"] == "red"
