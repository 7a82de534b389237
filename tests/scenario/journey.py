"""A running server with the loopback platform, a small organisation and the example rules."""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot import keys
from bot.config_model import (
    ApprovalConfig,
    ApprovalStepConfig,
    CategoryConfig,
    CategoryFieldConfig,
    Config,
    FinanceConfig,
    StorageConfig,
)
from bot.platforms.base import DirectoryDepartment, DirectoryUser
from tests.fakes.loopback import LoopPlatform

USERS = {
    "zhangsan": DirectoryUser("zhangsan", "张三", manager_id="lisi", department_ids=("d1",)),
    "lisi": DirectoryUser("lisi", "李四", manager_id="wangwu", department_ids=("d1",)),
    "wangwu": DirectoryUser("wangwu", "王五", department_ids=("d1",)),
    "zhaoliu": DirectoryUser("zhaoliu", "赵六", department_ids=("fin",)),
    "qianqi": DirectoryUser("qianqi", "钱七", manager_id="lisi", department_ids=("d1",)),
}
DEPARTMENTS = {
    "d1": DirectoryDepartment("d1", "市场部", leader_ids=("wangwu",)),
    "fin": DirectoryDepartment("fin", "财务部", leader_ids=("zhaoliu",)),
}
CATEGORIES = (
    CategoryConfig("taxi", "交通-打车", ("打车", "出租车", "taxi"), max_per_item=Decimal("300")),
    CategoryConfig("meal", "餐费", ("午餐", "晚餐", "lunch")),
    CategoryConfig(
        "entertainment", "业务招待", ("招待", "请客"),
        fields=(CategoryFieldConfig("guests", "人数", "number"),),
    ),
)


def journey_config(tmp_path: Path) -> Config:
    return Config(
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'journey.db'}"),
        finance=FinanceConfig(feishu=("zhaoliu",)),
        categories=CATEGORIES,
        approval=ApprovalConfig(steps=(
            ApprovalStepConfig("直属上级", "manager"),
            ApprovalStepConfig("部门负责人", "department_head", min_amount=Decimal("5000")),
            ApprovalStepConfig("财务审核", "finance"),
        )),
    )


@dataclass
class Journey:
    client: TestClient[Any, Any]
    platform: LoopPlatform
    ids: itertools.count[int] = field(default_factory=itertools.count)

    async def say(self, user: str, text: str) -> dict[str, Any]:
        body = {"id": f"m{next(self.ids)}", "user": user, "text": text}
        response = await self.client.post("/loop/events", data=json.dumps(body))
        assert response.status == 200, await response.text()
        result: dict[str, Any] = await response.json()
        return result

    async def click(self, user: str, action: str, **form: str) -> dict[str, Any]:
        body = {"id": f"c{next(self.ids)}", "user": user, "action": action, "form": form}
        response = await self.client.post("/loop/events", data=json.dumps(body))
        assert response.status == 200, await response.text()
        result: dict[str, Any] = await response.json()
        return result

    async def settle(self) -> None:
        """Wait until the inbound and outbound queues are empty."""
        store = self.client.app[keys.STORAGE]
        for _ in range(200):
            depth = await store.queue_depth()
            if all(live == 0 for live, _ in depth.values()):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"queues did not drain: {depth}")

    def sent(self, to: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        return [
            s for s in self.platform.messenger.sent
            if (to is None or s.get("to") == f"loop:u:{to}") and (kind is None or s["kind"] == kind)
        ]

    def last_card(self, to: str, name: str) -> dict[str, Any]:
        cards = [s for s in self.sent(to, "card") if s["name"] == name]
        assert cards, f"no {name} card for {to}: {self.sent(to)}"
        return cards[-1]
