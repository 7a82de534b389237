"""E-invoices while filing: a PDF prefills an item, the same invoice as OFD is refused elsewhere."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.config_model import CompanyConfig
from tests.einvoice.gen_ofd import invoice_ofd
from tests.einvoice.gen_pdf import invoice_pdf
from tests.einvoice.specs import COMPANY_ID, COMPANY_NAME, DIGITAL_NORMAL, Spec
from tests.fakes.loopback import LoopDirectory, LoopPlatform, loop_factory
from tests.scenario.journey import DEPARTMENTS, USERS, Journey, journey_config

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
LUNCH: Spec = replace(DIGITAL_NORMAL, issued=date(2026, 11, 20), number="26312000000000000012")


@pytest.fixture
async def journey(aiohttp_client: ClientMaker, tmp_path: Path) -> Journey:
    config = replace(journey_config(tmp_path), company=CompanyConfig(COMPANY_NAME, COMPANY_ID))
    platform = LoopPlatform("feishu", directory=LoopDirectory(dict(USERS), dict(DEPARTMENTS)))
    platform.messenger.files.update({
        "lunch.pdf": invoice_pdf(LUNCH),
        "lunch.ofd": invoice_ofd(LUNCH),
        "broken.pdf": invoice_pdf(LUNCH)[:400],
        "other-buyer.pdf": invoice_pdf(replace(LUNCH, buyer_name="别的公司",
                                               number="26312000000000000099")),
    })
    return Journey(await aiohttp_client(create_app(config, platforms=[loop_factory(platform)])),
                   platform)


async def send_file(j: Journey, user: str, handle: str) -> None:
    body = {"id": f"file-{user}-{handle}", "user": user, "files": [handle]}
    assert (await j.client.post("/loop/events", data=json.dumps(body))).status == 200
    await j.settle()


async def test_pdf_prefills_then_ofd_of_the_same_invoice_is_refused(journey: Journey) -> None:
    j = journey
    await send_file(j, "zhangsan", "lunch.pdf")
    told = j.sent("zhangsan", "text")[-1]["text"]
    assert told.startswith("已从发票读取：数电普票 示例餐饮管理有限公司 ¥106.00（2026-11-20）")
    assert "按“*餐饮服务*”判断为 餐费" in told
    draft = j.last_card("zhangsan", "claim_draft")["data"]
    item = draft["claim"]["items"][0]
    assert (item["category"], item["amount"], item["date"]) == ("餐费", "¥106.00", "2026-11-20")
    assert item["invoice"] == LUNCH.number and item["attachments"] == 1
    first = await j.click("zhangsan", draft["actions"]["submit"])
    assert first["card"] == "claim_status"

    await send_file(j, "qianqi", "lunch.ofd")
    second = j.last_card("qianqi", "claim_draft")["data"]
    assert second["claim"]["items"][0]["invoice"] == LUNCH.number
    held = [f for f in second["claim"]["flags"] if draft["claim"]["id"] in f["text"]]
    assert held and held[0]["level"] == "block"  # shown on the draft before submitting
    refused = await j.click("qianqi", second["actions"]["submit"])
    assert draft["claim"]["id"] in refused["toast"]
    assert "张三" in refused["toast"]


async def test_claiming_more_than_the_invoice_shows_and_blocks(journey: Journey) -> None:
    j = journey
    await send_file(j, "zhangsan", "lunch.pdf")
    await j.say("zhangsan", "金额改成 200")
    await j.settle()
    draft = j.last_card("zhangsan", "claim_draft")["data"]
    flags = [f["text"] for f in draft["claim"]["flags"]]
    assert "报销金额 ¥200.00 超过发票价税合计 ¥106.00" in flags
    refused = await j.click("zhangsan", draft["actions"]["submit"])
    assert "超过发票价税合计" in refused["toast"]


async def test_invoice_to_another_buyer_is_flagged_and_blocked(journey: Journey) -> None:
    j = journey
    await send_file(j, "zhangsan", "other-buyer.pdf")
    draft = j.last_card("zhangsan", "claim_draft")["data"]
    assert any(f["level"] == "block" for f in draft["claim"]["flags"])
    refused = await j.click("zhangsan", draft["actions"]["submit"])
    assert refused["toast"].startswith("暂时不能提交")


async def test_broken_invoice_gets_a_message_and_changes_nothing(journey: Journey) -> None:
    j = journey
    await send_file(j, "zhangsan", "broken.pdf")
    assert j.sent("zhangsan", "card") == []
    assert len(j.sent("zhangsan", "text")) == 1
    assert await j.client.app[keys.STORAGE].claims_by_applicant("feishu", "zhangsan") == []
