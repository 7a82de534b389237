"""Budgets through the server: the approver's card shows what is left, and an over-budget claim
gets the "over_budget" flag and the extra step of a route step with flags = ["over_budget"]."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.config_model import ApprovalStepConfig, BudgetConfig, Config
from handlers.budgets import period_of
from tests.fakes.loopback import LoopDirectory, LoopPlatform, loop_factory
from tests.scenario.journey import DEPARTMENTS, USERS, Journey, journey_config

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
BUDGET = BudgetConfig("市场部", "month", Decimal("1000.00"))


def budget_config(tmp_path: Path, budget: BudgetConfig = BUDGET) -> Config:
    config = journey_config(tmp_path)
    manager, head, finance = config.approval.steps
    extra = ApprovalStepConfig("预算审批", "department_head", flags=("over_budget",))
    approval = replace(config.approval, steps=(manager, head, extra, finance))
    return replace(config, approval=approval, budgets=(budget,))


async def start(client_for: ClientMaker, config: Config) -> Journey:
    platform = LoopPlatform("feishu", directory=LoopDirectory(dict(USERS), dict(DEPARTMENTS)))
    app = create_app(config, platforms=[loop_factory(platform)])
    return Journey(await client_for(app), platform)


@pytest.fixture
async def journey(aiohttp_client: ClientMaker, tmp_path: Path) -> Journey:
    return await start(aiohttp_client, budget_config(tmp_path))


def month() -> str:
    return period_of(datetime.now(UTC), "month", ZoneInfo("Asia/Shanghai")).zh


async def submit(j: Journey, user: str, text: str) -> dict[str, Any]:
    await j.say(user, text)
    await j.settle()
    draft = j.last_card(user, "claim_draft")["data"]
    answer = await j.click(user, draft["actions"]["submit"])
    await j.settle()
    return answer


async def test_budget_line_and_extra_step_for_an_over_budget_claim(journey: Journey) -> None:
    j = journey
    assert (await submit(j, "zhangsan", "报销 打车 45.5 昨天 去客户现场"))["card"] == "claim_status"
    first = j.last_card("lisi", "approval_request")["data"]
    assert first["budget"] == f"市场部 {month()}预算剩余 ¥1,000.00（本单 ¥45.50）"
    assert first["step"]["count"] == 2  # 直属上级, 财务审核: within budget, no budget step
    assert not any("超出预算" in f["text"] for f in first["claim"]["flags"])

    # 钱七 (市场部 too) now claims more than the ¥954.50 left after 张三's approving claim
    assert (await submit(j, "qianqi", "报销 午餐 980 昨天"))["card"] == "claim_status"
    request = j.last_card("lisi", "approval_request")["data"]
    assert request["claim"]["applicant"]["name"] == "钱七"
    assert request["budget"] == f"市场部 {month()}预算剩余 ¥954.50（本单 ¥980.00，超出 ¥25.50）"
    over = [f for f in request["claim"]["flags"] if f["text"].startswith("超出预算：")]
    assert [f["level"] for f in over] == ["warning"]
    assert request["step"]["count"] == 3 and request["step"]["next"] == "预算审批：王五"

    await j.click("lisi", request["actions"]["approve"])
    await j.settle()
    extra = j.last_card("wangwu", "approval_request")["data"]
    assert (extra["step"]["name"], extra["step"]["index"]) == ("预算审批", 2)
    assert "触发政策提示 over_budget" in extra["step"]["reason"]
    assert extra["budget"] == f"市场部 {month()}预算剩余 ¥954.50（本单 ¥980.00，超出 ¥25.50）"


async def test_a_blocking_budget_refuses_the_claim(
    aiohttp_client: ClientMaker, tmp_path: Path
) -> None:
    j = await start(aiohttp_client, budget_config(tmp_path, replace(BUDGET, block=True)))
    refused = await submit(j, "zhangsan", "报销 午餐 1200 昨天")
    expected = (f"暂时不能提交：超出预算：市场部 {month()}预算剩余 ¥1,000.00"
                "（本单 ¥1,200.00，超出 ¥200.00）")
    assert (refused["card"], refused["toast"]) == ("", expected)
    assert j.sent("zhangsan", "text")[-1]["text"] == expected
    assert not j.sent("lisi", "card")

