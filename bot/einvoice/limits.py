"""Bounds on what one file may cost to read, and the magic-byte sniffer.

Everything an attacker controls (sizes, counts, page boxes, pixel counts) is checked against
:class:`Limits` before the work it would cause is done.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import BrokenFile, FileTooLarge, UnsupportedFile
from .model import FileFormat

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-file limits; the defaults fit any real invoice with a wide margin."""

    max_file_bytes: int = 20 * MB  # the file as sent
    max_part_bytes: int = 5 * MB  # one XML or image inside an OFD/ZIP, or one PDF attachment
    max_unpacked_bytes: int = 50 * MB  # everything read out of one archive, nested ones included
    max_xml_elements: int = 100_000  # counted as ``<`` before parsing; real ones have < 10 000
    max_zip_entries: int = 500
    max_zip_ratio: int = 200  # uncompressed / compressed, for parts over 1 MB
    max_zip_depth: int = 2  # a ZIP of ZIPs of invoices (12306), no deeper
    max_invoices: int = 50  # invoices read out of one ZIP
    max_pdf_pages: int = 50
    max_pdf_inflated_bytes: int = 20 * MB  # all Flate streams: fonts, images, page content
    max_text_pages: int = 5
    max_page_side_mm: float = 2000.0  # A0 is 841 × 1189 mm
    render_dpi: int = 150
    max_render_pixels: int = 8_000_000
    max_image_pixels: int = 80_000_000  # as declared; JPEGs beyond decode are scaled down
    max_decode_pixels: int = 16_000_000
    max_images: int = 8  # QR candidates in an OFD's Res/


DEFAULT_LIMITS = Limits()

_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")


def sniff(data: bytes, limits: Limits = DEFAULT_LIMITS) -> FileFormat:
    """The real type of ``data`` from its bytes; OFD vs plain ZIP is decided by the caller."""
    if not data:
        raise BrokenFile("empty file")
    if len(data) > limits.max_file_bytes:
        raise FileTooLarge(f"{len(data)} bytes > {limits.max_file_bytes}")
    head = data[:1024]
    if b"%PDF-" in head:
        return FileFormat.PDF
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return FileFormat.ZIP
    if data.startswith(_IMAGE_MAGIC) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return FileFormat.IMAGE
    if head.lstrip()[:15].lower().startswith((b"<!doctype html", b"<html")):
        raise UnsupportedFile("an HTML page, not an invoice")
    if _looks_like_xml(head):
        return FileFormat.XML
    raise UnsupportedFile(f"unknown file type, starts with {data[:8]!r}")


def _looks_like_xml(head: bytes) -> bool:
    for bom, encoding in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                          (b"\xfe\xff", "utf-16-be")):  # fmt: skip
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, "ignore").lstrip().startswith("<")
    return head.lstrip().startswith(b"<")
