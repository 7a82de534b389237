"""A claim filed, approved, rejected and paid on DingTalk (Stream) with the real handlers."""

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
from bot.config_model import StorageConfig
from tests.dingtalk.conftest import config_for
from tests.fakes.dingtalk import FakeDingtalk, card_callback_payload, robot_payload

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
FINANCE = "manager0001"  # [finance] dingtalk in the example config


@pytest.fixture
async def server(aiohttp_client: ClientMaker, fake: FakeDingtalk, tmp_path: Path) -> Any:
    config = dataclasses.replace(
        load_config(EXAMPLE, environ={}),
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'journey.db'}"),
        dingtalk=config_for(fake), feishu=None, wecom=None,
    )
    fake.users["zhangsan"] = {"userid": "zhangsan", "name": "张三", "manager_userid": "lisi",
                              "dept_id_list": [2]}
    fake.users["lisi"] = {"userid": "lisi", "name": "李四", "dept_id_list": [2]}
    fake.users[FINANCE] = {"userid": FINANCE, "name": "王五", "dept_id_list": [3]}
    fake.departments[2] = {"name": "市场部", "dept_manager_userid_list": ["lisi"]}
    fake.departments[3] = {"name": "财务部", "dept_manager_userid_list": [FINANCE]}
    client = await aiohttp_client(create_app(config))
    await fake.wait_connected()
    return client


async def eventually(check: Callable[[], Any]) -> Any:
    async with asyncio.timeout(5):
        while not (found := check()):  # noqa: ASYNC110 - polling what the fake recorded
            await asyncio.sleep(0.02)
    return found


def cards_to(fake: FakeDingtalk, user: str) -> list[dict[str, Any]]:
    return [c for c in fake.cards.values() if c["openSpaceId"].endswith("." + user)]


def params(card: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = card["cardData"]["cardParamMap"]
    return found


def button(card: dict[str, Any], prefix: str, reason: str = "") -> dict[str, str]:
    buttons = json.loads(params(card)["buttons"])
    return next(b for b in buttons if b["action"].startswith(prefix) and b["reason"] == reason)


async def say(fake: FakeDingtalk, user: str, text: str) -> None:
    await fake.wait_ack(await fake.push_robot_message(robot_payload(text, sender=user)))


async def press(fake: FakeDingtalk, user: str, card: dict[str, Any], pressed: dict[str, str]
                ) -> dict[str, Any]:
    """Click a button as DingTalk reports it; the ACK's response (the card's new data)."""
    values = {"action": pressed["action"], "reason": pressed["reason"]}
    payload = card_callback_payload(card["outTrackId"], user, values)
    ack = await fake.wait_ack(await fake.push_card_callback(payload))
    assert ack["code"] == 200
    response: dict[str, Any] = json.loads(ack["data"])["response"]
    return response


async def filed_and_submitted(fake: FakeDingtalk) -> dict[str, Any]:
    await say(fake, "zhangsan", "报销 办公 45.5 昨天 买文具")
    draft = (await eventually(lambda: cards_to(fake, "zhangsan")))[-1]
    assert params(draft)["title"].startswith("报销单草稿")
    await press(fake, "zhangsan", draft, button(draft, "submit:"))
    return (await eventually(lambda: cards_to(fake, "lisi")))[-1]


async def test_file_approve_and_pay(server: Any, fake: FakeDingtalk) -> None:
    request = await filed_and_submitted(fake)
    assert "¥45.50" in params(request)["fields"]

    answer = await press(fake, "lisi", request, button(request, "approve:"))
    assert answer["cardData"]["cardParamMap"]["buttons"] == "[]"
    finance_step = (await eventually(lambda: cards_to(fake, FINANCE)))[-1]

    await press(fake, FINANCE, finance_step, button(finance_step, "approve:"))
    notice = (await eventually(lambda: [c for c in cards_to(fake, FINANCE)
                                        if "mark_paid:" in params(c)["buttons"]]))[-1]
    await press(fake, FINANCE, notice, button(notice, "mark_paid:"))
    await eventually(lambda: "已付款" in params(fake.cards[notice["outTrackId"]])["status"])


async def test_reject_with_a_preset_reason_updates_every_copy(
    server: Any, fake: FakeDingtalk
) -> None:
    request = await filed_and_submitted(fake)
    answer = await press(fake, "lisi", request, button(request, "reject:", "超出标准"))
    assert answer["cardData"]["cardParamMap"]["tone"] == "red"
    await eventually(lambda: params(fake.cards[request["outTrackId"]])["buttons"] == "[]")
    status = [c for c in cards_to(fake, "zhangsan") if c is not request]
    await eventually(lambda: any("超出标准" in params(fake.cards[c["outTrackId"]])["trail"]
                                 for c in status))


async def test_reject_for_another_reason_asks_the_approver_for_it(
    server: Any, fake: FakeDingtalk
) -> None:
    request = await filed_and_submitted(fake)
    answer = await press(fake, "lisi", request, button(request, "reject:", "other"))
    assert answer.get("userPrivateData", {}).get("cardParamMap", {}).get("notice")
    asked = await eventually(lambda: [c for c in fake.calls_to(
        "/v1.0/robot/oToMessages/batchSend") if c.body["userIds"] == ["lisi"]])
    assert json.loads(asked[-1].body["msgParam"])["content"]
    await say(fake, "lisi", "发票抬头不对")
    await eventually(lambda: "发票抬头不对" in params(fake.cards[request["outTrackId"]])["trail"])


async def test_a_receipt_photo_is_downloaded_onto_the_draft(
    server: Any, fake: FakeDingtalk
) -> None:
    await say(fake, "zhangsan", "报销 办公 45.5 昨天 买文具")
    await eventually(lambda: cards_to(fake, "zhangsan"))
    fake.files["dc-receipt"] = b"\xff\xd8\xff\xe0 receipt"
    photo = robot_payload(sender="zhangsan", msgtype="picture",
                          content={"downloadCode": "dc-receipt"})
    await fake.wait_ack(await fake.push_robot_message(photo))
    await eventually(lambda: fake.calls_to("/v1.0/robot/messageFiles/download"))
    await eventually(lambda: any('"1"' in params(c)["fields"] for c in cards_to(fake, "zhangsan")))
