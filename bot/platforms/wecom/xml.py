"""WeCom's XML, parsed defensively and written with CDATA that user text cannot close.

Callbacks are parsed twice: the outer envelope before its signature can be checked, and the
decrypted message after. Both go through :func:`parse`, which refuses DTDs (so no entity
expansion and no external entities at all) and anything larger than ``MAX_XML_BYTES``.

WeCom's documents open with ``<xml>`` at their first byte: no XML declaration, so expat reads
UTF-8, and no prolog, so no DOCTYPE can follow (one inside the root element is a syntax error,
and an entity nobody declared is an error too). Those go to the standard library's C parser;
anything else takes defusedxml's, which refuses a DTD but builds the tree in Python at about
twice the cost (bench: a WeCom callback's two parses were a quarter of its decode).
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError
from xml.etree.ElementTree import fromstring as parse_without_prolog

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_refusing_dtd

MAX_XML_BYTES = 256 * 1024


class XMLError(ValueError):
    """A body that is not a small, plain ``<xml>…</xml>`` document."""


def parse(data: bytes | str) -> Element:
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_XML_BYTES:
        raise XMLError("XML body too large")
    try:
        if raw.startswith(b"<xml>"):
            root = parse_without_prolog(raw)  # noqa: S314 - no prolog, so no DTD (see above)
        else:
            root = parse_refusing_dtd(raw, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise XMLError(f"forbidden XML construct: {type(exc).__name__}") from None
    except ParseError:
        raise XMLError("malformed XML") from None
    if root.tag != "xml":
        raise XMLError(f"unexpected root element <{root.tag}>")
    return root


def text(root: Element, tag: str) -> str:
    return (root.findtext(tag) or "").strip()


def cdata(value: str) -> str:
    """``value`` as CDATA sections; a ``]]>`` inside is split across two sections."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def envelope(encrypted: str, signature: str, timestamp: str, nonce: str) -> str:
    """The encrypted passive reply (research notes §1.5)."""
    return (
        f"<xml><Encrypt>{cdata(encrypted)}</Encrypt>"
        f"<MsgSignature>{cdata(signature)}</MsgSignature>"
        f"<TimeStamp>{int(timestamp)}</TimeStamp>"
        f"<Nonce>{cdata(nonce)}</Nonce></xml>"
    )


def update_button(to_user: str, corp_id: str, create_time: int, label: str) -> str:
    """The passive reply that greys the clicked card's buttons out under ``label``."""
    return (
        f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(corp_id)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
        f"<MsgType>{cdata('update_button')}</MsgType>"
        f"<Button><ReplaceName>{cdata(label)}</ReplaceName></Button></xml>"
    )
