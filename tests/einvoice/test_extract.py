"""Every format × kind: the generated file reads back as the spec it was drawn from."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from bot.einvoice import FileFormat, InvoiceKind, InvoiceReading, Source, invoice_key, read_invoice
from bot.einvoice.normalize import parse_tax_rate

from .gen_ofd import invoice_ofd
from .gen_pdf import invoice_pdf, photo_jpeg, screenshot_png, with_attachment
from .gen_xml import einvoice_xml, fp_einvoice_xml, xbrl_xml
from .specs import (
    AIR,
    DIGITAL_NORMAL,
    DIGITAL_SPECIAL,
    E_NORMAL,
    E_SPECIAL,
    RAILWAY,
    RED_LETTER,
    TAX_FREE,
    Spec,
)

Maker = Callable[[Spec], bytes]


def ticket_pdf(spec: Spec) -> bytes:
    return with_attachment(invoice_pdf(spec), "0", xbrl_xml(spec))


CASES: list[tuple[str, Spec, Maker, FileFormat, Source]] = []
for _spec in (DIGITAL_NORMAL, DIGITAL_SPECIAL, RED_LETTER, TAX_FREE):
    CASES += [
        ("xml", _spec, einvoice_xml, FileFormat.XML, Source.XML),
        (
            "xml-detail-percent",
            _spec,
            lambda s: einvoice_xml(s, detail=True, rate_style="percent"),
            FileFormat.XML,
            Source.XML,
        ),
        (
            "xml-namespaced-long-rate",
            _spec,
            lambda s: einvoice_xml(s, rate_style="long", namespace="urn:example"),
            FileFormat.XML,
            Source.XML,
        ),
        ("ofd", _spec, invoice_ofd, FileFormat.OFD, Source.OFD_DATA),
        (
            "ofd-text-only",
            _spec,
            lambda s: invoice_ofd(s, "text", qr=False),
            FileFormat.OFD,
            Source.TEXT,
        ),
        ("pdf", _spec, invoice_pdf, FileFormat.PDF, Source.QR),
        (
            "pdf-labels-first-kangxi",
            _spec,
            lambda s: invoice_pdf(s, labels_first=True, kangxi=True),
            FileFormat.PDF,
            Source.QR,
        ),
        ("pdf-text-only", _spec, lambda s: invoice_pdf(s, qr=False), FileFormat.PDF, Source.TEXT),
    ]
for _spec in (E_NORMAL, E_SPECIAL):
    CASES += [
        ("xml", _spec, fp_einvoice_xml, FileFormat.XML, Source.XML),
        ("xml-xbrl", _spec, xbrl_xml, FileFormat.XML, Source.XBRL),
        ("ofd", _spec, lambda s: invoice_ofd(s, "older"), FileFormat.OFD, Source.XML),
        (
            "ofd-broken-prefix",
            _spec,
            lambda s: invoice_ofd(s, "older", broken_prefix=True),
            FileFormat.OFD,
            Source.XML,
        ),
        ("ofd-xbrl-only", _spec, lambda s: invoice_ofd(s, "xbrl"), FileFormat.OFD, Source.XBRL),
        ("pdf", _spec, invoice_pdf, FileFormat.PDF, Source.QR),
        (
            "pdf-labels-first",
            _spec,
            lambda s: invoice_pdf(s, labels_first=True),
            FileFormat.PDF,
            Source.QR,
        ),
        ("pdf-text-only", _spec, lambda s: invoice_pdf(s, qr=False), FileFormat.PDF, Source.TEXT),
    ]
for _spec in (RAILWAY, AIR):
    CASES += [
        ("xml-xbrl", _spec, xbrl_xml, FileFormat.XML, Source.XBRL),
        ("ofd-xbrl", _spec, lambda s: invoice_ofd(s, "xbrl"), FileFormat.OFD, Source.XBRL),
        ("pdf-xbrl", _spec, ticket_pdf, FileFormat.PDF, Source.XBRL),
    ]


@pytest.mark.parametrize(
    ("spec", "maker", "fmt", "source"),
    [
        pytest.param(spec, maker, fmt, source, id=f"{spec.name}-{name}")
        for name, spec, maker, fmt, source in CASES
    ],
)
def test_file_reads_back_as_its_spec(spec: Spec, maker: Maker, fmt: FileFormat, source: Source):
    reading = read_invoice(maker(spec), filename="misleading.txt")
    assert reading.format is fmt
    assert reading.source_of("number") is source
    _assert_matches(reading, spec)


def _assert_matches(reading: InvoiceReading, spec: Spec) -> None:
    assert reading.kind is spec.kind
    assert reading.number == spec.number
    assert reading.code == (spec.code or None)
    assert reading.issue_date == spec.issued
    assert (reading.amount, reading.tax, reading.total) == (spec.amount, spec.tax, spec.total)
    assert reading.red_letter is (spec.total < 0)
    assert reading.buyer_name == spec.buyer_name
    assert reading.buyer_tax_id == spec.buyer_id
    assert reading.seller_name == (spec.seller_name or None)
    if spec.kind not in (InvoiceKind.RAILWAY, InvoiceKind.AIR):  # tickets print no seller id
        assert reading.seller_tax_id == spec.seller_id
    expected_key = spec.number if spec.digital else f"{spec.code}:{spec.number}"
    assert invoice_key(reading) == expected_key
    assert [item.name for item in reading.items] == [line.name for line in spec.lines]
    for item, line in zip(reading.items, spec.lines, strict=True):
        assert item.amount == line.amount
        assert item.tax == line.tax
        assert item.tax_rate == parse_tax_rate(line.rate)[0]
    if reading.total_in_words is not None:
        assert reading.total_in_words.replace("元", "圆").replace("⻆", "角") == spec.words


@pytest.mark.parametrize(
    "spec", [DIGITAL_NORMAL, DIGITAL_SPECIAL, RED_LETTER, E_NORMAL, E_SPECIAL], ids=lambda s: s.name
)
@pytest.mark.parametrize("image", [photo_jpeg, screenshot_png], ids=["photo", "screenshot"])
def test_photo_or_screenshot_gives_the_qr_fields(spec: Spec, image: Callable[[bytes], bytes]):
    reading = read_invoice(image(invoice_pdf(spec)), filename="IMG_0001.HEIC")
    assert reading.format is FileFormat.IMAGE
    assert reading.kind is spec.kind
    assert (reading.number, reading.issue_date) == (spec.number, spec.issued)
    assert reading.sources["number"] is Source.QR
    if spec.digital:  # 数电: the QR amount is 价税合计
        assert reading.total == spec.total
        assert reading.amount is None
    else:  # older: 合计金额, excluding tax
        assert reading.amount == spec.amount
        assert reading.total is None
        assert reading.check_code == (spec.check_code or None)
    assert reading.red_letter is (spec.total < 0)


def test_tickets_keep_their_trip_details():
    rail = read_invoice(ticket_pdf(RAILWAY))
    assert {"passenger": "示例乘客", "train": "G1", "to": "上海虹桥"}.items() <= rail.extra.items()
    air = read_invoice(ticket_pdf(AIR))
    assert air.extra["flight"] == "MU5101"
    assert air.amount == Decimal("1150.92")


def test_pdf_fields_remember_their_sources():
    reading = read_invoice(invoice_pdf(DIGITAL_NORMAL))
    assert reading.source_of("total") is Source.QR
    assert reading.source_of("buyer_name") is Source.TEXT
    assert reading.source_of("items") is Source.TEXT
    assert reading.source_of("code") is None


def test_xml_number_is_not_the_plate_number():
    reading = read_invoice(einvoice_xml(DIGITAL_NORMAL))
    assert reading.number == DIGITAL_NORMAL.number


def test_offpage_object_is_ignored_in_ofd_tags():
    reading = read_invoice(invoice_ofd(DIGITAL_NORMAL))
    assert "99999999999999999999" not in {reading.number}
    assert reading.conflicts == ()


def test_ofd_digital_total_comes_from_tags_not_custom_data():
    reading = read_invoice(invoice_ofd(DIGITAL_SPECIAL))
    assert reading.source_of("total") is Source.OFD_TAGS
    assert reading.source_of("amount") is Source.OFD_DATA


def test_multi_page_pdf_reads_page_one():
    reading = read_invoice(invoice_pdf(DIGITAL_SPECIAL, pages=4))
    assert reading.total == DIGITAL_SPECIAL.total
