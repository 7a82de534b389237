"""The whole claim journey through the server: file, approve, pay; and the ways it can go wrong.

The loopback platform speaks as "feishu" so the config's [finance] feishu list applies; the
platform adapters' own suites run the same journeys through each real wire format.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from storage.models import ClaimStatus
from tests.fakes.loopback import LoopDirectory, LoopPlatform, loop_factory
from tests.scenario.journey import DEPARTMENTS, USERS, Journey, journey_config

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]


async def file_claim(j: Journey, text: str = "报销 打车 45.5 昨天 去客户现场") -> dict[str, Any]:
    await j.say("zhangsan", text)
    await j.settle()
    return j.last_card("zhangsan", "claim_draft")


async def test_one_line_claim_to_paid(journey: Journey) -> None:
    j = journey
    draft = await file_claim(j)
    claim = draft["data"]["claim"]
    assert claim["total"] == "¥45.50"
    assert claim["items"][0]["category"] == "交通-打车"
    assert claim["items"][0]["date"] == "2026-11-28" or claim["items"][0]["date"]

    submitted = await j.click("zhangsan", draft["data"]["actions"]["submit"])
    assert submitted["card"] == "claim_status"
    await j.settle()
    request = j.last_card("lisi", "approval_request")
    assert request["data"]["step"]["index"] == 1 and request["data"]["step"]["count"] == 2

    decided = await j.click("lisi", request["data"]["actions"]["approve"])
    assert decided["card"] == "approval_decided"
    await j.settle()
    finance_request = j.last_card("zhaoliu", "approval_request")
    await j.click("zhaoliu", finance_request["data"]["actions"]["approve"])
    await j.settle()
    notice = j.last_card("zhaoliu", "finance_notice")
    paid = await j.click("zhaoliu", notice["data"]["actions"]["mark_paid"])
    assert paid["card"] == "finance_notice"
    await j.settle()

    stored = await j.client.app[keys.STORAGE].get_claim(claim["id"])
    assert stored is not None and stored.status is ClaimStatus.PAID
    updates = [s for s in j.platform.messenger.sent if s["kind"] == "update"]
    assert {u["name"] for u in updates} >= {"approval_decided", "claim_status", "finance_notice"}
    texts = [s["text"] for s in j.sent("zhangsan", "text")]
    assert any("已付款" in t for t in texts), texts
    trail = await j.client.app[keys.STORAGE].audit_trail(claim["id"])
    assert [e.action for e in trail][-4:] == ["submitted", "step_approved", "approved", "paid"]


async def test_guided_conversation_asks_for_what_is_missing(journey: Journey) -> None:
    j = journey
    await j.say("zhangsan", "报销")
    await j.say("zhangsan", "45")
    await j.settle()
    prompt = j.last_card("zhangsan", "prompt")
    assert prompt["data"]["text"] == "这是哪一类费用？"
    choice = next(c for c in prompt["data"]["choices"] if c["label"] == "交通-打车")
    await j.click("zhangsan", choice["action"])
    await j.settle()
    assert j.last_card("zhangsan", "prompt")["data"]["text"] == "这笔费用是哪天发生的？"
    await j.say("zhangsan", "昨天")
    await j.settle()
    draft = j.last_card("zhangsan", "claim_draft")
    assert draft["data"]["claim"]["total"] == "¥45.00"


async def test_category_fields_are_asked(journey: Journey) -> None:
    j = journey
    await j.say("zhangsan", "招待 800 昨天 陪客户")
    await j.settle()
    assert j.last_card("zhangsan", "prompt")["data"]["text"] == "请填写人数："
    await j.say("zhangsan", "三")
    await j.settle()
    assert "人数" in j.sent("zhangsan", "text")[-1]["text"]
    await j.say("zhangsan", "3")
    await j.settle()
    assert j.last_card("zhangsan", "claim_draft")["data"]["claim"]["total"] == "¥800.00"


async def test_cancel_leaves_the_conversation(journey: Journey) -> None:
    j = journey
    draft = await file_claim(j)
    await j.say("zhangsan", "取消")
    await j.settle()
    assert j.sent("zhangsan", "text")[-1]["text"] == "已取消。"
    stored = await j.client.app[keys.STORAGE].get_claim(draft["data"]["claim"]["id"])
    assert stored is not None and stored.status is ClaimStatus.WITHDRAWN


async def test_reject_needs_reason_and_tells_applicant(journey: Journey) -> None:
    j = journey
    draft = await file_claim(j)
    await j.click("zhangsan", draft["data"]["actions"]["submit"])
    await j.settle()
    request = j.last_card("lisi", "approval_request")
    refused = await j.click("lisi", request["data"]["actions"]["reject"])
    assert refused["toast"] == "请填写理由后再提交。"
    done = await j.click("lisi", request["data"]["actions"]["reject"], reason="票据不全")
    assert done["card"] == "approval_decided"
    await j.settle()
    assert "驳回：票据不全" in j.sent("zhangsan", "text")[-1]["text"]


async def test_reason_by_message_when_the_card_has_no_input(journey: Journey) -> None:
    j = journey
    draft = await file_claim(j)
    await j.click("zhangsan", draft["data"]["actions"]["submit"])
    await j.settle()
    request = j.last_card("lisi", "approval_request")
    await j.click("lisi", request["data"]["actions"]["return"], reason="other")
    await j.say("lisi", "请补充客户名称")
    await j.settle()
    claim_id = draft["data"]["claim"]["id"]
    stored = await j.client.app[keys.STORAGE].get_claim(claim_id)
    assert stored is not None and stored.status is ClaimStatus.RETURNED
    assert stored.steps[0].comment == "请补充客户名称"


async def test_return_then_resubmit(journey: Journey) -> None:
    j = journey
    draft = await file_claim(j)
    await j.click("zhangsan", draft["data"]["actions"]["submit"])
    await j.settle()
    request = j.last_card("lisi", "approval_request")
    await j.click("lisi", request["data"]["actions"]["return"], reason="金额不对")
    await j.settle()
    stored = await j.client.app[keys.STORAGE].get_claim(draft["data"]["claim"]["id"])
    assert stored is not None
    reopened = await j.click("zhangsan", f"resubmit:{stored.id}:{stored.version}")
    assert reopened["toast"] == "请修改后点击提交。"
    await j.settle()
    assert j.last_card("zhangsan", "claim_draft")["data"]["claim"]["id"] == stored.id
    await j.say("zhangsan", "金额改成 40")
    await j.settle()
    edited = j.last_card("zhangsan", "claim_draft")
    assert edited["data"]["claim"]["total"] == "¥40.00"
    again = await j.click("zhangsan", edited["data"]["actions"]["submit"])
    assert again["card"] == "claim_status"
    await j.settle()
    assert j.last_card("lisi", "approval_request")["data"]["claim"]["total"] == "¥40.00"


async def test_withdraw_mid_approval_updates_the_approver_card(journey: Journey) -> None:
    j = journey
    draft = await file_claim(j)
    claim_id = draft["data"]["claim"]["id"]
    await j.click("zhangsan", draft["data"]["actions"]["submit"])
    await j.settle()
    await j.say("zhangsan", f"撤回 {claim_id}")
    await j.settle()
    assert j.sent("zhangsan", "text")[-1]["text"] == f"报销单 {claim_id} 已撤回。"
    updates = [s for s in j.platform.messenger.sent if s["kind"] == "update"]
    assert any(u["name"] == "approval_decided" for u in updates)


async def test_two_clicks_at_once_make_one_decision(journey: Journey) -> None:
    import asyncio

    j = journey
    draft = await file_claim(j)
    await j.click("zhangsan", draft["data"]["actions"]["submit"])
    await j.settle()
    approve = j.last_card("lisi", "approval_request")["data"]["actions"]["approve"]
    first, second = await asyncio.gather(j.click("lisi", approve), j.click("lisi", approve))
    await j.settle()
    trail = await j.client.app[keys.STORAGE].audit_trail(draft["data"]["claim"]["id"])
    assert [e.action for e in trail].count("step_approved") == 1
    # The second click is either refused inline as stale or, queued behind the first for the
    # same person, handled by the worker; never a second decision.
    assert [first["toast"], second["toast"]].count("已同意") == 1


async def test_someone_else_cannot_approve_and_is_audited(journey: Journey) -> None:
    j = journey
    draft = await file_claim(j)
    await j.click("zhangsan", draft["data"]["actions"]["submit"])
    await j.settle()
    approve = j.last_card("lisi", "approval_request")["data"]["actions"]["approve"]
    refused = await j.click("qianqi", approve)
    assert refused["toast"] == "你不是这一步的审批人，无法操作。"
    trail = await j.client.app[keys.STORAGE].audit_trail(draft["data"]["claim"]["id"])
    assert trail[-1].action == "refused" and trail[-1].actor == "feishu:qianqi"


async def test_duplicate_invoice_is_refused_naming_the_holder(journey: Journey) -> None:
    j = journey
    first = await file_claim(j, "打车 45 昨天 发票 26312000000012345678")
    await j.click("zhangsan", first["data"]["actions"]["submit"])
    await j.settle()
    await j.say("qianqi", "打车 60 昨天 发票 26312000000012345678")
    await j.settle()
    second = j.last_card("qianqi", "claim_draft")
    refused = await j.click("qianqi", second["data"]["actions"]["submit"])
    assert first["data"]["claim"]["id"] in refused["toast"]
    assert "张三" in refused["toast"]


async def test_receipt_is_attached(journey: Journey) -> None:
    import json as _json

    j = journey
    await file_claim(j)
    await j.client.post("/loop/events", data=_json.dumps(
        {"id": "f1", "user": "zhangsan", "files": ["img_1"]}))
    await j.settle()
    draft = j.last_card("zhangsan", "claim_draft")
    assert draft["data"]["claim"]["items"][0]["attachments"] == 1


async def test_my_claims_and_todo(journey: Journey) -> None:
    j = journey
    draft = await file_claim(j)
    await j.click("zhangsan", draft["data"]["actions"]["submit"])
    await j.settle()
    await j.say("zhangsan", "我的报销")
    await j.say("lisi", "/todo")
    await j.settle()
    mine = j.last_card("zhangsan", "claim_list")["data"]
    todo = j.last_card("lisi", "claim_list")["data"]
    assert [c["id"] for c in mine["claims"]] == [c["id"] for c in todo["claims"]]
    assert todo["claims"][0]["waiting_for"] == "李四"


async def test_restart_mid_conversation_keeps_state(
    aiohttp_client: ClientMaker, tmp_path: Path
) -> None:
    config = journey_config(tmp_path)
    directory = LoopDirectory(dict(USERS), dict(DEPARTMENTS))
    first = LoopPlatform("feishu", directory=directory)
    j1 = Journey(await aiohttp_client(create_app(config, platforms=[loop_factory(first)])), first)
    await j1.say("zhangsan", "打车 45")
    await j1.settle()
    await j1.client.close()
    second = LoopPlatform("feishu", directory=directory)
    j2 = Journey(await aiohttp_client(create_app(config, platforms=[loop_factory(second)])),
                 second, itertools.count(100))
    await j2.say("zhangsan", "昨天")
    await j2.settle()
    assert j2.last_card("zhangsan", "claim_draft")["data"]["claim"]["total"] == "¥45.00"


async def test_file_that_is_not_a_receipt_is_refused(journey: Journey) -> None:
    import json as _json

    j = journey
    await file_claim(j)
    await j.client.post("/loop/events", data=_json.dumps(
        {"id": "f2", "user": "zhangsan", "files": ["bad_1"]}))
    await j.settle()
    assert "无法识别文件" in j.sent("zhangsan", "text")[-1]["text"]
    assert j.last_card("zhangsan", "claim_draft")["data"]["claim"]["items"][0]["attachments"] == 0


async def test_receipt_over_the_limit_is_refused(
    aiohttp_client: ClientMaker, tmp_path: Path
) -> None:
    import json as _json
    from dataclasses import replace

    config = journey_config(tmp_path)
    config = replace(config, storage=replace(config.storage, attachment_max_bytes=8))
    platform = LoopPlatform("feishu", directory=LoopDirectory(dict(USERS), dict(DEPARTMENTS)))
    j = Journey(await aiohttp_client(create_app(config, platforms=[loop_factory(platform)])),
                platform)
    await j.client.post("/loop/events", data=_json.dumps(
        {"id": "big", "user": "zhangsan", "files": ["img_big"]}))
    await j.settle()
    assert "文件太大" in j.sent("zhangsan", "text")[-1]["text"]


async def test_prompt_answered_on_the_card(journey: Journey) -> None:
    j = journey
    await j.say("zhangsan", "报销")
    await j.settle()
    prompt = j.last_card("zhangsan", "prompt")["data"]
    await j.click("zhangsan", prompt["input"]["action"], answer="打车 30 昨天 机场")
    await j.settle()
    assert j.last_card("zhangsan", "claim_draft")["data"]["claim"]["total"] == "¥30.00"


async def test_english_user(journey: Journey) -> None:
    j = journey
    await j.say("zhangsan", "English")
    await j.say("zhangsan", "help")
    await j.settle()
    assert j.last_card("zhangsan", "help")["data"]["title"] == "What the claims bot can do"


async def test_paid_notice_names_finance_by_name(journey: Journey) -> None:
    j = journey
    draft = await file_claim(j)
    await j.click("zhangsan", draft["data"]["actions"]["submit"])
    await j.settle()
    await j.click("lisi", j.last_card("lisi", "approval_request")["data"]["actions"]["approve"])
    await j.settle()
    finance = j.last_card("zhaoliu", "approval_request")["data"]["actions"]["approve"]
    await j.click("zhaoliu", finance)
    await j.settle()
    notice = j.last_card("zhaoliu", "finance_notice")
    paid = await j.click("zhaoliu", notice["data"]["actions"]["mark_paid"])
    assert paid["card"] == "finance_notice"
    await j.settle()
    update = [s for s in j.platform.messenger.sent
              if s["kind"] == "update" and s["name"] == "finance_notice"][-1]
    assert update["data"]["paid"]["by"] == "赵六"


async def test_one_users_messages_are_handled_in_order(journey: Journey) -> None:
    """Sent back to back, before any is handled: each depends on the one before it."""
    j = journey
    for text in ("打车 45", "昨天", "金额改成 50", "午餐 30 昨天"):
        await j.say("zhangsan", text)
    await j.settle()
    draft = j.last_card("zhangsan", "claim_draft")["data"]["claim"]
    assert [i["amount"] for i in draft["items"]] == ["¥50.00", "¥30.00"]


async def test_two_submits_with_one_invoice_at_once_one_wins_politely(journey: Journey) -> None:
    import asyncio

    j = journey
    await j.say("zhangsan", "打车 45 昨天 发票 26312000000012345678")
    await j.say("qianqi", "打车 60 昨天 发票 26312000000012345678")
    await j.settle()
    first = j.last_card("zhangsan", "claim_draft")["data"]
    second = j.last_card("qianqi", "claim_draft")["data"]
    answers = await asyncio.gather(j.click("zhangsan", first["actions"]["submit"]),
                                   j.click("qianqi", second["actions"]["submit"]))
    await j.settle()
    assert sorted(a["card"] for a in answers) == ["", "claim_status"]
    refused = next(a for a in answers if a["card"] == "")
    assert "26312000000012345678" in refused["toast"]
