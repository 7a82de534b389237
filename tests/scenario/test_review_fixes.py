"""Found in review: what a stranger's click may see, and invoice locks across a return."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot import keys
from tests.fakes.loopback import LoopDirectory, LoopPlatform, loop_factory
from tests.scenario.journey import DEPARTMENTS, USERS, Journey, journey_config

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
INVOICE = "26312000000012345678"


async def file_and_submit(j: Journey, user: str, text: str) -> dict[str, Any]:
    await j.say(user, text)
    await j.settle()
    draft = j.last_card(user, "claim_draft")
    await j.click(user, draft["data"]["actions"]["submit"])
    await j.settle()
    return draft


async def test_a_stale_click_by_a_stranger_shows_nothing_of_the_claim(journey: Journey) -> None:
    j = journey
    draft = await file_and_submit(j, "zhangsan", "报销 打车 45.5 昨天 去客户现场")
    claim_id = draft["data"]["claim"]["id"]
    refused = await j.click("qianqi", f"approve:{claim_id}:1")  # an old version, not on route
    assert refused["toast"] == "你不是这一步的审批人，无法操作。"
    assert not refused["card"]
    trail = await j.client.app[keys.STORAGE].audit_trail(claim_id)
    assert trail[-1].action == "refused" and trail[-1].actor == "feishu:qianqi"


async def test_a_returned_claim_keeps_its_invoice_until_withdrawn(journey: Journey) -> None:
    j = journey
    storage = j.client.app[keys.STORAGE]
    draft = await file_and_submit(j, "zhangsan", f"打车 45 昨天 发票 {INVOICE}")
    claim_id = draft["data"]["claim"]["id"]
    request = j.last_card("lisi", "approval_request")
    await j.click("lisi", request["data"]["actions"]["return"], reason="金额不对")
    await j.settle()
    assert await storage.invoice_holder(INVOICE) == claim_id  # kept while returned

    other = await file_and_submit(j, "qianqi", f"打车 60 昨天 发票 {INVOICE}")
    assert await storage.invoice_holder(INVOICE) == claim_id
    assert (await storage.get_claim(other["data"]["claim"]["id"])).status.value == "draft"

    returned = await storage.get_claim(claim_id)
    await j.click("zhangsan", f"resubmit:{claim_id}:{returned.version}")
    await j.settle()
    edited = j.last_card("zhangsan", "claim_draft")
    assert not [f for f in edited["data"]["claim"]["flags"] if f["level"] == "block"]
    again = await j.click("zhangsan", edited["data"]["actions"]["submit"])
    assert again["card"] == "claim_status"
    await j.settle()
    assert await storage.invoice_holder(INVOICE) == claim_id

    request = j.last_card("lisi", "approval_request")
    await j.click("lisi", request["data"]["actions"]["return"], reason="再改改")
    await j.settle()
    await j.say("zhangsan", f"撤回 {claim_id}")
    await j.settle()
    assert await storage.invoice_holder(INVOICE) is None  # withdrawn from returned: released


async def test_every_refused_withdraw_is_audited(journey: Journey) -> None:
    j = journey
    draft = await file_and_submit(j, "zhangsan", "报销 打车 45.5 昨天 去客户现场")
    claim_id = draft["data"]["claim"]["id"]
    stale = f"withdraw:{claim_id}:1"  # the draft's version, long gone
    stranger = await j.click("qianqi", stale)
    assert stranger["toast"] == "只有申请人可以这样操作。" and not stranger["card"]
    own = await j.click("zhangsan", stale)
    assert claim_id in own["toast"] and not own["card"]
    trail = await j.client.app[keys.STORAGE].audit_trail(claim_id)
    assert [(e.action, e.actor) for e in trail[-2:]] == [
        ("refused", "feishu:qianqi"), ("refused", "feishu:zhangsan")]


async def test_cancel_on_an_old_draft_card_leaves_the_open_draft_alone(journey: Journey) -> None:
    j = journey
    storage = j.client.app[keys.STORAGE]
    first = await file_and_submit(j, "zhangsan", "报销 打车 45.5 昨天 去客户现场")
    await j.say("zhangsan", "报销 午餐 30 今天")
    await j.settle()
    second = j.last_card("zhangsan", "claim_draft")["data"]["claim"]["id"]
    answer = await j.click("zhangsan", first["data"]["actions"]["cancel"])
    await j.settle()
    assert answer["toast"] != "已取消。"
    assert (await storage.get_claim(second)).status.value == "draft"
    assert (await storage.get_claim(first["data"]["claim"]["id"])).status.value == "approving"


async def test_withdrawing_someone_elses_claim_by_text_is_audited(journey: Journey) -> None:
    j = journey
    draft = await file_and_submit(j, "zhangsan", "报销 打车 45.5 昨天 去客户现场")
    claim_id = draft["data"]["claim"]["id"]
    await j.say("qianqi", f"撤回 {claim_id}")
    await j.settle()
    claim = await j.client.app[keys.STORAGE].get_claim(claim_id)
    assert claim is not None and claim.status.value == "approving"
    trail = await j.client.app[keys.STORAGE].audit_trail(claim_id)
    assert (trail[-1].action, trail[-1].actor) == ("refused", "feishu:qianqi")


async def test_a_second_submit_click_is_refused_and_audited(journey: Journey) -> None:
    j = journey
    draft = await file_and_submit(j, "zhangsan", "报销 打车 45.5 昨天 去客户现场")
    again = await j.click("zhangsan", draft["data"]["actions"]["submit"])
    assert again["card"] == "claim_status" and again["toast"] != "已提交"
    trail = await j.client.app[keys.STORAGE].audit_trail(draft["data"]["claim"]["id"])
    assert [e.action for e in trail].count("submitted") == 1
    assert (trail[-1].action, trail[-1].actor) == ("refused", "feishu:zhangsan")


async def test_cancel_while_editing_a_returned_claim_says_it_stays_returned(
    journey: Journey,
) -> None:
    j = journey
    storage = j.client.app[keys.STORAGE]
    draft = await file_and_submit(j, "zhangsan", f"打车 45 昨天 发票 {INVOICE}")
    claim_id = draft["data"]["claim"]["id"]
    request = j.last_card("lisi", "approval_request")
    await j.click("lisi", request["data"]["actions"]["return"], reason="金额不对")
    await j.settle()
    returned = await storage.get_claim(claim_id)
    assert returned is not None
    await j.click("zhangsan", f"resubmit:{claim_id}:{returned.version}")
    await j.settle()
    editing = j.last_card("zhangsan", "claim_draft")["data"]
    answer = await j.click("zhangsan", editing["actions"]["cancel"])
    await j.settle()
    assert answer["toast"] != "已取消。" and f"撤回 {claim_id}" in answer["toast"]
    assert (await storage.get_claim(claim_id)).status.value == "returned"
    assert await storage.invoice_holder(INVOICE) == claim_id


async def test_today_is_the_configured_wall_clock_day_not_utc(
    aiohttp_client: ClientMaker, tmp_path: Path
) -> None:
    from datetime import UTC, datetime

    from bot.app import create_app

    early_in_beijing = datetime(2026, 11, 28, 23, 30, tzinfo=UTC)  # 11-29 07:30 Asia/Shanghai
    platform = LoopPlatform("feishu", directory=LoopDirectory(dict(USERS), dict(DEPARTMENTS)))
    app = create_app(journey_config(tmp_path), platforms=[loop_factory(platform)],
                     clock=lambda: early_in_beijing)
    j = Journey(await aiohttp_client(app), platform)
    await j.say("zhangsan", "报销 打车 30 今天 去客户现场")
    await j.settle()
    claim = j.last_card("zhangsan", "claim_draft")["data"]["claim"]
    assert claim["items"][0]["date"] == "2026-11-29"
    assert not claim["flags"]  # not "in the future"


async def test_the_applicant_is_told_in_their_language_not_the_approvers(
    journey: Journey,
) -> None:
    j = journey
    await j.say("zhangsan", "English")
    await j.settle()
    draft = await file_and_submit(j, "zhangsan", "报销 打车 45.5 昨天 去客户现场")
    request = j.last_card("lisi", "approval_request")  # 李四 speaks Chinese
    await j.click("lisi", request["data"]["actions"]["return"], reason="金额不对")
    await j.settle()
    told = j.sent("zhangsan", "text")[-1]["text"]
    assert told.startswith("Your claim") and draft["data"]["claim"]["id"] in told


async def test_a_full_draft_refuses_another_item_and_says_how_to_go_on(journey: Journey) -> None:
    from handlers.drafts import MAX_ITEMS

    j = journey
    storage = j.client.app[keys.STORAGE]
    for n in range(MAX_ITEMS):
        await j.say("zhangsan", f"报销 打车 {n + 1}.5 昨天")
    await j.settle()
    draft = j.last_card("zhangsan", "claim_draft")
    claim_id = draft["data"]["claim"]["id"]
    full = await storage.get_claim(claim_id)
    assert len(full.items) == MAX_ITEMS

    await j.say("zhangsan", "打车 45，午餐 80")
    await j.settle()
    assert j.sent(kind="text")[-1]["text"].startswith(f"报销单 {claim_id} 已有 50 笔费用")
    assert await storage.get_claim(claim_id) == full  # nothing changed

    await j.click("zhangsan", draft["data"]["actions"]["submit"])
    await j.settle()
    await j.say("zhangsan", "打车 45 昨天")
    await j.settle()
    fresh = j.last_card("zhangsan", "claim_draft")["data"]["claim"]
    assert fresh["id"] != claim_id and len(fresh["items"]) == 1


async def test_reopening_a_returned_claim_says_what_became_of_the_open_draft(
    journey: Journey,
) -> None:
    j = journey
    storage = j.client.app[keys.STORAGE]
    returned_id = (await file_and_submit(j, "zhangsan", "报销 打车 45 昨天"))["data"]["claim"]["id"]
    request = j.last_card("lisi", "approval_request")
    await j.click("lisi", request["data"]["actions"]["return"], reason="补充说明")
    await j.settle()
    await j.say("zhangsan", "报销 午餐 80 昨天")
    await j.settle()
    open_draft = j.last_card("zhangsan", "claim_draft")["data"]
    draft_id = open_draft["claim"]["id"]
    assert draft_id != returned_id

    returned = await storage.get_claim(returned_id)
    await j.click("zhangsan", f"resubmit:{returned_id}:{returned.version}")
    await j.settle()
    notice = j.sent(kind="text")[-1]["text"]
    assert notice.startswith(f"你还有一张未提交的草稿 {draft_id}") and returned_id in notice

    await j.say("zhangsan", "打车 20 昨天")
    await j.settle()
    assert len((await storage.get_claim(returned_id)).items) == 2
    assert len((await storage.get_claim(draft_id)).items) == 1
    submitted = await j.click("zhangsan", open_draft["actions"]["submit"])
    assert submitted["card"] == "claim_status"


async def test_a_new_category_asks_for_its_fields_before_the_item_changes(
    journey: Journey,
) -> None:
    j = journey
    storage = j.client.app[keys.STORAGE]
    await j.say("zhangsan", "报销 午餐 80 昨天 团队聚餐")
    await j.settle()
    claim_id = j.last_card("zhangsan", "claim_draft")["data"]["claim"]["id"]
    before = await storage.get_claim(claim_id)

    await j.say("zhangsan", "类别改成 招待")
    await j.settle()
    assert j.sent(kind="text")[-1]["text"].startswith("“业务招待”类费用还需要几项信息")
    assert j.sent()[-1]["name"] == "prompt"  # asking for 人数
    assert await storage.get_claim(claim_id) == before  # nothing changes until it is answered

    await j.say("zhangsan", "3")
    await j.settle()
    after = await storage.get_claim(claim_id)
    (item,) = after.items
    assert (item.category, item.amount, item.description) == (
        "entertainment", before.items[0].amount, before.items[0].description)
    assert dict(item.extra) == {"guests": "3"}


async def test_cancel_while_a_category_change_waits_drops_only_that_change(
    journey: Journey,
) -> None:
    j = journey
    storage = j.client.app[keys.STORAGE]
    await j.say("zhangsan", "报销 午餐 80 昨天 团队聚餐")
    await j.settle()
    claim_id = j.last_card("zhangsan", "claim_draft")["data"]["claim"]["id"]
    before = await storage.get_claim(claim_id)
    await j.say("zhangsan", "类别改成 招待")
    await j.settle()

    await j.say("zhangsan", "取消")
    await j.settle()
    assert j.sent(kind="text")[-1]["text"] == f"已放弃这次修改，草稿 {claim_id} 保持原样。"
    assert await storage.get_claim(claim_id) == before  # still a draft, item unchanged
    await j.say("zhangsan", "打车 20 昨天")  # the conversation goes on with the same draft
    await j.settle()
    assert len((await storage.get_claim(claim_id)).items) == 2
