"""Property: any fictional invoice rendered as XML, OFD and PDF reads back as one record."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.einvoice import InvoiceKind, InvoiceReading, invoice_key, read_invoice

from .gen_ofd import invoice_ofd
from .gen_pdf import invoice_pdf
from .gen_xml import einvoice_xml, fp_einvoice_xml
from .specs import Line, Spec

NAMES = (
    "*餐饮服务*餐费",
    "*运输服务*客运服务费",
    "*信息技术服务*软件服务费",
    "*纸制品*打印纸",
    "*住宿服务*住宿费",
    "*图书*技术手册",
)
RATES = ("6%", "13%", "9%", "3%", "1%", "免税")
KINDS = (
    InvoiceKind.DIGITAL_NORMAL,
    InvoiceKind.DIGITAL_SPECIAL,
    InvoiceKind.E_NORMAL,
    InvoiceKind.E_SPECIAL,
)


@st.composite
def lines(draw: st.DrawFn) -> Line:
    amount = (Decimal(draw(st.integers(1, 9_999_999))) / 100).quantize(Decimal("0.01"))
    rate = draw(st.sampled_from(RATES))
    tax = Decimal("0.00")
    if rate.endswith("%"):
        tax = (amount * Decimal(rate[:-1]) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return Line(draw(st.sampled_from(NAMES)), amount, rate, tax)


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    kind = draw(st.sampled_from(KINDS))
    issued = draw(st.dates(date(2019, 1, 1), date(2026, 12, 31)))
    sequence = draw(st.integers(1, 10**8 - 1))
    if kind.is_digital:
        number, code = f"{issued.year % 100:02d}31200000{sequence:010d}", ""
    else:
        number, code = f"{sequence:08d}", f"0310{issued.year % 100:02d}000111"
    return Spec(
        "drawn",
        kind,
        number,
        issued,
        tuple(draw(st.lists(lines(), min_size=1, max_size=4))),
        code=code,
        check_code="" if kind is InvoiceKind.E_SPECIAL else f"{sequence:020d}",
    )


def _record(reading: InvoiceReading) -> tuple[object, ...]:
    items = tuple((i.name, i.amount, i.tax, i.tax_rate) for i in reading.items)
    return (
        reading.kind,
        invoice_key(reading),
        reading.issue_date,
        reading.amount,
        reading.tax,
        reading.total,
        reading.buyer_tax_id,
        reading.seller_tax_id,
        reading.seller_name,
        items,
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), labels_first=st.booleans(), kangxi=st.booleans())
def test_xml_ofd_and_pdf_agree(spec: Spec, labels_first: bool, kangxi: bool):
    xml = einvoice_xml(spec) if spec.digital else fp_einvoice_xml(spec)
    ofd = invoice_ofd(spec, "digital" if spec.digital else "older")
    pdf = invoice_pdf(spec, labels_first=labels_first, kangxi=kangxi)
    records = {
        name: _record(read_invoice(data))
        for name, data in (("xml", xml), ("ofd", ofd), ("pdf", pdf))
    }
    assert records["xml"] == records["ofd"] == records["pdf"]
    assert records["xml"][5] == spec.total
