"""PDF: embedded XBRL or XML attachments first, then the QR code on page 1, then the text layer.

pdfium (pypdfium2) opens, renders and extracts text; page count, page size and render size are
checked before any work they would cause.
"""

from __future__ import annotations

import ctypes
import threading

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from .errors import BrokenFile, HostileFile, InvoiceError, UnsupportedFile
from .limits import Limits
from .merge import Partial
from .model import Source
from .pdfscan import check_streams
from .qr import qr_partial
from .textfields import parse_text
from .xbrl import parse_data_xml
from .xmltools import parse_xml

_MM_PER_POINT = 25.4 / 72


# PDFium is not thread-safe, not even across documents: one call at a time in the process.
# Readers may run in worker threads (asyncio.to_thread), so every pdfium use holds this lock.
_PDFIUM = threading.Lock()


def read_pdf(data: bytes, limits: Limits) -> list[Partial]:
    """Every partial reading a PDF offers, best source first."""
    check_streams(data, limits)
    with _PDFIUM:
        pdf = _open(data, limits)
        try:
            partials = _attachments(pdf, limits)
            qr = _qr(pdf, limits)
            text = _text(pdf, limits)
        finally:
            pdf.close()
    if qr is not None:
        partials.append(qr)
    partials.append(parse_text(text))
    return partials


def _open(data: bytes, limits: Limits) -> pdfium.PdfDocument:
    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise UnsupportedFile("password-protected PDF") from None
        raise BrokenFile(f"bad PDF: {exc}") from None
    pages = len(pdf)
    if pages == 0:
        pdf.close()
        raise BrokenFile("PDF without pages")
    if pages > limits.max_pdf_pages:
        pdf.close()
        raise HostileFile(f"PDF with {pages} pages")
    return pdf


def _attachments(pdf: pdfium.PdfDocument, limits: Limits) -> list[Partial]:
    found: list[Partial] = []
    for index in range(min(pdf.count_attachments(), 16)):
        raw = _attachment_bytes(pdf.get_attachment(index), limits)
        if raw is None or not raw.lstrip().startswith((b"<", b"\xef\xbb\xbf")):
            continue
        try:
            partial = parse_data_xml(
                parse_xml(raw, limits.max_part_bytes, limits.max_xml_elements), Source.XML
            )
        except InvoiceError:
            continue  # a broken side file does not spoil the invoice itself
        if partial is not None and partial.values.get("number"):
            found.append(partial)
    return found


def _attachment_bytes(attachment: pdfium.PdfAttachment, limits: Limits) -> bytes | None:
    size = ctypes.c_ulong()
    pdfium_c.FPDFAttachment_GetFile(attachment, None, 0, ctypes.byref(size))
    if size.value == 0:
        return None
    if size.value > limits.max_part_bytes:
        return None  # too big to be an invoice's data file; the page is still read
    buffer = ctypes.create_string_buffer(size.value)
    written = ctypes.c_ulong()
    if not pdfium_c.FPDFAttachment_GetFile(attachment, buffer, size.value, ctypes.byref(written)):
        return None
    return buffer.raw[: min(written.value, size.value)]


def _page(pdf: pdfium.PdfDocument, index: int, limits: Limits) -> pdfium.PdfPage:
    try:
        page = pdf[index]
    except pdfium.PdfiumError as exc:
        raise BrokenFile(f"bad page {index}: {exc}") from None
    width, height = page.get_size()
    if max(width, height) * _MM_PER_POINT > limits.max_page_side_mm or min(width, height) <= 0:
        page.close()
        raise HostileFile(f"page {index} of {width:.0f}x{height:.0f} pt")
    return page


def _qr(pdf: pdfium.PdfDocument, limits: Limits) -> Partial | None:
    page = _page(pdf, 0, limits)
    try:
        width, height = page.get_size()
        scale = limits.render_dpi / 72
        pixels = width * height * scale * scale
        if pixels > limits.max_render_pixels:
            scale *= (limits.max_render_pixels / pixels) ** 0.5
        bitmap = page.render(scale=scale, grayscale=True)
        try:
            return qr_partial(bitmap.to_pil())
        finally:
            bitmap.close()
    finally:
        page.close()


def _text(pdf: pdfium.PdfDocument, limits: Limits) -> str:
    chunks = []
    for index in range(min(len(pdf), limits.max_text_pages)):
        page = _page(pdf, index, limits)
        try:
            textpage = page.get_textpage()
            chunks.append(textpage.get_text_bounded())
            textpage.close()
        finally:
            page.close()
    return "\n".join(chunks).replace("\r\n", "\n").replace("\r", "\n")
