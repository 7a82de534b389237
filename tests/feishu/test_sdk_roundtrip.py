"""lark-oapi as the independent reference, in both directions.

What our fake seals (the same bytes the adapter tests use), lark-oapi's own
``EventDispatcherHandler`` accepts and routes; what lark-oapi accepts or rejects, our adapter
accepts or rejects too; and the two decryptors agree on arbitrary payloads.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config_model import FeishuConfig
from bot.events import CardActionEvent, MessageEvent
from bot.platforms.base import InboundError
from bot.platforms.feishu import crypto
from bot.platforms.feishu.inbound import FeishuInbound
from cards import render_card
from tests.fakes.feishu import FeishuCallbacks
from tests.feishu.conftest import KEY, TOKEN, request

lark = pytest.importorskip("lark_oapi")  # imported once for this module (4–5 s)
from lark_oapi.core.utils import AESCipher  # noqa: E402
from lark_oapi.event.callback.model.p2_card_action_trigger import (  # noqa: E402
    P2CardActionTriggerResponse,
)


class Received:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.cards: list[Any] = []


def lark_handler(received: Received) -> Any:
    def on_message(data: Any) -> None:
        received.messages.append(data)

    def on_card(data: Any) -> Any:
        received.cards.append(data)
        return P2CardActionTriggerResponse({"toast": {"type": "info", "content": "ok"}})

    return (
        lark.EventDispatcherHandler.builder(KEY, TOKEN)
        .register_p2_im_message_receive_v1(on_message)
        .register_p2_card_action_trigger(on_card)
        .build()
    )


def lark_do(handler: Any, body: bytes, headers: dict[str, str]) -> Any:
    raw = lark.RawRequest()
    raw.uri = "/feishu/events"
    raw.body = body
    raw.headers = headers  # lark reads the exact-case names Feishu sends
    return handler.do(raw)


@pytest.fixture
def inbound(config: FeishuConfig) -> FeishuInbound:
    return FeishuInbound(config, render_card)


def test_lark_accepts_our_sealed_message_and_both_read_it_alike(
    callbacks: FeishuCallbacks, inbound: FeishuInbound
) -> None:
    received = Received()
    payload = callbacks.message("ou_a", {"text": "报销 打车 45.5"}, message_id="om_rt")
    body, headers = callbacks.seal(payload)
    response = lark_do(lark_handler(received), body, headers)
    assert response.status_code == 200, response.content
    sdk = received.messages[0].event
    ours = inbound.decode(request(body, headers)).events[0]
    assert isinstance(ours, MessageEvent)
    assert ours.message_id == sdk.message.message_id == "om_rt"
    assert ours.actor.user_id == sdk.sender.sender_id.open_id
    assert ours.text == json.loads(sdk.message.content)["text"]


def test_lark_accepts_our_sealed_card_action_and_both_read_it_alike(
    callbacks: FeishuCallbacks, inbound: FeishuInbound
) -> None:
    received = Received()
    payload = callbacks.card_action(
        "ou_boss", {"a": "approve:BX-1:2"}, form_value={"reason": "ok"}, token="c-9"
    )
    body, headers = callbacks.seal(payload)
    response = lark_do(lark_handler(received), body, headers)
    assert response.status_code == 200, response.content
    sdk = received.cards[0].event
    ours = inbound.decode(request(body, headers)).events[0]
    assert isinstance(ours, CardActionEvent)
    assert ours.action == sdk.action.value["a"]
    assert ours.form == sdk.action.form_value
    assert ours.card_ref["token"] == sdk.token
    assert ours.card_ref["message_id"] == sdk.context.open_message_id


def test_lark_answers_our_sealed_handshake_with_the_same_challenge(
    callbacks: FeishuCallbacks, inbound: FeishuInbound
) -> None:
    body, headers = callbacks.seal(callbacks.url_verification("c-77"))
    sdk = json.loads(lark_do(lark_handler(Received()), body, headers).content)
    ours = inbound.decode(request(body, headers)).handshake
    assert ours is not None
    assert sdk == json.loads(ours.body) == {"challenge": "c-77"}


@pytest.mark.parametrize(
    "tamper",
    ["signature", "timestamp", "body", "token"],
)
def test_what_lark_rejects_we_reject(
    callbacks: FeishuCallbacks, inbound: FeishuInbound, tamper: str
) -> None:
    sealer = FeishuCallbacks("not-the-token", KEY) if tamper == "token" else callbacks
    body, headers = sealer.seal(sealer.message("ou_a", {"text": "x"}))
    if tamper == "signature":
        headers["X-Lark-Signature"] = headers["X-Lark-Signature"][::-1]
    elif tamper == "timestamp":
        headers["X-Lark-Request-Timestamp"] += "1"
    elif tamper == "body":
        body = body.replace(b'{"encrypt":"', b'{"encrypt": "')
    assert lark_do(lark_handler(Received()), body, headers).status_code == 500
    with pytest.raises(InboundError):
        inbound.decode(request(body, headers))


def test_our_card_answer_is_a_valid_lark_response() -> None:
    card = render_card("feishu", "help", {"title": "帮助", "lines": ["a"]})
    answer = {"toast": {"type": "success", "content": "好"}, "card": {"type": "raw", "data": card}}
    marshalled = lark.JSON.marshal(P2CardActionTriggerResponse(answer))
    assert json.loads(marshalled) == answer


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=0, max_size=500), st.text(min_size=1, max_size=30))
def test_our_encryption_decrypts_with_lark(plaintext: bytes, key: str) -> None:
    envelope = crypto.encrypt(key, plaintext)
    assert AESCipher(key).decrypt(base64.b64decode(envelope)) == plaintext


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=32, max_size=96).filter(lambda b: len(b) % 16 == 0))
def test_both_decryptors_accept_and_reject_the_same_ciphertexts(raw: bytes) -> None:
    envelope = base64.b64encode(raw).decode()
    try:
        expected: bytes | None = AESCipher(KEY).decrypt(raw)
    except ValueError:
        expected = None
    try:
        ours: bytes | None = crypto.decrypt(KEY, envelope)
    except ValueError:
        ours = None
    assert ours == expected
