"""Hostile chat on WeCom, through its real wire format, handlers and card rendering.

Amounts no claim may carry, text that tries to change a card's structure or run as a template,
and a click on a button meant for someone else: the bot answers, stores nothing it must not,
and the card keeps its shape.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.config import load_config
from bot.config_model import StorageConfig, WecomConfig
from storage.models import ClaimStatus
from tests.fakes.wecom import FakeWecom, Sent, WecomCallbacks
from tests.wecom.conftest import AES_KEY, AGENT_ID, CORP_ID, TOKEN
from tests.wecom.test_journey import EXAMPLE, button, cards_to, eventually, press, say

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
CALLBACKS = WecomCallbacks(TOKEN, AES_KEY, CORP_ID, AGENT_ID)
HOSTILE = '{{ config }} {% raw %} ${x} "}]}, {"tag": "button"} <at>@all</at> \u202e'


@pytest.fixture
async def fake() -> AsyncIterator[FakeWecom]:
    server = FakeWecom(corp_id=CORP_ID)
    await server.start()
    server.add_user("zhangsan", "张三", leaders=["lisi"], departments=[2])
    server.add_user("lisi", "李四", departments=[2])
    server.add_user("wangwu", "王五", departments=[3])
    server.add_department(2, "市场部", leaders=["lisi"])
    server.add_department(3, "财务部", leaders=["wangwu"])
    yield server
    await server.close()


@pytest.fixture
async def client(aiohttp_client: ClientMaker, fake: FakeWecom, tmp_path: Path) -> Any:
    config = dataclasses.replace(
        load_config(EXAMPLE, environ={}),
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'hostile.db'}"),
        wecom=WecomConfig(CORP_ID, AGENT_ID, fake.secret, TOKEN, AES_KEY, base_url=fake.url),
        feishu=None,
        dingtalk=None,
    )
    return await aiohttp_client(create_app(config))


def answers_to(fake: FakeWecom, user: str) -> list[Sent]:
    return [s for s in fake.sent if s.body.get("touser") == user]


async def amounts_of(client: Any, user: str) -> list[Decimal]:
    claims = await client.app[keys.STORAGE].claims_by_applicant("wecom", user)
    return [item.amount for claim in claims for item in claim.items]


@pytest.mark.parametrize(
    "amount",
    ["NaN", "-45", "0", "0.00", "1e308", "Infinity", "9" * 400, "0.001", "-0", "４５\u200b",
     "1_000", "0x2D", "45.5.5", "¥-45", "负45"],
)  # fmt: skip
async def test_no_claim_carries_an_impossible_amount(
    client: Any, fake: FakeWecom, amount: str
) -> None:
    await say(client, CALLBACKS, "zhangsan", f"报销 办公 {amount} 昨天 买文具")
    await eventually(lambda: answers_to(fake, "zhangsan"))
    for stored in await amounts_of(client, "zhangsan"):
        assert Decimal("0") < stored < Decimal("100000000000"), (amount, stored)
    depth = await client.app[keys.STORAGE].queue_depth()
    assert all(dead == 0 for _, dead in depth.values()), depth


def shape(node: Any) -> Any:
    """A card with its text blanked: what user text must never change."""
    if isinstance(node, dict):
        return {k: shape(v) for k, v in node.items()}
    if isinstance(node, list):
        return [shape(v) for v in node]
    return type(node).__name__


async def draft_for(client: Any, fake: FakeWecom, user: str, text: str) -> dict[str, Any]:
    await say(client, CALLBACKS, user, text)
    try:
        sent = await eventually(lambda: cards_to(fake, user))
    except TimeoutError:
        raise AssertionError([c.body for c in fake.calls if "send" in c.path][-3:]) from None
    card: dict[str, Any] = sent[-1].body["template_card"]
    return card


async def test_hostile_description_stays_text_and_the_card_keeps_its_shape(
    client: Any, fake: FakeWecom
) -> None:
    fake.add_user("qianqi", "钱七", leaders=["lisi"], departments=[2])
    plain = await draft_for(client, fake, "qianqi", "报销 办公 45.5 昨天 买文具")
    hostile = await draft_for(client, fake, "zhangsan", f"报销 办公 45.5 昨天 {HOSTILE}")
    assert shape(hostile) == shape(plain)
    rendered = json.dumps(hostile, ensure_ascii=False)
    assert "{{ config }} {% raw %} ${x}" in rendered  # as typed, not evaluated
    assert [b["key"].split(":")[0] for b in hostile["button_list"]] == [
        b["key"].split(":")[0] for b in plain["button_list"]
    ]
    stored = await client.app[keys.STORAGE].claims_by_applicant("wecom", "zhangsan")
    assert stored[0].items[0].description.startswith("{{ config }} {% raw %}")


async def test_a_click_on_someone_elses_button_is_refused_and_audited(
    client: Any, fake: FakeWecom
) -> None:
    """The applicant replays the approver's button (its key is no secret): the actor comes from
    the signed, encrypted envelope, never from the card, so the claim does not move."""
    await draft_for(client, fake, "zhangsan", "报销 办公 45.5 昨天 买文具")
    draft = cards_to(fake, "zhangsan")[-1]
    await press(client, CALLBACKS, fake, "zhangsan", draft, button(draft, "submit:"))
    request = (await eventually(lambda: cards_to(fake, "lisi")))[-1]
    await press(client, CALLBACKS, fake, "zhangsan", request, button(request, "approve:"))
    storage = client.app[keys.STORAGE]
    claim = (await storage.claims_by_applicant("wecom", "zhangsan"))[0]
    assert claim.status is ClaimStatus.APPROVING and claim.current_step == 0
    trail = await storage.audit_trail(claim.id)
    assert trail[-1].action == "refused" and trail[-1].actor == "wecom:zhangsan"
