"""Finance checks: each returns flags with a stable rule name and zh/en text."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from bot.einvoice import (
    RULES,
    SUGGESTED_BLOCKING,
    Company,
    Conflict,
    FileFormat,
    InvoiceKind,
    InvoiceReading,
    LineItem,
    Source,
    check_buyer,
    check_claim_amount,
    check_date,
    check_invoice,
    check_red_letter,
    check_sources,
    check_totals,
    read_invoice,
)

from .gen_pdf import invoice_pdf
from .gen_xml import einvoice_xml
from .specs import (
    COMPANY_ID,
    COMPANY_NAME,
    DIGITAL_NORMAL,
    OTHER_BUYER_ID,
    RED_LETTER,
    Spec,
    uscc,
)

D = Decimal
COMPANY = Company(names=(COMPANY_NAME,), tax_ids=(COMPANY_ID,))
TODAY = date(2024, 6, 30)


@pytest.fixture(scope="module")
def good() -> InvoiceReading:
    return read_invoice(einvoice_xml(DIGITAL_NORMAL))


def rules(flags: list) -> list[str]:  # type: ignore[type-arg]
    return [flag.rule for flag in flags]


def test_a_good_invoice_raises_nothing(good: InvoiceReading):
    assert check_invoice(good, company=COMPANY, today=TODAY, claimed=D("106.00")) == []


def test_every_flag_has_a_known_rule_and_both_languages(good: InvoiceReading):
    bad = replace(
        good,
        buyer_name="别家公司",
        buyer_tax_id=OTHER_BUYER_ID,
        total=D("107.00"),
        issue_date=date(2025, 1, 1),
        red_letter=True,
    )
    flags = check_invoice(
        bad, company=COMPANY, today=TODAY, oldest=date(2024, 1, 1), claimed=D("500")
    )
    assert set(rules(flags)) <= set(RULES)
    assert set(RULES) >= SUGGESTED_BLOCKING
    for flag in flags:
        assert (
            flag.zh and flag.en and flag.text("zh-CN") == flag.zh and flag.text("en-US") == flag.en
        )
    assert {
        "buyer_name",
        "buyer_tax_id",
        "totals",
        "red_letter",
        "date_future",
        "claim_exceeds_total",
        "number_year",
    } <= set(rules(flags))


@pytest.mark.parametrize(
    ("name", "tax_id", "expected"),
    [
        (COMPANY_NAME, COMPANY_ID, []),
        ("示例科技有限公司 ", COMPANY_ID.lower(), []),  # spacing and case do not matter
        ("示例科技（上海）有限公司", COMPANY_ID, ["buyer_name"]),
        (COMPANY_NAME, OTHER_BUYER_ID, ["buyer_tax_id"]),
        (COMPANY_NAME, None, ["buyer_tax_id"]),
        (None, None, ["buyer_missing"]),
        ("个人", None, ["buyer_personal"]),
        ("示例乘客", None, ["buyer_personal"]),
        (
            COMPANY_NAME,
            COMPANY_ID[:-1] + ("0" if COMPANY_ID[-1] != "0" else "1"),
            ["buyer_tax_id", "buyer_tax_id_format"],
        ),
    ],
)
def test_buyer(good: InvoiceReading, name: str | None, tax_id: str | None, expected: list[str]):
    reading = replace(good, buyer_name=name, buyer_tax_id=tax_id)
    assert rules(check_buyer(reading, COMPANY)) == expected


def test_buyer_may_be_any_of_several_entities(good: InvoiceReading):
    second = uscc("91440300MA5ABCDE1")
    group = Company(names=("示例控股有限公司", COMPANY_NAME), tax_ids=(second, COMPANY_ID))
    assert check_buyer(good, group) == []
    assert (
        check_buyer(replace(good, buyer_name="示例控股有限公司", buyer_tax_id=second), group) == []
    )


def test_totals_must_add_up_exactly(good: InvoiceReading):
    assert check_totals(good) == []
    assert rules(check_totals(replace(good, tax=D("6.01")))) == ["totals", "line_sums"]
    flags = check_totals(replace(good, total_in_words="壹佰零柒圆整"))
    assert rules(flags) == ["total_in_words"]
    assert "壹佰零柒圆整" in flags[0].zh


def test_words_printed_with_yuan_or_yuan_variant_both_pass(good: InvoiceReading):
    assert check_totals(replace(good, total_in_words="壹佰零陆元整")) == []
    assert check_totals(replace(good, total_in_words="壹佰零陆圆整")) == []


def test_line_sums(good: InvoiceReading):
    extra = (*good.items, LineItem(name="*餐饮服务*饮料", amount=D("5.00"), tax=D("0.30")))
    assert rules(check_totals(replace(good, items=extra))) == ["line_sums"]


def test_derived_totals_are_not_checked(good: InvoiceReading):
    derived = replace(good, total=D("999.00"), sources={**good.sources, "total": Source.DERIVED})
    assert "totals" not in rules(check_totals(derived))


def test_red_letter_from_a_real_reading():
    reading = read_invoice(invoice_pdf(RED_LETTER))
    assert rules(check_red_letter(reading)) == ["red_letter"]
    assert "红字" in check_red_letter(reading)[0].zh


@pytest.mark.parametrize(
    ("issued", "oldest", "expected"),
    [
        (date(2024, 1, 15), None, []),
        (date(2024, 7, 1), None, ["date_future"]),
        (date(2023, 12, 31), date(2024, 1, 1), ["date_too_old", "number_year"]),
        (None, None, ["date_missing"]),
    ],
)
def test_dates(good: InvoiceReading, issued: date | None, oldest: date | None, expected: list[str]):
    assert rules(check_date(replace(good, issue_date=issued), TODAY, oldest)) == expected


def test_number_year_applies_to_digital_only(good: InvoiceReading):
    older = replace(good, kind=InvoiceKind.E_NORMAL, number="12345678", issue_date=date(2019, 1, 1))
    assert check_date(older, TODAY) == []


@pytest.mark.parametrize(
    ("claimed", "expected"), [("106.00", []), ("50", []), ("106.01", ["claim_exceeds_total"])]
)
def test_claim_amount(good: InvoiceReading, claimed: str, expected: list[str]):
    flags = check_claim_amount(good, D(claimed))
    assert rules(flags) == expected
    if flags:
        assert "¥106.01" in flags[0].zh and "¥106.00" in flags[0].en


def test_claim_amount_without_a_total_is_not_flagged():
    reading = InvoiceReading(format=FileFormat.IMAGE, number="1", amount=D("10.00"))
    assert check_claim_amount(reading, D("99")) == []


def test_source_conflicts_are_flagged(good: InvoiceReading):
    conflict = Conflict("total", "106.00", Source.XML, "160.00", Source.QR)
    flags = check_sources(replace(good, conflicts=(conflict,)))
    assert rules(flags) == ["source_conflict"]
    assert "160.00" in flags[0].zh and "qr" in flags[0].en


def test_qr_disagreeing_with_text_is_a_conflict():
    tampered = Spec(**{**DIGITAL_NORMAL.__dict__, "name": "tampered"})
    pdf = invoice_pdf(tampered).replace(b"106.00", b"160.00")  # the text layer lies, QR does not
    reading = read_invoice(pdf)
    assert reading.source_of("total") is Source.QR
    assert reading.total == D("106.00")
