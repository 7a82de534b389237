"""Filing on WeCom: every message and card click arrives as encrypted, signed XML at the callback
URL; a click is answered with an encrypted passive reply (the clicked card's new button label),
everything else through the fake's ``/cgi-bin`` API. Prompts without choices are text messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.fakes.wecom import FakeWecom
from tests.filing.drive import INVOICE, WECOM_CORP, ClientMaker, WecomDriver


@pytest.fixture
async def wecom(aiohttp_client: ClientMaker, tmp_path: Path) -> AsyncIterator[WecomDriver]:
    fake = FakeWecom(corp_id=WECOM_CORP)
    await fake.start()
    driver = WecomDriver(aiohttp_client, tmp_path, fake)
    await driver.start()
    yield driver
    await driver.stop()
    await fake.close()


async def test_one_line_claim_receipt_and_submit(wecom: WecomDriver) -> None:
    d = wecom
    await d.say("zhangsan", "报销 打车 45.5 昨天 去客户现场")
    draft = d.last_card("zhangsan", "claim_draft")
    assert "¥45.50" in draft.text and "交通-打车" in draft.text and draft.attachments == 0

    await d.send_image("zhangsan")
    draft = d.last_card("zhangsan", "claim_draft")
    assert draft.attachments == 1
    assert d.receipt_downloaded()

    answer = await d.click("zhangsan", draft, "submit:")
    assert answer.toast.startswith(f"报销单 {draft.claim_id}")  # a button label: 20 characters
    request = d.last_card("lisi", "approval_request")
    assert request.claim_id == draft.claim_id and "¥45.50" in request.text
    assert request.action("approve:")
    assert d.cards_to("zhangsan", "claim_draft") == []
    assert len(d.cards_to("zhangsan", "claim_status")) == 2


async def test_guided_conversation(wecom: WecomDriver) -> None:
    d = wecom
    await d.say("zhangsan", "报销")
    assert "请描述这笔费用" in d.texts_to("zhangsan")[-1]
    await d.say("zhangsan", "45")
    prompt = d.last_card("zhangsan", "prompt")
    assert "这是哪一类费用？" in prompt.text

    answer = await d.click("zhangsan", prompt, "choose:category:taxi")
    assert answer.toast == "已记录"
    assert "这笔费用是哪天发生的？" in d.last_to("zhangsan").text
    await d.say("zhangsan", "昨天")
    draft = d.last_card("zhangsan", "claim_draft")
    assert "¥45.00" in draft.text and "交通-打车" in draft.text


async def test_cancel(wecom: WecomDriver) -> None:
    d = wecom
    await d.say("zhangsan", "打车 45 昨天 去客户现场")
    draft = d.last_card("zhangsan", "claim_draft")
    answer = await d.click("zhangsan", draft, "cancel:")
    assert answer.toast == "已取消。"
    assert d.texts_to("zhangsan")[-1] == "已取消。"
    cancelled = d.cards_to("zhangsan")[-1]
    assert cancelled.name == "claim_status" and "已撤回" in cancelled.text
    assert all(a.startswith("noop:") for a in cancelled.actions)

    await d.say("zhangsan", "打车 30 今天 回公司")
    assert d.last_card("zhangsan", "claim_draft").claim_id != draft.claim_id


async def test_restart_in_the_middle_of_a_conversation(wecom: WecomDriver) -> None:
    d = wecom
    await d.say("zhangsan", "打车 45")
    assert "这笔费用是哪天发生的？" in d.last_to("zhangsan").text
    await d.restart()
    await d.say("zhangsan", "昨天")
    draft = d.last_card("zhangsan", "claim_draft")
    assert "¥45.00" in draft.text and "交通-打车" in draft.text


async def test_duplicate_invoice_is_refused_naming_the_holder(wecom: WecomDriver) -> None:
    d = wecom
    await d.say("zhangsan", f"打车 45 昨天 发票 {INVOICE}")
    first = d.last_card("zhangsan", "claim_draft")
    await d.click("zhangsan", first, "submit:")
    await d.say("qianqi", f"打车 60 昨天 发票 {INVOICE}")
    second = d.last_card("qianqi", "claim_draft")

    refused = await d.click("qianqi", second, "submit:")
    assert refused.toast.startswith("暂时不能提交")
    # A button label holds 20 characters: the full answer comes as a message.
    told = d.texts_to("qianqi")[-1]
    assert first.claim_id in told and "张三" in told
    assert d.last_card("qianqi", "claim_draft").claim_id == second.claim_id
    assert d.cards_to("lisi", "approval_request")[-1].claim_id == first.claim_id


async def test_withdraw(wecom: WecomDriver) -> None:
    d = wecom
    await d.say("zhangsan", "打车 45 昨天 去客户现场")
    await d.click("zhangsan", d.last_card("zhangsan", "claim_draft"), "submit:")
    status = d.last_card("zhangsan", "claim_status")

    answer = await d.click("zhangsan", status, "withdraw:")
    assert answer.toast == "已撤回"
    assert "已撤回" in d.cards_to("zhangsan")[-1].text
    decided = d.cards_to("lisi")[-1]
    assert decided.name == "approval_decided" and "已撤回" in decided.text
    assert all(a.startswith("noop:") for a in decided.actions)
