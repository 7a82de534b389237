"""WeCom's callbacks, built and sealed exactly as WeCom sends them to an app's callback URL.

``WecomCallbacks`` builds message and event XML and seals it like WeCom: SHA1 signature over the
sorted strings, AES-256-CBC with 32-byte PKCS#7 and the CorpID appended. It is written from the
protocol description, independent of the adapter's crypto, so each checks the other.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import struct
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import aiohttp
from Crypto.Cipher import AES


def cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass
class WecomCallbacks:
    """Builds and seals callbacks for one app (Token, EncodingAESKey, CorpID) like WeCom."""

    token: str
    encoding_aes_key: str
    corp_id: str
    agent_id: int = 1000002
    clock: Callable[[], float] = time.time
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(7000000000))

    # -- plaintext messages ------------------------------------------------------------------
    def text(self, user: str, content: str, *, msg_id: str = "", at: int | None = None) -> str:
        return self._message(user, "text", at, f"<Content>{cdata(content)}</Content>", msg_id)

    def image(self, user: str, media_id: str, *, msg_id: str = "", at: int | None = None) -> str:
        fields = f"<PicUrl>{cdata('https://example.invalid/p.jpg')}</PicUrl>"
        return self._message(
            user, "image", at, fields + f"<MediaId>{cdata(media_id)}</MediaId>", msg_id
        )

    def event(self, user: str, name: str, *, key: str = "", at: int | None = None) -> str:
        return self._envelope(
            user, "event", at, f"<Event>{cdata(name)}</Event><EventKey>{cdata(key)}</EventKey>"
        )

    def card_click(
        self,
        user: str,
        key: str,
        task_id: str,
        response_code: str,
        *,
        card_type: str = "button_interaction",
        selected: Mapping[str, Iterable[str]] | None = None,
        at: int | None = None,
    ) -> str:
        """A ``template_card_event``: the button ``key`` pressed, with dropdown selections."""
        items = "".join(
            f"<SelectedItem><QuestionKey>{cdata(question)}</QuestionKey><OptionIds>"
            + "".join(f"<OptionId>{cdata(o)}</OptionId>" for o in options)
            + "</OptionIds></SelectedItem>"
            for question, options in (selected or {}).items()
        )
        fields = (
            f"<Event>{cdata('template_card_event')}</Event><EventKey>{cdata(key)}</EventKey>"
            f"<TaskId>{cdata(task_id)}</TaskId><CardType>{cdata(card_type)}</CardType>"
            f"<ResponseCode>{cdata(response_code)}</ResponseCode>"
            + (f"<SelectedItems>{items}</SelectedItems>" if items else "")
        )
        return self._envelope(user, "event", at, fields)

    def _message(self, user: str, kind: str, at: int | None, fields: str, msg_id: str) -> str:
        msg_id = msg_id or str(next(self._ids))
        return self._envelope(user, kind, at, fields + f"<MsgId>{msg_id}</MsgId>")

    def _envelope(self, user: str, kind: str, at: int | None, fields: str) -> str:
        created = int(self.clock()) if at is None else at
        return (
            f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName>"
            f"<FromUserName>{cdata(user)}</FromUserName><CreateTime>{created}</CreateTime>"
            f"<MsgType>{cdata(kind)}</MsgType>{fields}<AgentID>{self.agent_id}</AgentID></xml>"
        )

    # -- sealing -----------------------------------------------------------------------------
    def seal(
        self, plaintext: str, *, nonce: str = "", timestamp: str = ""
    ) -> tuple[dict[str, str], bytes]:
        """The query string and POST body WeCom sends for ``plaintext``."""
        timestamp = timestamp or str(int(self.clock()))
        nonce = nonce or str(int.from_bytes(os.urandom(4), "big"))
        encrypted = self.encrypt(plaintext)
        query = {
            "msg_signature": self.sign(timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        body = (
            f"<xml><ToUserName>{cdata(self.corp_id)}</ToUserName>\n"
            f"<Encrypt>{cdata(encrypted)}</Encrypt>\n"
            f"<AgentID>{cdata(str(self.agent_id))}</AgentID>\n</xml>"
        )
        return query, body.encode()

    def verification(self, echo: str = "") -> tuple[dict[str, str], str]:
        """The GET query of URL verification, and the plaintext the server must answer."""
        echo = echo or str(int.from_bytes(os.urandom(8), "big"))
        timestamp, nonce = str(int(self.clock())), str(int.from_bytes(os.urandom(4), "big"))
        encrypted = self.encrypt(echo)
        query = {
            "msg_signature": self.sign(timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": encrypted,
        }
        return query, echo

    def open_reply(self, body: bytes) -> str:
        """Check and decrypt a passive reply as WeCom would; raises ValueError if it is bad."""
        text = body.decode()
        fields = {
            name: _between(text, name) for name in ("Encrypt", "MsgSignature", "TimeStamp", "Nonce")
        }
        expected = self.sign(fields["TimeStamp"], fields["Nonce"], fields["Encrypt"])
        if expected != fields["MsgSignature"]:
            raise ValueError("reply signature mismatch")
        return self.decrypt(fields["Encrypt"])

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        joined = "".join(sorted([self.token, timestamp, nonce, encrypted]))
        return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 - WeCom's scheme

    def encrypt(self, plaintext: str) -> str:
        key = base64.b64decode(self.encoding_aes_key + "=")
        body = plaintext.encode()
        raw = os.urandom(16) + struct.pack(">I", len(body)) + body + self.corp_id.encode()
        pad = 32 - len(raw) % 32
        raw += bytes([pad]) * pad
        return base64.b64encode(AES.new(key, AES.MODE_CBC, key[:16]).encrypt(raw)).decode()

    def decrypt(self, encrypted: str) -> str:
        key = base64.b64decode(self.encoding_aes_key + "=")
        raw = AES.new(key, AES.MODE_CBC, key[:16]).decrypt(base64.b64decode(encrypted))
        raw = raw[: -raw[-1]]
        (length,) = struct.unpack(">I", raw[16:20])
        if raw[20 + length :].decode() != self.corp_id:
            raise ValueError("reply encrypted for another corp")
        return raw[20 : 20 + length].decode()

    async def post(
        self, http: aiohttp.ClientSession, url: str, plaintext: str
    ) -> tuple[int, bytes]:
        """Deliver ``plaintext`` to the callback ``url``: (HTTP status, response body)."""
        query, body = self.seal(plaintext)
        async with http.post(
            url, params=query, data=body, headers={"Content-Type": "text/xml"}
        ) as response:
            return response.status, await response.read()


def _between(text: str, tag: str) -> str:
    start, end = text.find(f"<{tag}>"), text.find(f"</{tag}>")
    if start < 0 or end < 0:
        raise ValueError(f"reply has no <{tag}>")
    value = text[start + len(tag) + 2 : end]
    if value.startswith("<![CDATA[") and value.endswith("]]>"):
        value = value[9:-3]
    return value
