"""``[invoices]``: which e-invoice checks block a submission (the rest only warn)."""

from __future__ import annotations

from bot.config_checks import Table
from bot.config_model import InvoicesConfig
from bot.einvoice import RULES


def build_invoices(table: Table | None) -> InvoicesConfig:
    default = InvoicesConfig()
    if table is None:
        return default
    block = table.strings("block") if table.get("block") is not None else default.block
    unknown = [rule for rule in block if rule not in RULES]
    if unknown:
        table.problem("block", f"unknown check(s) {', '.join(unknown)}; known: {', '.join(RULES)}")
    table.finish()
    return InvoicesConfig(block=tuple(rule for rule in block if rule in RULES))
