"""Which files are receipts we keep: judged by their first bytes, never by name or claimed type."""

from __future__ import annotations

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/ofd"),  # OFD e-invoices are zip packages
    (b"<?xml", "application/xml"),
    (b"\xef\xbb\xbf<?xml", "application/xml"),
)


def receipt_type(data: bytes) -> str | None:
    """The content type to store, or None when the file is not a receipt we accept."""
    for magic, content_type in SIGNATURES:
        if data.startswith(magic):
            return content_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:12] in {b"ftypheic", b"ftypheix", b"ftypmif1"}:
        return "image/heic"
    return None
