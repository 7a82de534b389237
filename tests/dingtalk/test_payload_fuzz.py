"""Whatever JSON arrives on an authenticated route, the answer is an event or a clean 4xx."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.platforms.base import InboundError, InboundRequest
from bot.platforms.dingtalk import payloads
from bot.platforms.dingtalk.inbound import DingtalkInbound
from cards import render_card
from tests.dingtalk.conftest import CARD_TOKEN
from tests.fakes.dingtalk import DingtalkSender, card_callback_payload, robot_payload

SENDER = DingtalkSender("dingfakeappkey", "fake-secret")
INBOUND = DingtalkInbound(client_secret="fake-secret", crypt=None, card_token=CARD_TOKEN,
                          render=render_card)

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def mutated(base: dict[str, Any], changes: dict[str, Any]) -> bytes:
    return json.dumps({**base, **changes}).encode()


def decode(path: str, body: bytes, headers: dict[str, str]) -> None:
    status = 200
    try:
        INBOUND.decode(InboundRequest("POST", path, headers, {}, body))
    except InboundError as exc:
        status = exc.status
    assert status == 200 or 400 <= status < 500


robot_keys = st.sampled_from([*robot_payload(), "content", "text", "richText"])
card_keys = st.sampled_from(list(card_callback_payload("t", "u", {}).keys()))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(robot_keys, values, max_size=4))
def test_any_robot_body_is_an_event_or_a_4xx(changes: dict[str, Any]) -> None:
    decode("/dingtalk/robot", mutated(robot_payload(), changes), SENDER.robot_headers())


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(card_keys, values, max_size=4), st.dictionaries(st.text(), values))
def test_any_card_callback_is_an_action_or_a_4xx(
    changes: dict[str, Any], params: dict[str, Any]
) -> None:
    base = card_callback_payload("t", "u", {"action": "approve:X:1", **params})
    decode(f"/dingtalk/cards/{CARD_TOKEN}", mutated(base, changes), {})


@settings(max_examples=200, deadline=None)
@given(values)
def test_any_stream_card_data_is_an_action_or_a_payload_error(data: Any) -> None:
    with contextlib.suppress(payloads.PayloadError):
        payloads.card_callback(data if isinstance(data, dict) else {"content": data}, "m1")
