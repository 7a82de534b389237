"""DingTalk payloads → neutral events: robot messages and card callbacks, whatever the transport.

Stream frames and HTTP callbacks carry the same JSON bodies, so both paths share this module.
The ids DingTalk puts in ``senderId`` (``$:LWCP_v1:$…``) are encrypted and useless in its APIs;
only ``senderStaffId`` (the org's userid) identifies a person.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from bot.events import (
    Actor,
    CardActionEvent,
    ConversationRef,
    Event,
    FileRef,
    MessageEvent,
    SystemEvent,
)

PLATFORM = "dingtalk"
ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
CARD_EVENT_PREFIX = "card:"
SYSTEM_EVENT_PREFIX = "event:"


class PayloadError(ValueError):
    """A body that is not the JSON DingTalk sends (the message is safe to log)."""


def load_object(raw: str | bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: [[[[… nests deep
        raise PayloadError("body is not JSON") from None
    if not isinstance(value, dict):
        raise PayloadError("body is not a JSON object")
    return value


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key, "")
    return value if isinstance(value, str) else ""


def _content(body: Mapping[str, Any]) -> Mapping[str, Any]:
    content = body.get("content")
    if isinstance(content, str):  # some deliveries nest it as a JSON string
        try:
            content = json.loads(content)
        except (ValueError, RecursionError):
            return {}
    return content if isinstance(content, Mapping) else {}


def _message_parts(body: Mapping[str, Any], msg_id: str) -> tuple[str, tuple[FileRef, ...]]:
    kind = _text(body, "msgtype")
    content = _content(body)
    if kind == "text":
        text = body.get("text")
        return (_text(text, "content") if isinstance(text, Mapping) else ""), ()
    if kind == "picture":
        code = _text(content, "downloadCode") or _text(content, "pictureDownloadCode")
        return "", ((FileRef("image", code, msg_id),) if code else ())
    if kind == "file":
        code = _text(content, "downloadCode")
        name = _text(content, "fileName")
        return "", ((FileRef("file", code, msg_id, name),) if code else ())
    if kind == "audio":
        return _text(content, "recognition"), ()
    if kind == "richText":
        parts = content.get("richText")
        texts: list[str] = []
        files: list[FileRef] = []
        for part in parts if isinstance(parts, list) else ():
            if not isinstance(part, Mapping):
                continue
            texts.append(_text(part, "text"))
            if code := _text(part, "downloadCode"):
                files.append(FileRef("image", code, msg_id))
        return "".join(texts), tuple(files)
    return "", ()


def robot_message(body: Mapping[str, Any], fallback_id: str = "") -> Event:
    """A robot message as a :class:`MessageEvent` (a :class:`SystemEvent` when unusable)."""
    msg_id = _text(body, "msgId") or fallback_id
    if not msg_id:
        raise PayloadError("robot message without msgId")
    staff_id = _text(body, "senderStaffId")
    tenant = _text(body, "senderCorpId") or _text(body, "chatbotCorpId")
    if not staff_id:  # outside the org, or the robot is not published yet: no one to answer
        return SystemEvent(PLATFORM, msg_id, "message_without_staff_id")
    text, files = _message_parts(body, msg_id)
    group = _text(body, "conversationType") == "2"
    return MessageEvent(
        platform=PLATFORM,
        event_id=msg_id,
        actor=Actor(PLATFORM, staff_id, _text(body, "senderNick"), tenant),
        conversation=ConversationRef(
            PLATFORM, _text(body, "conversationId"), "group" if group else "p2p"
        ),
        text=text.strip(),
        files=files,
        message_id=msg_id,
        mentioned_bot=bool(body.get("isInAtList")) or not group,
    )


def _card_params(body: Mapping[str, Any]) -> Mapping[str, Any]:
    content = _content(body)
    private = content.get("cardPrivateData")
    if isinstance(private, Mapping) and isinstance(private.get("params"), Mapping):
        params: Mapping[str, Any] = private["params"]
        return params
    for key in ("params", "actionData"):
        if isinstance(content.get(key), Mapping):
            nested: Mapping[str, Any] = content[key]
            return nested
    return {}


def _form_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def card_callback(body: Mapping[str, Any], delivery_id: str) -> CardActionEvent:
    """A button click: the ``action`` param our buttons carry, other params as form values.

    ``delivery_id`` names this delivery (the Stream frame's messageId, or a digest of the HTTP
    body); it is prefixed so it can never collide with a robot message id.
    """
    user_id = _text(body, "userId")
    out_track_id = _text(body, "outTrackId")
    params = _card_params(body)
    action = params.get("action")
    if not user_id or not out_track_id:
        raise PayloadError("card callback without userId or outTrackId")
    if not isinstance(action, str) or not action:
        raise PayloadError("card callback without an action param")
    form = {str(k): _form_value(v) for k, v in params.items() if k != "action"}
    return CardActionEvent(
        platform=PLATFORM,
        event_id=CARD_EVENT_PREFIX + delivery_id,
        actor=Actor(PLATFORM, user_id, "", _text(body, "corpId")),
        action=action,
        form=form,
        card_ref={"out_track_id": out_track_id},
    )


def digest(raw: bytes) -> str:
    """A delivery id for payloads that carry none (HTTP card callbacks, some events)."""
    return hashlib.sha256(raw).hexdigest()[:32]


def system_event(body: Mapping[str, Any], raw: bytes) -> SystemEvent:
    kind = _text(body, "EventType") or _text(body, "eventType") or "unknown"
    event_id = _text(body, "eventId") or digest(raw)
    return SystemEvent(PLATFORM, SYSTEM_EVENT_PREFIX + event_id, kind)
