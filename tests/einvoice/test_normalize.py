"""Text as real invoices contain it: radicals, full-width forms, 元/圆, labels apart from values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.einvoice import InvoiceKind
from bot.einvoice.kinds import kind_from_title, parse_qr
from bot.einvoice.normalize import (
    norm,
    parse_amount,
    parse_capital,
    parse_date,
    parse_tax_rate,
)
from bot.einvoice.textfields import parse_text
from storage.money import capital_amount

D = Decimal


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("电⼦发票（普通发票）", "电子发票(普通发票)"),  # Kangxi ⼦ U+2F26
        ("⽉⽇⾦额", "月日金额"),
        ("⻔诊⻝堂三⻆", "门诊食堂三角"),  # CJK Radicals Supplement: NFKC leaves these
        ("￥１２３．４５", "¥123.45"),  # full-width digits and yen
        ("发票号码：", "发票号码:"),
        ("名\u3000称", "名 称"),
    ],
)
def test_norm(raw: str, expected: str):
    assert norm(raw) == expected


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("¥1,234.50", D("1234.50")),
        ("￥-2.92", D("-2.92")),
        ("-¥2.92", D("-2.92")),
        ("１０６．００", D("106.00")),
        ("106元", D("106.00")),
        ("abc", None),
        ("", None),
        ("1e5", None),
        ("NaN", None),
    ],
)
def test_parse_amount(text: str, amount: Decimal | None):
    assert parse_amount(text) == amount


@pytest.mark.parametrize(
    ("words", "amount"),
    [
        ("壹佰零陆圆整", D("106.00")),
        ("壹佰零陆元整", D("106.00")),
        ("伍元陆角壹分", D("5.61")),
        ("柒佰伍拾陆元陆角叁分", D("756.63")),
        ("伍拾叁圆肆⻆", D("53.40")),
        ("壹拾万零叁佰元零伍分", D("100300.05")),
        ("壹亿零伍万元整", D("100050000.00")),
        ("负壹佰零陆圆整", D("-106.00")),
        ("（负数）壹佰圆整", D("-100.00")),
        ("叁分", D("0.03")),
        ("拾元正", D("10.00")),
        ("壹佰零陆", None),
        ("", None),
        ("圆角分", None),
    ],
)
def test_parse_capital(words: str, amount: Decimal | None):
    assert parse_capital(words) == amount


@pytest.mark.parametrize(
    "amount", ["0.01", "0.10", "1.00", "10.05", "106.00", "1286.00", "100300.05", "99999999999.99"]
)
def test_capital_round_trips_with_storage_money(amount: str):
    words = capital_amount(D(amount))
    assert parse_capital(words) == D(amount)
    assert parse_capital(words.replace("元", "圆")) == D(amount)


@pytest.mark.parametrize(
    ("text", "rate", "label"),
    [
        ("6%", D("0.06"), "6%"),
        ("0.06", D("0.06"), "6%"),
        ("0.130000", D("0.13"), "13%"),
        ("13.00%", D("0.13"), "13.00%"),
        ("1.5%", D("0.015"), "1.5%"),
        ("免税", None, "免税"),
        ("不征税", None, "不征税"),
        ("***", None, "***"),
        ("0", D("0"), "0%"),
    ],
)
def test_parse_tax_rate(text: str, rate: Decimal | None, label: str):
    assert parse_tax_rate(text) == (rate, label)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2024年01月15日", date(2024, 1, 15)),
        ("２０２４年１月５日", date(2024, 1, 5)),
        ("2026-09-14 12:51:03", date(2026, 9, 14)),
        ("20201010", date(2020, 10, 10)),
        ("2024年02月30日", None),
        ("soon", None),
    ],
)
def test_parse_date(text: str, day: date | None):
    assert parse_date(text) == day


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("电⼦发票（普通发票）", InvoiceKind.DIGITAL_NORMAL),
        ("电子发票(增值税专用发票)", InvoiceKind.DIGITAL_SPECIAL),
        ("浙江增值税电子普通发票", InvoiceKind.E_NORMAL),
        ("上海增值税电子专用发票", InvoiceKind.E_SPECIAL),
        ("电子发票（铁路电子客票）", InvoiceKind.RAILWAY),
        ("电子发票（航空运输电子客票行程单）", InvoiceKind.AIR),
        ("收据", InvoiceKind.UNKNOWN),
    ],
)
def test_kind_from_title(title: str, kind: InvoiceKind):
    assert kind_from_title(title) is kind


def test_qr_amount_meaning_follows_the_type():
    digital = parse_qr("01,32,,24312000000000000012,106.00,20240115,,A1B2")
    older = parse_qr("01,10,031001900111,12345678,47.26,20190720,12345678901234567890,E400,")
    assert digital is not None and older is not None
    assert digital["total"] == D("106.00") and "amount" not in digital
    assert older["amount"] == D("47.26") and "total" not in older
    assert older["code"] == "031001900111"
    assert parse_qr("０１，３１，，24110000000000000001，4449.00，20240528，，B2B6") is not None
    assert parse_qr("https://example.com/not-an-invoice") is None
    assert parse_qr("01,99,,1,2.00,20240101,,x") is None


def test_labels_and_values_in_separate_runs():
    """The older PDF's text order: every label first, then every value."""
    text = "\n".join(
        [
            "上海增值税电子普通发票",
            "发票代码:",
            "发票号码:",
            "开票日期:",
            "校 验 码:",
            "名 称:",
            "纳税人识别号:",
            "名 称:",
            "纳税人识别号:",
            "合 计",
            "价税合计(大写)",
            "(小写)",
            "031001900111",
            "12345678",
            "2019 07 20",
            "12345 67890 12345 67890",
            "示例科技有限公司",
            "91310000MA1FL0000N",
            "示例餐饮管理有限公司",
            "91110108MA01ABCD1E",
            "*餐饮服务*餐费 47.26 13% 6.14",
            "¥47.26 ¥6.14",
            "伍拾叁圆肆角",
            "¥53.40",
        ]
    )
    values = parse_text(text).values
    assert values["code"] == "031001900111" and values["number"] == "12345678"
    assert values["issue_date"] == date(2019, 7, 20)
    assert values["check_code"] == "12345678901234567890"
    assert (values["buyer_name"], values["seller_name"]) == (
        "示例科技有限公司",
        "示例餐饮管理有限公司",
    )
    assert values["buyer_tax_id"] == "91310000MA1FL0000N"
    assert (values["amount"], values["tax"], values["total"]) == (D("47.26"), D("6.14"), D("53.40"))
    assert values["total_in_words"] == "伍拾叁圆肆角"
    assert values["kind"] is InvoiceKind.E_NORMAL


def test_inline_text_with_full_width_forms_and_personal_buyer():
    text = (
        "电⼦发票（普通发票） 发票号码：２４３１２０００００００００００００３３\n"
        "开票日期：2024年03月04日\n名称：个人 名称：示例餐饮管理有限公司\n"
        "统一社会信用代码/纳税人识别号： 统一社会信用代码/纳税人识别号：91110108MA01ABCD1E\n"
        "*餐饮服务*餐费 次 1 30.00 免税 ***\n合 计 ￥30.00 ***\n"
        "价税合计（大写） 叁拾圆整 （小写）￥30.00"
    )
    values = parse_text(text).values
    assert values["number"] == "24312000000000000033"
    assert values["buyer_name"] == "个人" and "buyer_tax_id" not in values
    assert values["seller_tax_id"] == "91110108MA01ABCD1E"
    assert (values["amount"], values["tax"], values["total"]) == (D("30.00"), D("0.00"), D("30.00"))
    (item,) = values["items"]  # type: ignore[misc]
    assert item.rate_label == "免税" and item.tax_rate is None
