"""Reading Chinese e-invoices (数电票 and older 增值税电子发票) offline, and checking them.

Self-contained: no aiohttp, platform or storage code. The whole public API::

    reading = read_invoice(data, filename, content_type)   # InvoiceReading, or InvoiceError
    readings = read_invoices(data)                          # a ZIP batch → several
    key = invoice_key(reading)                              # duplicate-registry key
    flags = check_invoice(reading, company=Company(...), today=..., claimed=...)

Errors carry ``message("zh-CN" | "en-US")`` for the user; flags carry ``rule``, ``zh``, ``en``.
"""

from .checks import (
    RULES,
    SUGGESTED_BLOCKING,
    Company,
    Flag,
    check_buyer,
    check_claim_amount,
    check_date,
    check_invoice,
    check_red_letter,
    check_sources,
    check_totals,
)
from .errors import (
    BrokenFile,
    FileTooLarge,
    HostileFile,
    InvoiceError,
    NoInvoiceData,
    UnsupportedFile,
)
from .limits import DEFAULT_LIMITS, Limits
from .model import Conflict, FileFormat, InvoiceKind, InvoiceReading, LineItem, Source
from .reader import invoice_key, read_invoice, read_invoices

__all__ = [
    "DEFAULT_LIMITS",
    "RULES",
    "SUGGESTED_BLOCKING",
    "BrokenFile",
    "Company",
    "Conflict",
    "FileFormat",
    "FileTooLarge",
    "Flag",
    "HostileFile",
    "InvoiceError",
    "InvoiceKind",
    "InvoiceReading",
    "Limits",
    "LineItem",
    "NoInvoiceData",
    "Source",
    "UnsupportedFile",
    "check_buyer",
    "check_claim_amount",
    "check_date",
    "check_invoice",
    "check_red_letter",
    "check_sources",
    "check_totals",
    "invoice_key",
    "read_invoice",
    "read_invoices",
]
