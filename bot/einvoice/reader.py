"""``read_invoice``: sniff the real type, read every source it has, merge best-first.

The file name and content type are never trusted for the format; they only go into error
details. A ZIP that is not an OFD is a batch (the tax platform's download, 12306's ZIP of ZIPs):
:func:`read_invoices` reads each invoice in it, merging the PDF/OFD/XML of one invoice.
"""

from __future__ import annotations

from .errors import HostileFile, InvoiceError, NoInvoiceData, UnsupportedFile
from .limits import DEFAULT_LIMITS, Limits, sniff
from .merge import Partial, merge
from .model import FileFormat, InvoiceReading, Source
from .normalize import digits
from .ofd import is_ofd, read_ofd
from .pdf import read_pdf
from .qr import image_partial
from .safezip import Budget, SafeZip
from .xbrl import parse_data_xml
from .xmltools import parse_xml


def read_invoice(
    data: bytes, filename: str = "", content_type: str = "", *, limits: Limits = DEFAULT_LIMITS
) -> InvoiceReading:
    """Read one invoice from a PDF, OFD, XML or image (QR), or a ZIP holding exactly one.

    Raises an :class:`~bot.einvoice.errors.InvoiceError` subclass whose ``message(lang)`` is
    fit to show the user.
    """
    readings = read_invoices(data, filename, content_type, limits=limits)
    if len(readings) != 1:
        raise UnsupportedFile(f"{len(readings)} invoices in one archive; use read_invoices")
    return readings[0]


def read_invoices(
    data: bytes, filename: str = "", content_type: str = "", *, limits: Limits = DEFAULT_LIMITS
) -> list[InvoiceReading]:
    """Every invoice in the file: one for a single invoice, several for a ZIP batch.

    Files of one invoice in a batch (its PDF, OFD and XML) are merged by :func:`invoice_key`.
    """
    try:
        return _read(data, limits, Budget(limits.max_unpacked_bytes), depth=0)
    except InvoiceError as exc:
        if filename or content_type:
            exc.detail = f"{exc.detail} [{filename!r} {content_type!r}]"
        raise


def _read(data: bytes, limits: Limits, budget: Budget, depth: int) -> list[InvoiceReading]:
    fmt = sniff(data, limits)
    if fmt is FileFormat.ZIP:
        archive = SafeZip(data, limits, budget)
        if is_ofd(archive):
            return [_one(FileFormat.OFD, read_ofd(archive, limits))]
        return _batch(archive, limits, budget, depth)
    if fmt is FileFormat.PDF:
        return [_one(fmt, read_pdf(data, limits))]
    if fmt is FileFormat.XML:
        partial = parse_data_xml(
            parse_xml(data, limits.max_part_bytes, limits.max_xml_elements), Source.XML
        )
        return [_one(fmt, [partial] if partial is not None else [])]
    partial = image_partial(data, limits)
    return [_one(fmt, [partial] if partial is not None else [])]


def _one(fmt: FileFormat, partials: list[Partial]) -> InvoiceReading:
    reading = merge(fmt, partials)
    if reading.number is None or (reading.total is None and reading.amount is None):
        raise NoInvoiceData(f"no invoice number and amount in the {fmt.value}")
    return reading


def _batch(archive: SafeZip, limits: Limits, budget: Budget, depth: int) -> list[InvoiceReading]:
    if depth >= limits.max_zip_depth:
        raise HostileFile("archive nested too deep")
    by_key: dict[str, InvoiceReading] = {}
    for name in archive.names:
        try:
            found = _read(archive.read(name, limits.max_file_bytes), limits, budget, depth + 1)
        except (NoInvoiceData, UnsupportedFile):
            continue  # a readme or a picture of something else beside the invoices
        for reading in found:
            key = invoice_key(reading)
            if key not in by_key or _rank(reading) < _rank(by_key[key]):
                by_key[key] = reading  # the PDF, OFD and XML of one invoice: keep the best read
        if len(by_key) > limits.max_invoices:
            raise UnsupportedFile(f"more than {limits.max_invoices} invoices in one archive")
    if not by_key:
        raise NoInvoiceData("no invoice in the archive")
    return list(by_key.values())


def _rank(reading: InvoiceReading) -> tuple[int, int]:
    """Lower is better: where the number came from, then how many fields are missing."""
    order = list(Source)
    source = reading.source_of("number")
    missing = sum(1 for name in ("buyer_name", "total", "items") if not getattr(reading, name))
    return (order.index(source) if source is not None else len(order), missing)


def invoice_key(reading: InvoiceReading) -> str:
    """The organisation-wide duplicate key: the 20-digit 数电 number alone, else ``code:number``.

    One invoice sent as PDF, OFD and XML gives one key. Digits only; raises NoInvoiceData
    when the reading has no number (read_invoice never returns such a reading).
    """
    number, code = digits(reading.number), digits(reading.code)
    if len(number) == 20:
        return number
    if code and number:
        return f"{code}:{number}"
    if number:
        return number
    raise NoInvoiceData("reading without an invoice number")
