"""On each platform, in a real browser: 张三 files a claim and sends a receipt photo, 李四
approves on the card, 赵六 marks it paid — and each window's cards change in place. A
screenshot of every step is written under artifacts/browser/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PLATFORMS = ("feishu", "wecom", "dingtalk")


def window(page: Any, user: str) -> Any:
    return page.locator(f'.window[data-user="{user}"]')


def button(page: Any, user: str, verb: str) -> Any:
    return window(page, user).locator(f'.card button[data-action^="{verb}:"]')


async def snap(page: Any, artifacts: Path, platform: str, step: str) -> None:
    await page.screenshot(path=str(artifacts / f"{platform}-{step}.png"))


async def card_with(page: Any, user: str, verb: str, text: str) -> None:
    """Until the newest card of ``user`` that has a ``verb`` button also shows ``text``."""
    await page.wait_for_function(
        """([user, verb, text]) => {
            const cards = [...document.querySelectorAll(`.window[data-user="${user}"] .card`)]
                .filter((c) => c.querySelector(`button[data-action^="${verb}:"]`));
            return cards.length > 0 && cards[cards.length - 1].innerText.includes(text);
        }""",
        arg=[user, verb, text],
    )


async def settled(page: Any, demo_url: str) -> None:
    """Until the bot has stopped reacting (the emulator saw nothing new for a moment)."""
    answer = await page.request.get(demo_url + "/api/settle?quiet=0.3&within=10")
    assert (await answer.json())["quiet"]


async def shows(page: Any, user: str, text: str) -> None:
    await window(page, user).locator(".messages").get_by_text(text).first.wait_for()


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_file_approve_and_pay_in_the_browser(
    page: Any, demo_url: str, artifacts: Path, platform: str
) -> None:
    await page.goto(f"{demo_url}?platform={platform}")
    await page.locator("#status.ok").wait_for()

    composer = window(page, "zhangsan").locator(".composer .text")
    await composer.fill("报销 打车 45.5 昨天 去客户现场")
    await composer.press("Enter")
    await button(page, "zhangsan", "submit").last.wait_for()
    await snap(page, artifacts, platform, "1-draft")

    await window(page, "zhangsan").locator(".chip-receipt").click()
    await window(page, "zhangsan").locator(".msg-image img").wait_for()
    await settled(page, demo_url)
    await card_with(page, "zhangsan", "submit", "附件")
    await snap(page, artifacts, platform, "2-receipt")

    await button(page, "zhangsan", "submit").last.click()
    approve = button(page, "lisi", "approve").first
    await approve.wait_for()
    await card_with(page, "lisi", "approve", "¥45.50")
    await snap(page, artifacts, platform, "3-approval-request")

    await approve.click()
    await button(page, "lisi", "approve").first.wait_for(state="detached")
    await shows(page, "lisi", "已同意")
    paid = button(page, "zhaoliu", "mark_paid").first
    await paid.wait_for()
    await snap(page, artifacts, platform, "4-finance-notice")

    await paid.click()
    await button(page, "zhaoliu", "mark_paid").first.wait_for(state="detached")
    await shows(page, "zhaoliu", "已付款")
    await shows(page, "zhangsan", "已付款")
    await snap(page, artifacts, platform, "5-paid")


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_reject_with_a_reason_filled_in_on_the_card(
    page: Any, demo_url: str, artifacts: Path, platform: str
) -> None:
    """Feishu: the card's text field; WeCom: the reason dropdown; DingTalk: a reason button."""
    await page.goto(f"{demo_url}?platform={platform}")
    await page.locator("#status.ok").wait_for()
    await window(page, "zhangsan").locator(".chip").first.click()
    await button(page, "zhangsan", "submit").last.click()
    lisi = window(page, "lisi")
    reject = button(page, "lisi", "reject")
    await reject.first.wait_for()
    if platform == "feishu":
        await lisi.locator('.card textarea[name="reason"]').fill("发票抬头不对")
        await reject.first.click()
        reason = "发票抬头不对"
    elif platform == "wecom":
        await lisi.locator(".card select.wc-select").select_option("票据不全")
        await reject.first.click()
        reason = "票据不全"
    else:
        await lisi.locator('.card button[data-reason="超出标准"]').click()
        reason = "超出标准"
    await reject.first.wait_for(state="detached")
    await shows(page, "zhangsan", reason)
    await snap(page, artifacts, platform, "reject-with-reason")
