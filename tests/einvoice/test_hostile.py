"""Hostile and broken files: each gets a typed error with a user message, fast and small.

Time bounds are generous (a loaded CI machine), never tight; memory is Python-level peak
(tracemalloc), plus the PDF pre-flight that keeps pdfium from inflating bombs at all.
"""

from __future__ import annotations

import base64
import io
import os
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import StreamObject
from reportlab.lib import pdfencrypt
from reportlab.pdfgen import canvas

from bot.einvoice import (
    BrokenFile,
    FileTooLarge,
    HostileFile,
    InvoiceError,
    Limits,
    NoInvoiceData,
    UnsupportedFile,
    read_invoice,
)

from .gen_ofd import invoice_ofd, zip_bytes
from .gen_pdf import FONT, invoice_pdf, photo_jpeg
from .gen_xml import einvoice_xml
from .specs import DIGITAL_NORMAL

MB = 1024 * 1024
SECONDS = 5.0  # generous: the real figures are in bench/einvoice.py
PEAK_BYTES = 64 * MB


def _bounded(read: Callable[[], object]) -> InvoiceError:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        read()
    except InvoiceError as exc:
        error = exc
    else:
        raise AssertionError("expected an InvoiceError")
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < SECONDS
    assert peak < PEAK_BYTES
    return error


def _ofd_with(extra: dict[str, bytes]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(invoice_ofd(DIGITAL_NORMAL))) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    return zip_bytes(parts | extra)


LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]><EInvoice>&lol9;</EInvoice>"
)
XXE = (
    b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<EInvoice><Header><EIid>&x;</EIid></Header></EInvoice>"
)


def _pdf_pages(count: int, size: tuple[float, float] = (595, 842)) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=size)
    for _ in range(count):
        pdf.setFont(FONT, 9)
        pdf.drawString(20, 20, "发票")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _pdf_with_inflating_attachment(size: int) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(invoice_pdf(DIGITAL_NORMAL))))
    writer.add_attachment("0", b"<" + b" " * size)
    for index, obj in enumerate(writer._objects):
        if isinstance(obj, StreamObject) and obj.get("/Type") == "/EmbeddedFile":
            writer._objects[index] = obj.flate_encode(level=9)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _dense_page(operators: int) -> bytes:
    """A hand-built one-page PDF whose content is ``operators`` tiny filled rectangles."""
    content = zlib.compress(b"10 10 1 1 re f\n" * operators)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content)
        + content
        + b"\nendstream",
    ]
    out, offsets = io.BytesIO(), []
    out.write(b"%PDF-1.7\n")
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(
        b"trailer << /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def _encrypted_pdf() -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, encrypt=pdfencrypt.StandardEncryption("secret", canPrint=0))
    pdf.drawString(10, 10, "x")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` × ``height``; the data is a few bytes of zeros."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body).to_bytes(4, "big")
        return len(body).to_bytes(4, "big") + kind + body + crc

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + b"\x01\x00\x00\x00\x00"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def _zip_bomb() -> bytes:
    return _ofd_with({"Doc_0/Res/huge.xml": b"\x00" * (40 * MB)})


def _nested_zips(depth: int) -> bytes:
    data = einvoice_xml(DIGITAL_NORMAL)
    for level in range(depth):
        data = zip_bytes({f"level{level}.zip" if level else "invoice.xml": data})
    return data


HOSTILE: list[tuple[str, Callable[[], bytes], type[InvoiceError], Limits]] = [
    ("too-large", lambda: b"%PDF-1.7\n" + b"0" * (21 * MB), FileTooLarge, Limits()),
    ("zip-bomb-ratio", _zip_bomb, HostileFile, Limits()),
    (
        "zip-too-many-entries",
        lambda: zip_bytes({f"f{i}": b"" for i in range(600)}),
        HostileFile,
        Limits(),
    ),
    (
        "zip-part-over-limit",
        lambda: _ofd_with({"OFD.xml": b"<a/>" + base64.b64encode(os.urandom(5 * MB))}),
        FileTooLarge,
        Limits(),
    ),
    (
        "zip-total-over-limit",
        lambda: _ofd_with({"Doc_0/Tags/CustomTags.xml": b" " * 600_000}),
        FileTooLarge,
        Limits(max_unpacked_bytes=500_000),
    ),
    ("zip-path-dotdot", lambda: _ofd_with({"../../etc/passwd": b"x"}), HostileFile, Limits()),
    ("zip-path-absolute", lambda: _ofd_with({"/etc/passwd": b"x"}), HostileFile, Limits()),
    ("zip-path-drive", lambda: _ofd_with({"C:\\Windows\\x.ini": b"x"}), HostileFile, Limits()),
    (
        "ofd-docroot-escapes",
        lambda: zip_bytes(
            {
                "OFD.xml": (
                    b'<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"><ofd:DocBody>'
                    b"<ofd:DocRoot>../../secret.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
                )
            }
        ),
        HostileFile,
        Limits(),
    ),
    ("zip-nested-too-deep", lambda: _nested_zips(4), HostileFile, Limits()),
    ("xml-billion-laughs", lambda: LAUGHS, HostileFile, Limits()),
    ("xml-external-entity", lambda: XXE, HostileFile, Limits()),
    (
        "xml-element-flood",
        lambda: b"<EInvoice>" + b"<a/>" * 1_300_000 + b"</EInvoice>",
        HostileFile,
        Limits(),
    ),
    ("ofd-xml-bomb", lambda: _ofd_with({"OFD.xml": LAUGHS}), HostileFile, Limits()),
    ("pdf-thousands-of-pages", lambda: _pdf_pages(3000), HostileFile, Limits()),
    ("pdf-absurd-page", lambda: _pdf_pages(1, (14400, 14400)), HostileFile, Limits()),
    (
        "pdf-inflating-attachment",
        lambda: _pdf_with_inflating_attachment(400 * MB),
        HostileFile,
        Limits(),
    ),
    ("pdf-encrypted", _encrypted_pdf, UnsupportedFile, Limits()),
    ("pdf-page-drawing-flood", lambda: _dense_page(2_000_000), HostileFile, Limits()),
    ("image-pixel-bomb", lambda: _png(100_000, 100_000), (FileTooLarge, HostileFile), Limits()),
    ("image-over-limit", lambda: _png(5000, 5000), FileTooLarge, Limits(max_image_pixels=MB)),
]  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("make", "error", "limits"), [pytest.param(m, e, lim, id=n) for n, m, e, lim in HOSTILE]
)
def test_hostile_file_is_refused_quickly(
    make: Callable[[], bytes], error: type[InvoiceError], limits: Limits
):
    data = make()
    caught = _bounded(lambda: read_invoice(data, "invoice.pdf", limits=limits))
    assert isinstance(caught, error)
    assert caught.message("zh-CN") and caught.message("en-US")
    assert caught.message("zh-CN") != caught.message("en-US")


def _truncations() -> Iterator[tuple[str, bytes]]:
    for name, data in (
        ("pdf", invoice_pdf(DIGITAL_NORMAL)),
        ("ofd", invoice_ofd(DIGITAL_NORMAL)),
        ("xml", einvoice_xml(DIGITAL_NORMAL)),
        ("jpeg", photo_jpeg(invoice_pdf(DIGITAL_NORMAL))),
    ):
        yield name, data[: len(data) // 2]
        yield f"{name}-head", data[:64]


@pytest.mark.parametrize(
    ("name", "data"), list(_truncations()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_truncated_file_gives_a_clear_error(name: str, data: bytes):
    caught = _bounded(lambda: read_invoice(data, f"invoice.{name}"))
    assert isinstance(caught, BrokenFile | NoInvoiceData)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", BrokenFile),
        (b"MZ\x90\x00" + b"\x00" * 100, UnsupportedFile),
        (b"<!DOCTYPE html><html><body>login</body></html>", UnsupportedFile),
        (b"<note><to>you</to></note>", NoInvoiceData),
        ("报销 打车 45.5".encode(), UnsupportedFile),
        (
            zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<document/>"}),
            NoInvoiceData,
        ),
    ],
    ids=["empty", "exe", "html", "other-xml", "text", "docx-like"],
)
def test_files_that_are_not_invoices(data: bytes, error: type[InvoiceError]):
    caught = _bounded(lambda: read_invoice(data, "invoice.pdf", "application/pdf"))
    assert type(caught) is error


def test_a_page_drawn_by_hand_reads_as_no_invoice():
    caught = _bounded(lambda: read_invoice(_dense_page(1000)))
    assert isinstance(caught, NoInvoiceData)


def test_a_large_phone_photo_is_decoded_at_a_reduced_scale():
    corner = Image.open(io.BytesIO(photo_jpeg(invoice_pdf(DIGITAL_NORMAL)))).convert("RGB")
    big = Image.new("RGB", (8000, 6000), (235, 230, 220))
    big.paste(corner.resize((corner.width * 4, corner.height * 4)), (1000, 1000))
    out = io.BytesIO()
    big.save(out, "JPEG", quality=80)
    tracemalloc.start()
    reading = read_invoice(out.getvalue())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert reading.number == DIGITAL_NORMAL.number
    assert peak < PEAK_BYTES


def test_concurrent_reads_in_threads_are_safe():
    """pdfium is not thread-safe: the reader serialises it, so threads may call freely."""
    files = [
        invoice_pdf(DIGITAL_NORMAL),
        invoice_ofd(DIGITAL_NORMAL),
        photo_jpeg(invoice_pdf(DIGITAL_NORMAL)),
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = list(pool.map(lambda data: read_invoice(data).number, files * 8))
    assert numbers == [DIGITAL_NORMAL.number] * 24


def test_a_blank_photo_has_no_invoice():
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 200, 200)).save(out, "JPEG")
    assert isinstance(_bounded(lambda: read_invoice(out.getvalue())), NoInvoiceData)


def test_a_real_invoice_renamed_still_reads():
    reading = read_invoice(invoice_ofd(DIGITAL_NORMAL), "invoice.pdf", "application/pdf")
    assert reading.number == DIGITAL_NORMAL.number


def test_a_large_but_harmless_attachment_is_skipped_not_fatal():
    pdf = _pdf_with_inflating_attachment(6 * MB)
    assert read_invoice(pdf).total == DIGITAL_NORMAL.total


def test_error_messages_are_user_facing():
    error = HostileFile("entity expansion at line 1")
    assert "entity" not in error.message("zh-CN")
    assert "安全" in error.message("zh-CN") and "safety" in error.message("en-US")
