"""OFD CustomTags: elements holding ``ObjectRef``s to TextObjects, mapped to invoice fields.

Both the 数电 ``ofd:root`` layout and the older ``fp:eInvoice`` tag files are read. Amounts may
be split over several objects (``¥`` then the value): the referenced texts are concatenated.
Line leaves repeat flat in the 数电 layout, so they are paired by order; the older layout groups
them under ``GoodsInfo``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Protocol
from xml.etree.ElementTree import Element

from .merge import Partial
from .model import LineItem, Source
from .normalize import clean, digits, parse_amount, parse_date, tax_id
from .xmlinvoice import line_item
from .xmltools import local

_FIELDS = {
    "InvoiceNo": "number", "InvoiceCode": "code", "IssueDate": "issue_date",
    "InvoiceCheckCode": "check_code", "BuyerName": "buyer_name", "BuyerTaxID": "buyer_tax_id",
    "SellerName": "seller_name", "SellerTaxID": "seller_tax_id",
    "TaxExclusiveTotalAmount": "amount", "TaxTotalAmount": "tax",
    "TaxInclusiveTotalAmount": "total",
}  # fmt: skip
_LINE_LEAVES = frozenset(
    {"Item", "Specification", "MeasurementDimension", "Price", "Quantity", "Amount", "TaxScheme",
     "TaxAmount"}
)  # fmt: skip


class HasText(Protocol):
    @property
    def text(self) -> str: ...


def _referenced(element: Element, objects: Mapping[tuple[str, str], HasText]) -> str | None:
    refs = [ref for ref in element if local(ref.tag) == "ObjectRef"]
    if not refs:
        return None
    parts = []
    for ref in refs:
        found = objects.get((ref.get("PageRef", ""), (ref.text or "").strip()))
        if found is not None:
            parts.append(found.text)
    return "".join(parts).strip() or None


def tags_partial(root: Element, objects: Mapping[tuple[str, str], HasText]) -> Partial:
    """The fields a tag file points at."""
    partial = Partial(Source.OFD_TAGS)
    groups: dict[int, dict[str, str]] = defaultdict(dict)
    counters: dict[str, int] = defaultdict(int)
    parents = {child: parent for parent in root.iter() for child in parent}
    for element in root.iter():
        name, value = local(element.tag), _referenced(element, objects)
        if value is None:
            continue
        if name in _LINE_LEAVES:
            parent = parents.get(element)
            key = id(parent) if parent is not None and local(parent.tag) == "GoodsInfo" else None
            if key is None:
                key, counters[name] = counters[name], counters[name] + 1
            groups[key].setdefault(name, value)
        elif name in _FIELDS:
            set_field(partial, _FIELDS[name], value)
    partial.set("items", tuple(_lines(groups)))
    return partial


def set_field(partial: Partial, name: str, value: str) -> None:
    """Set field ``name`` from its printed text, parsed for its type."""
    if name in ("amount", "tax", "total"):
        partial.set(name, parse_amount(value))
    elif name == "issue_date":
        partial.set(name, parse_date(value))
    elif name.endswith("tax_id"):
        partial.set(name, tax_id(value))
    elif name.endswith("_name"):
        partial.set(name, clean(value))
    else:
        partial.set(name, digits(value))


def _lines(groups: dict[int, dict[str, str]]) -> list[LineItem]:
    lines = []
    for values in groups.values():
        item = line_item(
            values, name="Item", amount="Amount", tax=("TaxAmount",), rate="TaxScheme",
            spec="Specification", unit="MeasurementDimension", qty="Quantity", price="Price",
        )  # fmt: skip
        if item is not None:
            lines.append(item)
    return lines
