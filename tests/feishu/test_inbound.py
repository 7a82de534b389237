"""The webhook's decode/acknowledge over payloads sealed like Feishu's, with a tiny sink."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import pytest

from bot.config_model import FeishuConfig
from bot.events import CardActionEvent, MessageEvent, SystemEvent
from bot.platforms.base import Decoded, HttpReply, InboundError, InboundRequest
from bot.platforms.feishu.inbound import FeishuInbound
from bot.replies import InlineReply, Toast
from cards import render_card
from cards.samples import sample
from tests.fakes.feishu import FeishuCallbacks
from tests.feishu.conftest import TOKEN, RecordingSink, request, sealed
from tests.feishu.test_crypto import GO_SDK_ENCRYPT


@pytest.fixture
def inbound(config: FeishuConfig) -> FeishuInbound:
    return FeishuInbound(config, render_card)


async def deliver(inbound: FeishuInbound, req: InboundRequest, sink: RecordingSink) -> HttpReply:
    """What the HTTP edge does with one request."""
    decoded = inbound.decode(req)
    if decoded.handshake is not None:
        return decoded.handshake
    results = [await sink(event, 2.0) for event in decoded.events]
    return inbound.acknowledge(decoded, results, budget_exceeded=False)


def only_event(decoded: Decoded) -> Any:
    assert len(decoded.events) == 1
    return decoded.events[0]


# -- handshake -------------------------------------------------------------------------------
@pytest.mark.parametrize("encrypted", [True, False])
def test_url_verification_answers_the_plaintext_challenge(
    inbound: FeishuInbound, config: FeishuConfig, encrypted: bool
) -> None:
    callbacks = FeishuCallbacks(TOKEN, config.encrypt_key if encrypted else "")
    body, headers = callbacks.seal(callbacks.url_verification("ch-42"))
    decoded = inbound.decode(request(body, headers))
    assert decoded.handshake is not None
    assert json.loads(decoded.handshake.body) == {"challenge": "ch-42"}
    assert decoded.handshake.content_type == "application/json"


def test_the_go_sdk_vector_is_a_handshake_checked_by_its_header_token(config: FeishuConfig) -> None:
    inbound = FeishuInbound(
        replace(config, verification_token="v", encrypt_key="1212121212"), render_card
    )
    decoded = inbound.decode(request(json.dumps({"encrypt": GO_SDK_ENCRYPT}).encode(), {}))
    assert decoded.handshake is not None
    assert json.loads(decoded.handshake.body) == {"challenge": "1212"}


def test_url_verification_with_a_wrong_token_is_refused(inbound: FeishuInbound) -> None:
    callbacks = FeishuCallbacks("wrong-token", "test-encrypt-key")
    with pytest.raises(InboundError) as err:
        inbound.decode(sealed(callbacks, callbacks.url_verification()))
    assert err.value.status == 401


# -- bad input -------------------------------------------------------------------------------
def test_every_bad_input_is_a_clear_4xx(inbound: FeishuInbound, callbacks: FeishuCallbacks) -> None:
    body, headers = callbacks.seal(callbacks.message("ou_a", {"text": "hi"}))

    def signed(raw: bytes) -> InboundRequest:
        return request(raw, callbacks.headers(raw))

    cases: dict[str, tuple[InboundRequest, int]] = {
        "malformed json": (signed(b"{not json"), 400),
        "json array": (signed(b"[1, 2]"), 400),
        "not utf-8": (signed(b"\xff\xfe"), 400),
        "bad base64": (signed(b'{"encrypt":"%%%"}'), 400),
        "truncated encrypt": (signed(_truncate(body)), 400),
        "encrypt of a non-JSON plaintext": (signed(_envelope(callbacks, b"hello")), 400),
        "missing signature": (request(body, _without(headers, "X-Lark-Signature")), 401),
        "missing nonce": (request(body, _without(headers, "X-Lark-Request-Nonce")), 401),
        "missing timestamp": (request(body, _without(headers, "X-Lark-Request-Timestamp")), 401),
        "wrong signature": (request(body, headers | {"X-Lark-Signature": "0" * 64}), 401),
        "signature of another timestamp": (
            request(body, headers | {"X-Lark-Request-Timestamp": "1"}),
            401,
        ),
        "signed with another key": (request(body, FeishuCallbacks(TOKEN, "k2").headers(body)), 401),
    }
    for name, (req, status) in cases.items():
        with pytest.raises(InboundError) as err:
            inbound.decode(req)
        assert err.value.status == status, name


def test_unsigned_requests_all_get_the_same_answer(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    """No padding oracle: without a valid signature, decryptable or not looks the same."""
    body, _ = callbacks.seal(callbacks.message("ou_a", {"text": "hi"}))
    bodies = [body, _truncate(body), _envelope(callbacks, b"not json"), b'{"encrypt":"%%%"}']
    bodies.append(_flip_last_byte(body))
    answers = set()
    for raw in bodies:
        with pytest.raises(InboundError) as err:
            inbound.decode(request(raw, {}))
        answers.add((err.value.status, err.value.reason))
    assert len(answers) == 1


def test_a_handshake_with_unexpected_signature_headers_is_still_answered(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    body, headers = callbacks.seal(callbacks.url_verification("c-1"))
    decoded = inbound.decode(request(body, headers | {"X-Lark-Signature": "f" * 64}))
    assert decoded.handshake is not None


def test_wrong_token_is_refused_even_when_signed(inbound: FeishuInbound) -> None:
    callbacks = FeishuCallbacks("wrong-token", "test-encrypt-key")
    with pytest.raises(InboundError) as err:
        inbound.decode(sealed(callbacks, callbacks.message("ou_a", {"text": "hi"})))
    assert err.value.status == 401


def test_encrypted_body_without_a_configured_key(config: FeishuConfig) -> None:
    inbound = FeishuInbound(replace(config, encrypt_key=""), render_card)
    callbacks = FeishuCallbacks(TOKEN, "some key")
    with pytest.raises(InboundError) as err:
        inbound.decode(sealed(callbacks, callbacks.message("ou_a", {"text": "hi"})))
    assert err.value.status == 400


def test_an_empty_configured_token_fails_closed(config: FeishuConfig) -> None:
    inbound = FeishuInbound(replace(config, verification_token="", encrypt_key=""), render_card)
    callbacks = FeishuCallbacks("", "")
    with pytest.raises(InboundError):
        inbound.decode(sealed(callbacks, callbacks.url_verification()))


def test_plain_events_without_an_encrypt_key_need_only_the_token(config: FeishuConfig) -> None:
    inbound = FeishuInbound(replace(config, encrypt_key=""), render_card)
    callbacks = FeishuCallbacks(TOKEN)
    event = only_event(inbound.decode(sealed(callbacks, callbacks.message("ou_a", {"text": "x"}))))
    assert isinstance(event, MessageEvent)


def test_an_authenticated_payload_missing_ids_is_a_400(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    payload = callbacks.message("ou_a", {"text": "hi"})
    del payload["event"]["message"]["message_id"]
    with pytest.raises(InboundError) as err:
        inbound.decode(sealed(callbacks, payload))
    assert err.value.status == 400


def _truncate(body: bytes) -> bytes:
    envelope = json.loads(body)["encrypt"]
    return json.dumps({"encrypt": envelope[:-8]}).encode()


def _envelope(callbacks: FeishuCallbacks, plaintext: bytes) -> bytes:
    return json.dumps({"encrypt": callbacks.encrypt(plaintext)}).encode()


def _flip_last_byte(body: bytes) -> bytes:
    raw = bytearray(base64.b64decode(json.loads(body)["encrypt"]))
    raw[-1] ^= 1
    return json.dumps({"encrypt": base64.b64encode(bytes(raw)).decode()}).encode()


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k != name}


# -- messages --------------------------------------------------------------------------------
def test_p2p_text_message(inbound: FeishuInbound, callbacks: FeishuCallbacks) -> None:
    payload = callbacks.message("ou_a", {"text": "报销 打车 45.5 昨天"}, message_id="om_1")
    event = only_event(inbound.decode(sealed(callbacks, payload)))
    assert isinstance(event, MessageEvent)
    assert event.event_id == "msg:om_1"
    assert event.message_id == "om_1"
    assert event.actor.user_id == "ou_a"
    assert event.actor.tenant == callbacks.tenant_key
    assert event.conversation.kind == "p2p"
    assert event.conversation.chat_id == "oc_chat"
    assert event.text == "报销 打车 45.5 昨天"


def _mention(key: str, open_id: str, name: str) -> dict[str, Any]:
    return {"key": key, "id": {"open_id": open_id}, "name": name, "tenant_key": "t"}


def test_group_mentions_resolved_and_the_bots_own_stripped(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    inbound.bot_open_id = "ou_bot"
    mentions = [_mention("@_user_1", "ou_bot", "报销助手"), _mention("@_user_2", "ou_li", "李四")]
    text = {"text": "@_user_1 报销 招待 300 请 @_user_2 审批"}
    payload = callbacks.message("ou_a", text, chat_type="group", mentions=mentions)
    event = only_event(inbound.decode(sealed(callbacks, payload)))
    assert event.conversation.kind == "group"
    assert event.mentioned_bot
    assert event.text == "报销 招待 300 请 @李四 审批"


def test_without_the_bot_id_a_leading_group_mention_is_taken_as_the_bot(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    mentions = [_mention("@_user_1", "ou_x", "报销助手"), _mention("@_user_2", "ou_li", "李四")]
    text = {"text": " @_user_1 找 @_user_2"}
    payload = callbacks.message("ou_a", text, chat_type="group", mentions=mentions)
    event = only_event(inbound.decode(sealed(callbacks, payload)))
    assert event.mentioned_bot
    assert event.text == "找 @李四"


def test_the_leading_guess_takes_the_longest_placeholder(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    mentions = [_mention(f"@_user_{i}", f"ou_{i}", f"U{i}") for i in range(1, 11)]
    payload = callbacks.message(
        "ou_a", {"text": "@_user_10 找 @_user_1"}, chat_type="group", mentions=mentions
    )
    assert only_event(inbound.decode(sealed(callbacks, payload))).text == "找 @U1"


def test_placeholders_with_common_prefixes(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    inbound.bot_open_id = "ou_bot"
    mentions = [_mention(f"@_user_{i}", f"ou_{i}", f"U{i}") for i in range(1, 11)]
    payload = callbacks.message("ou_a", {"text": "@_user_10 @_user_1"}, mentions=mentions)
    assert only_event(inbound.decode(sealed(callbacks, payload))).text == "@U10 @U1"


def test_image_and_file_messages_carry_file_refs(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    image = callbacks.message("ou_a", {"image_key": "img_1"}, msg_type="image", message_id="om_i")
    file = callbacks.message(
        "ou_a", {"file_key": "file_1", "file_name": "发票.pdf"}, msg_type="file", message_id="om_f"
    )
    got_image = only_event(inbound.decode(sealed(callbacks, image)))
    got_file = only_event(inbound.decode(sealed(callbacks, file)))
    assert [(f.kind, f.handle, f.message_id) for f in got_image.files] == [
        ("image", "img_1", "om_i")
    ]
    assert [(f.kind, f.handle, f.name) for f in got_file.files] == [("file", "file_1", "发票.pdf")]


POST_BODY = {
    "title": "差旅报销",
    "content": [
        [
            {"tag": "at", "user_id": "@_user_1", "user_name": ""},
            {"tag": "text", "text": " 报销 高铁 ", "style": ["bold"]},
            {"tag": "a", "href": "https://x", "text": "553.5"},
        ],
        [{"tag": "img", "image_key": "img_post"}],
        [{"tag": "media", "file_key": "file_video", "image_key": "img_cover"}],
        [{"tag": "emotion", "emoji_type": "SMILE"}, {"tag": "hr"}],
    ],
}


@pytest.mark.parametrize("content", [POST_BODY, {"zh_cn": POST_BODY}], ids=["bare", "locale"])
def test_rich_text_posts_in_both_received_shapes(
    inbound: FeishuInbound, callbacks: FeishuCallbacks, content: dict[str, Any]
) -> None:
    inbound.bot_open_id = "ou_bot"
    mentions = [_mention("@_user_1", "ou_bot", "报销助手")]
    payload = callbacks.message("ou_a", content, msg_type="post", mentions=mentions)
    event = only_event(inbound.decode(sealed(callbacks, payload)))
    assert event.text == "差旅报销\n报销 高铁 553.5"
    assert event.mentioned_bot
    assert [(f.kind, f.handle) for f in event.files] == [
        ("image", "img_post"),
        ("file", "file_video"),
    ]


def test_unsupported_message_types_arrive_empty(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    payload = callbacks.message("ou_a", {"file_key": "s"}, msg_type="sticker")
    event = only_event(inbound.decode(sealed(callbacks, payload)))
    assert (event.text, event.files) == ("", ())


# -- card actions ----------------------------------------------------------------------------
def test_card_action_becomes_a_neutral_event(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    payload = callbacks.card_action(
        "ou_boss",
        {"a": "reject:BX-2026-000123:4"},
        form_value={"reason": "票据不全", "tags": ["a", "b"], "n": 3},
        message_id="om_card",
        chat_id="oc_1",
        token="c-tok",
        event_id="e-1",
    )
    event = only_event(inbound.decode(sealed(callbacks, payload, path="/feishu/cards")))
    assert isinstance(event, CardActionEvent)
    assert event.event_id == "evt:e-1"
    assert event.action == "reject:BX-2026-000123:4"
    assert event.actor.user_id == "ou_boss"
    assert event.form == {"reason": "票据不全", "tags": "a,b", "n": "3"}
    assert event.card_ref == {"message_id": "om_card", "chat_id": "oc_1", "token": "c-tok"}


def test_a_click_without_our_payload_is_acknowledged_and_ignored(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    for value in (None, {"other": 1}, {"a": 5}):
        decoded = inbound.decode(sealed(callbacks, callbacks.card_action("ou_a", value)))
        assert decoded.events == []
        assert inbound.acknowledge(decoded, [], budget_exceeded=False).body == b"{}"


async def test_card_answer_carries_toast_and_rendered_card(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    card_data = sample("approval_decided")
    sink = RecordingSink(
        InlineReply(Toast("已同意", "success"), card_name="approval_decided", card_data=card_data)
    )
    payload = callbacks.card_action("ou_boss", {"a": "approve:BX-2026-000123:4"})
    reply = await deliver(inbound, sealed(callbacks, payload), sink)
    answer = json.loads(reply.body)
    assert reply.status == 200
    assert answer["toast"] == {"type": "success", "content": "已同意"}
    assert answer["card"]["type"] == "raw"
    assert answer["card"]["data"] == render_card("feishu", "approval_decided", card_data)
    assert answer["card"]["data"]["schema"] == "2.0"


async def test_card_answer_survives_a_template_that_fails(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    sink = RecordingSink(InlineReply(Toast("好"), card_name="no_such_card"))
    payload = callbacks.card_action("ou_boss", {"a": "approve:BX-1:1"})
    answer = json.loads((await deliver(inbound, sealed(callbacks, payload), sink)).body)
    assert answer == {"toast": {"type": "info", "content": "好"}}


def test_budget_exceeded_gets_a_working_toast(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    decoded = inbound.decode(sealed(callbacks, callbacks.card_action("ou_a", {"a": "x:1:1"})))
    answer = json.loads(inbound.acknowledge(decoded, [], budget_exceeded=True).body)
    assert answer["toast"]["type"] == "info"


# -- other events and duplicates -------------------------------------------------------------
def test_unknown_event_types_are_acknowledged_with_no_events(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    payload = callbacks.envelope("drive.file.edit_v1", {"file_token": "x"})
    decoded = inbound.decode(sealed(callbacks, payload))
    assert decoded.events == []
    reply = inbound.acknowledge(decoded, [], budget_exceeded=False)
    assert (reply.status, reply.body) == (200, b"{}")


def test_schema_one_events_are_acknowledged_and_ignored(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    payload = {
        "uuid": "u1",
        "token": TOKEN,
        "ts": "1.0",
        "type": "event_callback",
        "event": {"type": "p2p_chat_create"},
    }
    assert inbound.decode(sealed(callbacks, payload)).events == []


def test_bot_added_is_a_system_event(inbound: FeishuInbound, callbacks: FeishuCallbacks) -> None:
    payload = callbacks.envelope("im.chat.member.bot.added_v1", {"chat_id": "oc"}, event_id="e9")
    event = only_event(inbound.decode(sealed(callbacks, payload)))
    assert event == SystemEvent("feishu", "evt:e9", "bot_added")


async def test_a_message_delivered_three_times_has_one_effect(
    inbound: FeishuInbound, callbacks: FeishuCallbacks, sink: RecordingSink
) -> None:
    payload = callbacks.message("ou_a", {"text": "报销 打车 45"}, message_id="om_dup")
    replies: list[HttpReply] = []
    for _ in range(3):
        payload["header"]["event_id"] = f"redelivery-{len(replies)}"  # Feishu may change it
        replies.append(await deliver(inbound, sealed(callbacks, payload), sink))
    assert len(sink.events) == 1
    assert {(r.status, r.body) for r in replies} == {(200, b"{}")}


def test_a_titled_group_post_drops_the_leading_mention_without_the_bot_id(
    inbound: FeishuInbound, callbacks: FeishuCallbacks
) -> None:
    mentions = [_mention("@_user_1", "ou_x", "报销助手")]
    payload = callbacks.message(
        "ou_a", POST_BODY, msg_type="post", chat_type="group", mentions=mentions
    )
    event = only_event(inbound.decode(sealed(callbacks, payload)))
    assert event.text == "差旅报销\n报销 高铁 553.5"
    assert event.mentioned_bot
