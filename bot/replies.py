"""Platform-neutral outbound intents that handlers return; adapters render them per platform."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ToastKind = Literal["info", "success", "warning", "error"]


@dataclass(frozen=True, slots=True)
class Recipient:
    """A user (``user_id``) or a chat (``chat_id``) on one platform."""

    platform: str
    user_id: str = ""
    chat_id: str = ""

    def __post_init__(self) -> None:
        if bool(self.user_id) == bool(self.chat_id):
            raise ValueError("a recipient is exactly one of user_id or chat_id")

    @property
    def key(self) -> str:
        return f"{self.platform}:{'u' if self.user_id else 'c'}:{self.user_id or self.chat_id}"


@dataclass(frozen=True, slots=True)
class Text:
    to: Recipient
    text: str


@dataclass(frozen=True, slots=True)
class Card:
    """A card from the catalogue (``cards/<platform>/<name>.json.j2``) rendered from ``data``.

    ``claim_id`` marks a claim's card: every delivered copy is recorded so it can be updated.
    """

    to: Recipient
    name: str
    data: dict[str, Any] = field(default_factory=dict)
    claim_id: str = ""
    lang: str = "zh-CN"


@dataclass(frozen=True, slots=True)
class CardUpdate:
    """Re-render the delivered copies of ``claim_id``'s cards that show template ``match``.

    They become card ``name`` (the same as ``match`` unless the card changes kind, e.g.
    ``approval_request`` → ``approval_decided``) rendered from ``data``. Each copy stays in the
    language it was sent in: ``translations`` holds the data built in other languages, and a
    copy in a language it lacks gets ``data`` in ``lang``.
    """

    claim_id: str
    match: str
    name: str
    data: dict[str, Any] = field(default_factory=dict)
    lang: str = "zh-CN"
    translations: dict[str, dict[str, Any]] = field(default_factory=dict)

    def for_language(self, lang: str) -> tuple[dict[str, Any], str]:
        """The data to render a copy in ``lang`` with, and the language it is in."""
        if lang in self.translations:
            return self.translations[lang], lang
        return self.data, self.lang


@dataclass(frozen=True, slots=True)
class Toast:
    text: str
    kind: ToastKind = "info"


@dataclass(frozen=True, slots=True)
class InlineReply:
    """The synchronous answer to a card callback: a toast and/or the clicker's new card."""

    toast: Toast | None = None
    card_name: str = ""
    card_data: dict[str, Any] = field(default_factory=dict)
    lang: str = "zh-CN"


Outbound = Text | Card | CardUpdate
