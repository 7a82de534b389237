"""Sending to WeCom: text, markdown, template cards, card updates and received images.

Card templates (``cards/wecom/<name>.json.j2``) render a whole message body: usually
``{"msgtype": "template_card", "template_card": {…}}``, or ``text`` for cards with nothing to
click. The messenger adds the recipient, the agent id and a ``task_id`` unique to this copy;
given a delivery's ``key``, the task id is derived from it, so WeCom (task ids never repeat in
an app) refuses a repeat of a card it already delivered instead of showing it twice.

A copy's ``response_code`` is single-use and lasts 72 hours, so its handles record when it was
issued and are returned without it once spent. Updating a copy whose code is gone sends the new
card as a fresh message instead, and returns that message's handles.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.events import FileRef
from bot.platforms.base import (
    AlreadyDelivered,
    CardRenderer,
    PlatformAPIError,
    TransientAPIError,
)
from bot.platforms.wecom.client import PLATFORM, WecomClient
from bot.replies import Recipient

MAX_TEXT_BYTES = 2048  # text message content; markdown allows 4096
MAX_MARKDOWN_BYTES = 4096
CODE_LIFETIME = 72 * 3600.0 - 600.0  # a response_code's 72 h, less a margin for clock skew
_TASK_UNSAFE = re.compile(r"[^0-9A-Za-z_@-]")
# WeCom does not document the errcode for a task_id already used; invalid parameter is the one
# it answers for bad input (bot.emulator.wecom answers a repeated task_id with it too).
REPEATED_TASK_ID = 40058


class WecomMessenger:
    def __init__(
        self,
        client: WecomClient,
        agent_id: int,
        render: CardRenderer,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._agent_id = agent_id
        self._render = render
        self._clock = clock

    async def send_text(self, to: Recipient, text: str, *, key: str = "") -> dict[str, str]:
        handles: dict[str, str] = {}
        for part in split_utf8(text, MAX_TEXT_BYTES):
            handles = await self._send(to, {"msgtype": "text", "text": {"content": part}})
        return handles

    async def send_markdown(self, to: Recipient, markdown: str) -> dict[str, str]:
        handles: dict[str, str] = {}
        for part in split_utf8(markdown, MAX_MARKDOWN_BYTES):
            handles = await self._send(to, {"msgtype": "markdown", "markdown": {"content": part}})
        return handles

    async def send_card(
        self, to: Recipient, name: str, data: Mapping[str, Any], lang: str, *, key: str = ""
    ) -> dict[str, str]:
        message = self._message(name, data, lang)
        card = message.get("template_card")
        if isinstance(card, dict):
            card["task_id"] = task_id(name, key)
            if to.chat_id:  # app chats cannot show template cards
                message = {"msgtype": "text", "text": {"content": card_as_text(card)}}
        try:
            return await self._send(to, message)
        except PlatformAPIError as exc:
            keyed = key and "template_card" in message and not isinstance(exc, TransientAPIError)
            if not keyed or exc.code != REPEATED_TASK_ID:
                raise
            handles = {"user_id": to.user_id, "task_id": str(message["template_card"]["task_id"])}
            raise AlreadyDelivered(PLATFORM, exc.code, exc.message, handles) from exc

    async def update_card(
        self, ref: Mapping[str, str], name: str, data: Mapping[str, Any], lang: str
    ) -> dict[str, str]:
        message = self._message(name, data, lang)
        card = message.get("template_card")
        if not self._updatable(ref) or not isinstance(card, dict):
            return await self.send_card(_recipient(ref), name, data, lang)
        card["task_id"] = ref["task_id"]
        body = {
            "userids": [ref["user_id"]],
            "agentid": self._agent_id,
            "response_code": ref["response_code"],
            "template_card": card,
        }
        try:
            await self._client.post("message/update_template_card", body)
        except TransientAPIError:
            raise
        except PlatformAPIError:
            # A spent or expired code (the errcode is not documented): deliver the card anew.
            return await self.send_card(_recipient(ref), name, data, lang)
        return {k: v for k, v in ref.items() if k not in {"response_code", "code_at"}}

    async def download(self, file: FileRef) -> tuple[bytes, str]:
        return await self._client.download("media/get", {"media_id": file.handle})

    def _message(self, name: str, data: Mapping[str, Any], lang: str) -> dict[str, Any]:
        message = self._render(PLATFORM, name, data, lang)
        if not isinstance(message, dict) or not isinstance(message.get("msgtype"), str):
            raise PlatformAPIError(PLATFORM, "bad_card", f"card {name!r} has no msgtype")
        return message

    def updatable(self, ref: Mapping[str, str]) -> bool:
        """Whether ``update_card(ref, …)`` changes that message (else it sends a new one)."""
        return self._updatable(ref)

    def _updatable(self, ref: Mapping[str, str]) -> bool:
        issued = ref.get("code_at", "")
        if not (ref.get("response_code") and ref.get("task_id") and ref.get("user_id")):
            return False
        return issued.isdigit() and self._clock() - int(issued) < CODE_LIFETIME

    async def _send(self, to: Recipient, message: Mapping[str, Any]) -> dict[str, str]:
        if to.chat_id:
            await self._client.post("appchat/send", {"chatid": to.chat_id, **message})
            return {"chat_id": to.chat_id}
        body = {"touser": to.user_id, "agentid": self._agent_id, **message}
        result = await self._client.post("message/send", body)
        if to.user_id in str(result.get("invaliduser", "")).split("|"):
            raise PlatformAPIError(PLATFORM, 81013, f"invalid user {to.user_id}")
        handles = {"user_id": to.user_id, "msgid": str(result.get("msgid", ""))}
        card = message.get("template_card")
        if isinstance(card, dict) and result.get("response_code"):
            handles["task_id"] = str(card["task_id"])
            handles["response_code"] = str(result["response_code"])
            handles["code_at"] = str(int(self._clock()))
        return handles


def _recipient(ref: Mapping[str, str]) -> Recipient:
    if ref.get("user_id"):
        return Recipient(PLATFORM, user_id=ref["user_id"])
    if ref.get("chat_id"):
        return Recipient(PLATFORM, chat_id=ref["chat_id"])
    raise PlatformAPIError(PLATFORM, "bad_ref", "card handles name no user or chat")


def task_id(name: str, key: str = "") -> str:
    """Unique per app, at most 128 bytes of ``[0-9A-Za-z_@-]``; a copy's task id never repeats.

    With a delivery ``key`` it is the same for every attempt at that delivery.
    """
    prefix = _TASK_UNSAFE.sub("-", name)[:40]
    if key:
        return f"{prefix}-{hashlib.sha256(key.encode()).hexdigest()[:40]}"
    return f"{prefix}-{int(time.time())}-{secrets.token_hex(8)}"


def split_utf8(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, never splitting a character (WeCom counts bytes)."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode())
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    parts.append("".join(current))
    return parts


def card_as_text(card: Mapping[str, Any]) -> str:
    """A template card's words as plain text, for recipients that cannot show the card."""
    title = card.get("main_title", {})
    lines = [str(title.get("title", "")), str(title.get("desc", ""))]
    lines += [
        f"{row.get('keyname', '')}：{row.get('value', '')}"
        for row in card.get("horizontal_content_list", [])
    ]
    lines.append(str(card.get("sub_title_text", "")))
    return "\n".join(line for line in lines if line)
