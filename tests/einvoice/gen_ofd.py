"""OFD fixtures: a zip of OFD XML in the layouts the research saw in real files.

``digital``: 数电 — OFD.xml CustomDatas (six keys, no 价税合计), ``ofd:root`` CustomTags pointing
at TextObjects (``¥`` split from the value, an off-page object), labels in a template page, a
QR PNG in Res/. ``older``: full CustomDatas, ``original_invoice.xml`` attachment, ``fp`` tag file
(optionally with the broken ``<:eInvoice xmlns:="">`` prefix). ``xbrl``: only an XBRL
attachment (tickets, older 普票). ``text``: only page text (an anonymised file).
"""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import escape

from .gen_pdf import Text, _labels_and_values, qr_png
from .gen_xml import fp_einvoice_xml, xbrl_xml
from .specs import Spec

NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'


class Page:
    """TextObjects with IDs; ``add`` returns the ID for an ObjectRef."""

    def __init__(self, first_id: int) -> None:
        self.next_id = first_id
        self.objects: list[str] = []

    def add(self, x: float, y: float, text: str) -> str:
        oid = str(self.next_id)
        self.next_id += 1
        width = max(len(text) * 3, 3)
        self.objects.append(
            f'<ofd:TextObject ID="{oid}" Boundary="{x} {y} {width} 4" Font="3" Size="3.1">'
            f'<ofd:TextCode X="0" Y="3" DeltaX="g {len(text)} 3">{escape(text)}</ofd:TextCode>'
            "</ofd:TextObject>"
        )
        return oid

    def xml(self) -> bytes:
        body = "".join(self.objects)
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {NS}><ofd:Content>'
            f'<ofd:Layer ID="9">{body}</ofd:Layer></ofd:Content></ofd:Page>'
        ).encode()


def _custom_datas(spec: Spec, layout: str) -> str:
    if layout in ("xbrl", "text"):
        return ""
    data = {
        "发票号码": spec.number,
        "开票日期": f"{spec.issued:%Y年%m月%d日}",
        "销售方纳税人识别号": spec.seller_id,
        "购买方纳税人识别号": spec.buyer_id,
        "合计金额": spec.amount,
        "合计税额": spec.tax,
    }
    if layout == "older":
        data |= {
            "发票代码": spec.code,
            "校验码": spec.check_code,
            "价税合计": spec.total,
            "购买方名称": spec.buyer_name,
            "销售方名称": spec.seller_name,
        }
    items = "".join(
        f'<ofd:CustomData Name="{k}">{escape(str(v))}</ofd:CustomData>' for k, v in data.items()
    )
    return f"<ofd:CustomDatas>{items}</ofd:CustomDatas>"


def _ofd_xml(spec: Spec, layout: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {NS} Version="1.1" DocType="OFD">'
        f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>fixture</ofd:DocID>"
        f"<ofd:Creator>claimbot-tests</ofd:Creator>{_custom_datas(spec, layout)}</ofd:DocInfo>"
        "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    ).encode()


def _document(tags: bool, attachments: bool) -> bytes:
    extra = "<ofd:CustomTags>Tags/CustomTags.xml</ofd:CustomTags>" if tags else ""
    extra += "<ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments>" if attachments else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {NS}><ofd:CommonData>'
        "<ofd:MaxUnitID>999</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 140"
        "</ofd:PhysicalBox></ofd:PageArea>"
        '<ofd:TemplatePage ID="2" BaseLoc="Tpls/Tpl_0/Content.xml"/></ofd:CommonData>'
        '<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>'
        f"{extra}</ofd:Document>"
    ).encode()


def _ref(*ids: str) -> str:
    return "".join(f'<ofd:ObjectRef PageRef="1">{i}</ofd:ObjectRef>' for i in ids)


def _digital_tags(spec: Spec, page: Page) -> bytes:
    """Values placed on the page and an ``ofd:root`` tag file pointing at them."""
    offpage = page.add(150, 285, "99999999999999999999")
    money = {}
    for name, x, y, value in (
        ("amount", 120, 90, spec.amount),
        ("tax", 175, 90, spec.tax),
        ("total", 155, 100, spec.total),
    ):
        money[name] = _ref(page.add(x, y, "¥"), page.add(x + 3, y, str(value)))
    lines = ""
    for row, line in enumerate(spec.lines):
        y = 56 + row * 10
        lines += (
            f"<ofd:Item>{_ref(page.add(10, y, line.name))}</ofd:Item>"
            f"<ofd:Amount>{_ref(page.add(120, y, str(line.amount)))}</ofd:Amount>"
            f"<ofd:TaxScheme>{_ref(page.add(150, y, line.rate))}</ofd:TaxScheme>"
            f"<ofd:TaxAmount>{_ref(page.add(175, y, str(line.tax)))}</ofd:TaxAmount>"
        )
    body = (
        f"<ofd:InvoiceNo>{_ref(offpage)}</ofd:InvoiceNo>"
        f"<ofd:InvoiceNo>{_ref(page.add(168, 12, spec.number))}</ofd:InvoiceNo>"
        f"<ofd:IssueDate>{_ref(page.add(168, 18, f'{spec.issued:%Y年%m月%d日}'))}</ofd:IssueDate>"
        f"<ofd:Buyer><ofd:BuyerName>{_ref(page.add(33, 35, spec.buyer_name))}</ofd:BuyerName>"
        f"<ofd:BuyerTaxID>{_ref(page.add(70, 41, spec.buyer_id))}</ofd:BuyerTaxID></ofd:Buyer>"
        f"<ofd:Seller><ofd:SellerName>{_ref(page.add(128, 35, spec.seller_name))}</ofd:SellerName>"
        f"<ofd:SellerTaxID>{_ref(page.add(165, 41, spec.seller_id))}</ofd:SellerTaxID></ofd:Seller>"
        f"<ofd:TaxExclusiveTotalAmount>{money['amount']}</ofd:TaxExclusiveTotalAmount>"
        f"<ofd:TaxTotalAmount>{money['tax']}</ofd:TaxTotalAmount>"
        f"<ofd:TaxInclusiveTotalAmount>{money['total']}</ofd:TaxInclusiveTotalAmount>{lines}"
    )
    page.add(45, 100, spec.words)
    return f'<?xml version="1.0" encoding="UTF-8"?><ofd:root {NS}>{body}</ofd:root>'.encode()


def _older_tags(spec: Spec, page: Page, broken_prefix: bool) -> bytes:
    goods = "".join(
        f"<fp:GoodsInfo><fp:Item>{_ref(page.add(10, 56 + r * 10, line.name))}</fp:Item>"
        f"<fp:Amount>{_ref(page.add(120, 56 + r * 10, str(line.amount)))}</fp:Amount>"
        f"<fp:TaxScheme>{_ref(page.add(150, 56 + r * 10, line.rate))}</fp:TaxScheme>"
        f"<fp:TaxAmount>{_ref(page.add(175, 56 + r * 10, str(line.tax)))}</fp:TaxAmount>"
        "</fp:GoodsInfo>"
        for r, line in enumerate(spec.lines)
    )
    fields = (
        f"<fp:InvoiceCode>{_ref(page.add(168, 10, spec.code))}</fp:InvoiceCode>"
        f"<fp:InvoiceNo>{_ref(page.add(168, 15, spec.number))}</fp:InvoiceNo>"
        f"<fp:IssueDate>{_ref(page.add(168, 20, f'{spec.issued:%Y年%m月%d日}'))}</fp:IssueDate>"
        f"<fp:BuyerName>{_ref(page.add(33, 35, spec.buyer_name))}</fp:BuyerName>"
        f"<fp:TaxInclusiveTotalAmount>{_ref(page.add(155, 100, f'¥{spec.total}'))}"
        f"</fp:TaxInclusiveTotalAmount><fp:GoodsInfos>{goods}</fp:GoodsInfos>"
    )
    body = fields.replace("ofd:ObjectRef", "fp:ObjectRef")
    open_tag, close = (
        ('<:eInvoice xmlns:="" ', "</:eInvoice>")
        if broken_prefix
        else ("<fp:eInvoice ", "</fp:eInvoice>")
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{open_tag}'
        f'xmlns:fp="http://www.edrm.org.cn/schema/e-invoice/2019">{body}{close}'
    ).encode()


def _text_page(spec: Spec, page: Page, template: Page) -> None:
    labels, values = _labels_and_values(spec, kangxi=False)
    for item in labels:
        template.add(item.x, item.y, item.text)
    for item in values:
        page.add(item.x, item.y, item.text)


def _attachments(name: str, fmt: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ofd:Attachments {NS}>'
        f'<ofd:Attachment ID="50" Name="{name}" Format="{fmt}">'
        f"<ofd:FileLoc>{name}</ofd:FileLoc></ofd:Attachment></ofd:Attachments>"
    ).encode()


def invoice_ofd(
    spec: Spec, layout: str = "digital", *, qr: bool = True, broken_prefix: bool = False
) -> bytes:
    """An OFD package for ``spec`` in one of the layouts."""
    page, template = Page(100), Page(10)
    parts: dict[str, bytes] = {"OFD.xml": _ofd_xml(spec, layout)}
    tags: bytes | None = None
    if layout == "digital":
        tags = _digital_tags(spec, page)
        for item in _labels_and_values(spec, kangxi=False)[0]:
            template.add(item.x, item.y, item.text)
    elif layout == "older":
        tags = _older_tags(spec, page, broken_prefix)
        _text_page(spec, Page(500), template)
        parts["Doc_0/Attachs/Attachments.xml"] = _attachments("original_invoice.xml", "xml")
        parts["Doc_0/Attachs/original_invoice.xml"] = fp_einvoice_xml(spec)
    else:
        _text_page(spec, page, template)
    if layout == "xbrl":
        name = f"inv_ord_issuer_{spec.issued:%Y%m%d}_{spec.code}{spec.number}.xml"
        parts["Doc_0/Attachs/Attachments.xml"] = _attachments(name, "xbrl")
        parts[f"Doc_0/Attachs/{name}"] = xbrl_xml(spec)
    if tags is not None:
        parts["Doc_0/Tags/CustomTags.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:CustomTags {NS}>'
            '<ofd:CustomTag TypeID="root"><ofd:FileLoc>CustomTag.xml</ofd:FileLoc>'
            "</ofd:CustomTag></ofd:CustomTags>"
        ).encode()
        parts["Doc_0/Tags/CustomTag.xml"] = tags
    parts["Doc_0/Document.xml"] = _document(
        tags is not None, "Doc_0/Attachs/Attachments.xml" in parts
    )
    parts["Doc_0/Pages/Page_0/Content.xml"] = page.xml()
    parts["Doc_0/Tpls/Tpl_0/Content.xml"] = template.xml()
    if qr:
        parts["Doc_0/Res/image_80.png"] = qr_png(spec.qr_payload)
    return zip_bytes(parts)


def zip_bytes(parts: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


__all__ = ["Text", "invoice_ofd", "zip_bytes"]
