"""财政部 XBRL e-vouchers: ``inv`` (older 电子普票), ``rai`` (铁路电子客票), ``atr`` (航空行程单).

Found as PDF embedded files (the name may be just ``"0"``) or OFD attachments; recognised by
the root ``xbrl`` and told apart by which element names they use, never by file name.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element

from .kinds import kind_from_title
from .merge import Partial
from .model import InvoiceKind, LineItem, Source
from .normalize import clean, digits, parse_amount, parse_date, tax_id
from .xmlinvoice import line_item, parse_einvoice, parse_fp_invoice
from .xmltools import iter_named, leaves, local

_RAIL_NUMBER = "ElectronicInvoiceRailwayETicketNumber"
_AIR_NUMBER = "ElectronicInvoiceAirTransportReceiptNumber"
_RAIL_EXTRA = {
    "Name": "passenger", "TrainNumber": "train", "DepartureStation": "from",
    "DestinationStation": "to", "TravelDate": "travel_date", "SeatLevel": "seat",
    "ElectronicTicketNum": "ticket", "TypeOfBusiness": "business",
}  # fmt: skip
_AIR_EXTRA = {
    "PassengerName": "passenger", "Flight": "flight", "DepartureStation": "from",
    "DestinationStation": "to", "ETicketNumber": "ticket", "CarrierDate": "travel_date",
}  # fmt: skip


def _party(values: dict[str, str], suffix: str) -> tuple[str | None, str | None]:
    name = clean(values.get(f"NameOf{suffix}"))
    ids = [v for k, v in values.items() if k.endswith(f"Of{suffix}") and "Code" in k]
    ids += [v for k, v in values.items() if k.endswith(f"Of{suffix}") and "Identification" in k]
    return name, tax_id(ids[0]) if ids else None


def parse_xbrl(root: Element, source: Source = Source.XBRL) -> Partial:
    """One XBRL voucher as a partial reading; no number means no invoice data."""
    values = leaves(root)
    partial = Partial(source)
    buyer, buyer_id = _party(values, "Purchaser")
    partial.set("buyer_name", buyer)
    partial.set("buyer_tax_id", buyer_id)
    if _RAIL_NUMBER in values:
        _railway(values, partial)
    elif _AIR_NUMBER in values:
        _air(values, partial)
    else:
        _ordinary(root, values, partial)
    return partial


def _railway(values: dict[str, str], partial: Partial) -> None:
    partial.set("kind", InvoiceKind.RAILWAY)
    partial.set("number", digits(values[_RAIL_NUMBER]))
    partial.set("issue_date", parse_date(values.get("DateOfIssue")))
    partial.set("total", parse_amount(values.get("Fare")))
    partial.set("amount", parse_amount(values.get("TotalAmountExcludingTax")))
    partial.set("tax", parse_amount(values.get("TaxAmount")))
    partial.set("seller_name", clean(values.get("NameOfSeller")))
    partial.extra.update({_RAIL_EXTRA[k]: v for k, v in values.items() if k in _RAIL_EXTRA})


def _air(values: dict[str, str], partial: Partial) -> None:
    partial.set("kind", InvoiceKind.AIR)
    partial.set("number", digits(values[_AIR_NUMBER]))
    partial.set("issue_date", parse_date(values.get("IssueDate") or values.get("DateOfIssue")))
    partial.set("total", parse_amount(values.get("TotalAmount")))
    partial.set("tax", parse_amount(values.get("VatTaxAmount")))
    seller, seller_id = _party(values, "Seller")
    partial.set("seller_name", seller or clean(values.get("IssueParty")))
    partial.set("seller_tax_id", seller_id)
    partial.extra.update({_AIR_EXTRA[k]: v for k, v in values.items() if k in _AIR_EXTRA})


def _ordinary(root: Element, values: dict[str, str], partial: Partial) -> None:
    kind = kind_from_title(values.get("TypeOfInvoice", ""))
    partial.set("kind", kind)
    number = digits(values.get("NumberOfInvoice"))
    code = digits(values.get("CodeOfInvoice"))
    partial.set("number", number)
    partial.set("code", code if len(number) != 20 else None)
    partial.set("check_code", digits(values.get("IdentifyingCode")))
    partial.set("issue_date", parse_date(values.get("DateOfIssue")))
    seller, seller_id = _party(values, "Seller")
    partial.set("seller_name", seller)
    partial.set("seller_tax_id", seller_id)
    partial.set("amount", parse_amount(values.get("TotalAmountExcludingTax")))
    partial.set("tax", parse_amount(values.get("TotalTaxAmount")))
    partial.set("total", parse_amount(values.get("TaxIncludedAmountInFigures")))
    partial.set("total_in_words", clean(values.get("TaxIncludedAmountInWords")))
    partial.set("items", tuple(_goods(root)))


def _goods(root: Element) -> list[LineItem]:
    lines = []
    for row in iter_named(root, "InformationOfTaxableGoodsOrServicesDetailItemsTuple"):
        values = {local(el.tag): (el.text or "").strip() for el in row}
        item = line_item(
            values, name="NameOfTaxableGoodsOrServices", amount="AmountExcludingTax",
            tax=("TaxAmount",), rate="TaxRate", spec="Specification", unit="UnitOfMeasurement",
            qty="Quantity", price="UnitPrice",
        )  # fmt: skip
        if item is not None:
            lines.append(item)
    return lines


def parse_data_xml(root: Element, source: Source) -> Partial | None:
    """Any invoice XML by its root: 数电 ``EInvoice``, older ``eInvoice``, or ``xbrl``."""
    name = local(root.tag)
    if name == "EInvoice":
        return parse_einvoice(root, source)
    if name == "eInvoice":
        return parse_fp_invoice(root, source)
    if name == "xbrl":
        return parse_xbrl(root, Source.XBRL)
    return None
