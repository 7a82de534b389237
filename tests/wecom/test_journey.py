"""A claim filed, approved and paid on WeCom with the real handlers and the example config."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config import load_config
from bot.config_model import StorageConfig, WecomConfig
from tests.fakes.wecom import FakeWecom, Sent, WecomCallbacks
from tests.wecom.conftest import AES_KEY, AGENT_ID, CORP_ID, TOKEN

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


@pytest.fixture
async def client(aiohttp_client: ClientMaker, fake: FakeWecom, tmp_path: Path) -> Any:
    config = dataclasses.replace(
        load_config(EXAMPLE, environ={}),
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'journey.db'}"),
        wecom=WecomConfig(CORP_ID, AGENT_ID, fake.secret, TOKEN, AES_KEY, base_url=fake.url),
        feishu=None,
        dingtalk=None,
    )
    fake.add_user("zhangsan", "张三", leaders=["lisi"], departments=[2])
    fake.add_user("lisi", "李四", departments=[2])
    fake.add_user("wangwu", "王五", departments=[3])
    fake.add_department(2, "市场部", leaders=["lisi"])
    fake.add_department(3, "财务部", leaders=["wangwu"])
    return await aiohttp_client(create_app(config))


async def eventually(check: Callable[[], Any]) -> Any:
    async with asyncio.timeout(5):
        while not (found := check()):  # noqa: ASYNC110 - polling what the fake recorded
            await asyncio.sleep(0.02)
    return found


def cards_to(fake: FakeWecom, user: str) -> list[Sent]:
    return [
        s
        for s in fake.sent
        if s.body.get("touser") == user and s.body["msgtype"] == "template_card"
    ]


def button(sent: Sent, prefix: str) -> str:
    keys = [b["key"] for b in sent.body["template_card"]["button_list"]]
    return next(k for k in keys if k.startswith(prefix))


async def say(client: Any, callbacks: WecomCallbacks, user: str, text: str) -> None:
    query, body = callbacks.seal(callbacks.text(user, text))
    assert (await client.post("/wecom/callback", params=query, data=body)).status == 200


async def press(
    client: Any,
    callbacks: WecomCallbacks,
    fake: FakeWecom,
    user: str,
    card: Sent,
    key: str,
    reason: str = "other",
) -> str:
    """Click ``key`` with the dropdown (preselected "other") at ``reason``."""
    task = card.body["template_card"]["task_id"]
    selected = {"reason": [reason]} if "button_selection" in card.body["template_card"] else {}
    xml = callbacks.card_click(user, key, task, fake.click_code(card.msgid), selected=selected)
    query, body = callbacks.seal(xml)
    response = await client.post("/wecom/callback", params=query, data=body)
    assert response.status == 200
    raw = await response.read()
    return callbacks.open_reply(raw) if raw else ""


async def test_file_approve_and_pay(
    client: Any, fake: FakeWecom, callbacks: WecomCallbacks
) -> None:
    await say(client, callbacks, "zhangsan", "报销 办公 45.5 昨天 买文具")
    draft = (await eventually(lambda: cards_to(fake, "zhangsan")))[-1]
    assert draft.body["template_card"]["main_title"]["title"].startswith("报销单草稿")

    await press(client, callbacks, fake, "zhangsan", draft, button(draft, "submit:"))
    request = (await eventually(lambda: cards_to(fake, "lisi")))[-1]
    assert "¥45.50" in str(request.body)

    reply = await press(client, callbacks, fake, "lisi", request, button(request, "approve:"))
    assert "update_button" in reply
    notice = (await eventually(lambda: cards_to(fake, "wangwu")))[-1]
    assert notice.body["template_card"]["main_title"]["title"].startswith("报销审批")
    await eventually(lambda: fake.updates)

    await press(client, callbacks, fake, "wangwu", notice, button(notice, "approve:"))
    paid_card = (
        await eventually(
            lambda: [c for c in cards_to(fake, "wangwu") if "mark_paid" in str(c.body)]
        )
    )[-1]
    await press(client, callbacks, fake, "wangwu", paid_card, button(paid_card, "mark_paid:"))
    await eventually(lambda: any("已付款" in str(u) for u in fake.updates))


async def submitted(client: Any, fake: FakeWecom, callbacks: WecomCallbacks) -> Sent:
    """File and submit a claim; the approval card its first approver got."""
    await say(client, callbacks, "zhangsan", "报销 办公 45.5 昨天 买文具")
    draft = (await eventually(lambda: cards_to(fake, "zhangsan")))[-1]
    await press(client, callbacks, fake, "zhangsan", draft, button(draft, "submit:"))
    return (await eventually(lambda: cards_to(fake, "lisi")))[-1]


def fake_updates_to(fake: FakeWecom, user: str) -> list[Any]:
    return [u for u in fake.updates if u["userids"] == [user]]


def texts_to(fake: FakeWecom, user: str) -> list[str]:
    return [
        s.body["text"]["content"]
        for s in fake.sent
        if s.body.get("touser") == user and s.body["msgtype"] == "text"
    ]


async def test_approving_ignores_the_reason_dropdown(
    client: Any, fake: FakeWecom, callbacks: WecomCallbacks
) -> None:
    request = await submitted(client, fake, callbacks)
    await press(client, callbacks, fake, "lisi", request, button(request, "approve:"), "超出标准")
    notice = (await eventually(lambda: cards_to(fake, "wangwu")))[-1]
    assert "超出标准" not in notice.body["template_card"]["sub_title_text"]


async def test_reject_with_a_preset_reason(
    client: Any, fake: FakeWecom, callbacks: WecomCallbacks
) -> None:
    request = await submitted(client, fake, callbacks)
    reply = await press(
        client, callbacks, fake, "lisi", request, button(request, "reject:"), "票据不全"
    )
    assert "update_button" in reply
    await eventually(lambda: any("票据不全" in t for t in texts_to(fake, "zhangsan")))


async def test_reject_with_other_asks_for_a_message(
    client: Any, fake: FakeWecom, callbacks: WecomCallbacks
) -> None:
    request = await submitted(client, fake, callbacks)
    await press(client, callbacks, fake, "lisi", request, button(request, "reject:"))
    await eventually(lambda: texts_to(fake, "lisi"))
    await say(client, callbacks, "lisi", "发票抬头不对")
    await eventually(lambda: any("发票抬头不对" in t for t in texts_to(fake, "zhangsan")))


async def test_a_receipt_photo_is_downloaded_and_attached(
    client: Any, fake: FakeWecom, callbacks: WecomCallbacks
) -> None:
    await say(client, callbacks, "zhangsan", "报销 办公 45.5 昨天 买文具")
    await eventually(lambda: cards_to(fake, "zhangsan"))
    fake.add_media("MEDIA_RECEIPT", b"\xff\xd8\xff\xe0 a receipt", "image/jpeg")
    query, body = callbacks.seal(callbacks.image("zhangsan", "MEDIA_RECEIPT"))
    assert (await client.post("/wecom/callback", params=query, data=body)).status == 200
    await eventually(lambda: fake.calls_to("media/get"))
    attached = await eventually(
        lambda: [
            c
            for c in [s.body for s in cards_to(fake, "zhangsan")]
            + fake_updates_to(fake, "zhangsan")
            if '"附件", "value": "1"' in json.dumps(c, ensure_ascii=False)
        ]
    )
    assert attached
