"""Checks a finance team applies to an invoice, each a :class:`Flag` with a rule name and reasons.

The checks never decide severity: the caller's config maps a rule name to warning or block
(:data:`SUGGESTED_BLOCKING` is the research's suggestion). Each check returns the flags it
raises, empty when the invoice passes or the check cannot apply (missing data is not a fault).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.config_checks import uscc_problem
from storage.money import format_cny

from .model import InvoiceReading, Source
from .normalize import parse_capital, squash


@dataclass(frozen=True, slots=True)
class Flag:
    """One finding: ``rule`` is stable (config keys use it); ``zh``/``en`` are for people."""

    rule: str
    zh: str
    en: str

    def text(self, lang: str = "zh-CN") -> str:
        return self.zh if lang.lower().startswith("zh") else self.en


@dataclass(frozen=True, slots=True)
class Company:
    """Who invoices must be issued to: one or more legal entities' names and 统一社会信用代码."""

    names: tuple[str, ...]
    tax_ids: tuple[str, ...]


RULES = (
    "buyer_name",
    "buyer_tax_id",
    "buyer_missing",
    "buyer_personal",
    "buyer_tax_id_format",
    "totals",
    "total_in_words",
    "line_sums",
    "red_letter",
    "date_missing",
    "date_future",
    "date_too_old",
    "number_year",
    "claim_exceeds_total",
    "source_conflict",
)
SUGGESTED_BLOCKING = frozenset(
    {
        "buyer_name",
        "buyer_tax_id",
        "totals",
        "total_in_words",
        "red_letter",
        "claim_exceeds_total",
        "source_conflict",
    }
)


def _name_key(name: str) -> str:
    return squash(name)


def check_buyer(reading: InvoiceReading, company: Company) -> list[Flag]:
    """The buyer (抬头) must be the company by name and by 统一社会信用代码."""
    if not reading.buyer_name and not reading.buyer_tax_id:
        return [
            Flag(
                "buyer_missing",
                "发票上没有读到购买方（抬头）信息，请核对。",
                "No buyer (抬头) was found on the invoice; please check it.",
            )
        ]
    if _personal(reading):
        return [
            Flag(
                "buyer_personal",
                f"发票抬头是个人（{reading.buyer_name}），不是本公司。",
                f"The invoice is made out to a person ({reading.buyer_name}), not the company.",
            )
        ]
    flags: list[Flag] = []
    names = {_name_key(name) for name in company.names if name}
    if names and reading.buyer_name and _name_key(reading.buyer_name) not in names:
        flags.append(
            Flag(
                "buyer_name",
                f"发票抬头“{reading.buyer_name}”不是本公司（{'、'.join(company.names)}）。",
                f"The invoice is made out to “{reading.buyer_name}”, not to the company "
                f"({', '.join(company.names)}).",
            )
        )
    return flags + _buyer_id_flags((reading.buyer_tax_id or "").upper(), company)


def _personal(reading: InvoiceReading) -> bool:
    """个人, or a short name with no tax id: an individual, as on many tickets and small 普票."""
    name = _name_key(reading.buyer_name or "")
    return name == "个人" or (not reading.buyer_tax_id and 0 < len(name) <= 4)


def _buyer_id_flags(buyer_id: str, company: Company) -> list[Flag]:
    flags: list[Flag] = []
    ids = {tax_id.upper() for tax_id in company.tax_ids if tax_id}
    if ids and buyer_id and buyer_id not in ids:
        flags.append(
            Flag(
                "buyer_tax_id",
                f"购买方税号 {buyer_id} 与本公司统一社会信用代码不符。",
                f"The buyer's tax id {buyer_id} is not the company's unified social credit code.",
            )
        )
    if ids and not buyer_id:
        flags.append(
            Flag(
                "buyer_tax_id",
                "发票上没有购买方税号，不能确认抬头是本公司。",
                "The invoice has no buyer tax id, so the buyer cannot be confirmed.",
            )
        )
    if len(buyer_id) == 18 and uscc_problem(buyer_id):
        flags.append(
            Flag(
                "buyer_tax_id_format",
                f"购买方统一社会信用代码 {buyer_id} 校验位不正确。",
                f"The buyer's credit code {buyer_id} fails its check digit.",
            )
        )
    return flags


def check_totals(reading: InvoiceReading) -> list[Flag]:
    """合计金额 + 合计税额 = 价税合计 exactly; 大写 = 小写; the lines add up to the totals."""
    flags: list[Flag] = []
    amount, tax, total = reading.amount, reading.tax, reading.total
    derived = Source.DERIVED in (reading.source_of(n) for n in ("amount", "tax", "total"))
    wrong = amount is not None and tax is not None and total is not None and amount + tax != total
    if wrong and not derived:
        flags.append(
            Flag(
                "totals",
                f"合计金额 {amount} + 合计税额 {tax} ≠ 价税合计 {total}。",
                f"Amount {amount} + tax {tax} does not equal the total {total}.",
            )
        )
    if reading.total_in_words and total is not None:
        words = parse_capital(reading.total_in_words)
        if words != total:
            flags.append(
                Flag(
                    "total_in_words",
                    f"价税合计大写“{reading.total_in_words}”与小写 {total} 不一致。",
                    f"The total in words “{reading.total_in_words}” does not match {total}.",
                )
            )
    flags += _line_sums(reading)
    return flags


def _line_sums(reading: InvoiceReading) -> list[Flag]:
    if not reading.items or reading.amount is None:
        return []
    line_amount = sum((item.amount for item in reading.items), Decimal("0.00"))
    taxes = [item.tax for item in reading.items]
    line_tax = sum((t for t in taxes if t is not None), Decimal("0.00"))
    tax_ok = reading.tax is None or None in taxes or line_tax == reading.tax
    if line_amount == reading.amount and tax_ok:
        return []
    return [
        Flag(
            "line_sums",
            f"明细行合计（金额 {line_amount}，税额 {line_tax}）与发票合计不一致"
            "（可能有未读到的清单行）。",
            f"The line items add up to {line_amount} (tax {line_tax}), not the invoice totals "
            "(some lines may not have been read).",
        )
    ]


def check_red_letter(reading: InvoiceReading) -> list[Flag]:
    """A red-letter (红字, negative) invoice cancels another; it is not an expense."""
    if not reading.red_letter:
        return []
    return [
        Flag(
            "red_letter",
            "这是一张红字（负数）发票，不能用于报销。",
            "This is a red-letter (negative) invoice and cannot back an expense.",
        )
    ]


def check_date(reading: InvoiceReading, today: date, oldest: date | None = None) -> list[Flag]:
    """开票日期 not in the future, not before ``oldest``; the 数电 number's year matches."""
    issued = reading.issue_date
    if issued is None:
        return [Flag("date_missing", "没有读到开票日期，请核对。", "No issue date was found.")]
    flags: list[Flag] = []
    if issued > today:
        flags.append(
            Flag("date_future", f"开票日期 {issued} 晚于今天。", f"Issued in the future: {issued}.")
        )
    if oldest is not None and issued < oldest:
        flags.append(
            Flag(
                "date_too_old",
                f"开票日期 {issued} 早于可报销的最早日期 {oldest}。",
                f"The issue date {issued} is before the earliest allowed, {oldest}.",
            )
        )
    number = reading.number or ""
    year = f"{issued.year % 100:02d}"
    if reading.kind.is_digital and len(number) == 20 and number[:2] != year:
        flags.append(
            Flag(
                "number_year",
                f"发票号码前两位 {number[:2]} 与开票年份 {issued.year} 不符。",
                f"The number starts {number[:2]}, which does not match {issued.year}.",
            )
        )
    return flags


def check_claim_amount(reading: InvoiceReading, claimed: Decimal) -> list[Flag]:
    """The claimed amount may not exceed the invoice's 价税合计."""
    if reading.total is None or claimed <= reading.total:
        return []
    return [
        Flag(
            "claim_exceeds_total",
            f"报销金额 {format_cny(claimed)} 超过发票价税合计 {format_cny(reading.total)}。",
            f"The claimed {format_cny(claimed)} exceeds the invoice total "
            f"{format_cny(reading.total)}.",
        )
    ]


def check_sources(reading: InvoiceReading) -> list[Flag]:
    """Two parts of the file (e.g. the data and the QR code) disagree."""
    return [
        Flag(
            "source_conflict",
            f"文件内容自相矛盾：{c.field} 为 {c.kept}（{c.kept_source.value}），"
            f"另一处为 {c.other}（{c.other_source.value}）。",
            f"The file contradicts itself: {c.field} is {c.kept} ({c.kept_source.value}) "
            f"but {c.other} ({c.other_source.value}).",
        )
        for c in reading.conflicts
    ]


def check_invoice(
    reading: InvoiceReading,
    *,
    company: Company | None,
    today: date,
    oldest: date | None = None,
    claimed: Decimal | None = None,
) -> list[Flag]:
    """Every check that applies, in a stable order."""
    groups: Iterable[list[Flag]] = (
        check_buyer(reading, company) if company is not None else [],
        check_totals(reading),
        check_red_letter(reading),
        check_date(reading, today, oldest),
        check_claim_amount(reading, claimed) if claimed is not None else [],
        check_sources(reading),
    )
    return [flag for group in groups for flag in group]
