"""Callbacks in: URL verification, messages, card clicks, and every kind of bad input."""

from __future__ import annotations

import time

import pytest

from bot.events import CardActionEvent, MessageEvent, SystemEvent
from bot.platforms.base import Decoded, InboundError, InboundRequest, Ingested
from bot.platforms.wecom.inbound import WecomInbound
from bot.platforms.wxcrypt import WXBizMsgCrypt
from bot.replies import InlineReply, Toast
from cards.samples import sample
from tests.fakes.wecom import WecomCallbacks
from tests.wecom.conftest import AES_KEY, CORP_ID, TOKEN

OTHER_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


def post(query: dict[str, str], body: bytes) -> InboundRequest:
    return InboundRequest("POST", "/wecom/callback", {"content-type": "text/xml"}, query, body)


def deliver(inbound: WecomInbound, callbacks: WecomCallbacks, plaintext: str) -> Decoded:
    return inbound.decode(post(*callbacks.seal(plaintext)))


def refused(inbound: WecomInbound, request: InboundRequest) -> InboundError:
    with pytest.raises(InboundError) as caught:
        inbound.decode(request)
    assert 400 <= caught.value.status < 500
    return caught.value


# -- URL verification ----------------------------------------------------------------------


def test_url_verification_answers_the_plaintext(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    query, echo = callbacks.verification()
    decoded = inbound.decode(InboundRequest("GET", "/wecom/callback", {}, query, b""))
    assert decoded.handshake is not None
    assert decoded.handshake.body == echo.encode()
    assert decoded.handshake.content_type == "text/plain"
    assert decoded.events == []


def test_url_verification_survives_plus_decoded_as_space(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    query, echo = "", ""
    while "+" not in query:  # keep drawing until the ciphertext has a "+" to lose
        params, echo = callbacks.verification()
        query = params["echostr"]
    params["echostr"] = query.replace("+", " ")
    decoded = inbound.decode(InboundRequest("GET", "/wecom/callback", {}, params, b""))
    assert decoded.handshake is not None
    assert decoded.handshake.body == echo.encode()


def test_url_verification_with_a_bad_signature_is_refused(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    query, _ = callbacks.verification()
    query["msg_signature"] = "0" * 40
    assert refused(inbound, InboundRequest("GET", "/", {}, query, b"")).status == 401


# -- messages and events -------------------------------------------------------------------


def test_text_message(inbound: WecomInbound, callbacks: WecomCallbacks) -> None:
    decoded = deliver(inbound, callbacks, callbacks.text("zhangsan", "hi", msg_id="123"))
    [event] = decoded.events
    assert isinstance(event, MessageEvent)
    assert (event.event_id, event.text, event.message_id) == ("msg:123", "hi", "123")
    assert (event.actor.user_id, event.actor.tenant) == ("zhangsan", CORP_ID)
    assert (event.conversation.chat_id, event.conversation.kind) == ("zhangsan", "p2p")


def test_a_chinese_body_round_trips(inbound: WecomInbound, callbacks: WecomCallbacks) -> None:
    text = "报销 打车 45.5 昨天 去客户现场 🚕 「你好」 ]]> <b>&amp;"
    [event] = deliver(inbound, callbacks, callbacks.text("张三", text)).events
    assert isinstance(event, MessageEvent)
    assert (event.text, event.actor.user_id) == (text, "张三")


def test_image_message_carries_its_media_id(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    [event] = deliver(inbound, callbacks, callbacks.image("zhangsan", "MEDIA_1", msg_id="9")).events
    assert isinstance(event, MessageEvent)
    assert [(f.kind, f.handle, f.message_id) for f in event.files] == [("image", "MEDIA_1", "9")]


def test_card_click_becomes_a_card_action(inbound: WecomInbound, callbacks: WecomCallbacks) -> None:
    xml = callbacks.card_click(
        "lisi",
        "reject:BX-2026-000123:4",
        "approval_request-1-ab",
        "RC1",
        selected={"reason": ["票据不全"]},
    )
    [event] = deliver(inbound, callbacks, xml).events
    assert isinstance(event, CardActionEvent)
    assert event.action == "reject:BX-2026-000123:4"
    assert event.form == {"reason": "票据不全"}
    assert event.card_ref == {
        "task_id": "approval_request-1-ab",
        "response_code": "RC1",
        "card_type": "button_interaction",
        "user_id": "lisi",
    }
    assert event.event_id.startswith("evt:")


@pytest.mark.parametrize(
    ("key", "action", "form"),
    [
        ("reject:BX-1:4", "reject:BX-1:4", {"reason": "other"}),
        ("approve:BX-1:4?reason=", "approve:BX-1:4", {"reason": ""}),
        ("return:BX-1:4?reason=%E7%A5%A8&x=1", "return:BX-1:4", {"reason": "票", "x": "1"}),
    ],
)
def test_a_button_key_may_preset_form_fields(
    inbound: WecomInbound, callbacks: WecomCallbacks, key: str, action: str, form: dict[str, str]
) -> None:
    xml = callbacks.card_click("lisi", key, "t", "RC", selected={"reason": ["other"]})
    [event] = deliver(inbound, callbacks, xml).events
    assert isinstance(event, CardActionEvent)
    assert (event.action, event.form) == (action, form)


def test_other_events_are_system_events(inbound: WecomInbound, callbacks: WecomCallbacks) -> None:
    [event] = deliver(inbound, callbacks, callbacks.event("zhangsan", "enter_agent")).events
    assert isinstance(event, SystemEvent)
    assert (event.kind, event.event_id[:4]) == ("enter_agent", "evt:")


def test_unsupported_message_types_are_system_events(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    xml = callbacks.text("u", "x", msg_id="5").replace("[text]", "[voice]")
    [event] = deliver(inbound, callbacks, xml).events
    assert isinstance(event, SystemEvent)
    assert (event.kind, event.event_id) == ("message:voice", "msg:5")


# -- duplicates ----------------------------------------------------------------------------


def test_a_retried_message_has_the_same_event_id(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    xml = callbacks.text("zhangsan", "报销 打车 45.5")
    first, second = deliver(inbound, callbacks, xml), deliver(inbound, callbacks, xml)
    assert first.events[0].event_id == second.events[0].event_id


def test_a_retried_click_has_the_same_event_id(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    xml = callbacks.card_click("lisi", "approve:BX-1:4", "t-1", "RC", at=1_700_000_000)
    retry = xml.replace("RC", "RC-renewed")  # a redelivery may carry a fresh ResponseCode
    first, second = deliver(inbound, callbacks, xml), deliver(inbound, callbacks, retry)
    assert first.events[0].event_id == second.events[0].event_id


def test_different_clicks_have_different_event_ids(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    ids = {
        deliver(inbound, callbacks, callbacks.card_click(user, key, task, "RC", at=at))
        .events[0]
        .event_id
        for user, key, task, at in [
            ("lisi", "approve:BX-1:4", "t-1", 1),
            ("lisi", "reject:BX-1:4", "t-1", 1),
            ("wang", "approve:BX-1:4", "t-1", 1),
            ("lisi", "approve:BX-1:4", "t-2", 1),
            ("lisi", "approve:BX-1:4", "t-1", 2),
        ]
    }
    assert len(ids) == 5


def test_message_and_event_ids_cannot_collide(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    message = deliver(inbound, callbacks, callbacks.text("u", "x")).events[0]
    event = deliver(inbound, callbacks, callbacks.event("u", "enter_agent")).events[0]
    assert message.event_id.startswith("msg:")
    assert event.event_id.startswith("evt:")


# -- bad input -----------------------------------------------------------------------------


def test_bad_signature(inbound: WecomInbound, callbacks: WecomCallbacks) -> None:
    query, body = callbacks.seal(callbacks.text("u", "x"))
    query["msg_signature"] = query["msg_signature"][::-1]
    assert refused(inbound, post(query, body)).status == 401


def test_wrong_key(inbound: WecomInbound) -> None:
    stranger = WecomCallbacks(TOKEN, OTHER_KEY, CORP_ID)
    assert refused(inbound, post(*stranger.seal(stranger.text("u", "x")))).status == 400


def test_truncated_ciphertext(inbound: WecomInbound, callbacks: WecomCallbacks) -> None:
    encrypted = callbacks.encrypt(callbacks.text("u", "x"))[:-24] + "=="
    query = {"timestamp": str(int(time.time())), "nonce": "1"}
    query["msg_signature"] = callbacks.sign(query["timestamp"], "1", encrypted)
    body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
    assert refused(inbound, post(query, body)).status == 400


def test_wrong_receive_id(inbound: WecomInbound) -> None:
    other_corp = WecomCallbacks(TOKEN, AES_KEY, "ww_other_corp")
    error = refused(inbound, post(*other_corp.seal(other_corp.text("u", "x"))))
    assert (error.status, error.reason) == (400, "receive id mismatch")


def test_malformed_outer_xml(inbound: WecomInbound, callbacks: WecomCallbacks) -> None:
    query, _ = callbacks.seal("<xml/>")
    assert refused(inbound, post(query, b"<xml><Encrypt>abc</Encrypt")).status == 400


def test_malformed_decrypted_xml(inbound: WecomInbound, callbacks: WecomCallbacks) -> None:
    assert refused(inbound, post(*callbacks.seal("<xml><MsgType>text"))).status == 400


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + "]><xml><Encrypt>&i;</Encrypt></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<xml><Encrypt>&x;</Encrypt></xml>"
)


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_entity_attacks_on_the_envelope(
    inbound: WecomInbound, callbacks: WecomCallbacks, document: str
) -> None:
    query, _ = callbacks.seal("<xml/>")
    assert refused(inbound, post(query, document.encode())).status == 400


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["laughs", "xxe"])
def test_entity_attacks_inside_an_authentic_message(
    inbound: WecomInbound, callbacks: WecomCallbacks, document: str
) -> None:
    assert refused(inbound, post(*callbacks.seal(document))).status == 400


# Documents that open with <xml> go to the standard library's parser (bot.platforms.wecom.xml):
# a DTD cannot follow the root's start tag, an undeclared entity is an error, and a document in
# another encoding cannot open with those bytes, so it takes defusedxml's parser.
INSIDE_THE_ROOT = '<xml><!DOCTYPE xml [<!ENTITY a "aaaa">]><Encrypt>&a;</Encrypt></xml>'
UNDECLARED_ENTITY = "<xml><Encrypt>&x;</Encrypt></xml>"
UTF16_LAUGHS = BILLION_LAUGHS.replace('version="1.0"', 'version="1.0" encoding="UTF-16"')


@pytest.mark.parametrize("document", [INSIDE_THE_ROOT, UNDECLARED_ENTITY],
                         ids=["dtd-in-root", "undeclared"])
def test_entity_tricks_in_a_document_without_prolog(
    inbound: WecomInbound, callbacks: WecomCallbacks, document: str
) -> None:
    query, _ = callbacks.seal("<xml/>")
    assert refused(inbound, post(query, document.encode())).status == 400
    assert refused(inbound, post(*callbacks.seal(document))).status == 400


def test_a_utf16_entity_attack_is_refused(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    query, _ = callbacks.seal("<xml/>")
    assert refused(inbound, post(query, UTF16_LAUGHS.encode("utf-16"))).status == 400


def test_markup_in_message_text_stays_text(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    text = '报销 <!DOCTYPE xml [<!ENTITY a "b">]> &a; ]]> 45 元'
    [event] = deliver(inbound, callbacks, callbacks.text("zhangsan", text)).events
    assert isinstance(event, MessageEvent) and event.text == text


def test_ten_megabyte_body(inbound: WecomInbound, callbacks: WecomCallbacks) -> None:
    query, _ = callbacks.seal("<xml/>")
    body = b"<xml><Encrypt>" + b"A" * (10 * 1024 * 1024) + b"</Encrypt></xml>"
    assert refused(inbound, post(query, body)).status == 413


@pytest.mark.parametrize("missing", ["msg_signature", "timestamp", "nonce"])
def test_missing_query_parameters(
    inbound: WecomInbound, callbacks: WecomCallbacks, missing: str
) -> None:
    query, body = callbacks.seal(callbacks.text("u", "x"))
    del query[missing]
    assert refused(inbound, post(query, body)).status == 400


def test_a_stale_timestamp_is_refused(inbound: WecomInbound) -> None:
    old = WecomCallbacks(TOKEN, AES_KEY, CORP_ID, clock=lambda: time.time() - 3600)
    assert refused(inbound, post(*old.seal(old.text("u", "x")))).status == 401


def test_an_envelope_without_encrypt(inbound: WecomInbound, callbacks: WecomCallbacks) -> None:
    query, _ = callbacks.seal("<xml/>")
    assert refused(inbound, post(query, b"<xml><Encrypt></Encrypt></xml>")).status == 400


def test_a_non_xml_root(inbound: WecomInbound, callbacks: WecomCallbacks) -> None:
    query, _ = callbacks.seal("<xml/>")
    assert refused(inbound, post(query, b"<html><Encrypt>a</Encrypt></html>")).status == 400


def test_a_card_event_without_key_is_a_system_event(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    [event] = deliver(inbound, callbacks, callbacks.card_click("lisi", "", "t", "RC")).events
    assert isinstance(event, SystemEvent)
    assert event.kind == "template_card_event"


def test_a_message_without_msgid_still_dedups(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    xml = callbacks.text("u", "x", msg_id="1", at=1_700_000_000).replace("<MsgId>1</MsgId>", "")
    first, again = deliver(inbound, callbacks, xml), deliver(inbound, callbacks, xml)
    assert first.events[0].event_id == again.events[0].event_id
    assert first.events[0].event_id.startswith("evt:")


# -- acknowledgement -----------------------------------------------------------------------


def acknowledge(
    inbound: WecomInbound, callbacks: WecomCallbacks, xml: str, inline: InlineReply | None
) -> bytes:
    decoded = deliver(inbound, callbacks, xml)
    reply = inbound.acknowledge(decoded, [Ingested(duplicate=False, inline=inline)], False)
    assert reply.status == 200
    return reply.body


def click(callbacks: WecomCallbacks) -> str:
    return callbacks.card_click("lisi", "approve:BX-2026-000123:4", "t-1", "RC")


def test_a_click_gets_an_encrypted_update_button_reply(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    data = sample("approval_decided")
    inline = InlineReply(toast=Toast("已同意"), card_name="approval_decided", card_data=data)
    plain = callbacks.open_reply(acknowledge(inbound, callbacks, click(callbacks), inline))
    assert "<MsgType><![CDATA[update_button]]></MsgType>" in plain
    assert "<ToUserName><![CDATA[lisi]]></ToUserName>" in plain
    assert "<ReplaceName><![CDATA[已同意]]></ReplaceName>" in plain


def test_a_toast_labels_the_button_when_there_is_no_card(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    toast = "已同意，已通知财务赵六，预计三个工作日内付款"
    inline = InlineReply(toast=Toast(toast))
    plain = callbacks.open_reply(acknowledge(inbound, callbacks, click(callbacks), inline))
    assert f"<ReplaceName><![CDATA[{toast[:19]}…]]></ReplaceName>" in plain


def test_hostile_label_cannot_break_the_reply_xml(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    inline = InlineReply(toast=Toast("]]><x/>"))
    plain = callbacks.open_reply(acknowledge(inbound, callbacks, click(callbacks), inline))
    assert "<ReplaceName><![CDATA[]]]]><![CDATA[><x/>]]></ReplaceName>" in plain


def test_no_inline_reply_means_an_empty_200(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    assert acknowledge(inbound, callbacks, click(callbacks), None) == b""


def test_messages_get_an_empty_200(inbound: WecomInbound, callbacks: WecomCallbacks) -> None:
    inline = InlineReply(toast=Toast("x"))
    assert acknowledge(inbound, callbacks, callbacks.text("u", "x"), inline) == b""


def test_the_reply_is_encrypted_for_our_corp(inbound: WecomInbound) -> None:
    crypt = WXBizMsgCrypt(TOKEN, AES_KEY, CORP_ID)
    callbacks = WecomCallbacks(TOKEN, AES_KEY, CORP_ID)
    body = acknowledge(inbound, callbacks, click(callbacks), InlineReply(toast=Toast("ok")))
    text = body.decode()
    encrypted = text.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    assert "update_button" in crypt.decrypt(encrypted)


def test_a_card_that_does_not_render_falls_back_to_the_toast(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    inline = InlineReply(toast=Toast("已驳回"), card_name="no_such_card")
    plain = callbacks.open_reply(acknowledge(inbound, callbacks, click(callbacks), inline))
    assert "<ReplaceName><![CDATA[已驳回]]></ReplaceName>" in plain


def test_without_words_the_button_says_processed(
    inbound: WecomInbound, callbacks: WecomCallbacks
) -> None:
    plain = callbacks.open_reply(acknowledge(inbound, callbacks, click(callbacks), InlineReply()))
    assert "<ReplaceName><![CDATA[已处理]]></ReplaceName>" in plain
