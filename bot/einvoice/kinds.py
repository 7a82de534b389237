"""Invoice kind from a printed title or a QR type code, and the QR payload itself.

QR payload: ``版本,类型,发票代码,发票号码,金额,开票日期YYYYMMDD,校验码,随机码[,]``. Its amount is
合计金额 (excluding tax) on older invoices but 价税合计 on 数电票 (type 31/32 and tickets).
"""

from __future__ import annotations

import re

from .model import InvoiceKind
from .normalize import digits, norm, parse_amount, parse_date, squash

# Most specific first: "电子发票（增值税专用发票）" also contains "专用发票".
_TITLES = (
    ("铁路电子客票", InvoiceKind.RAILWAY),
    ("航空运输电子客票行程单", InvoiceKind.AIR),
    ("增值税电子专用发票", InvoiceKind.E_SPECIAL),
    ("增值税电子普通发票", InvoiceKind.E_NORMAL),
    ("电子发票(增值税专用发票)", InvoiceKind.DIGITAL_SPECIAL),
    ("电子发票(普通发票)", InvoiceKind.DIGITAL_NORMAL),
)

QR_TYPES = {
    "31": InvoiceKind.DIGITAL_SPECIAL,
    "32": InvoiceKind.DIGITAL_NORMAL,
    "85": InvoiceKind.DIGITAL_SPECIAL,  # 数电纸质专票
    "86": InvoiceKind.DIGITAL_NORMAL,  # 数电纸质普票
    "51": InvoiceKind.RAILWAY,
    "61": InvoiceKind.AIR,
    "08": InvoiceKind.E_SPECIAL,
    "10": InvoiceKind.E_NORMAL,
    "14": InvoiceKind.E_NORMAL,  # 通行费
}
_QR_AMOUNT_IS_TOTAL = frozenset({"31", "32", "85", "86", "51", "61"})


def kind_from_title(text: str) -> InvoiceKind:
    """The kind named by the first invoice title found in ``text``; UNKNOWN if none."""
    flat = squash(text)
    found = [(flat.find(title), kind) for title, kind in _TITLES if title in flat]
    if not found:
        return InvoiceKind.UNKNOWN
    return found[0][1]


def parse_qr(payload: str) -> dict[str, object] | None:
    """The fields of an invoice QR payload, or None if ``payload`` is not one."""
    parts = [part.strip() for part in norm(payload).strip().split(",")]
    if len(parts) < 6 or not re.fullmatch(r"\d{2}", parts[0]) or parts[1] not in QR_TYPES:
        return None
    type_code, code, number = parts[1], digits(parts[2]), digits(parts[3])
    amount, issued = parse_amount(parts[4]), parse_date(parts[5])
    if not number or amount is None or issued is None:
        return None
    kind = QR_TYPES[type_code]
    values: dict[str, object] = {"kind": kind, "number": number, "issue_date": issued}
    values["total" if type_code in _QR_AMOUNT_IS_TOTAL else "amount"] = amount
    if code and len(number) != 20:
        values["code"] = code
    check = digits(parts[6]) if len(parts) > 6 else ""
    if len(check) == 20:
        values["check_code"] = check
    return values
