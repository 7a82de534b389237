"""An e-invoice sent while filing becomes a prefilled item: amount, date, invoice, a category guess.

Reading is CPU work (PDF rendering, QR decoding), so it runs in a thread. The checks of
``bot.einvoice`` (buyer, totals, dates, red-letter…) travel with the item and show on the draft
and the approver's card; ``[invoices] block`` decides which of them stop a submission.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.config_model import CategoryConfig, Config
from bot.einvoice import (
    Company,
    InvoiceError,
    InvoiceKind,
    InvoiceReading,
    NoInvoiceData,
    check_invoice,
    invoice_key,
    read_invoice,
)

# Words that point at a kind of expense, tried against each category's code, name and aliases.
HINTS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("餐饮",), ("meal", "餐费", "餐饮", "午餐", "晚餐")),
    (("住宿",), ("hotel", "酒店", "住宿", "travel", "差旅")),
    (("客运", "出租", "运输服务"), ("taxi", "打车", "出租车", "交通")),
    (("办公", "文具", "纸制品", "计算机"), ("office", "办公", "办公用品", "文具")),
)
TRAVEL_WORDS = ("travel", "差旅", "火车", "高铁", "机票")
MAX_AGE = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Prefill:
    """What the invoice says, as the text values of a conversation item."""

    values: dict[str, str]
    category_reason: str = ""
    checks: tuple[tuple[str, str, str], ...] = ()
    summary: dict[str, str] = field(default_factory=dict)


class InvoiceUnreadable(Exception):
    """A file that looked like an invoice but could not be read; ``text(lang)`` says why."""

    def __init__(self, error: InvoiceError) -> None:
        super().__init__(str(error))
        self.error = error

    def text(self, lang: str) -> str:
        return self.error.message(lang)


async def read_prefill(
    data: bytes, content_type: str, config: Config, today: date
) -> Prefill | None:
    """None when the file holds no invoice (a plain receipt photo)."""
    try:
        reading = await asyncio.to_thread(read_invoice, data, "", content_type)
    except NoInvoiceData:
        return None
    except InvoiceError as error:
        raise InvoiceUnreadable(error) from error
    return prefill(reading, config, today)


def prefill(reading: InvoiceReading, config: Config, today: date) -> Prefill:
    company = None
    if config.company.name or config.company.tax_id:
        company = Company(names=tuple(n for n in (config.company.name,) if n),
                          tax_ids=tuple(t for t in (config.company.tax_id,) if t))
    flags = check_invoice(reading, company=company, today=today, oldest=today - MAX_AGE)
    code, reason = guess_category(reading, config.categories)
    values = {
        "category": code,
        "amount": str(reading.total) if reading.total is not None else "",
        "spent_on": reading.issue_date.isoformat() if reading.issue_date else "",
        "description": reading.seller_name or "",
        "invoice": invoice_key(reading) if reading.number else "",
        "invoice_total": str(reading.total) if reading.total is not None else "",
    }
    summary = {"kind": reading.kind.value, "seller": reading.seller_name or "",
               "total": values["amount"], "date": values["spent_on"]}
    return Prefill(values, reason, tuple((f.rule, f.zh, f.en) for f in flags), summary)


def guess_category(
    reading: InvoiceReading, categories: Sequence[CategoryConfig]
) -> tuple[str, str]:
    """``(category code, why)``, or ``("", "")`` when nothing points anywhere with certainty."""
    if reading.kind in {InvoiceKind.RAILWAY, InvoiceKind.AIR}:
        code = _category_for(TRAVEL_WORDS, categories)
        return (code, reading.kind.value) if code else ("", "")
    found = {
        code: label
        for label in reading.tax_categories
        for needles, words in HINTS
        if any(n in label for n in needles) and (code := _category_for(words, categories))
    }
    if len(found) == 1:
        code, label = next(iter(found.items()))
        return code, f"*{label}*"
    return "", ""


def _category_for(words: Sequence[str], categories: Sequence[CategoryConfig]) -> str:
    for word in words:
        for category in categories:
            names = {category.code.lower(), category.name.lower(),
                     *(a.lower() for a in category.aliases)}
            if word.lower() in names:
                return category.code
    return ""
