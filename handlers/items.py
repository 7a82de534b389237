"""Filling one claim item: what is still missing, reading an answer, making the ClaimItem."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bot.config_model import CategoryConfig, CategoryFieldConfig
from handlers.parsing import ParsedItem, ParseError, find_categories, parse_amount, parse_date
from storage.models import ClaimItem
from storage.money import MoneyError, to_money

# A 数电票 number (20 digits), or an older e-invoice's code (10 or 12 digits) and number (8).
INVOICE = re.compile(
    r"(?:发票(?:号码?)?|invoice(?:\s*(?:no\.?|number))?)\s*[:：#]?\s*"
    r"(?P<a>\d{20}|\d{10,12})(?:\s*[-/ ]\s*(?P<b>\d{8}))?",
    re.IGNORECASE,
)


def take_invoice(text: str) -> tuple[str, str]:
    """``(text without the invoice mention, invoice key)``; the key is "" when none is given."""
    found = INVOICE.search(text)
    if found is None:
        return text, ""
    first, second = found["a"], found["b"]
    if len(first) != 20 and not second:
        return text, ""
    key = first if len(first) == 20 else f"{first}:{second}"  # as bot.einvoice.invoice_key
    return (text[: found.start()] + " " + text[found.end() :]).strip(), key


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer read for one field, or the question to ask again."""

    value: str = ""
    retry: str = ""


def from_parsed(item: ParsedItem, invoice: str = "") -> dict[str, str]:
    values = {
        "category": item.category or "",
        "amount": str(item.amount) if item.amount is not None else "",
        "spent_on": item.spent_on.isoformat() if item.spent_on else "",
        "description": item.description,
        "invoice": invoice,
    }
    # A doubtful value is asked again even though one was read ("two amounts: which?").
    for question in item.questions:
        values[question.field] = ""
    return values


def category_of(code: str, categories: Sequence[CategoryConfig]) -> CategoryConfig | None:
    return next((c for c in categories if c.code == code), None)


def missing_field(
    item: dict[str, str], extra: dict[str, str], categories: Sequence[CategoryConfig]
) -> str:
    """The next field to ask for ("" when the item is complete), in a fixed order."""
    for name in ("category", "amount", "spent_on"):
        if not item.get(name):
            return name
    category = category_of(item["category"], categories)
    for declared in category.fields if category else ():
        if declared.required and not extra.get(declared.key):
            return f"field:{declared.key}"
    return ""


def read_answer(
    asking: str, text: str, categories: Sequence[CategoryConfig], today: date, lang: str
) -> Answer:
    text = text.strip()
    try:
        if asking == "category":
            return _category_answer(text, categories, lang)
        if asking == "amount":
            return Answer(str(parse_amount(text)))
        if asking == "spent_on":
            return Answer(parse_date(text, today).isoformat())
    except ParseError as error:
        return Answer(retry=error.question.text(lang))
    if asking.startswith("field:"):
        return Answer(text) if text else Answer(retry="")
    return Answer(text)


def _category_answer(text: str, categories: Sequence[CategoryConfig], lang: str) -> Answer:
    exact = [c.code for c in categories if text.lower() in {c.code.lower(), c.name.lower()}]
    codes = exact or sorted({m.code for m in find_categories(text, categories)})
    if len(codes) == 1:
        return Answer(codes[0])
    names = "、".join(c.name for c in categories)
    if lang == "en-US":
        return Answer(retry=f"Please choose one of: {names}")
    return Answer(retry=f"请选择一个类别：{names}")


def check_field(declared: CategoryFieldConfig, value: str, today: date) -> str:
    """The value normalised for its declared kind; raises ValueError when it does not fit."""
    if declared.kind == "number":
        if not value.isdigit():
            raise ValueError(value)
        return str(int(value))
    if declared.kind == "money":
        try:
            return str(to_money(value))
        except MoneyError as exc:
            raise ValueError(value) from exc
    if declared.kind == "date":
        try:
            return parse_date(value, today).isoformat()
        except ParseError as exc:
            raise ValueError(value) from exc
    return value


def make_item(
    item: dict[str, str],
    extra: dict[str, str],
    attachments: Sequence[str],
    checks: Sequence[Sequence[str]] = (),
) -> ClaimItem:
    total = item.get("invoice_total", "")
    return ClaimItem(
        category=item["category"],
        amount=Decimal(item["amount"]),
        spent_on=date.fromisoformat(item["spent_on"]),
        description=item.get("description", ""),
        attachments=tuple(attachments),
        invoice_key=item.get("invoice", ""),
        extra=tuple(sorted(extra.items())),
        invoice_total=Decimal(total) if total else None,
        checks=tuple((c[0], c[1], c[2]) for c in checks if len(c) == 3),
    )
