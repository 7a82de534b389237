"""Partial readings from each source merged into one :class:`InvoiceReading`, best source first."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import TypeVar

from .model import FIELDS, Conflict, FileFormat, InvoiceKind, InvoiceReading, LineItem, Source

_CROSS_CHECKED = ("number", "code", "issue_date", "amount", "tax", "total", "buyer_tax_id")
T = TypeVar("T")
_ORDER = {source: rank for rank, source in enumerate(Source)}


@dataclass
class Partial:
    """What one source said. ``values`` keys are :data:`FIELDS` names (plus ``extra``)."""

    source: Source
    values: dict[str, object] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)

    def set(self, name: str, value: object) -> None:
        if value is not None and value != "" and value != () and name not in self.values:
            self.values[name] = value


def _present(value: object) -> bool:
    """Has a value: zero amounts count, empty text and UNKNOWN do not."""
    if value is None or value is False or value is InvoiceKind.UNKNOWN:
        return False
    return not (isinstance(value, str | tuple) and len(value) == 0)


def _chosen(partials: list[Partial]) -> tuple[dict[str, object], dict[str, Source], list[Conflict]]:
    values: dict[str, object] = {}
    sources: dict[str, Source] = {}
    conflicts: list[Conflict] = []
    for partial in sorted(partials, key=lambda p: _ORDER[p.source]):
        for name in FIELDS:
            value = partial.values.get(name)
            if not _present(value):
                continue
            if name not in values:
                values[name], sources[name] = value, partial.source
            elif name in _CROSS_CHECKED and value != values[name]:
                conflicts.append(
                    Conflict(name, str(values[name]), sources[name], str(value), partial.source)
                )
    return values, sources, conflicts


def merge(fmt: FileFormat, partials: list[Partial]) -> InvoiceReading:
    """One reading: each field from the best source that has it; disagreements recorded."""
    values, sources, conflicts = _chosen(partials)
    extra: dict[str, str] = {}
    for partial in partials:
        for key, value in partial.extra.items():
            extra.setdefault(key, value)
    reading = InvoiceReading(
        format=fmt,
        kind=_typed(values.get("kind"), InvoiceKind, InvoiceKind.UNKNOWN),
        number=_typed(values.get("number"), str, None),
        code=_typed(values.get("code"), str, None),
        check_code=_typed(values.get("check_code"), str, None),
        issue_date=_typed(values.get("issue_date"), date, None),
        buyer_name=_typed(values.get("buyer_name"), str, None),
        buyer_tax_id=_typed(values.get("buyer_tax_id"), str, None),
        seller_name=_typed(values.get("seller_name"), str, None),
        seller_tax_id=_typed(values.get("seller_tax_id"), str, None),
        amount=_typed(values.get("amount"), Decimal, None),
        tax=_typed(values.get("tax"), Decimal, None),
        total=_typed(values.get("total"), Decimal, None),
        total_in_words=_typed(values.get("total_in_words"), str, None),
        items=_items(values.get("items")),
        red_letter=bool(values.get("red_letter")),
        conflicts=tuple(conflicts),
        extra=extra,
    )
    return _derived(reading, sources)


def _typed(value: object, kind: type[T], default: T) -> T:
    return value if isinstance(value, kind) else default


def _items(value: object) -> tuple[LineItem, ...]:
    if isinstance(value, tuple):
        return tuple(item for item in value if isinstance(item, LineItem))
    return ()


def _derived(reading: InvoiceReading, sources: dict[str, Source]) -> InvoiceReading:
    """Fill one missing total from the other two; mark red-letter from a negative total."""
    amount, tax, total = reading.amount, reading.tax, reading.total
    changes: dict[str, object] = {}
    if total is None and amount is not None and tax is not None:
        changes["total"] = amount + tax
    elif tax is None and amount is not None and total is not None:
        changes["tax"] = total - amount
    elif amount is None and tax is not None and total is not None:
        changes["amount"] = total - tax
    for name in changes:
        sources[name] = Source.DERIVED
    final_total = changes.get("total", total)
    if isinstance(final_total, Decimal) and final_total < 0:
        changes["red_letter"] = True
    return replace(reading, **changes, sources=dict(sources))  # type: ignore[arg-type]
