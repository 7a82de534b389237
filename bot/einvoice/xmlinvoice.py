"""Invoice XML: the 数电票 ``EInvoice`` data file and the older ``fp:eInvoice``.

Everything is looked up by local name, so namespaces (or their absence) do not matter. The
number of a 数电票 comes from ``TaxSupervisionInfo/InvoiceNumber`` (``Header/EIid`` as a
fallback), never the first 20-digit element, which may be a plate number.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from .kinds import kind_from_title, parse_qr
from .merge import Partial
from .model import InvoiceKind, LineItem, Source
from .normalize import (
    clean,
    digits,
    parse_amount,
    parse_date,
    parse_quantity,
    parse_tax_rate,
    tax_id,
)
from .xmltools import find, iter_named, local, text


def parse_einvoice(root: Element, source: Source = Source.XML) -> Partial:
    """The 数电票 XML (root ``EInvoice``)."""
    partial = Partial(source)
    number = text(root, "TaxSupervisionInfo", "InvoiceNumber") or text(root, "Header", "EIid")
    partial.set("number", digits(number))
    partial.set("issue_date", parse_date(text(root, "IssueTime") or text(root, "RequestTime")))
    partial.set("kind", _einvoice_kind(root))
    partial.set("red_letter", text(root, "InIssuType", "LabelCode") == "N")
    partial.set("buyer_name", clean(text(root, "BuyerInformation", "BuyerName")))
    partial.set("buyer_tax_id", tax_id(text(root, "BuyerInformation", "BuyerIdNum")))
    partial.set("seller_name", clean(text(root, "SellerInformation", "SellerName")))
    partial.set("seller_tax_id", tax_id(text(root, "SellerInformation", "SellerIdNum")))
    basic = find(root, "BasicInformation")
    partial.set("amount", parse_amount(text(basic, "TotalAmWithoutTax")))
    partial.set("tax", parse_amount(text(basic, "TotalTaxAm")))
    partial.set("total", parse_amount(text(basic, "TotalTax-includedAmount")))
    partial.set("total_in_words", clean(text(basic, "TotalTax-includedAmountInChinese")))
    partial.set("items", tuple(_einvoice_lines(root)))
    return partial


def _einvoice_kind(root: Element) -> InvoiceKind:
    label = text(root, "GeneralOrSpecialVAT", "LabelName") or ""
    code = text(root, "GeneralOrSpecialVAT", "LabelCode") or ""
    if "专用" in label or (not label and code == "01"):
        return InvoiceKind.DIGITAL_SPECIAL
    if "普通" in label or (not label and code == "02"):
        return InvoiceKind.DIGITAL_NORMAL
    return kind_from_title(text(root, "EInvoiceType", "LabelName") or "")


def _einvoice_lines(root: Element) -> list[LineItem]:
    lines: list[LineItem] = []
    for info in iter_named(root, "IssuItemInformation"):
        details = [el for el in info if local(el.tag) == "ItemDetail"] or [info]
        for row in details:
            values = {local(el.tag): (el.text or "").strip() for el in row}
            item = line_item(
                values, name="ItemName", amount="Amount", tax=("ComTaxAm", "TaxAm"),
                rate="TaxRate", spec="SpecMod", unit="MeaUnits", qty="Quantity", price="UnPrice",
            )  # fmt: skip
            if item is not None:
                lines.append(item)
    return lines


def line_item(
    values: dict[str, str],
    *,
    name: str,
    amount: str,
    tax: tuple[str, ...],
    rate: str,
    spec: str = "",
    unit: str = "",
    qty: str = "",
    price: str = "",
) -> LineItem | None:
    """A :class:`LineItem` from ``{element name: text}`` using the given element names."""
    item_name, item_amount = clean(values.get(name)), parse_amount(values.get(amount))
    if item_name is None or item_amount is None:
        return None
    tax_rate, label = parse_tax_rate(values.get(rate))
    tax_value = next((parse_amount(values[key]) for key in tax if values.get(key)), None)
    return LineItem(
        name=item_name,
        amount=item_amount,
        tax=tax_value,
        tax_rate=tax_rate,
        rate_label=label,
        spec=clean(values.get(spec)) or "",
        unit=clean(values.get(unit)) or "",
        quantity=parse_quantity(values.get(qty)),
        price=parse_quantity(values.get(price)),
    )


def parse_fp_invoice(root: Element, source: Source) -> Partial:
    """The older ``eInvoice`` (fp: namespace, 2016/2019), e.g. an OFD's original_invoice.xml."""
    partial = Partial(source)
    qr = parse_qr(text(root, "GraphCode") or "")
    partial.set("kind", qr["kind"] if qr else None)
    partial.set("code", digits(text(root, "InvoiceCode")))
    partial.set("number", digits(text(root, "InvoiceNo")))
    partial.set("issue_date", parse_date(text(root, "IssueDate")))
    partial.set("check_code", digits(text(root, "InvoiceCheckCode")))
    partial.set("buyer_name", clean(text(root, "Buyer", "BuyerName")))
    partial.set("buyer_tax_id", tax_id(text(root, "Buyer", "BuyerTaxID")))
    partial.set("seller_name", clean(text(root, "Seller", "SellerName")))
    partial.set("seller_tax_id", tax_id(text(root, "Seller", "SellerTaxID")))
    partial.set("amount", parse_amount(text(root, "TaxExclusiveTotalAmount")))
    partial.set("tax", parse_amount(text(root, "TaxTotalAmount")))
    partial.set("total", parse_amount(text(root, "TaxInclusiveTotalAmount")))
    lines = []
    for info in iter_named(root, "GoodsInfo"):
        values = {local(el.tag): (el.text or "").strip() for el in info}
        item = line_item(
            values, name="Item", amount="Amount", tax=("TaxAmount",), rate="TaxScheme",
            spec="Specification", unit="MeasurementDimension", qty="Quantity", price="Price",
        )  # fmt: skip
        if item is not None:
            lines.append(item)
    partial.set("items", tuple(lines))
    return partial
