"""Safe XML parsing (defusedxml, no DTDs, size cap) and namespace-blind lookups by local name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .errors import BrokenFile, FileTooLarge, HostileFile

_DECLARED = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9_\-]+)[\"']", re.IGNORECASE)
_EXPAT_ENCODINGS = frozenset({"utf-8", "utf8", "utf-16", "iso-8859-1", "us-ascii", "ascii"})
_BROKEN_PREFIX = re.compile(rb"<(/?):(?=[A-Za-z])")
_EMPTY_XMLNS = re.compile(rb"\sxmlns:=\"[^\"]*\"")
_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def _recode(data: bytes) -> bytes:
    """GBK/GB18030 files re-encoded as UTF-8, since expat only knows a few encodings."""
    match = _DECLARED.match(data[:200])
    if match is None or match.group(1).decode().lower() in _EXPAT_ENCODINGS:
        return data
    encoding = match.group(1).decode().lower()
    if encoding in ("gbk", "gb2312"):
        encoding = "gb18030"
    try:
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        raise BrokenFile(f"cannot decode XML declared as {encoding}") from None
    return text.replace(match.group(1).decode(), "utf-8", 1).encode()


def parse_xml(data: bytes, max_bytes: int, max_elements: int = 100_000) -> Element:
    """Parse untrusted XML: no DTD, no entities, no external anything, bounded size and count."""
    if len(data) > max_bytes:
        raise FileTooLarge(f"XML of {len(data)} bytes")
    if data.count(b"<") > max_elements:
        raise HostileFile(f"XML with more than {max_elements} elements")
    data = _recode(data)
    if b"<:" in data or b"xmlns:=" in data:  # some producers write <:eInvoice xmlns:="">
        data = _EMPTY_XMLNS.sub(b"", _BROKEN_PREFIX.sub(rb"<\1", data))
    try:
        root: Element = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise HostileFile(f"XML with DTD or entities: {exc!r}") from None
    except (ParseError, ValueError, UnicodeError) as exc:
        raise BrokenFile(f"malformed XML: {exc}") from None
    return root


def local(tag: object) -> str:
    """The local part of ``{namespace}Name`` (comments and PIs have non-string tags)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def iter_named(node: Element, name: str) -> Iterator[Element]:
    """Descendants (and ``node`` itself) whose local name is ``name``, in document order."""
    return (el for el in node.iter() if local(el.tag) == name)


def find(node: Element | None, *path: str) -> Element | None:
    """The first descendant matching each local name of ``path`` in turn."""
    for name in path:
        if node is None:
            return None
        node = next(iter_named(node, name), None)
    return node


def text(node: Element | None, *path: str) -> str | None:
    """Stripped text of :func:`find`, or None when absent, empty or ``xsi:nil``."""
    found = find(node, *path) if path else node
    if found is None or found.get(_NIL) == "true":
        return None
    value = "".join(found.itertext()).strip()
    return value or None


def leaves(node: Element) -> dict[str, str]:
    """``{local name: text}`` of the leaf descendants, first occurrence winning."""
    values: dict[str, str] = {}
    for el in node.iter():
        if len(el) == 0 and el.get(_NIL) != "true":
            value = (el.text or "").strip()
            if value:
                values.setdefault(local(el.tag), value)
    return values
