"""Verified Feishu payloads (schema 2.0) into platform-neutral events.

Shared by the webhook and the long connection, so both paths produce identical events and
event ids: ``msg:<message_id>`` for messages (Feishu says to dedup those on the message id, not
the event id) and ``evt:<header.event_id>`` for everything else.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from bot.events import (
    Actor,
    CardActionEvent,
    ChatKind,
    ConversationRef,
    Event,
    FileRef,
    MessageEvent,
    SystemEvent,
)

PLATFORM = "feishu"
log = logging.getLogger(__name__)

# Event types we acknowledge as neutral SystemEvents; any other type is logged and ignored.
SYSTEM_KINDS = {
    "im.chat.member.bot.added_v1": "bot_added",
    "im.chat.member.bot.deleted_v1": "bot_removed",
    "im.chat.access_event.bot_p2p_chat_entered_v1": "p2p_entered",
    "contact.user.deleted_v3": "user_left",
}
_BLANKS = re.compile(r"[ \t]{2,}")


class PayloadError(ValueError):
    """An authenticated payload that lacks a field every event of its type carries."""


def obj(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def required(data: Mapping[str, Any], key: str) -> str:
    value = text(data, key)
    if not value:
        raise PayloadError(f"missing {key}")
    return value


def parse_event(payload: Mapping[str, Any], bot_open_id: str = "") -> Event | None:
    """The neutral event for one decrypted payload, or None for types we do not handle."""
    header = obj(payload, "header")
    event = obj(payload, "event")
    if not text(payload, "schema"):
        log.info("feishu: ignoring a schema 1.0 event (%s)", text(obj(payload, "event"), "type"))
        return None
    kind = text(header, "event_type")
    if kind == "im.message.receive_v1":
        return parse_message(header, event, bot_open_id)
    if kind == "card.action.trigger":
        return parse_card_action(header, event)
    event_id = "evt:" + required(header, "event_id")
    if kind in SYSTEM_KINDS:
        return SystemEvent(PLATFORM, event_id, SYSTEM_KINDS[kind])
    log.info("feishu: acknowledged and ignored event type %r (%s)", kind, event_id)
    return None


def parse_message(
    header: Mapping[str, Any], event: Mapping[str, Any], bot_open_id: str
) -> MessageEvent | None:
    sender = obj(event, "sender")
    message = obj(event, "message")
    message_id = required(message, "message_id")
    if text(sender, "sender_type") not in ("", "user"):
        log.info("feishu: ignoring message %s from a %s", message_id, text(sender, "sender_type"))
        return None
    actor = Actor(
        PLATFORM,
        required(obj(sender, "sender_id"), "open_id"),
        tenant=text(sender, "tenant_key") or text(header, "tenant_key"),
    )
    kind: ChatKind = "group" if text(message, "chat_type") == "group" else "p2p"
    content = _content(message)
    mentions = Mentions(message.get("mentions"), bot_open_id, group=kind == "group")
    body, files = _body(text(message, "message_type"), content, mentions, message_id)
    return MessageEvent(
        platform=PLATFORM,
        event_id="msg:" + message_id,
        actor=actor,
        conversation=ConversationRef(PLATFORM, required(message, "chat_id"), kind),
        text=body,
        files=files,
        message_id=message_id,
        mentioned_bot=mentions.bot_mentioned,
    )


def _content(message: Mapping[str, Any]) -> dict[str, Any]:
    raw = text(message, "content")
    try:
        content = json.loads(raw) if raw else {}
    except (ValueError, RecursionError) as exc:  # bad JSON, a 5000-digit integer, [[[[…
        raise PayloadError("message content is not JSON") from exc
    return content if isinstance(content, dict) else {}


class Mentions:
    """Resolves ``@_user_N`` placeholders: the bot's own is dropped, others become ``@name``.

    The bot is recognised by its open_id once known (``bot/v3/info``); until then the mentions
    leading a group message are taken as the bot's, since in groups it only sees messages that
    @ it and people put that mention first.
    """

    def __init__(self, raw: Any, bot_open_id: str, *, group: bool) -> None:
        self._names: dict[str, str] = {}
        self._bot_keys: set[str] = set()
        self._guess = group and not bot_open_id
        for mention in raw if isinstance(raw, list) else []:
            if not isinstance(mention, dict) or not text(mention, "key"):
                continue
            key = text(mention, "key")
            self._names[key] = text(mention, "name")
            if bot_open_id and text(obj(mention, "id"), "open_id") == bot_open_id:
                self._bot_keys.add(key)
        self.bot_mentioned = bool(self._bot_keys)

    def resolve(self, body: str) -> str:
        """Resolve one text; only the first text of a message is searched for a leading @bot."""
        if self._guess:
            self._guess = False
            body = self._strip_leading(body)
        for key in self._longest_first():
            name = self._names[key]
            body = body.replace(key, "" if key in self._bot_keys else f"@{name or key}")
        return _BLANKS.sub(" ", body).strip()

    def _longest_first(self) -> list[str]:
        return sorted(self._names, key=len, reverse=True)  # @_user_1 is a prefix of @_user_10

    def _strip_leading(self, body: str) -> str:
        rest = body.lstrip()
        while True:
            key = next((k for k in self._longest_first() if rest.startswith(k)), None)
            if key is None:
                return rest
            self._bot_keys.add(key)
            self.bot_mentioned = True
            rest = rest[len(key) :].lstrip()


def _body(
    kind: str, content: Mapping[str, Any], mentions: Mentions, message_id: str
) -> tuple[str, tuple[FileRef, ...]]:
    if kind == "text":
        return mentions.resolve(text(content, "text")), ()
    if kind == "image":
        return "", (FileRef("image", required(content, "image_key"), message_id),)
    if kind in ("file", "audio", "media"):
        name = text(content, "file_name")
        return "", (FileRef("file", required(content, "file_key"), message_id, name),)
    if kind == "post":
        return _post(content, mentions, message_id)
    return "", ()


def _post(
    content: Mapping[str, Any], mentions: Mentions, message_id: str
) -> tuple[str, tuple[FileRef, ...]]:
    """Rich text arrives bare (``{"title", "content"}``) or wrapped in a locale key."""
    if "content" not in content:
        content = next((v for v in content.values() if isinstance(v, dict)), {})
    lines: list[str] = []
    files: list[FileRef] = []
    paragraphs = content.get("content")
    for paragraph in paragraphs if isinstance(paragraphs, list) else []:
        parts: list[str] = []
        for node in paragraph if isinstance(paragraph, list) else []:
            if isinstance(node, dict):
                parts.append(_post_node(node, mentions, message_id, files))
        lines.append(_BLANKS.sub(" ", "".join(parts)).strip())
    body = mentions.resolve("\n".join(line for line in lines if line))
    title = text(content, "title")
    return (f"{title}\n{body}" if title and body else title or body), tuple(files)


def _post_node(
    node: Mapping[str, Any], mentions: Mentions, message_id: str, files: list[FileRef]
) -> str:
    tag = text(node, "tag")
    if tag in ("text", "a", "code_block"):
        return text(node, "text")
    if tag == "at":
        return text(node, "user_id") or ("@" + text(node, "user_name"))
    if tag == "img" and text(node, "image_key"):
        files.append(FileRef("image", text(node, "image_key"), message_id))
    elif tag == "media" and text(node, "file_key"):
        files.append(FileRef("file", text(node, "file_key"), message_id))
    return ""


def parse_card_action(header: Mapping[str, Any], event: Mapping[str, Any]) -> Event | None:
    event_id = "evt:" + required(header, "event_id")
    action = obj(event, "action")
    payload = text(obj(action, "value"), "a")
    if not payload:
        log.info("feishu: card action %s carries no action payload; ignored", event_id)
        return None
    operator = obj(event, "operator")
    context = obj(event, "context")
    ref = {
        "message_id": text(context, "open_message_id"),
        "chat_id": text(context, "open_chat_id"),
        "token": text(event, "token"),
    }
    return CardActionEvent(
        platform=PLATFORM,
        event_id=event_id,
        actor=Actor(
            PLATFORM,
            required(operator, "open_id"),
            tenant=text(operator, "tenant_key") or text(header, "tenant_key"),
        ),
        action=payload,
        form=_form(action),
        card_ref={k: v for k, v in ref.items() if v},
    )


def _form(action: Mapping[str, Any]) -> dict[str, str]:
    """Form values as strings (a multi-select joined with commas); a lone input by its name."""
    values = dict(obj(action, "form_value"))
    name = text(action, "name")
    for key in ("input_value", "option"):
        if name and key in action:
            values.setdefault(name, action[key])
    return {str(k): _as_text(v) for k, v in values.items()}


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return ",".join(_as_text(v) for v in value)
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False)
