"""What reading an invoice gives: kinds, sources, line items and the reading itself."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


class InvoiceKind(enum.Enum):
    """The invoice family, by its printed title."""

    DIGITAL_NORMAL = "数电普票"  # 电子发票（普通发票）
    DIGITAL_SPECIAL = "数电专票"  # 电子发票（增值税专用发票）
    E_NORMAL = "电子普票"  # 增值税电子普通发票 (older, code + number)
    E_SPECIAL = "电子专票"  # 增值税电子专用发票 (older, code + number)
    RAILWAY = "铁路电子客票"
    AIR = "航空运输电子客票行程单"
    UNKNOWN = "未知"

    @property
    def is_digital(self) -> bool:
        """数电票 (including railway and air tickets): keyed by the 20-digit number alone."""
        return self in _DIGITAL


_DIGITAL = frozenset(
    {InvoiceKind.DIGITAL_NORMAL, InvoiceKind.DIGITAL_SPECIAL, InvoiceKind.RAILWAY, InvoiceKind.AIR}
)


class FileFormat(enum.Enum):
    """What the file really was, whatever its name said."""

    XML = "xml"
    OFD = "ofd"
    PDF = "pdf"
    IMAGE = "image"
    ZIP = "zip"


class Source(enum.Enum):
    """Where a field was read, best first; the prefill card can say "from text, please confirm"."""

    XML = "xml"  # 数电票 XML data file, or an XML inside an OFD
    XBRL = "xbrl"  # 财政部 XBRL voucher (PDF attachment or OFD attachment)
    OFD_DATA = "ofd_custom_data"  # OFD.xml DocInfo/CustomDatas
    OFD_TAGS = "ofd_tags"  # OFD CustomTags → TextObjects
    QR = "qr"  # the printed QR code
    TEXT = "text"  # layout text (PDF text layer, OFD page text)
    DERIVED = "derived"  # computed from other fields (e.g. 价税合计 − 合计金额)

    @property
    def structured(self) -> bool:
        return self in (Source.XML, Source.XBRL, Source.OFD_DATA, Source.OFD_TAGS)


@dataclass(frozen=True, slots=True)
class LineItem:
    """One row of the goods table. ``tax_rate`` is a fraction (0.06); None for 免税/不征税."""

    name: str
    amount: Decimal
    tax: Decimal | None = None
    tax_rate: Decimal | None = None
    rate_label: str = ""  # as printed: "6%", "免税", "不征税", …
    spec: str = ""
    unit: str = ""
    quantity: Decimal | None = None
    price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two sources disagree on a field: the kept value and the other one."""

    field: str
    kept: str
    kept_source: Source
    other: str
    other_source: Source


_CATEGORY = re.compile(r"\*([^*]{1,30})\*")

FIELDS = (
    "kind", "number", "code", "check_code", "issue_date", "buyer_name", "buyer_tax_id",
    "seller_name", "seller_tax_id", "amount", "tax", "total", "total_in_words", "items",
    "red_letter",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class InvoiceReading:
    """One invoice as read from one file. Money is ``Decimal`` with two places.

    ``amount`` is 合计金额 (excluding tax), ``tax`` 合计税额, ``total`` 价税合计 (小写) and
    ``total_in_words`` the 大写 as printed. ``sources`` maps each field name that has a value to
    where it came from. ``conflicts`` lists fields on which two sources disagreed.
    ``extra`` holds ticket details (passenger, train or flight, stations) as printed.
    Readings compare by value and pickle (to cross a process pool); treat them as read-only.
    """

    format: FileFormat
    kind: InvoiceKind = InvoiceKind.UNKNOWN
    number: str | None = None
    code: str | None = None
    check_code: str | None = None
    issue_date: date | None = None
    buyer_name: str | None = None
    buyer_tax_id: str | None = None
    seller_name: str | None = None
    seller_tax_id: str | None = None
    amount: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    total_in_words: str | None = None
    items: tuple[LineItem, ...] = ()
    red_letter: bool = False
    sources: Mapping[str, Source] = field(default_factory=dict)
    conflicts: tuple[Conflict, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def tax_categories(self) -> tuple[str, ...]:
        """The distinct ``*分类*`` prefixes of the line items (``餐饮服务``), for category hints."""
        found: dict[str, None] = {}
        for item in self.items:
            match = _CATEGORY.match(item.name)
            if match is not None:
                found.setdefault(match.group(1), None)
        return tuple(found)

    def source_of(self, name: str) -> Source | None:
        """Where field ``name`` came from, or None when it has no value."""
        return self.sources.get(name)
