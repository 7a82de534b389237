"""PDF fixtures drawn with reportlab: STSong-Light (a CID font reportlab ships), a real QR code.

Variants mimic what real files contain: labels drawn before all values (the older PDF of the
research), Kangxi-radical title glyphs and ``⻆``, ``￥``, a wrapped item name, and an embedded
XBRL voucher (railway and air tickets) under a meaningless name.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pypdfium2 as pdfium
from PIL import Image, ImageFilter
from pypdf import PdfReader, PdfWriter
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from .specs import Spec

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))
PAGE = (210 * mm, 140 * mm)


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: int = 9


def _draw_qr(pdf: canvas.Canvas, payload: str, x: float, y: float, side: float = 20) -> None:
    widget = QrCodeWidget(payload)
    left, bottom, right, top = widget.getBounds()
    s = side * mm
    drawing = Drawing(s, s, transform=[s / (right - left), 0, 0, s / (top - bottom), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, x * mm, (140 - y - side) * mm)


def _labels_and_values(spec: Spec, kangxi: bool) -> tuple[list[Text], list[Text]]:
    yen = "￥" if kangxi else "¥"
    title = spec.title.replace("子", "⼦") if kangxi else spec.title
    words = spec.words.replace("角", "⻆") if kangxi else spec.words
    id_label = "统一社会信用代码/纳税人识别号：" if spec.digital else "纳税人识别号："
    labels = [
        Text(70, 15, title, 15),
        Text(20, 35, "名 称："),
        Text(115, 35, "名 称："),
        Text(20, 41, id_label),
        Text(115, 41, id_label),
        Text(10, 50, "项目名称 规格型号 单位 数量 单价 金额 税率/征收率 税额"),
        Text(10, 90, "合 计"),
        Text(10, 100, "价税合计（大写）"),
        Text(140, 100, "（小写）"),
        Text(10, 125, "开票人："),
    ]
    values = [
        Text(33, 35, spec.buyer_name),
        Text(128, 35, spec.seller_name),
        Text(70, 41, spec.buyer_id),
        Text(165, 41, spec.seller_id),
        Text(120, 90, f"{yen}{spec.amount}"),
        Text(175, 90, f"{yen}{spec.tax}"),
        Text(45, 100, words),
        Text(155, 100, f"{yen}{spec.total}"),
        Text(25, 125, "示例开票员"),
    ]
    head_labels, head_values = _header(spec)
    return labels + head_labels, values + head_values + _item_rows(spec)


def _header(spec: Spec) -> tuple[list[Text], list[Text]]:
    issued = f"{spec.issued:%Y年%m月%d日}"
    if spec.digital:
        labels = [Text(150, 12, "发票号码："), Text(150, 18, "开票日期：")]
        return labels, [Text(168, 12, spec.number), Text(168, 18, issued)]
    check = " ".join(spec.check_code[i : i + 5] for i in range(0, len(spec.check_code), 5))
    names = ("发票代码：", "发票号码：", "开票日期：", "校 验 码：")
    texts = (spec.code, spec.number, issued, check)
    labels = [Text(150, 10 + 5 * row, name) for row, name in enumerate(names)]
    return labels, [Text(168, 10 + 5 * row, text) for row, text in enumerate(texts)]


def _item_rows(spec: Spec) -> list[Text]:
    rows = []
    for row, line in enumerate(spec.lines):
        name, tail = line.name, ""
        if len(name) > 11:  # wrap long names as real PDFs do
            name, tail = name[:-2], name[-2:]
        y = 56 + row * 8
        tax = "***" if line.rate == "免税" else line.tax
        rows.append(
            Text(10, y, f"{name}  {line.unit} {line.quantity}  {line.amount}  {line.rate}  {tax}")
        )
        if tail:
            rows.append(Text(10, y + 5, tail))
    return rows


def invoice_pdf(
    spec: Spec,
    *,
    labels_first: bool = False,
    kangxi: bool = False,
    qr: bool = True,
    text: bool = True,
    pages: int = 1,
    qr_payload: str = "",
) -> bytes:
    """One invoice page (plus blank 清单 pages when ``pages`` > 1)."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=PAGE)
    if qr:
        _draw_qr(pdf, qr_payload or spec.qr_payload, 8, 8)
    labels, values = _labels_and_values(spec, kangxi)
    merged = labels + values if labels_first else _interleaved(labels, values)
    for item in merged if text else []:
        pdf.setFont(FONT, item.size)
        pdf.drawString(item.x * mm, (140 - item.y) * mm, item.text)
    pdf.showPage()
    for page in range(1, pages):
        pdf.setFont(FONT, 9)
        pdf.drawString(20 * mm, 120 * mm, f"销货清单 第{page}页")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _interleaved(labels: list[Text], values: list[Text]) -> list[Text]:
    """Reading order: by line (y), then left to right."""
    return sorted(labels + values, key=lambda t: (round(t.y), t.x))


def with_attachment(pdf: bytes, name: str, data: bytes) -> bytes:
    """``pdf`` with an embedded file (as 12306 and airlines embed their XBRL)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.add_attachment(name, data)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render(pdf: bytes, dpi: int = 150) -> Image.Image:
    document = pdfium.PdfDocument(pdf)
    try:
        image: Image.Image = document[0].render(scale=dpi / 72).to_pil()
        return image.convert("RGB")
    finally:
        document.close()


def photo_jpeg(pdf: bytes) -> bytes:
    """A phone-photo-like JPEG of the invoice's QR corner: tilted, blurred, compressed."""
    page = render(pdf, dpi=200)
    corner = page.crop((0, 0, page.width // 3, page.height // 2))
    tilted = corner.rotate(4, expand=True, fillcolor=(235, 230, 220))
    soft = tilted.filter(ImageFilter.GaussianBlur(1.2))
    out = io.BytesIO()
    soft.save(out, "JPEG", quality=55)
    return out.getvalue()


def screenshot_png(pdf: bytes) -> bytes:
    """A screenshot-like PNG of the whole page at screen resolution."""
    out = io.BytesIO()
    render(pdf, dpi=110).save(out, "PNG")
    return out.getvalue()


def qr_png(payload: str, side_mm: float = 20) -> bytes:
    """Just the QR code as a PNG (an OFD's Res/ image)."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=((side_mm + 4) * mm, (side_mm + 4) * mm))
    widget = QrCodeWidget(payload)
    left, bottom, right, top = widget.getBounds()
    s = side_mm * mm
    drawing = Drawing(s, s, transform=[s / (right - left), 0, 0, s / (top - bottom), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, 2 * mm, 2 * mm)
    pdf.showPage()
    pdf.save()
    out = io.BytesIO()
    render(buffer.getvalue(), dpi=200).save(out, "PNG")
    return out.getvalue()
