"""The filing journeys of issue 6 on Feishu (webhook with an encrypt key: every event and card
callback encrypted and signed) and DingTalk (Stream frames answered in their ACK, and HTTP robot
callbacks and card callbacks), through each platform's real callbacks; the answers are read from
the fake open APIs. WeCom's cards differ enough to have their own file (test_wecom_filing.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.dingtalk import FakeDingtalk
from tests.fakes.feishu import FakeFeishu
from tests.filing.drive import INVOICE, ClientMaker, DingtalkDriver, Driver, FeishuDriver


@pytest.fixture(params=["feishu", "dingtalk-stream", "dingtalk-http"])
async def driver(
    request: pytest.FixtureRequest, aiohttp_client: ClientMaker, tmp_path: Path
) -> AsyncIterator[Driver]:
    made: Driver
    if request.param == "feishu":
        feishu = FakeFeishu()
        await feishu.start()
        made, close = FeishuDriver(aiohttp_client, tmp_path, feishu), feishu.close
    else:
        dingtalk = FakeDingtalk()
        await dingtalk.start()
        mode = request.param.removeprefix("dingtalk-")
        made, close = DingtalkDriver(aiohttp_client, tmp_path, dingtalk, mode), dingtalk.close
    await made.start()
    yield made
    await made.stop()
    await close()


async def test_one_line_claim_receipt_and_submit(driver: Driver) -> None:
    d = driver
    await d.say("zhangsan", "报销 打车 45.5 昨天 去客户现场")
    draft = d.last_card("zhangsan", "claim_draft")
    assert "¥45.50" in draft.text and "交通-打车" in draft.text and draft.attachments == 0

    await d.send_image("zhangsan")
    draft = d.last_card("zhangsan", "claim_draft")
    assert draft.attachments == 1
    assert d.receipt_downloaded()

    answer = await d.click("zhangsan", draft, "submit:")
    assert answer.toast == f"报销单 {draft.claim_id} 已提交审批。"
    assert answer.card is not None and answer.card.name == "claim_status"
    request = d.last_card("lisi", "approval_request")
    assert request.claim_id == draft.claim_id and "¥45.50" in request.text
    assert request.action("approve:")
    # Both copies of the draft (before and after the receipt) now show the claim's status.
    assert d.cards_to("zhangsan", "claim_draft") == []
    assert len(d.cards_to("zhangsan", "claim_status")) == 2


async def test_guided_conversation(driver: Driver) -> None:
    d = driver
    await d.say("zhangsan", "报销")
    assert "请描述这笔费用" in d.last_card("zhangsan", "prompt").text
    await d.say("zhangsan", "45")
    prompt = d.last_card("zhangsan", "prompt")
    assert "这是哪一类费用？" in prompt.text

    answer = await d.click("zhangsan", prompt, "choose:category:taxi")
    assert answer.toast == "已记录"
    assert "这笔费用是哪天发生的？" in d.last_to("zhangsan").text
    await d.say("zhangsan", "昨天")
    draft = d.last_card("zhangsan", "claim_draft")
    assert "¥45.00" in draft.text and "交通-打车" in draft.text


async def test_cancel(driver: Driver) -> None:
    d = driver
    await d.say("zhangsan", "打车 45 昨天 去客户现场")
    draft = d.last_card("zhangsan", "claim_draft")
    answer = await d.click("zhangsan", draft, "cancel:")
    assert answer.toast == "已取消。"
    assert d.texts_to("zhangsan")[-1] == "已取消。"
    cancelled = d.cards_to("zhangsan")[-1]
    assert cancelled.name == "claim_status" and "已撤回" in cancelled.text
    assert cancelled.actions == ()

    await d.say("zhangsan", "打车 30 今天 回公司")
    assert d.last_card("zhangsan", "claim_draft").claim_id != draft.claim_id


async def test_restart_in_the_middle_of_a_conversation(driver: Driver) -> None:
    d = driver
    await d.say("zhangsan", "打车 45")
    assert "这笔费用是哪天发生的？" in d.last_to("zhangsan").text
    await d.restart()
    await d.say("zhangsan", "昨天")
    draft = d.last_card("zhangsan", "claim_draft")
    assert "¥45.00" in draft.text and "交通-打车" in draft.text


async def test_duplicate_invoice_is_refused_naming_the_holder(driver: Driver) -> None:
    d = driver
    await d.say("zhangsan", f"打车 45 昨天 发票 {INVOICE}")
    first = d.last_card("zhangsan", "claim_draft")
    await d.click("zhangsan", first, "submit:")
    await d.say("qianqi", f"打车 60 昨天 发票 {INVOICE}")
    second = d.last_card("qianqi", "claim_draft")

    refused = await d.click("qianqi", second, "submit:")
    assert first.claim_id in refused.toast and "张三" in refused.toast
    assert refused.toast == d.texts_to("qianqi")[-1]
    assert d.last_card("qianqi", "claim_draft").claim_id == second.claim_id
    assert d.cards_to("lisi", "approval_request")[-1].claim_id == first.claim_id


async def test_withdraw(driver: Driver) -> None:
    d = driver
    await d.say("zhangsan", "打车 45 昨天 去客户现场")
    await d.click("zhangsan", d.last_card("zhangsan", "claim_draft"), "submit:")
    status = d.last_card("zhangsan", "claim_status")

    answer = await d.click("zhangsan", status, "withdraw:")
    assert answer.toast == f"报销单 {status.claim_id} 已撤回。"
    assert answer.card is not None and "已撤回" in answer.card.text
    assert "已撤回" in d.cards_to("zhangsan")[-1].text
    decided = d.cards_to("lisi")[-1]
    assert decided.name == "approval_decided" and "已撤回" in decided.text
    assert decided.actions == ()
