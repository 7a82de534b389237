"""Per-category expense policy as pure functions: each broken rule is a flag, warning or block."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from bot.config_model import CategoryConfig, Config
from storage.models import Claim, ClaimItem
from storage.money import format_cny


@dataclass(frozen=True, slots=True)
class Flag:
    rule: str  # max_per_item, receipt_required, future_date, too_old or weekend (config names)
    blocking: bool
    zh: str
    en: str

    def text(self, lang: str) -> str:
        return self.en if lang == "en-US" else self.zh

    def view(self, lang: str) -> dict[str, str]:
        return {"level": "block" if self.blocking else "warning", "text": self.text(lang)}


def _flag(category: CategoryConfig, rule: str, zh: str, en: str) -> Flag:
    return Flag(rule, rule in category.block, zh, en)


def item_flags(item: ClaimItem, category: CategoryConfig | None, today: date) -> list[Flag]:
    if category is None:
        return []
    flags: list[Flag] = []
    label = f"{category.name} {format_cny(item.amount)}"
    if category.max_per_item is not None and item.amount > category.max_per_item:
        limit = format_cny(category.max_per_item)
        flags.append(_flag(category, "max_per_item", f"{label} 超过单笔上限 {limit}",
                           f"{label} exceeds the per-item limit of {limit}"))
    threshold = category.receipt_required_above
    if threshold is not None and item.amount > threshold and not item.attachments:
        flags.append(_flag(category, "receipt_required",
                           f"{label} 超过 {format_cny(threshold)}，需要附票据",
                           f"{label} is above {format_cny(threshold)} and needs a receipt"))
    if item.spent_on > today:
        flags.append(_flag(category, "future_date", f"{label} 的日期 {item.spent_on} 在未来",
                           f"{label} is dated in the future ({item.spent_on})"))
    if category.max_age_days is not None and (today - item.spent_on).days > category.max_age_days:
        flags.append(_flag(category, "too_old",
                           f"{label} 的日期 {item.spent_on} 已超过 {category.max_age_days} 天",
                           f"{label} is older than {category.max_age_days} days"))
    if category.flag_weekends and item.spent_on.weekday() >= 5:
        flags.append(_flag(category, "weekend", f"{label} 发生在周末（{item.spent_on}）",
                           f"{label} was spent on a weekend ({item.spent_on})"))
    return flags


def invoice_flags(item: ClaimItem, blocking_rules: Collection[str]) -> list[Flag]:
    """The checks of the item's invoice, and whether more is claimed than it shows."""
    flags = [Flag(rule, rule in blocking_rules, zh, en) for rule, zh, en in item.checks]
    total = item.invoice_total
    if total is not None and item.amount > total:
        flags.append(Flag(
            "claim_exceeds_total", "claim_exceeds_total" in blocking_rules,
            f"报销金额 {format_cny(item.amount)} 超过发票价税合计 {format_cny(total)}",
            f"{format_cny(item.amount)} claimed is more than the invoice total {format_cny(total)}",
        ))
    return flags


def claim_flags(claim: Claim, config: Config, today: date) -> list[Flag]:
    by_code = {c.code: c for c in config.categories}
    return [
        flag
        for item in claim.items
        for flag in (
            *item_flags(item, by_code.get(item.category), today),
            *invoice_flags(item, config.invoices.block),
        )
    ]


def blocking(flags: Sequence[Flag]) -> list[Flag]:
    return [f for f in flags if f.blocking]
