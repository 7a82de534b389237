"""On every platform, through the emulator and the real server: 张三 files a claim by chat and
adds a receipt photo, 李四 approves on the card, 赵六 marks it paid; every card changes in place."""

from __future__ import annotations

import pytest

from bot.emulator.world import Entry
from tests.emulator.support import Demo, eventually, has_button, shows

PLATFORMS = ("feishu", "wecom", "dingtalk")


def latest(demo: Demo, platform: str, user: str, verb: str) -> Entry | None:
    found = [c for c in demo.cards(platform, user) if has_button(c, verb)]
    return found[-1] if found else None


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_file_with_a_receipt_approve_and_pay(demo: Demo, platform: str) -> None:
    await demo.say(platform, "zhangsan", "报销 打车 45.5 昨天 去客户现场")
    draft = await eventually(lambda: latest(demo, platform, "zhangsan", "submit"))
    assert shows(draft, "¥45.50")

    before = draft.version
    await demo.send_image(platform, "zhangsan")
    await eventually(lambda: draft.version > before or len(demo.cards(platform, "zhangsan")) > 1)
    assert await demo.emulator.world.settle(0.3, 10)
    draft = await eventually(lambda: latest(demo, platform, "zhangsan", "submit"))
    await demo.press(draft, "submit")

    request = await eventually(lambda: latest(demo, platform, "lisi", "approve"))
    assert shows(request, "¥45.50") and shows(request, "张三")
    await demo.press(request, "approve")
    await eventually(lambda: not has_button(request, "approve"))

    notice = await eventually(lambda: latest(demo, platform, "zhaoliu", "mark_paid"))
    await demo.press(notice, "mark_paid")
    await eventually(lambda: shows(notice, "已付款"))
    await eventually(lambda: any("已付款" in t for t in demo.texts(platform, "zhangsan"))
                     or any(shows(c, "已付款") for c in demo.cards(platform, "zhangsan")))


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_reject_with_a_reason_reaches_the_applicant(demo: Demo, platform: str) -> None:
    await demo.say(platform, "zhangsan", "报销 打车 45.5 昨天 去客户现场")
    draft = await eventually(lambda: latest(demo, platform, "zhangsan", "submit"))
    await demo.press(draft, "submit")
    request = await eventually(lambda: latest(demo, platform, "lisi", "reject"))
    await demo.press(request, "reject", "票据不全")
    await eventually(lambda: any("票据不全" in t for t in demo.texts(platform, "zhangsan"))
                     or any(shows(c, "票据不全") for c in demo.cards(platform, "zhangsan")))


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_a_large_claim_goes_through_the_department_head_and_finance(
    demo: Demo, platform: str
) -> None:
    await demo.say(platform, "zhangsan", "报销 办公 6000 昨天 采购电脑")
    draft = await eventually(lambda: latest(demo, platform, "zhangsan", "submit"))
    await demo.press(draft, "submit")
    for approver in ("lisi", "wangwu", "zhaoliu"):
        request = await eventually(lambda a=approver: latest(demo, platform, a, "approve"))
        assert shows(request, "6,000.00")
        await demo.press(request, "approve")
    await eventually(lambda: latest(demo, platform, "zhaoliu", "mark_paid"))
