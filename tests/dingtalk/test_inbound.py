"""HTTP mode: every route authenticates first, and every bad input is a clear 4xx."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from bot.events import CardActionEvent, MessageEvent, SystemEvent
from bot.platforms.base import InboundError, InboundRequest, Ingested
from bot.platforms.dingtalk.inbound import DingtalkInbound
from bot.platforms.wxcrypt import WXBizMsgCrypt
from bot.replies import InlineReply, Toast
from cards import render_card
from cards.samples import sample
from tests.dingtalk.conftest import CARD_TOKEN, EVENT_AES_KEY, EVENT_TOKEN
from tests.fakes.dingtalk import DingtalkSender, card_callback_payload, robot_payload

CLIENT_ID, SECRET = "dingfakeappkey", "fake-secret"
NOW = 1_764_000_000_000
SENDER = DingtalkSender(CLIENT_ID, SECRET, EVENT_TOKEN, EVENT_AES_KEY)


def adapter(secret: str = SECRET, key: str = EVENT_AES_KEY, token: str = EVENT_TOKEN,
            owner: str = CLIENT_ID) -> DingtalkInbound:
    return DingtalkInbound(
        client_secret=secret, crypt=WXBizMsgCrypt(token, key, owner), card_token=CARD_TOKEN,
        render=render_card, clock=lambda: NOW,
    )


def request(path: str, body: bytes, headers: dict[str, str] | None = None,
            query: dict[str, str] | None = None) -> InboundRequest:
    return InboundRequest("POST", path, {k.lower(): v for k, v in (headers or {}).items()},
                          query or {}, body)


def robot_request(
    payload: Any, *, at: int = NOW, sender: DingtalkSender = SENDER
) -> InboundRequest:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return request("/dingtalk/robot", raw, sender.robot_headers(at))


def refused(req: InboundRequest, inbound: DingtalkInbound | None = None) -> InboundError:
    with pytest.raises(InboundError) as caught:
        (inbound or adapter()).decode(req)
    return caught.value


# --- /dingtalk/robot ---------------------------------------------------------------------

def test_signed_robot_message_becomes_a_message_event() -> None:
    decoded = adapter().decode(robot_request(robot_payload("报销 打车 45.5", msg_id="msgA==")))
    [event] = decoded.events
    assert isinstance(event, MessageEvent)
    assert (event.event_id, event.text, event.actor.user_id) == ("msgA==", "报销 打车 45.5",
                                                                 "manager0001")
    assert event.conversation.kind == "p2p"
    assert event.mentioned_bot
    assert event.actor.tenant == "dingcorp0001"


def test_group_message_strips_the_mention_space_and_keeps_the_group() -> None:
    [event] = adapter().decode(robot_request(robot_payload("我的报销", group=True))).events
    assert isinstance(event, MessageEvent)
    assert event.text == "我的报销"
    assert event.conversation.kind == "group"


def test_picture_becomes_a_downloadable_file_ref() -> None:
    payload = robot_payload(msgtype="picture", content={"downloadCode": "dc-1"}, msg_id="m1")
    [event] = adapter().decode(robot_request(payload)).events
    assert isinstance(event, MessageEvent)
    assert [(f.kind, f.handle, f.message_id) for f in event.files] == [("image", "dc-1", "m1")]


def test_file_becomes_a_downloadable_file_ref_with_its_name() -> None:
    content = {"downloadCode": "dc-3", "fileName": "发票.pdf"}
    payload = robot_payload(msgtype="file", content=content, msg_id="m3")
    [event] = adapter().decode(robot_request(payload)).events
    assert isinstance(event, MessageEvent)
    assert [(f.kind, f.handle, f.message_id, f.name) for f in event.files] == [
        ("file", "dc-3", "m3", "发票.pdf")
    ]


def test_rich_text_joins_text_and_collects_pictures() -> None:
    parts = [{"text": "报销 "}, {"downloadCode": "dc-2"}, {"text": "餐费 88"}]
    payload = robot_payload(msgtype="richText", content={"richText": parts})
    [event] = adapter().decode(robot_request(payload)).events
    assert isinstance(event, MessageEvent)
    assert event.text == "报销 餐费 88"
    assert [f.handle for f in event.files] == ["dc-2"]


def test_sender_without_staff_id_is_acknowledged_but_not_a_message() -> None:
    payload = robot_payload()
    del payload["senderStaffId"]
    [event] = adapter().decode(robot_request(payload)).events
    assert isinstance(event, SystemEvent)


def test_forged_robot_signature_is_refused() -> None:
    forger = DingtalkSender(CLIENT_ID, "not-the-secret")
    assert refused(robot_request(robot_payload(), sender=forger)).status == 401


@pytest.mark.parametrize("skew", [3_600_001, -3_600_001])
def test_stale_or_future_robot_timestamp_is_refused(skew: int) -> None:
    error = refused(robot_request(robot_payload(), at=NOW - skew))
    assert error.status == 401
    assert "window" in error.reason


@pytest.mark.parametrize(
    "headers", [{}, {"timestamp": str(NOW)}, {"timestamp": "abc", "sign": "x"}]
)
def test_missing_or_malformed_robot_headers_are_refused(headers: dict[str, str]) -> None:
    assert refused(request("/dingtalk/robot", b"{}", headers)).status == 401


def test_signature_is_checked_before_the_body_is_parsed() -> None:
    forger = DingtalkSender(CLIENT_ID, "nope")
    assert refused(robot_request(b"not json", sender=forger)).status == 401


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"msgtype": "text"}', b"\xff\xfe"])
def test_malformed_robot_bodies_are_refused(body: bytes) -> None:
    assert refused(robot_request(body)).status == 400


# --- /dingtalk/events --------------------------------------------------------------------

def event_request(payload: dict[str, Any], sender: DingtalkSender = SENDER,
                  **query_changes: str) -> InboundRequest:
    query, body = sender.event_request(payload)
    return request("/dingtalk/events", body, query={**query, **query_changes})


def test_check_url_is_answered_with_the_encrypted_success() -> None:
    decoded = adapter().decode(event_request({"EventType": "check_url"}))
    assert decoded.handshake is not None
    assert not decoded.events
    assert SENDER.open_reply(json.loads(decoded.handshake.body)) == "success"


def test_other_events_are_recorded_then_answered_with_success() -> None:
    inbound = adapter()
    decoded = inbound.decode(event_request({"EventType": "user_add_org", "UserId": ["u1"]}))
    [event] = decoded.events
    assert isinstance(event, SystemEvent)
    assert event.kind == "user_add_org"
    assert event.event_id.startswith("event:")
    reply = inbound.acknowledge(decoded, [Ingested(False)], False)
    assert SENDER.open_reply(json.loads(reply.body)) == "success"


def test_the_legacy_parameter_spellings_are_accepted() -> None:
    query, body = SENDER.event_request({"EventType": "check_url"})
    legacy = {"signature": query["msg_signature"], "timeStamp": query["timestamp"],
              "nonce": query["nonce"]}
    assert adapter().decode(request("/dingtalk/events", body, query=legacy)).handshake


def test_wrong_event_token_is_refused() -> None:
    assert refused(event_request({"EventType": "check_url"}), adapter(token="other")).status == 401


def test_tampered_signature_is_refused() -> None:
    req = event_request({"EventType": "check_url"}, msg_signature="0" * 40)
    assert refused(req).status == 401


def test_wrong_aes_key_is_refused() -> None:
    other_key = base64.b64encode(b"k" * 32).decode()[:43]
    assert refused(event_request({"EventType": "x"}), adapter(key=other_key)).status == 400


def test_event_for_another_app_is_refused() -> None:
    assert refused(event_request({"EventType": "x"}), adapter(owner="dingother")).status == 401


def _sealed(encrypted: str) -> InboundRequest:
    crypt = WXBizMsgCrypt(EVENT_TOKEN, EVENT_AES_KEY, CLIENT_ID)
    query = {"msg_signature": crypt.sign("1", "n", encrypted), "timestamp": "1", "nonce": "n"}
    return request("/dingtalk/events", json.dumps({"encrypt": encrypted}).encode(), query=query)


@pytest.mark.parametrize("cut", [1, 16, 33])
def test_truncated_ciphertext_is_refused(cut: int) -> None:
    _, body = SENDER.event_request({"EventType": "x"})
    raw = base64.b64decode(json.loads(body)["encrypt"])
    assert refused(_sealed(base64.b64encode(raw[:-cut]).decode())).status == 400


def test_ciphertext_that_is_not_base64_is_refused() -> None:
    assert refused(_sealed("%%% not base64 %%%")).status == 400


def test_decrypted_text_that_is_not_json_is_refused() -> None:
    assert refused(_sealed(SENDER.encrypt("success"))).status == 400


@pytest.mark.parametrize("body", [b"not json", b'{"encrypt": 5}', b"{}"])
def test_malformed_event_bodies_are_refused(body: bytes) -> None:
    query = {"msg_signature": "x", "timestamp": "1", "nonce": "n"}
    assert refused(request("/dingtalk/events", body, query=query)).status == 400


def test_events_route_without_configured_keys_is_not_found() -> None:
    inbound = DingtalkInbound(client_secret=SECRET, crypt=None, card_token=CARD_TOKEN,
                              render=render_card)
    assert refused(event_request({"EventType": "check_url"}), inbound).status == 404


# --- /dingtalk/cards/<token> -------------------------------------------------------------

def card_request(payload: Any, token: str = CARD_TOKEN) -> InboundRequest:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return request(f"/dingtalk/cards/{token}", raw)


def test_card_click_becomes_an_action_with_form_values() -> None:
    params = {"action": "reject:BX-2026-000123:4", "reason": "票据不全"}
    [event] = adapter().decode(card_request(card_callback_payload("trk-1", "mgr", params))).events
    assert isinstance(event, CardActionEvent)
    assert event.action == "reject:BX-2026-000123:4"
    assert event.form == {"reason": "票据不全"}
    assert event.card_ref == {"out_track_id": "trk-1"}
    assert event.actor.user_id == "mgr"
    assert event.event_id.startswith("card:")


def test_wrong_card_token_is_not_found() -> None:
    payload = card_callback_payload("trk-1", "mgr", {"action": "approve:X:1"})
    assert refused(card_request(payload, token="guess")).status == 404


@pytest.mark.parametrize("payload", [
    b"not json",
    card_callback_payload("trk-1", "mgr", {"reason": "no action"}),
    card_callback_payload("", "mgr", {"action": "approve:X:1"}),
    {"outTrackId": "trk", "userId": "u", "content": "{not json"},
])
def test_malformed_card_callbacks_are_refused(payload: Any) -> None:
    assert refused(card_request(payload)).status == 400


def test_card_acknowledgement_carries_the_new_card_and_the_toast() -> None:
    inbound = adapter()
    decoded = inbound.decode(card_request(card_callback_payload("t", "u", {"action": "a:1:1"})))
    inline = InlineReply(Toast("已同意"), "approval_decided", sample("approval_decided"))
    reply = json.loads(inbound.acknowledge(decoded, [Ingested(False, inline)], False).body)
    params = reply["cardData"]["cardParamMap"]
    assert all(isinstance(v, str) for v in params.values())
    assert params["buttons"] == "[]"
    assert params["status"].startswith("已同意")
    assert reply["userPrivateData"] == {"cardParamMap": {"notice": "已同意"}}
    assert reply["cardUpdateOptions"]["updateCardDataByKey"] is True


def test_card_acknowledgement_after_the_budget_leaves_the_card_alone() -> None:
    inbound = adapter()
    decoded = inbound.decode(card_request(card_callback_payload("t", "u", {"action": "a:1:1"})))
    inline = InlineReply(Toast("late"))
    assert json.loads(inbound.acknowledge(decoded, [Ingested(False, inline)], True).body) == {}


def test_unknown_path_is_not_found() -> None:
    assert refused(request("/dingtalk/other", b"{}")).status == 404
