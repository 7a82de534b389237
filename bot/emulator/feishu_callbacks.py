"""Feishu's callbacks, built and sealed exactly as Feishu posts them to an app's request URL.

``FeishuCallbacks`` builds event and card-callback payloads and seals them like Feishu: AES-256-CBC
with SHA-256(encrypt key), and the ``X-Lark-Signature`` headers. It is written from the protocol
description, independent of the adapter, so each checks the other.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterable
from typing import Any

from Crypto.Cipher import AES


class FeishuCallbacks:
    """Event and card-callback payloads, sealed (encrypted and signed) as Feishu sends them."""

    def __init__(
        self,
        verification_token: str,
        encrypt_key: str = "",
        *,
        app_id: str = "cli_fake",
        tenant_key: str = "tenant-fake",
    ) -> None:
        self.verification_token = verification_token
        self.encrypt_key = encrypt_key
        self.app_id = app_id
        self.tenant_key = tenant_key

    def url_verification(self, challenge: str = "challenge-123") -> dict[str, Any]:
        return {
            "challenge": challenge,
            "token": self.verification_token,
            "type": "url_verification",
        }

    def envelope(
        self,
        event_type: str,
        event: dict[str, Any],
        *,
        event_id: str = "",
        create_time: str = "1700000000000",
    ) -> dict[str, Any]:
        header = {
            "event_id": event_id or uuid.uuid4().hex,
            "token": self.verification_token,
            "create_time": create_time,
            "event_type": event_type,
            "tenant_key": self.tenant_key,
            "app_id": self.app_id,
        }
        return {"schema": "2.0", "header": header, "event": event}

    def message(
        self,
        open_id: str,
        content: dict[str, Any],
        *,
        msg_type: str = "text",
        chat_id: str = "oc_chat",
        chat_type: str = "p2p",
        message_id: str = "",
        mentions: Iterable[dict[str, Any]] = (),
        event_id: str = "",
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id or f"om_{uuid.uuid4().hex}",
            "chat_id": chat_id,
            "chat_type": chat_type,
            "message_type": msg_type,
            "create_time": "1700000000000",
            "content": json.dumps(content, ensure_ascii=False),
        }
        if mentions:
            message["mentions"] = list(mentions)
        sender = {
            "sender_id": {"open_id": open_id, "union_id": f"on_{open_id}"},
            "sender_type": "user",
            "tenant_key": self.tenant_key,
        }
        return self.envelope(
            "im.message.receive_v1", {"sender": sender, "message": message}, event_id=event_id
        )

    def card_action(
        self,
        open_id: str,
        value: dict[str, Any] | None,
        *,
        form_value: dict[str, Any] | None = None,
        message_id: str = "om_card",
        chat_id: str = "oc_chat",
        token: str = "c-update-token",  # noqa: S107
        event_id: str = "",
    ) -> dict[str, Any]:
        action: dict[str, Any] = {"tag": "button", "name": "btn"}
        if value is not None:
            action["value"] = value
        if form_value is not None:
            action["form_value"] = form_value
        event = {
            "operator": {"open_id": open_id, "tenant_key": self.tenant_key},
            "token": token,
            "action": action,
            "host": "im_message",
            "context": {"open_message_id": message_id, "open_chat_id": chat_id},
        }
        return self.envelope(
            "card.action.trigger", event, event_id=event_id, create_time="1700000000000000"
        )

    def seal(
        self,
        payload: dict[str, Any],
        *,
        iv: bytes | None = None,
        timestamp: str = "",
        nonce: str = "",
    ) -> tuple[bytes, dict[str, str]]:
        """The exact body bytes and headers of the POST Feishu would make."""
        plain = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        if not self.encrypt_key:
            return plain, self.headers()
        body = json.dumps({"encrypt": self.encrypt(plain, iv)}, separators=(",", ":")).encode()
        return body, self.headers(body, timestamp=timestamp, nonce=nonce)

    def headers(self, body: bytes = b"", *, timestamp: str = "", nonce: str = "") -> dict[str, str]:
        """Feishu's request headers for ``body``, signed whenever there is an encrypt key."""
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Request-Id": uuid.uuid4().hex,
        }
        if not self.encrypt_key:
            return headers
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or uuid.uuid4().hex[:16]
        signed = (timestamp + nonce + self.encrypt_key).encode() + body
        return headers | {
            "X-Lark-Request-Timestamp": timestamp,
            "X-Lark-Request-Nonce": nonce,
            "X-Lark-Signature": hashlib.sha256(signed).hexdigest(),
        }

    def encrypt(self, plaintext: bytes, iv: bytes | None = None) -> str:
        iv = iv if iv is not None else os.urandom(16)
        key = hashlib.sha256(self.encrypt_key.encode()).digest()
        pad = 16 - len(plaintext) % 16
        sealed = AES.new(key, AES.MODE_CBC, iv).encrypt(plaintext + bytes([pad]) * pad)
        return base64.b64encode(iv + sealed).decode()
