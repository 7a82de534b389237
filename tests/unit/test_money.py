from __future__ import annotations

from decimal import Decimal

import pytest

from storage.money import MoneyError, capital_amount, format_cny, positive_money, to_money


@pytest.mark.parametrize(
    ("amount", "capital"),
    [
        ("0.05", "伍分"),
        ("0.50", "伍角整"),
        ("0.00", "零元整"),
        ("1.00", "壹元整"),
        ("10.00", "壹拾元整"),
        ("10.50", "壹拾元伍角整"),
        ("100.05", "壹佰元零伍分"),
        ("101.00", "壹佰零壹元整"),
        ("1001.00", "壹仟零壹元整"),
        ("1010.00", "壹仟零壹拾元整"),
        ("1234.50", "壹仟贰佰叁拾肆元伍角整"),
        ("1234.56", "壹仟贰佰叁拾肆元伍角陆分"),
        ("10000.00", "壹万元整"),
        ("100000.01", "壹拾万元零壹分"),
        ("100010.00", "壹拾万零壹拾元整"),
        ("1000000000.00", "壹拾亿元整"),
        ("100010000.00", "壹亿零壹万元整"),
        ("-3.20", "负叁元贰角整"),
    ],
)
def test_capital_amount(amount: str, capital: str) -> None:
    assert capital_amount(Decimal(amount)) == capital


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("1234.5", "¥1,234.50"), ("0", "¥0.00"), ("1000000", "¥1,000,000.00"), ("-2", "-¥2.00")],
)
def test_format_cny(amount: str, shown: str) -> None:
    assert format_cny(Decimal(amount)) == shown


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("45", "45.00"), ("45.5", "45.50"), ("1,234.50", "1234.50"), ("0.005", "0.01"),
     ("0.004", "0.00"), (Decimal("2.675"), "2.68"), (7, "7.00")],
)
def test_to_money_rounds_half_up(raw: object, expected: str) -> None:
    assert to_money(raw) == Decimal(expected)


@pytest.mark.parametrize("raw", [45.5, True, "abc", "NaN", "Infinity", "", None, "1e30", [1]])
def test_to_money_refuses(raw: object) -> None:
    with pytest.raises(MoneyError):
        to_money(raw)


@pytest.mark.parametrize("raw", ["0", "-1", "0.001"])
def test_positive_money_refuses_zero_and_negative(raw: str) -> None:
    with pytest.raises(MoneyError):
        positive_money(raw)
