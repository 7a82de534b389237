"""``GET, POST /wecom/callback``: URL verification, encrypted XML in, neutral events out.

Every request is verified (signature in constant time, timestamp window), decrypted with our
EncodingAESKey and checked against our CorpID before anything is parsed into events. A card
click may be answered with an encrypted passive ``update_button`` reply; everything else gets
an empty 200 (WeCom's "no reply").
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl
from xml.etree.ElementTree import Element

from bot.events import (
    Actor,
    CardActionEvent,
    ConversationRef,
    Event,
    FileRef,
    MessageEvent,
    SystemEvent,
)
from bot.platforms.base import (
    CardRenderer,
    Decoded,
    HttpReply,
    InboundError,
    InboundRequest,
    Ingested,
)
from bot.platforms.wecom import xml
from bot.platforms.wxcrypt import SignatureError, WXBizMsgCrypt, WXCryptError
from bot.replies import InlineReply
from cards import CardError
from cards.i18n import translate

log = logging.getLogger("claimbot.wecom")

PLATFORM = "wecom"
MAX_SKEW = 600.0  # seconds between WeCom's timestamp and our clock; bounds replays
MAX_LABEL = 20  # characters of a greyed-out button's label
CARD_EVENTS = frozenset({"template_card_event", "template_card_menu_event"})


@dataclass(frozen=True, slots=True)
class _Callback:
    """What the acknowledgement needs: the request's timestamp and nonce, and who clicked."""

    timestamp: str
    nonce: str
    user_id: str


class WecomInbound:
    def __init__(
        self,
        crypt: WXBizMsgCrypt,
        corp_id: str,
        render: CardRenderer,
        *,
        clock: Callable[[], float] = time.time,
        max_skew: float = MAX_SKEW,
    ) -> None:
        self._crypt = crypt
        self._corp_id = corp_id
        self._render = render
        self._clock = clock
        self._max_skew = max_skew

    def decode(self, request: InboundRequest) -> Decoded:
        signature, timestamp, nonce = self._signed_query(request)
        if request.method == "GET":
            echostr = request.query.get("echostr", "").replace(" ", "+")
            if not echostr:
                raise InboundError(400, "missing echostr")
            plain = self._open(signature, timestamp, nonce, echostr)
            return Decoded(handshake=HttpReply.text(plain))
        try:
            encrypted = xml.text(xml.parse(request.body), "Encrypt")
        except xml.XMLError as exc:
            status = 413 if len(request.body) > xml.MAX_XML_BYTES else 400
            raise InboundError(status, str(exc)) from None
        if not encrypted:
            raise InboundError(400, "missing Encrypt")
        message = self._parse_message(self._open(signature, timestamp, nonce, encrypted))
        event = to_event(message, self._corp_id)
        user_id = xml.text(message, "FromUserName")
        return Decoded(events=[event], context=_Callback(timestamp, nonce, user_id))

    def acknowledge(
        self, decoded: Decoded, results: Sequence[Ingested], budget_exceeded: bool
    ) -> HttpReply:
        callback = decoded.context
        inline = next((r.inline for r in results if r.inline is not None), None)
        clicked = any(isinstance(e, CardActionEvent) for e in decoded.events)
        if not clicked or inline is None or not isinstance(callback, _Callback):
            return HttpReply()
        label = self._button_label(inline)
        plain = xml.update_button(callback.user_id, self._corp_id, int(self._clock()), label)
        encrypted, signature = self._crypt.seal(plain, callback.timestamp, callback.nonce)
        body = xml.envelope(encrypted, signature, callback.timestamp, callback.nonce)
        return HttpReply(body=body.encode(), content_type="application/xml")

    def _signed_query(self, request: InboundRequest) -> tuple[str, str, str]:
        query = request.query
        signature, timestamp = query.get("msg_signature", ""), query.get("timestamp", "")
        nonce = query.get("nonce", "")
        if not (signature and timestamp and nonce):
            raise InboundError(400, "missing msg_signature, timestamp or nonce")
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            raise InboundError(400, "bad timestamp")
        if abs(self._clock() - int(timestamp)) > self._max_skew:
            raise InboundError(401, "timestamp outside the allowed window")
        return signature, timestamp, nonce

    def _open(self, signature: str, timestamp: str, nonce: str, encrypted: str) -> str:
        try:
            return self._crypt.open(signature, timestamp, nonce, encrypted)
        except SignatureError:
            raise InboundError(401, "bad signature") from None
        except WXCryptError as exc:
            raise InboundError(400, str(exc)) from None

    @staticmethod
    def _parse_message(plain: str) -> Element:
        try:
            return xml.parse(plain)
        except xml.XMLError as exc:
            raise InboundError(400, f"decrypted message: {exc}") from None

    def _button_label(self, inline: InlineReply) -> str:
        """The passive reply can only relabel the clicked card's buttons: pick the best words."""
        label = ""
        if inline.card_name:
            try:
                card = self._render(PLATFORM, inline.card_name, inline.card_data, inline.lang)
            except CardError:
                log.exception("inline card %s does not render", inline.card_name)
            else:
                label = str(card.get("template_card", {}).get("replace_text", ""))
        if not label and inline.toast is not None:
            label = inline.toast.text
        label = label or translate("processed", inline.lang)
        return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def to_event(message: Element, corp_id: str) -> Event:
    """Map one decrypted WeCom message or event to a neutral event."""
    user_id = xml.text(message, "FromUserName")
    if not user_id:
        raise InboundError(400, "message without FromUserName")
    actor = Actor(PLATFORM, user_id, tenant=corp_id)
    chat = ConversationRef(PLATFORM, user_id, "p2p")
    kind = xml.text(message, "MsgType")
    if kind == "event":
        return _event(message, actor, chat)
    msg_id = xml.text(message, "MsgId")
    created = xml.text(message, "CreateTime")
    event_id = (
        f"msg:{msg_id}"
        if msg_id
        else event_key(user_id, created, kind, xml.text(message, "Content"))
    )
    if kind == "text":
        text = xml.text(message, "Content")
        return MessageEvent(PLATFORM, event_id, actor, chat, text=text, message_id=msg_id)
    if kind == "image":
        image = FileRef("image", xml.text(message, "MediaId"), message_id=msg_id)
        return MessageEvent(PLATFORM, event_id, actor, chat, files=(image,), message_id=msg_id)
    return SystemEvent(PLATFORM, event_id, f"message:{kind or 'unknown'}", actor)


def _event(message: Element, actor: Actor, chat: ConversationRef) -> Event:
    name = xml.text(message, "Event")
    key, task_id = xml.text(message, "EventKey"), xml.text(message, "TaskId")
    event_id = event_key(actor.user_id, xml.text(message, "CreateTime"), name, key, task_id)
    if name not in CARD_EVENTS or not key:
        return SystemEvent(PLATFORM, event_id, name or "unknown", actor)
    card_ref = {
        "task_id": task_id,
        "response_code": xml.text(message, "ResponseCode"),
        "card_type": xml.text(message, "CardType"),
        "user_id": actor.user_id,
    }
    action, form = button_key(key, selected_items(message))
    return CardActionEvent(
        PLATFORM,
        event_id,
        actor,
        action,
        form=form,
        conversation=chat,
        card_ref={k: v for k, v in card_ref.items() if v},
    )


def button_key(key: str, selected: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Split ``payload?name=value`` into the action payload and the form.

    A card's dropdowns are submitted with every button, so a button whose click must not carry
    one (approve, beside the reject reasons) presets that field in its key; presets win.
    """
    action, _, preset = key.partition("?")
    return action, {**selected, **dict(parse_qsl(preset, keep_blank_values=True))}


def event_key(*parts: str) -> str:
    """Events carry no MsgId: WeCom's retries repeat sender, time, event, key and task id."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"evt:{digest[:40]}"


def selected_items(message: Element) -> dict[str, str]:
    """``SelectedItems`` as ``{question_key: option id}`` (several ids joined with commas)."""
    form: dict[str, str] = {}
    for item in message.iter("SelectedItem"):
        question = xml.text(item, "QuestionKey")
        options = [(o.text or "").strip() for o in item.iter("OptionId")]
        if question:
            form[question] = ",".join(o for o in options if o)
    return form
