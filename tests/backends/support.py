"""Claims taken through real workflow transitions and ``handlers.common.save``, for sync tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from bot.config_model import BackendConfig, CategoryConfig, Config, StorageConfig
from bot.dispatcher import HandlerContext
from bot.events import Actor, CardActionEvent
from handlers import workflow as wf
from handlers.common import save
from storage.base import Storage
from storage.models import ApprovalStep, Claim, ClaimItem, ClaimStatus, Person

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
APPLICANT = "u-applicant"
MANAGER = "u-manager"
FINANCE = "u-finance"


def sync_config(tmp_path: Path, backend: BackendConfig) -> Config:
    return Config(
        storage=StorageConfig(url=f"sqlite:///{tmp_path / 'sync.db'}"),
        backend=backend,
        categories=(CategoryConfig("taxi", "交通-打车"), CategoryConfig("meal", "餐费")),
    )


def draft(claim_id: str, amount: str = "45.50", invoice: str = "") -> Claim:
    person = Person("feishu", APPLICANT, "张三", "d-sales", "销售部", "zhang@example.com", "E007")
    items = (
        ClaimItem("taxi", Decimal(amount), date(2026, 11, 1), "去客户现场", invoice_key=invoice),
        ClaimItem("meal", Decimal("12.30"), date(2026, 11, 1), "午餐", extra=(("guests", "2"),)),
    )
    return Claim(claim_id, person, items, ClaimStatus.DRAFT, T0, T0, title="十一月报销")


class Flow:
    """Moves claims through the workflow, committing each change the way handlers do."""

    def __init__(self, storage: Storage, config: Config) -> None:
        self.storage = storage
        self.config = config
        self.tick = 0

    def _ctx(self, actor: str) -> HandlerContext:
        self.tick += 1
        event = CardActionEvent("feishu", f"e{self.tick}", Actor("feishu", actor), "test:x:1")
        now = T0 + timedelta(minutes=self.tick)
        return HandlerContext(event, self.storage, self.config, {}, now)

    async def change(self, before: Claim | None, after_of: Callable[[datetime], Claim],
                     action: str, actor: str = APPLICANT, detail: str = "") -> Claim:
        ctx = self._ctx(actor)
        after = after_of(ctx.now)
        save(ctx, before, after, action, detail)
        await self.storage.commit(ctx.commit)
        return after

    async def create(self, claim_id: str, **kw: str) -> Claim:
        return await self.change(None, lambda now: draft(claim_id, **kw), "created")

    async def submit(self, claim: Claim) -> Claim:
        steps = [ApprovalStep("直属上级", (MANAGER,), "manager")]
        return await self.change(
            claim, lambda now: wf.start_approval(wf.submit(claim, now), steps, now), "submitted"
        )

    async def approve(self, claim: Claim, comment: str = "同意") -> Claim:
        return await self.change(
            claim, lambda now: wf.approve(claim, MANAGER, now, comment), "approved", MANAGER,
            comment,
        )

    async def reject(self, claim: Claim, reason: str = "票据不清") -> Claim:
        return await self.change(
            claim, lambda now: wf.reject(claim, MANAGER, reason, now), "rejected", MANAGER, reason
        )

    async def pay(self, claim: Claim) -> Claim:
        return await self.change(
            claim, lambda now: wf.mark_paid(claim, FINANCE, [FINANCE], now), "paid", FINANCE
        )

    async def approved(self, claim_id: str) -> Claim:
        return await self.approve(await self.submit(await self.create(claim_id)))

