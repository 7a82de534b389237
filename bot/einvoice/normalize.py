"""Text as invoices really contain it, made regular: radicals, full-width forms, amounts, dates.

NFKC folds Kangxi radicals (``电⼦`` → ``电子``), full-width digits, ``￥``, ``（`` and ``：``; the
CJK Radicals Supplement (``⻔⻝⻆``) survives NFKC and gets a hand map. Parsers return None for
a value they cannot read rather than guessing.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

from storage.money import MAX_AMOUNT, MoneyError, to_money

_RADICALS = str.maketrans(
    {
        "⻔": "门", "⻝": "食", "⻆": "角", "⻓": "长", "⻋": "车", "⻅": "见", "⻢": "马",
        "⻛": "风", "⻚": "页", "⻜": "飞", "⻠": "麦", "⻩": "黄", "⻬": "齐", "⻰": "龙",
        "⻄": "西", "⻘": "青", "⻉": "贝", "⻙": "韦", "⻥": "鱼", "⻦": "鸟",
        "\u3000": " ", "\u00a0": " ", "￥": "¥",
    }
)  # fmt: skip
_SPACES = re.compile(r"[ \t\u200b]+")


def norm(text: str) -> str:
    """NFKC, the radical map, one kind of space; ``（：￥`` become ``(:¥``."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text).translate(_RADICALS))


def squash(text: str) -> str:
    """``norm`` with every space removed: for names and labels spaced out as ``名 称``."""
    return norm(text).replace(" ", "")


def digits(text: str | None) -> str:
    """The ASCII digits of ``text`` (full-width ones folded), nothing else."""
    return "".join(ch for ch in norm(text or "") if "0" <= ch <= "9")


_AMOUNT = re.compile(r"^(-?)[¥$]?\s*(-?)(\d[\d,]*(?:\.\d+)?|\.\d+)$")


def parse_amount(text: str | None) -> Decimal | None:
    """``"¥1,234.50"``, ``"-2.92"``, ``"¥-2.92"`` → Decimal with two places; junk → None."""
    if not text:
        return None
    value = norm(text).replace(" ", "").replace("元", "").replace("圆", "")
    match = _AMOUNT.match(value)
    if match is None:
        return None
    sign = "-" if match.group(1) or match.group(2) else ""
    try:
        return to_money(sign + match.group(3))
    except MoneyError:
        return None


def parse_quantity(text: str | None) -> Decimal | None:
    """A quantity or unit price as printed (any number of places)."""
    value = norm(text or "").replace(" ", "").replace(",", "")
    if not re.fullmatch(r"-?\d{1,15}(?:\.\d{1,15})?", value):
        return None
    return Decimal(value)


_DATE = re.compile(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})")


def parse_date(text: str | None) -> date | None:
    """``2024年01月15日``, ``2024-01-15 12:00:00``, ``20240115`` → date; impossible dates → None."""
    value = norm(text or "").strip()
    match = _DATE.search(value) or _COMPACT_DATE.match(value)
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def parse_tax_rate(text: str | None) -> tuple[Decimal | None, str]:
    """``"6%"``, ``"0.06"``, ``"0.060000"``, ``"13.00%"`` → (0.06, label); 免税 → (None, "免税")."""
    label = squash(text or "")
    if not label or label in ("***", "*"):
        return None, label
    number = label.rstrip("%")
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None, label  # 免税, 不征税, 出口零税率, …
    if not value.is_finite() or value < 0 or value > 100:
        return None, label
    rate = value / 100 if label.endswith("%") or value >= 1 else value
    rate = rate.quantize(Decimal("0.0001")).normalize()
    return rate, label if label.endswith("%") else f"{(rate * 100).normalize():f}%"


_CAPITAL_DIGITS = {ch: i for i, ch in enumerate("零壹贰叁肆伍陆柒捌玖")}
_CAPITAL_UNITS = {"拾": 10, "佰": 100, "仟": 1000}
_CAPITAL_SHAPE = re.compile(
    r"(?:([^元角分整]*)元)?(?:零?([^元角分整])角)?(?:零?([^元角分整])分)?整?"
)
CAPITAL_CHARS = "零壹贰叁肆伍陆柒捌玖拾佰仟万亿圆元角分整正负"


def _capital_integer(text: str) -> int | None:
    yi, wan, section, digit = 0, 0, 0, 0
    for ch in text:
        if ch in _CAPITAL_DIGITS:
            digit = _CAPITAL_DIGITS[ch]
        elif ch in _CAPITAL_UNITS:
            section += (digit or 1) * _CAPITAL_UNITS[ch]
            digit = 0
        elif ch == "万":
            wan, section, digit = (section + digit) * 10**4, 0, 0
        elif ch == "亿":
            yi, wan, section, digit = (wan + section + digit) * 10**8, 0, 0, 0
        else:
            return None
    return yi + wan + section + digit


def parse_capital(text: str | None) -> Decimal | None:
    """The 大写 amount → Decimal: ``壹佰零陆圆整`` → 106.00, ``负伍元陆角壹分`` → -5.61."""
    value = squash(text or "").replace("圆", "元").replace("正", "整").strip("()")
    negative = "负" in value
    value = value.replace("负", "").replace("(", "").replace(")", "").replace("数", "")
    match = _CAPITAL_SHAPE.fullmatch(value)
    if not value or match is None or not any(match.groups()):
        return None
    yuan = _capital_integer(match.group(1) or "")
    jiao = _CAPITAL_DIGITS.get(match.group(2) or "零")
    fen = _CAPITAL_DIGITS.get(match.group(3) or "零")
    if yuan is None or jiao is None or fen is None:
        return None
    amount = Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100
    if amount > MAX_AMOUNT:
        return None
    return to_money(-amount if negative else amount)


USCC = re.compile(r"(?<![0-9A-Z])([0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10})(?![0-9A-Z])")
TAX_ID = re.compile(r"(?<![0-9A-Z])([0-9A-Z]{15}|[0-9A-Z]{17,20})(?![0-9A-Z])")


def tax_id(text: str | None) -> str | None:
    """A 纳税人识别号 / 统一社会信用代码 as printed, uppercased and without spaces."""
    value = squash(text or "").upper()
    return value if re.fullmatch(r"[0-9A-Z]{15,20}", value) else None


def clean(text: str | None) -> str | None:
    """Normalised, trimmed text; None when empty."""
    value = norm(text or "").strip()
    return value or None
