"""Fields from layout text (a PDF text layer or OFD page text), matched by value patterns.

Real PDFs may emit all labels first and all values after, so each field has a labelled
pattern and a value-only fallback (a 12-digit code next to an 8-digit number, the ¥ amounts
that add up, the 18-character credit codes in order buyer then seller).
"""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import permutations

from .kinds import kind_from_title
from .merge import Partial
from .model import LineItem, Source
from .normalize import CAPITAL_CHARS, USCC, digits, norm, parse_amount, parse_capital, parse_date
from .normalize import parse_tax_rate as _rate

_MONEY = r"-?\d[\d,]*\.\d{2}"
_NUMBER20 = re.compile(r"发\s*票\s*号\s*码\s*:?\s*(\d{20})(?!\d)")
_ANY20 = re.compile(r"(?<![\dA-Z])(\d{20})(?![\dA-Z])")
_CODE = re.compile(r"发\s*票\s*代\s*码\s*:?\s*(\d{10}|\d{12})(?!\d)")
_NUMBER8 = re.compile(r"发\s*票\s*号\s*码\s*:?\s*(\d{8})(?!\d)")
_CODE_NUMBER = re.compile(r"(?<![\dA-Z])(\d{10}|\d{12})\s+(\d{8})(?![\dA-Z])")
_CHECK = re.compile(r"校\s*验\s*码\s*:?\s*((?:\d\s*){20})")
_BARE_CHECK = re.compile(r"(?<![\d ])(\d{5} \d{5} \d{5} \d{5})(?![\d ]*\d)")
_DATE = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日")
_BARE_DATE = re.compile(r"(?<!\d)(20\d{2}) (\d{2}) (\d{2})(?!\d)")
_NAME = re.compile(r"名\s*称\s*:[ \t]*([^\s:]++)?")
_COMPANY = re.compile(
    r"(?<![^\s:])([^\s:]{2,40}(?:公司|集团|中心|酒店|宾馆|医院|事务所|研究院|商行|店|厂))(?![^\s:])"
)
_LABEL_WORDS = ("名", "称", "识别号", "信用代码")
_TAX_ID = re.compile(r"纳\s*税\s*人\s*识\s*别\s*号\s*:[ \t]*([0-9A-Z]{15,20})?")
_TOTAL = re.compile(rf"\(\s*小\s*写\s*\)[ \t]*¥?[ \t]*({_MONEY})")
_SUMS = re.compile(rf"合[ \t]*计[ \t]*¥?[ \t]*({_MONEY})[ \t]*¥?[ \t]*({_MONEY}|\*+)")
_YEN = re.compile(rf"¥\s*({_MONEY})")
_WORDS = re.compile(rf"(?:大\s*写\s*\)?\s*)?((?:\(?负数?\)?)?[{CAPITAL_CHARS}]{{2,}})")
_RATE = r"\d{1,2}(?:\.\d+)?%|免税|不征税|出口零税率|普通零税率|零税率"
_ITEM = re.compile(rf"^(\*[^*\s]+\*\S*)\s.*?({_MONEY})\s+({_RATE})\s+({_MONEY}|\*+)")
_LABELS = ("合计", "价税", "备注", "开票人", "项目名称", "货物或应税")


def parse_text(raw: str) -> Partial:
    """A partial reading from layout text; every value is normalised first."""
    text = norm(raw)
    partial = Partial(Source.TEXT)
    partial.set("kind", kind_from_title(text))
    _numbers(text, partial)
    date_match = _DATE.search(text)
    bare = _BARE_DATE.search(text)
    if date_match is not None:
        partial.set("issue_date", parse_date(date_match.group(0)))
    elif bare is not None:
        partial.set("issue_date", parse_date("-".join(bare.groups())))
    _parties(text, partial)
    _totals(text, partial)
    partial.set("items", tuple(_items(text)))
    return partial


def _numbers(text: str, partial: Partial) -> None:
    labelled = _NUMBER20.search(text)
    code, number8 = _CODE.search(text), _NUMBER8.search(text)
    pair = _CODE_NUMBER.search(text)
    if labelled is not None:
        partial.set("number", labelled.group(1))
    elif code is not None and number8 is not None:
        partial.set("code", code.group(1))
        partial.set("number", number8.group(1))
    elif pair is not None:
        partial.set("code", pair.group(1))
        partial.set("number", pair.group(2))
    else:
        bare = _ANY20.search(text)
        partial.set("number", bare.group(1) if bare else None)
    check = _CHECK.search(text) or _BARE_CHECK.search(text)
    partial.set("check_code", digits(check.group(1)) if check else None)


def _parties(text: str, partial: Partial) -> None:
    names = [name if _is_name(name) else "" for name in _NAME.findall(text)]
    if not any(names):
        names = list(dict.fromkeys(_COMPANY.findall(text)))
    ids = _TAX_ID.findall(text)
    if not any(ids):
        ids = USCC.findall(text)
    for index, role in enumerate(("buyer", "seller")):
        if index < len(names):
            partial.set(f"{role}_name", names[index])
        if index < len(ids) and ids[index]:
            partial.set(f"{role}_tax_id", ids[index])


def _is_name(value: str) -> bool:
    return len(value) >= 2 and not any(word in value for word in _LABEL_WORDS)


def _totals(text: str, partial: Partial) -> None:
    total, sums = _TOTAL.search(text), _SUMS.search(text)
    if total is not None:
        partial.set("total", parse_amount(total.group(1)))
    if sums is not None:
        partial.set("amount", parse_amount(sums.group(1)))
        tax = sums.group(2)
        partial.set("tax", Decimal("0.00") if tax.startswith("*") else parse_amount(tax))
    if total is None or sums is None:
        triple = _adding_up([a for a in map(parse_amount, _YEN.findall(text)) if a is not None])
        if triple is not None:
            for name, value in zip(("amount", "tax", "total"), triple, strict=True):
                partial.set(name, value)
    for match in _WORDS.finditer(text):
        if parse_capital(match.group(1)) is not None:
            partial.set("total_in_words", match.group(1))
            break


def _adding_up(amounts: list[Decimal]) -> tuple[Decimal, Decimal, Decimal] | None:
    """The (合计金额, 合计税额, 价税合计) among the ¥ amounts: a + t == s, largest |s| first."""
    candidates = amounts[:24]
    best: tuple[Decimal, Decimal, Decimal] | None = None
    for a, t, s in permutations(candidates, 3):
        if a + t == s and abs(t) < abs(a) and (best is None or abs(s) > abs(best[2])):
            best = (a, t, s)
    return best


def _items(text: str) -> list[LineItem]:
    lines = [line.strip() for line in text.splitlines()]
    items: list[LineItem] = []
    for index, line in enumerate(lines):
        match = _ITEM.match(line)
        if match is None:
            continue
        name = match.group(1)
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _continues(following):
            name += following
        amount = parse_amount(match.group(2))
        rate, label = _rate(match.group(3))
        tax_text = match.group(4)
        tax = Decimal("0.00") if tax_text.startswith("*") else parse_amount(tax_text)
        if amount is not None:
            items.append(
                LineItem(name=name, amount=amount, tax=tax, tax_rate=rate, rate_label=label)
            )
    return items


def _continues(line: str) -> bool:
    """A short wrapped tail of an item name: no digits, no colon, not a label."""
    return (
        0 < len(line) <= 12
        and not re.search(r"[\d:*¥]", line)
        and not any(label in line.replace(" ", "") for label in _LABELS)
    )
