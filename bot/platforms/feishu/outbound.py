"""Messages and cards out: send to a user (open_id) or chat, update a sent card, download files."""

from __future__ import annotations

import hashlib
import json
import uuid as uuidlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from bot.events import FileRef
from bot.platforms.base import CardRenderer
from bot.platforms.feishu.api import FeishuAPI
from bot.replies import Recipient

MESSAGES = "/open-apis/im/v1/messages"
DELAYED_UPDATE = "/open-apis/interactive/v1/card/update"
MAX_UUID = 50  # Feishu's limit for the idempotency key


class FeishuMessenger:
    def __init__(self, api: FeishuAPI, render: CardRenderer) -> None:
        self._api = api
        self._render = render

    async def send_text(self, to: Recipient, text: str, *, key: str = "") -> dict[str, str]:
        return await self._send(to, "text", {"text": text}, key)

    async def send_card(
        self, to: Recipient, name: str, data: Mapping[str, Any], lang: str, *, key: str = ""
    ) -> dict[str, str]:
        card = self._render("feishu", name, data, lang)
        return await self._send(to, "interactive", card, key)

    async def update_card(
        self, ref: Mapping[str, str], name: str, data: Mapping[str, Any], lang: str
    ) -> dict[str, str]:
        """PATCH by message id (no expiry for 14 days); else the click's delayed-update token.

        The token is single-purpose (2 uses, 30 minutes, only after the callback was answered),
        so it is the fallback for copies we only know by it.
        """
        card = self._render("feishu", name, data, lang)
        message_id = ref.get("message_id", "")
        if message_id:
            path = f"{MESSAGES}/{quote(message_id, safe='')}"
            await self._api.call("PATCH", path, body={"content": _compact(card)})
            return {"message_id": message_id}
        token = ref.get("token", "")
        if not token:
            raise ValueError("a Feishu card reference needs a message_id or a token")
        await self._api.call("POST", DELAYED_UPDATE, body={"token": token, "card": card})
        return {}

    async def download(self, file: FileRef) -> tuple[bytes, str]:
        if not file.message_id:
            raise ValueError("Feishu downloads need the message the file arrived in")
        message, key = quote(file.message_id, safe=""), quote(file.handle, safe="")
        path = f"{MESSAGES}/{message}/resources/{key}"
        return await self._api.download(path, {"type": file.kind})

    async def _send(self, to: Recipient, msg_type: str, content: Any, key: str) -> dict[str, str]:
        if to.platform != "feishu":
            raise ValueError(f"not a Feishu recipient: {to.key}")
        id_type = "open_id" if to.user_id else "chat_id"
        body = {
            "receive_id": to.user_id or to.chat_id,
            "msg_type": msg_type,
            "content": _compact(content),
            # One uuid for every retry of this send: Feishu delivers it at most once an hour.
            "uuid": idempotency_key(key),
        }
        answer = await self._api.call(
            "POST", MESSAGES, params={"receive_id_type": id_type}, body=body
        )
        data = answer.get("data")
        sent = data if isinstance(data, dict) else {}
        return {
            "message_id": str(sent.get("message_id", "")),
            "chat_id": str(sent.get("chat_id", to.chat_id)),
        }


def idempotency_key(key: str) -> str:
    """The caller's key when it fits Feishu's 50 characters, a digest of it otherwise."""
    if not key:
        return uuidlib.uuid4().hex
    if len(key) <= MAX_UUID:
        return key
    return hashlib.sha256(key.encode()).hexdigest()[:MAX_UUID]


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
