"""Each person reads in their own language: new cards, updated copies, and a choice that
outlasts an expired conversation."""

from __future__ import annotations

import asyncio
from typing import Any

from bot import keys
from storage.models import Commit, ConversationWrite
from tests.scenario.journey import Journey


def recipient_of(j: Journey, update: dict[str, Any]) -> str:
    """Who holds the copy an update re-rendered (its ref is the card's message id)."""
    number = int(update["ref"]["message_id"].removeprefix("msg-"))
    return str(j.sent()[number - 1]["to"]).rsplit(":", 1)[1]


async def test_cards_go_out_and_stay_in_each_readers_language(journey: Journey) -> None:
    j = journey
    await j.say("lisi", "English")  # the approver reads English; the applicant Chinese
    await j.settle()
    await j.say("zhangsan", "报销 打车 45 昨天 去客户现场")
    await j.settle()
    draft = j.last_card("zhangsan", "claim_draft")
    assert draft["lang"] == "zh-CN"
    await j.click("zhangsan", draft["data"]["actions"]["submit"])
    await j.settle()

    request = j.last_card("lisi", "approval_request")
    assert request["lang"] == "en-US"
    assert request["data"]["reject_reasons"][0] == "Missing receipts"

    answer = await j.click("lisi", request["data"]["actions"]["approve"])
    assert answer["card"] == "approval_decided"  # the clicker's own answer, in English
    await j.settle()
    updates = {(recipient_of(j, u), u["name"]): u for u in j.sent(kind="update")}
    assert updates["lisi", "approval_decided"]["lang"] == "en-US"
    assert updates["zhangsan", "claim_status"]["lang"] == "zh-CN"
    # The next approver's card, built while lisi acted in English, is in zhaoliu's Chinese.
    finance_step = j.last_card("zhaoliu", "approval_request")
    assert finance_step["lang"] == "zh-CN"
    assert finance_step["data"]["reject_reasons"][0] == "票据不全"


async def test_a_language_choice_outlasts_an_expired_conversation(journey: Journey) -> None:
    j = journey
    storage = j.client.app[keys.STORAGE]
    await j.say("zhangsan", "English")
    await j.settle()
    expired = ConversationWrite("conv:loop:zhangsan", {"lang": "zh-CN"}, 0.01)
    await storage.commit(Commit(conversations=[expired]))  # as if a quiet day had passed
    await asyncio.sleep(0.05)
    assert await storage.get_conversation("conv:loop:zhangsan") is None

    await j.say("zhangsan", "help")
    await j.settle()
    assert j.sent(kind="card")[-1]["lang"] == "en-US"
