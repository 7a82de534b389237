"""Platform-neutral inbound events: what a handler sees, whatever platform it came from.

Adapters build these from verified, decrypted payloads; the pipeline stores them as JSON in the
inbound queue (``event_to_dict``/``event_from_dict``) before acknowledging the platform.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from typing import Any, Literal

ChatKind = Literal["p2p", "group"]


class EventDecodeError(ValueError):
    """A stored event record that does not decode into a known event."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: the platform's stable user id (open_id, UserID, staffId)."""

    platform: str
    user_id: str
    name: str = ""
    tenant: str = ""

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class ConversationRef:
    platform: str
    chat_id: str  # the p2p chat or group id; for WeCom p2p, the user id
    kind: ChatKind = "p2p"


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file or image a user sent: the platform handle to download it with."""

    kind: Literal["image", "file"]
    handle: str  # image_key/file_key, MediaId, downloadCode
    message_id: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class MessageEvent:
    platform: str
    event_id: str
    actor: Actor
    conversation: ConversationRef
    text: str = ""
    files: tuple[FileRef, ...] = ()
    message_id: str = ""
    mentioned_bot: bool = False

    @property
    def session_key(self) -> str:
        return self.actor.key


@dataclass(frozen=True, slots=True)
class CardActionEvent:
    """A button click or form submit on one of our cards."""

    platform: str
    event_id: str
    actor: Actor
    action: str  # the compact payload the button carried, e.g. "approve:BX-2026-000123:4"
    form: dict[str, str] = field(default_factory=dict)
    conversation: ConversationRef | None = None
    # message id, update token, response code: whatever updating the clicked card needs
    card_ref: dict[str, str] = field(default_factory=dict)

    @property
    def session_key(self) -> str:
        return self.actor.key


@dataclass(frozen=True, slots=True)
class SystemEvent:
    """Bot added to a chat, user left…: acknowledged, mostly ignored."""

    platform: str
    event_id: str
    kind: str
    actor: Actor | None = None

    @property
    def session_key(self) -> str:
        return self.actor.key if self.actor else f"{self.platform}:system"


Event = MessageEvent | CardActionEvent | SystemEvent


def event_to_dict(event: Event) -> dict[str, Any]:
    """What ``dataclasses.asdict`` gives, plus the type, at a third of its cost (it runs for
    every callback before the platform is answered; asdict deep-copies every leaf)."""
    plain: dict[str, Any] = _plain(event)
    return {"type": type(event).__name__, **plain}


_LEAVES = frozenset({str, int, float, bool, type(None)})


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """A dataclass's field names; None for any other type."""
    return tuple(f.name for f in fields(cls)) if is_dataclass(cls) else None


def _plain(value: Any) -> Any:
    kind: type = type(value)
    if kind in _LEAVES:
        return value
    names = _field_names(kind)
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if kind is list or kind is tuple:
        return kind(_plain(item) for item in value)
    if kind is dict:
        return {key: _plain(item) for key, item in value.items()}
    return value


def event_from_dict(data: dict[str, Any]) -> Event:
    try:
        kind = data["type"]
        fields = {k: v for k, v in data.items() if k != "type"}
        actor = Actor(**fields["actor"]) if fields.get("actor") else None
        if kind == "MessageEvent":
            assert actor is not None
            return MessageEvent(
                platform=fields["platform"],
                event_id=fields["event_id"],
                actor=actor,
                conversation=ConversationRef(**fields["conversation"]),
                text=fields.get("text", ""),
                files=tuple(FileRef(**f) for f in fields.get("files", ())),
                message_id=fields.get("message_id", ""),
                mentioned_bot=bool(fields.get("mentioned_bot", False)),
            )
        if kind == "CardActionEvent":
            assert actor is not None
            conv = fields.get("conversation")
            return CardActionEvent(
                platform=fields["platform"],
                event_id=fields["event_id"],
                actor=actor,
                action=fields["action"],
                form=dict(fields.get("form", {})),
                conversation=ConversationRef(**conv) if conv else None,
                card_ref=dict(fields.get("card_ref", {})),
            )
        if kind == "SystemEvent":
            return SystemEvent(
                platform=fields["platform"], event_id=fields["event_id"], kind=fields["kind"],
                actor=actor,
            )
    except (KeyError, TypeError, AssertionError) as exc:
        raise EventDecodeError(f"malformed event record: {exc}") from exc
    raise EventDecodeError(f"unknown event type: {data.get('type')!r}")
