"""One invoice sent as PDF, OFD, XML or a photo is one invoice; ZIP batches are read whole."""

from __future__ import annotations

import pickle

import pytest

from bot.einvoice import (
    FileFormat,
    InvoiceKind,
    InvoiceReading,
    NoInvoiceData,
    Source,
    UnsupportedFile,
    invoice_key,
    read_invoice,
    read_invoices,
)

from .gen_ofd import invoice_ofd, zip_bytes
from .gen_pdf import invoice_pdf, photo_jpeg, with_attachment
from .gen_xml import einvoice_xml, fp_einvoice_xml, xbrl_xml
from .specs import (
    AIR,
    DIGITAL_NORMAL,
    DIGITAL_SPECIAL,
    E_NORMAL,
    E_SPECIAL,
    RAILWAY,
    RED_LETTER,
    Spec,
)


def _files(spec: Spec) -> dict[str, bytes]:
    pdf = invoice_pdf(spec)
    if spec in (RAILWAY, AIR):
        return {
            "pdf": with_attachment(pdf, "0", xbrl_xml(spec)),
            "ofd": invoice_ofd(spec, "xbrl"),
            "xbrl": xbrl_xml(spec),
        }
    files = {"pdf": pdf, "photo": photo_jpeg(pdf)}
    if spec.digital:
        return files | {"ofd": invoice_ofd(spec), "xml": einvoice_xml(spec)}
    return files | {
        "ofd": invoice_ofd(spec, "older"),
        "xml": fp_einvoice_xml(spec),
        "ofd-xbrl": invoice_ofd(spec, "xbrl"),
    }


@pytest.mark.parametrize(
    "spec",
    [DIGITAL_NORMAL, DIGITAL_SPECIAL, RED_LETTER, E_NORMAL, E_SPECIAL, RAILWAY, AIR],
    ids=lambda s: s.name,
)
def test_every_format_of_one_invoice_gives_one_key(spec: Spec):
    keys = {name: invoice_key(read_invoice(data)) for name, data in _files(spec).items()}
    assert set(keys.values()) == {spec.number if spec.digital else f"{spec.code}:{spec.number}"}


@pytest.mark.parametrize(
    ("number", "code", "key"),
    [
        ("２４３１２０００００００００００００１２", None, "24312000000000000012"),
        ("2431 2000 0000 0000 0012", "", "24312000000000000012"),
        ("12345678", "031001900111", "031001900111:12345678"),
        ("12345678", " 0310 0190 0111 ", "031001900111:12345678"),
        ("24312000000000000012", "031001900111", "24312000000000000012"),
    ],  # 数电纸质: the 20 digits
)
def test_key_is_digits_only(number: str, code: str | None, key: str):
    reading = InvoiceReading(format=FileFormat.XML, number=number, code=code)
    assert invoice_key(reading) == key


def test_key_needs_a_number():
    with pytest.raises(NoInvoiceData):
        invoice_key(InvoiceReading(format=FileFormat.IMAGE))


def test_tax_platform_download_zip_is_one_invoice_best_read_first():
    base = f"dzfp_{DIGITAL_NORMAL.number}_示例餐饮管理有限公司_20240115101010"
    batch = zip_bytes(
        {
            f"{base}.pdf": invoice_pdf(DIGITAL_NORMAL),
            f"{base}.ofd": invoice_ofd(DIGITAL_NORMAL),
            f"{base}.xml": einvoice_xml(DIGITAL_NORMAL),
            "说明.txt": "请妥善保管".encode(),
        }
    )
    (reading,) = read_invoices(batch, "发票.zip")
    assert reading.source_of("number") is Source.XML
    assert read_invoice(batch) == reading


def test_railway_zip_of_zips():
    inner = [
        zip_bytes({f"{n}.pdf": with_attachment(invoice_pdf(s), "0", xbrl_xml(s))})
        for n, s in (("a", RAILWAY), ("b", AIR))
    ]
    outer = zip_bytes({"ticket1.zip": inner[0], "ticket2.zip": inner[1]})
    readings = read_invoices(outer)
    assert sorted(r.kind.value for r in readings) == sorted(
        [InvoiceKind.RAILWAY.value, InvoiceKind.AIR.value]
    )
    with pytest.raises(UnsupportedFile) as raised:
        read_invoice(outer)
    assert "read_invoices" in str(raised.value)


def test_tax_categories_hint_at_the_expense_category():
    reading = read_invoice(einvoice_xml(DIGITAL_SPECIAL))
    assert reading.tax_categories == ("信息技术服务", "纸制品")


def test_readings_pickle_for_a_process_pool():
    reading = read_invoice(invoice_pdf(DIGITAL_SPECIAL))
    assert pickle.loads(pickle.dumps(reading)) == reading  # noqa: S301 - our own bytes
