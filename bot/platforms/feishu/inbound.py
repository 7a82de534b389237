"""``POST /feishu/events`` and ``/feishu/cards``: handshake, verify, decrypt, parse, answer.

Order of checks: the body must be a JSON object; when an Encrypt Key is configured the
signature over the raw bytes is checked before anything is decrypted; then the ``encrypt``
envelope is opened (strict PKCS#7) and the verification token compared in constant time, on
every request, the handshake included. Feishu does not sign the ``url_verification``
handshake, so an unsigned request is accepted only when it is one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from bot.config_model import FeishuConfig
from bot.platforms.base import (
    EMPTY_JSON,
    CardRenderer,
    Decoded,
    HttpReply,
    InboundError,
    InboundRequest,
    Ingested,
)
from bot.platforms.crypto import CryptoError, same
from bot.platforms.feishu import crypto
from bot.platforms.feishu.parse import PayloadError, obj, parse_event, text
from bot.replies import InlineReply
from cards.i18n import translate

log = logging.getLogger(__name__)

CARD_EVENT = "card.action.trigger"
SIGNATURE_HEADERS = ("x-lark-request-timestamp", "x-lark-request-nonce", "x-lark-signature")
Kind = Literal["event", "card"]


class FeishuInbound:
    def __init__(self, config: FeishuConfig, render: CardRenderer) -> None:
        self._config = config
        self._render = render
        self.bot_open_id = ""  # learned from bot/v3/info; sharpens mention stripping

    def decode(self, request: InboundRequest) -> Decoded:
        envelope = _json_object(request.body, "body")
        if self._config.encrypt_key and not self._signed(request):
            return self._unsigned_handshake(envelope)
        payload = self._open(envelope)
        self._check_token(_token(payload))
        if text(payload, "type") == "url_verification":
            return _handshake(payload)
        return self.decode_payload(payload)

    def decode_payload(self, payload: Mapping[str, Any]) -> Decoded:
        """Events of an authenticated payload (the long connection enters here directly)."""
        kind: Kind = "card" if text(obj(payload, "header"), "event_type") == CARD_EVENT else "event"
        try:
            event = parse_event(payload, self.bot_open_id)
        except PayloadError as exc:
            raise InboundError(400, f"malformed event: {exc}") from exc
        return Decoded(events=[event] if event else [], context=kind)

    def acknowledge(
        self, decoded: Decoded, results: Sequence[Ingested], budget_exceeded: bool
    ) -> HttpReply:
        if decoded.context != "card":
            return EMPTY_JSON
        inline = next((r.inline for r in results if r.inline is not None), None)
        return HttpReply.json(self.card_answer(inline, budget_exceeded))

    def card_answer(self, inline: InlineReply | None, budget_exceeded: bool) -> dict[str, Any]:
        """The body of a ``card.action.trigger`` answer: ``{}``, a toast, and/or a new card."""
        if inline is None:
            if not budget_exceeded:
                return {}
            return {"toast": {"type": "info", "content": translate("working")}}
        answer: dict[str, Any] = {}
        if inline.toast is not None:
            answer["toast"] = {"type": inline.toast.kind, "content": inline.toast.text}
        if inline.card_name:
            try:
                card = self._render("feishu", inline.card_name, inline.card_data, inline.lang)
            except Exception:
                # A card that fails to render must not turn the click into an error.
                log.exception("feishu: rendering inline card %r failed", inline.card_name)
            else:
                answer["card"] = {"type": "raw", "data": card}
        return answer

    def _open(self, payload: dict[str, Any]) -> dict[str, Any]:
        if "encrypt" not in payload:
            return payload
        if not self._config.encrypt_key:
            raise InboundError(400, "encrypted event but no encrypt_key is configured")
        try:
            plaintext = crypto.decrypt(self._config.encrypt_key, text(payload, "encrypt"))
        except CryptoError as exc:
            raise InboundError(400, f"cannot decrypt: {exc}") from exc
        return _json_object(plaintext, "decrypted event")

    def _check_token(self, token: str) -> None:
        expected = self._config.verification_token
        if not (expected and token and same(expected, token)):
            raise InboundError(401, "invalid verification token")

    def _signed(self, request: InboundRequest) -> bool:
        timestamp, nonce, signature = (request.header(h) for h in SIGNATURE_HEADERS)
        if not (timestamp and nonce and signature):
            return False
        expected = crypto.signature(timestamp, nonce, self._config.encrypt_key, request.body)
        return same(expected, signature.lower())

    def _unsigned_handshake(self, envelope: dict[str, Any]) -> Decoded:
        """Feishu signs everything but the handshake (whose headers, if any, the SDK ignores).
        Any other request without a valid signature gets one and the same answer, whether or
        not it decrypts, so the endpoint is no padding oracle."""
        try:
            payload = self._open(envelope)
            self._check_token(_token(payload))
        except InboundError:
            payload = {}
        if text(payload, "type") != "url_verification":
            raise InboundError(401, "missing or invalid X-Lark signature")
        return _handshake(payload)


def _token(payload: Mapping[str, Any]) -> str:
    return text(obj(payload, "header"), "token") or text(payload, "token")


def _handshake(payload: Mapping[str, Any]) -> Decoded:
    return Decoded(handshake=HttpReply.json({"challenge": text(payload, "challenge")}))


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        payload = json.loads(raw)
    # ValueError: bad JSON, bad UTF-8, or an integer of more than 4300 digits; RecursionError: [[[[…
    except (ValueError, RecursionError) as exc:
        raise InboundError(400, f"{what} is not JSON") from exc
    if not isinstance(payload, dict):
        raise InboundError(400, f"{what} is not a JSON object")
    return payload
