"""OFD (GB/T 33190, a ZIP of XML): CustomDatas, CustomTags → TextObjects, attachments, QR, text.

Paths inside the package are resolved relative to the referring file and must stay inside it;
every part is read through :class:`SafeZip` and parsed with defusedxml.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from .errors import BrokenFile, InvoiceError
from .limits import Limits
from .merge import Partial
from .model import Source
from .ofdtags import set_field, tags_partial
from .qr import image_partial
from .safezip import SafeZip, safe_name
from .textfields import parse_text
from .xbrl import parse_data_xml
from .xmltools import iter_named, local, parse_xml, text

_DATA_FIELDS = {
    "发票号码": "number", "发票代码": "code", "开票日期": "issue_date", "校验码": "check_code",
    "购买方名称": "buyer_name", "购买方纳税人识别号": "buyer_tax_id", "销售方名称": "seller_name",
    "销售方纳税人识别号": "seller_tax_id", "合计金额": "amount", "合计税额": "tax",
    "价税合计": "total",
}  # fmt: skip
_KEY_NOISE = re.compile(r"[\s、，,:：]")
_IMAGE = re.compile(r"\.(png|jpe?g|bmp|gif)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class TextObject:
    text: str
    x: float
    y: float


def is_ofd(archive: SafeZip) -> bool:
    return archive.has("OFD.xml")


class OfdPackage:
    """The parts of one OFD document that carry invoice data."""

    def __init__(self, archive: SafeZip, limits: Limits) -> None:
        self.archive, self.limits = archive, limits
        self.root = self.xml("OFD.xml")
        doc_root = text(self.root, "DocBody", "DocRoot")
        if doc_root is None:
            raise BrokenFile("OFD without DocRoot")
        self.doc_path = self.resolve("", doc_root)
        self.doc_dir = posixpath.dirname(self.doc_path)
        self.doc = self.xml(self.doc_path)
        box = (text(self.doc, "PageArea", "PhysicalBox") or "0 0 210 297").split()
        self.page_height = _number(box[3]) if len(box) == 4 else 297.0

    def xml(self, path: str) -> Element:
        return parse_xml(
            self.archive.read(path), self.limits.max_part_bytes, self.limits.max_xml_elements
        )

    def resolve(self, base_dir: str, location: str) -> str:
        location = location.strip()
        joined = (
            location.lstrip("/") if location.startswith("/") else posixpath.join(base_dir, location)
        )
        return safe_name(joined)

    def _named(self, name: str) -> list[Element]:
        return list(iter_named(self.doc, name))

    def page_locations(self) -> list[tuple[str, str]]:
        """(page ID, Content.xml path) of templates and the first pages."""
        found = [(el.get("ID", ""), el.get("BaseLoc", "")) for el in self._named("TemplatePage")]
        pages = [(el.get("ID", ""), el.get("BaseLoc", "")) for el in self._named("Page")]
        found += pages[: self.limits.max_text_pages]
        return [(pid, self.resolve(self.doc_dir, loc)) for pid, loc in found if loc]

    def text_objects(self) -> dict[tuple[str, str], TextObject]:
        """Every on-page TextObject, keyed by (page ID, object ID); off-page ones dropped."""
        objects: dict[tuple[str, str], TextObject] = {}
        for page_id, path in self.page_locations():
            if not self.archive.has(path):
                continue
            for index, obj in enumerate(iter_named(self.xml(path), "TextObject")):
                found = _text_object(obj)
                if found is not None and 0 <= found.y <= self.page_height:
                    objects[(page_id, obj.get("ID") or f"#{path}:{index}")] = found
        return objects


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0


def _text_object(obj: Element) -> TextObject | None:
    box = (obj.get("Boundary") or "0 0 0 0").split()
    codes = [code for code in obj if local(code.tag) == "TextCode"]
    value = "".join((code.text or "") for code in codes)
    if not value.strip() or len(box) < 2:
        return None
    offset = _number(codes[0].get("Y", "0")) if codes else 0.0
    return TextObject(value, _number(box[0]), _number(box[1]) + offset)


def read_ofd(archive: SafeZip, limits: Limits) -> list[Partial]:
    """Every partial reading an OFD offers, best source first."""
    package = OfdPackage(archive, limits)
    partials = [_custom_data(package.root)]
    objects = package.text_objects()
    partials += _tags(package, objects)
    partials += _attachments(package)
    qr = _res_qr(package)
    if qr is not None:
        partials.append(qr)
    partials.append(parse_text(page_text(objects.values())))
    return partials


def _custom_data(root: Element) -> Partial:
    partial = Partial(Source.OFD_DATA)
    for data in iter_named(root, "CustomData"):
        name = _DATA_FIELDS.get(_KEY_NOISE.sub("", data.get("Name", "")))
        value = (data.text or "").strip()
        if name is None or not value:
            continue
        set_field(partial, name, value)
    return partial


def _listed_files(package: OfdPackage, index: str, entry: str) -> list[str]:
    """The files an index of the document lists (``CustomTags``/``CustomTag``,
    ``Attachments``/``Attachment``): each entry's ``FileLoc`` that the archive holds, at most 8."""
    location = text(package.doc, index)
    if location is None:
        return []
    index_path = package.resolve(package.doc_dir, location)
    if not package.archive.has(index_path):
        return []
    index_dir = posixpath.dirname(index_path)
    paths = []
    for item in list(iter_named(package.xml(index_path), entry))[:8]:
        file_loc = text(item, "FileLoc")
        path = package.resolve(index_dir, file_loc) if file_loc else ""
        if path and package.archive.has(path):
            paths.append(path)
    return paths


def _tags(package: OfdPackage, objects: dict[tuple[str, str], TextObject]) -> list[Partial]:
    partials = []
    for path in _listed_files(package, "CustomTags", "CustomTag"):
        found = tags_partial(package.xml(path), objects)
        if found.values:
            partials.append(found)
    return partials


def _attachments(package: OfdPackage) -> list[Partial]:
    partials = []
    for path in _listed_files(package, "Attachments", "Attachment"):
        try:
            found = parse_data_xml(package.xml(path), Source.XML)
        except InvoiceError:
            continue  # a broken side file does not spoil the invoice itself
        if found is not None and found.values:
            partials.append(found)
    return partials


def _res_qr(package: OfdPackage) -> Partial | None:
    images = [name for name in package.archive.names if _IMAGE.search(name)]
    for name in images[: package.limits.max_images]:
        try:
            found = image_partial(package.archive.read(name), package.limits)
        except (BrokenFile, InvoiceError):
            continue
        if found is not None:
            return found
    return None


def page_text(objects: Iterable[TextObject]) -> str:
    """TextObjects as lines: grouped by y (within 1.5 mm), each line sorted by x."""
    items = sorted(objects, key=lambda o: (o.y, o.x))
    lines: list[list[TextObject]] = []
    for obj in items:
        if lines and abs(lines[-1][0].y - obj.y) <= 1.5:
            lines[-1].append(obj)
        else:
            lines.append([obj])
    return "\n".join(" ".join(o.text for o in sorted(line, key=lambda o: o.x)) for line in lines)
