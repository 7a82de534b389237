"""A backend's update is told to the applicant in the language they chose in chat."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from bot.config_model import Config
from bot.dispatcher import HandlerContext
from bot.events import Actor, CardActionEvent
from handlers.backend_updates import backend_update
from storage.base import Storage
from storage.models import Claim, ClaimItem, ClaimStatus, Person

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
CLAIM = Claim("BX-2026-000001", Person("feishu", "zhangsan", "张三"),
              (ClaimItem("taxi", Decimal("45"), NOW.date()),), ClaimStatus.APPROVED, NOW, NOW)


class Store:
    def __init__(self, lang: str) -> None:
        self.lang = lang

    async def get_claim(self, claim_id: str) -> Claim | None:
        return CLAIM if claim_id == CLAIM.id else None

    async def get_conversation(self, key: str) -> dict[str, Any] | None:
        return {"lang": self.lang} if key == "conv:feishu:zhangsan" else None


async def told(lang: str, verb: str) -> str:
    event = CardActionEvent("feishu", "backend:1", Actor("backend", "webhook"),
                            f"{verb}:{CLAIM.id}:0", {"comment": "over budget"})
    ctx = HandlerContext(event, cast(Storage, Store(lang)), Config(), {}, NOW)
    await backend_update(ctx)
    texts = [m.payload for m in ctx.commit.messages if m.payload.get("kind") == "text"]
    return str(texts[-1])


async def test_the_applicant_who_chose_english_is_told_in_english() -> None:
    rejected = await told("en-US", "backend_rejected")
    assert "the reimbursement system" in rejected and "报销系统" not in rejected
    commented = await told("en-US", "backend_comment")
    assert "The reimbursement system commented" in commented


async def test_chinese_stays_the_default() -> None:
    assert "报销系统" in await told("zh-CN", "backend_rejected")
