"""DingTalk over HTTP: robot messages, encrypted event subscriptions and card callbacks.

Each route authenticates before it parses: the robot's HMAC headers, the events' SHA1
signature and AES, and for card callbacks (for which DingTalk publishes no signature) the
unguessable token in the path. Handlers still authorise every card action against storage.
Event pushes carry no freshness window; a replayed push has the same event id and is deduped.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.platforms.base import (
    EMPTY_JSON,
    CardRenderer,
    Decoded,
    HttpReply,
    InboundError,
    InboundRequest,
    Ingested,
)
from bot.platforms.crypto import same
from bot.platforms.dingtalk import payloads
from bot.platforms.dingtalk.cards import inline_response
from bot.platforms.dingtalk.signing import RobotSignatureError, now_ms, verify_robot
from bot.platforms.wxcrypt import ReceiveIdError, SignatureError, WXBizMsgCrypt, WXCryptError

ROBOT_PATH = "/dingtalk/robot"
EVENTS_PATH = "/dingtalk/events"
CARDS_PREFIX = "/dingtalk/cards/"


@dataclass(frozen=True, slots=True)
class _Route:
    kind: Literal["robot", "events", "card"]


class DingtalkInbound:
    """The :class:`~bot.platforms.base.InboundAdapter` for ``mode = "http"``."""

    def __init__(
        self,
        *,
        client_secret: str,
        crypt: WXBizMsgCrypt | None,
        card_token: str,
        render: CardRenderer,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._secret = client_secret
        self._crypt = crypt
        self._card_token = card_token
        self._render = render
        self._clock = clock

    def decode(self, request: InboundRequest) -> Decoded:
        if request.path == ROBOT_PATH:
            return self._robot(request)
        if request.path == EVENTS_PATH:
            return self._events(request)
        if request.path.startswith(CARDS_PREFIX):
            return self._card(request)
        raise InboundError(404, "not a DingTalk route")

    def _robot(self, request: InboundRequest) -> Decoded:
        try:
            verify_robot(
                self._secret, request.header("timestamp"), request.header("sign"), self._clock
            )
        except RobotSignatureError as exc:
            raise InboundError(401, str(exc)) from None
        body = _json(request.body)
        try:
            event = payloads.robot_message(body)
        except payloads.PayloadError as exc:
            raise InboundError(400, str(exc)) from None
        return Decoded(events=[event], context=_Route("robot"))

    def _events(self, request: InboundRequest) -> Decoded:
        if self._crypt is None:
            raise InboundError(404, "event subscription is not configured")
        query = request.query
        signature = query.get("msg_signature") or query.get("signature", "")
        timestamp = query.get("timeStamp") or query.get("timestamp", "")
        nonce = query.get("nonce", "")
        encrypted = _json(request.body).get("encrypt")
        if not isinstance(encrypted, str) or not signature or not timestamp or not nonce:
            raise InboundError(400, "missing encrypt, signature, timestamp or nonce")
        try:
            plain = self._crypt.open(signature, timestamp, nonce, encrypted)
        except (SignatureError, ReceiveIdError) as exc:
            raise InboundError(401, str(exc)) from None
        except WXCryptError as exc:
            raise InboundError(400, str(exc)) from None
        body = _json(plain.encode())
        if body.get("EventType") == "check_url":
            return Decoded(handshake=self._success())
        event = payloads.system_event(body, plain.encode())
        return Decoded(events=[event], context=_Route("events"))

    def _card(self, request: InboundRequest) -> Decoded:
        token = request.path.removeprefix(CARDS_PREFIX)
        if not self._card_token or not same(token, self._card_token):
            raise InboundError(404, "unknown card callback route")
        body = _json(request.body)
        try:
            event = payloads.card_callback(body, payloads.digest(request.body))
        except payloads.PayloadError as exc:
            raise InboundError(400, str(exc)) from None
        return Decoded(events=[event], context=_Route("card"))

    def acknowledge(
        self, decoded: Decoded, results: Sequence[Ingested], budget_exceeded: bool
    ) -> HttpReply:
        route = decoded.context
        if isinstance(route, _Route) and route.kind == "events":
            return self._success()
        if isinstance(route, _Route) and route.kind == "card" and not budget_exceeded:
            inline = results[0].inline if results else None
            return HttpReply.json(inline_response(self._render, inline))
        return EMPTY_JSON

    def _success(self) -> HttpReply:
        """The encrypted "success" DingTalk needs within 1.5 s, check_url included."""
        assert self._crypt is not None
        timestamp = str(int(time.time() * 1000))
        nonce = secrets.token_urlsafe(12)[:16]
        encrypted, signature = self._crypt.seal("success", timestamp, nonce)
        return HttpReply.json(
            {"msg_signature": signature, "timeStamp": timestamp, "nonce": nonce,
             "encrypt": encrypted}
        )


def _json(raw: bytes) -> dict[str, object]:
    try:
        return payloads.load_object(raw)
    except payloads.PayloadError as exc:
        raise InboundError(400, str(exc)) from None
