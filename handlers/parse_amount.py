"""Amounts in chat text: 45, ¥45.50, 45元, 45块5, 1,234.50, 1.2万, 四十五元, 一百二十块五, 壹佰元整.

Decisions, so nobody has to guess them again:

- Amounts are exact ``Decimal`` values and are never rounded: ``45.555`` is asked about
  (:attr:`QuestionCode.AMOUNT_TOO_PRECISE`), ``45.500`` is simply 45.50.
- ``万`` and ``千`` after a number multiply it (``1.2万`` = 12000, ``3千`` = 3000), as every Chinese
  speaker reads them. Chinese numerals follow the spoken short forms: ``一百二`` = 120,
  ``一万二`` = 12000, ``两百`` = 200; after 元/块 a lone digit is 角 (``一百二十块五`` = 120.5,
  ``45块5`` = 45.5) and a digit after 角/毛 is 分 (``五毛五`` = 0.55).
- A comma between digits is a thousands separator only in valid groups (``1,234.50``); a
  full-width ``，`` between half-width digits is always a list separator (``打车45，80``).
- Without a currency or unit, a number is not an amount when it is glued to Latin letters
  (``CA1234``, ``T2``), followed by a counter (``3人``, ``3号楼``, ``5km``, ``20%``), or is a bare
  run of nine or more digits (an order or invoice number). A Chinese numeral without 元/块 counts
  only when it stands apart from other words (``午餐 两百``), not in ``三人`` or ``一起``.
- A foreign currency ($, USD, 美元, €…) is never converted: it is asked about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from handlers.parse_common import (
    CONNECTORS,
    ParseError,
    QuestionCode,
    Source,
    Span,
    is_letter,
    non_overlapping,
    question,
)
from storage.money import CENT, MAX_AMOUNT, to_money

# An amount this large in a chat message is far more likely a typo than an expense: confirm it.
LARGE_AMOUNT = Decimal("1000000")

_FOREIGN = (
    r"us\$|hk\$|\$|usd|hkd|eur|gbp|jpy|€|£|美元|美金|欧元|港币|港元|日元|英镑"
    r"|dollars?(?![a-z])|euros?(?![a-z])"
)
_CNY_PREFIX = r"¥|rmb|cny|人民币"
_CNY_UNIT = r"块钱|块|元|圆|rmb|cny|yuan|kuai|人民币"
_ARABIC = re.compile(
    rf"""(?<![A-Za-z0-9.])
    (?:(?P<sign>-|负)\s*)?
    (?:(?:(?P<pre>{_CNY_PREFIX})|(?P<fxpre>{_FOREIGN}))\s*)?
    (?P<sign2>-)?
    (?P<num>\d{{1,3}}(?:,\d{{3}})+(?:\.\d+)?(?![\d,])|\d+(?:\.\d+)?)
    (?:\s*(?P<mult>[万千]))?
    (?:\s*(?P<unit>{_CNY_UNIT})(?![a-z])|\s*(?P<fxsuf>{_FOREIGN}))?
    """,
    re.IGNORECASE | re.VERBOSE,
)
_CN_DIGIT = {
    **dict.fromkeys("零〇", 0),
    **dict.fromkeys("一壹", 1),
    **dict.fromkeys("二两贰", 2),
    **dict.fromkeys("三叁", 3),
    **dict.fromkeys("四肆", 4),
    **dict.fromkeys("五伍", 5),
    **dict.fromkeys("六陆", 6),
    **dict.fromkeys("七柒", 7),
    **dict.fromkeys("八捌", 8),
    **dict.fromkeys("九玖", 9),
}
_CN_UNIT = {
    **dict.fromkeys("十拾", 10),
    **dict.fromkeys("百佰", 100),
    **dict.fromkeys("千仟", 1000),
}
_CN_BIG = {**dict.fromkeys("万萬", 10**4), "亿": 10**8}
_D = "".join(_CN_DIGIT)
_CN_NUMBER = "".join(_CN_DIGIT) + "".join(_CN_UNIT) + "".join(_CN_BIG)
_CHINESE = re.compile(
    rf"""(?P<sign>负)?(?:(?P<pre>¥|人民币)\s*)?
    (?:(?=[{_D}][角毛分])|(?P<int>[{_CN_NUMBER}]+)(?:点(?P<dec>[{_D}]+))?(?P<unit>块钱|块|元|圆)?)
    """,
    re.VERBOSE,
)
# After 元/块 (or alone, in capital form): 5角3分, 5毛5, 零5分, a lone digit meaning 角; then 整.
_FRACTION = re.compile(
    rf"""(?:(?P<jiao>[0-9{_D}])\s*[角毛](?:\s*(?P<fen>[0-9{_D}])\s*分?)?
      |零?(?P<fen_only>[0-9{_D}])\s*分
      |(?P<bare>[0-9{_D}])(?![0-9{_D}{"".join(_CN_UNIT)}.%]))?
    钱?整?""",
    re.VERBOSE,
)
# Words that make a number a count or a label rather than money: glued Chinese counters (3人,
# 3号楼, 2晚), glued Latin letters (5km, 3pm), or spaced English counters (3 people).
_COUNTER = re.compile(
    r"[a-z%:×*/]|[人位个號号次楼樓层天夜间张份岁月年日站折倍趟程周]|晚(?![餐饭])|点(?!心)|路(?!费)"
    r"|小时|分钟|公里|\s+(?:people|persons?|pax|guests?|nights?|km|hours?|days?|x)(?![a-z])",
    re.IGNORECASE,
)
_IDENTIFIER_DIGITS = 9


@dataclass(frozen=True, slots=True)
class AmountMatch(Span):
    raw: str
    value: Decimal
    negative: bool = False
    foreign: bool = False


def _digit_value(char: str) -> int:
    return int(char) if char.isdigit() and char.isascii() else _CN_DIGIT[char]


def _fraction(text: str, pos: int) -> tuple[Decimal, int]:
    """角 and 分 written after 元/块 at ``pos``: their value and where they end."""
    found = _FRACTION.match(text, pos)
    if found is None:  # pragma: no cover - every part of the pattern is optional
        return Decimal(0), pos
    jiao = found["jiao"] or found["bare"]
    fen = found["fen"] or found["fen_only"]
    value = Decimal(0)
    if jiao:
        value += Decimal(_digit_value(jiao)) / 10
    if fen:
        value += Decimal(_digit_value(fen)) / 100
    return value, found.end()


def chinese_integer(text: str) -> int | None:
    """``一百二十`` → 120, ``一百二`` → 120, ``两万五`` → 25000, ``壹仟零伍拾`` → 1050; None if
    malformed (two digits in a row, units out of order)."""
    total = section = 0
    number: int | None = None
    last_unit = last_big = 10**12
    after_zero = False
    for char in text:
        if char in _CN_DIGIT:
            if number is not None:
                return None
            number, after_zero = _CN_DIGIT[char], after_zero or _CN_DIGIT[char] == 0
            if number == 0:
                number = None
        elif char in _CN_UNIT:
            unit = _CN_UNIT[char]
            if unit >= last_unit:
                return None
            section += (1 if number is None else number) * unit
            number, last_unit, after_zero = None, unit, False
        else:
            big = _CN_BIG[char]
            if big >= last_big or (section == 0 and number is None):
                return None
            total += (section + (number or 0)) * big
            section, number, last_unit, last_big, after_zero = 0, None, big, big, False
    if number is not None:
        # A trailing digit right after a unit is the spoken short form: 一百二 = 一百二十.
        short = last_unit < 10**12 and not after_zero
        section += number * (last_unit // 10 if short else 1)
    return total + section


def _arabic(src: Source, text: str, found: re.Match[str], strict: bool) -> AmountMatch | None:
    num = found["num"]
    marked = any(found[g] for g in ("pre", "fxpre", "mult", "unit", "fxsuf"))
    end = found.end()
    fraction = Decimal(0)
    if found["unit"]:
        fraction, end = _fraction(text, end)
    elif not marked and strict:
        if _COUNTER.match(text, end):
            return None
        if len(num) >= _IDENTIFIER_DIGITS and num.isdigit():
            return None
    value = Decimal(num.replace(",", ""))
    if found["mult"]:
        value *= 10000 if found["mult"] == "万" else 1000
    if fraction and value != value.to_integral_value():
        return None
    return AmountMatch(
        start=found.start(),
        end=end,
        raw=src.cut(found.start(), end).strip(),
        value=value + fraction,
        negative=bool(found["sign"] or found["sign2"]),
        foreign=bool(found["fxpre"] or found["fxsuf"]),
    )


def _chinese(src: Source, text: str, found: re.Match[str], strict: bool) -> AmountMatch | None:
    integer = chinese_integer(found["int"]) if found["int"] else 0
    if integer is None:
        return None
    value = Decimal(integer)
    if found["dec"]:
        value += Decimal("0." + "".join(str(_CN_DIGIT[c]) for c in found["dec"]))
    end = found.end()
    if found["unit"] or not found["int"]:
        fraction, end = _fraction(text, end)
        value += fraction
        if end == found.end() and not found["int"]:
            return None
    if strict and not found["pre"] and not found["unit"]:
        before = text[found.start() - 1] if found.start() else ""
        after = text[end] if end < len(text) else ""
        has_unit = any(c in _CN_UNIT or c in _CN_BIG for c in found["int"] or "")
        if is_letter(after) or (is_letter(before) and not has_unit):
            return None
    return AmountMatch(
        start=found.start(),
        end=end,
        raw=src.cut(found.start(), end).strip(),
        value=value,
        negative=bool(found["sign"]),
    )


def find_amounts(src: Source, text: str, *, strict: bool = True) -> list[AmountMatch]:
    """Every amount in ``text`` (``src.text`` with other findings masked), in order.

    ``strict`` applies the free-text rules (counters, identifiers, numerals inside words)."""
    found: list[AmountMatch] = []
    for pattern, read in ((_ARABIC, _arabic), (_CHINESE, _chinese)):
        for candidate in pattern.finditer(text):
            match = read(src, text, candidate, strict)
            if match is not None:
                found.append(match)
    return non_overlapping(found)


def check_amount(match: AmountMatch) -> Decimal:
    """The amount as money, or a :class:`ParseError` saying what to ask."""
    words = (match.raw,)
    if match.foreign:
        raise ParseError(question(QuestionCode.AMOUNT_CURRENCY, words))
    if match.negative or match.value <= 0:
        raise ParseError(question(QuestionCode.AMOUNT_NOT_POSITIVE, words))
    if match.value > MAX_AMOUNT:
        raise ParseError(question(QuestionCode.AMOUNT_TOO_LARGE, words))
    if match.value != match.value.quantize(CENT):
        raise ParseError(question(QuestionCode.AMOUNT_TOO_PRECISE, words, (str(match.value),)))
    return to_money(match.value)


def parse_amount(text: str) -> Decimal:
    """Read ``text`` as exactly one amount (``45.5``, ``¥1,234.50``, ``四十五元``): two places.

    Raises :class:`ParseError` for anything else: garbage, NaN, infinity, zero or negative
    amounts, more than two decimal places, a foreign currency, or more than one amount.
    """
    src = Source(text)
    matches = find_amounts(src, src.text, strict=False)
    if len(matches) == 1:
        only = matches[0]
        if not (src.text[: only.start] + src.text[only.end :]).strip(CONNECTORS):
            return check_amount(only)
    raise ParseError(question(QuestionCode.AMOUNT_UNREADABLE, (text.strip()[:40],)))
