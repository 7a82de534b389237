"""Money as ``Decimal``: CNY, two places, ROUND_HALF_UP; display and Chinese capital amounts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
# The largest amount a claim line may carry: a hundred billion yuan is far beyond any expense
# and keeps the capital-amount writer inside the units it knows (亿 and below).
MAX_AMOUNT = Decimal("99999999999.99")

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("", "拾", "佰", "仟")
_BIG_UNITS = ("", "万", "亿")


class MoneyError(ValueError):
    """An amount that cannot be money: not a number, not finite, negative, too many places."""


def to_money(value: object) -> Decimal:
    """Parse ``value`` into a two-place amount; floats are refused so no binary error sneaks in."""
    if isinstance(value, bool | float):
        raise MoneyError(f"amount must be a decimal string or Decimal, not {type(value).__name__}")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | str):
        text = str(value).strip().replace(",", "")
        try:
            amount = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"not a decimal amount: {value!r}") from None
    else:
        raise MoneyError(f"not a decimal amount: {value!r}")
    if not amount.is_finite():
        raise MoneyError(f"amount must be finite: {value!r}")
    if abs(amount) > MAX_AMOUNT:
        raise MoneyError(f"amount too large: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def positive_money(value: object) -> Decimal:
    """Like :func:`to_money` but the amount must be above zero (a claim line)."""
    amount = to_money(value)
    if amount <= 0:
        raise MoneyError(f"amount must be greater than zero: {value!r}")
    return amount


def format_cny(amount: Decimal) -> str:
    """``Decimal("1234.5")`` → ``¥1,234.50``; negative amounts keep their sign before the ¥."""
    amount = to_money(amount)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def _four_digits(group: int) -> str:
    """Write 0 < group < 10000 with 拾佰仟, zeros folded to a single 零 between digits."""
    text = ""
    pending_zero = False
    for position in range(3, -1, -1):
        digit = group // 10**position % 10
        if digit == 0:
            pending_zero = bool(text)
            continue
        if pending_zero:
            text += "零"
            pending_zero = False
        text += _DIGITS[digit] + _SMALL_UNITS[position]
    return text


def _integer_capital(yuan: int) -> str:
    groups = []
    while yuan:
        groups.append(yuan % 10000)
        yuan //= 10000
    text = ""
    need_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            need_zero = bool(text)
            continue
        if text and (need_zero or group < 1000):
            text += "零"
        text += _four_digits(group) + _BIG_UNITS[index]
        need_zero = False
    return text


def capital_amount(amount: Decimal) -> str:
    """The Chinese capital amount (大写金额) as written on invoices and claim forms.

    ``1234.50`` → ``壹仟贰佰叁拾肆元伍角整``; ``10.00`` → ``壹拾元整``; ``0.05`` → ``伍分``.
    """
    amount = to_money(amount)
    prefix = "负" if amount < 0 else ""
    cents = int(abs(amount) * 100)
    yuan, jiao, fen = cents // 100, cents // 10 % 10, cents % 10
    if cents == 0:
        return "零元整"
    # 会计基础工作规范 §52: an amount ending at 元 or 角 gets 整; one with 分 does not.
    text = _integer_capital(yuan) + "元" if yuan else ""
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif yuan and fen:
        text += "零"
    if fen:
        return prefix + text + _DIGITS[fen] + "分"
    return prefix + text + "整"
