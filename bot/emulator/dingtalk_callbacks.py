"""DingTalk's callbacks to a bot: robot messages and card clicks, signed or encrypted like DingTalk.

``robot_payload`` and ``card_callback_payload`` are the bodies DingTalk sends (in HTTP mode as
the request body, in Stream mode as a frame's ``data``). ``DingtalkSender`` signs robot HTTP
callbacks and encrypts event subscriptions like DingTalk. It is written from the protocol
description, independent of the adapter, so each checks the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
import time
import uuid
from collections.abc import Mapping
from typing import Any

from Crypto.Cipher import AES

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"


def _ms() -> str:
    return str(int(time.time() * 1000))


def robot_payload(
    text: str = "报销 打车 45.5",
    *,
    sender: str = "manager0001",
    nick: str = "张三",
    msg_id: str | None = None,
    group: bool = False,
    msgtype: str = "text",
    content: Mapping[str, Any] | None = None,
    corp_id: str = "dingcorp0001",
) -> dict[str, Any]:
    """A robot message body as DingTalk sends it (HTTP mode body = Stream frame data)."""
    body: dict[str, Any] = {
        "msgtype": msgtype,
        "msgId": msg_id or f"msg{uuid.uuid4().hex}==",
        "createAt": int(_ms()),
        "conversationType": "2" if group else "1",
        "conversationId": "cidGroup0001==" if group else f"cid{sender}==",
        "senderId": "$:LWCP_v1:$" + base64.b64encode(sender.encode()).decode(),
        "senderStaffId": sender,
        "senderNick": nick,
        "senderCorpId": corp_id,
        "chatbotCorpId": corp_id,
        "robotCode": "dingfakeappkey",
        "isInAtList": group,
        "sessionWebhook": "http://127.0.0.1:9/robot/sendBySession?session=x",
        "sessionWebhookExpiredTime": int(_ms()) + 5_400_000,
    }
    if msgtype == "text":
        body["text"] = {"content": (" " if group else "") + text}
    else:
        body["content"] = dict(content or {})
    return body


def card_callback_payload(
    out_track_id: str, user_id: str, params: Mapping[str, Any], corp_id: str = "dingcorp0001"
) -> dict[str, Any]:
    content = {"cardPrivateData": {"actionIds": ["button"], "params": dict(params)}}
    return {
        "type": "actionCallback", "outTrackId": out_track_id, "corpId": corp_id,
        "userId": user_id, "userIdType": 1, "spaceType": "IM", "spaceId": "space",
        "extension": "{}", "content": json.dumps(content, ensure_ascii=False),
    }



class DingtalkSender:
    """Calls a bot the way DingTalk does: signed robot callbacks, encrypted event pushes."""

    def __init__(
        self, client_id: str, client_secret: str, event_token: str = "", event_aes_key: str = ""
    ) -> None:
        self.client_id, self.client_secret = client_id, client_secret
        self.event_token = event_token
        self._key = base64.b64decode(event_aes_key + "=") if event_aes_key else b""

    def robot_headers(self, timestamp_ms: int | None = None) -> dict[str, str]:
        ts = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
        mac = hmac.new(self.client_secret.encode(), f"{ts}\n{self.client_secret}".encode(),
                       hashlib.sha256)
        return {"timestamp": ts, "sign": base64.b64encode(mac.digest()).decode(),
                "content-type": "application/json; charset=utf-8"}

    def _sign(self, *parts: str) -> str:
        return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - protocol

    def encrypt(self, message: str) -> str:
        body = message.encode()
        plain = os.urandom(16) + struct.pack(">I", len(body)) + body + self.client_id.encode()
        pad = 32 - len(plain) % 32
        cipher = AES.new(self._key, AES.MODE_CBC, self._key[:16])
        return base64.b64encode(cipher.encrypt(plain + bytes([pad]) * pad)).decode()

    def event_request(self, payload: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
        """The query and body of one event push (``check_url`` included)."""
        encrypted = self.encrypt(json.dumps(payload, ensure_ascii=False))
        ts, nonce = str(int(time.time() * 1000)), secrets.token_hex(4)
        query = {"msg_signature": self._sign(self.event_token, ts, nonce, encrypted),
                 "timestamp": ts, "nonce": nonce}
        return query, json.dumps({"encrypt": encrypted}).encode()

    def open_reply(self, reply: Mapping[str, Any]) -> str:
        """Check and decrypt the bot's answer; DingTalk accepts only the encrypted "success"."""
        ts, nonce, encrypted = reply["timeStamp"], reply["nonce"], reply["encrypt"]
        expected = self._sign(self.event_token, ts, nonce, encrypted)
        if not hmac.compare_digest(expected, reply["msg_signature"]):
            raise ValueError("reply signature mismatch")
        cipher = AES.new(self._key, AES.MODE_CBC, self._key[:16])
        plain = cipher.decrypt(base64.b64decode(encrypted))
        plain = plain[: -plain[-1]]
        (length,) = struct.unpack(">I", plain[16:20])
        if plain[20 + length :] != self.client_id.encode():
            raise ValueError("reply for another app")
        return plain[20 : 20 + length].decode()
