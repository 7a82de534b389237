"""An adversarial corpus per platform, one case a row, through ``create_app``.

It adds what the adapter suites (tests/feishu, tests/wecom, tests/dingtalk) do not already
cover: authentic-looking requests with bad padding or an extra block, JSON and XML nested deep,
text that storage cannot hold, control characters, and replays. Each case says which answers
are acceptable and whether the event may be recorded; nothing may ever answer 5xx.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from Crypto.Cipher import AES

from bot import keys
from bot.app import create_app
from tests.fakes.dingtalk import card_callback_payload, robot_payload
from tests.security.hostile import (
    CARD_PATH,
    DING_AES,
    DING_TOKEN,
    DINGTALK,
    FEISHU,
    WECOM_AES,
    WECOM_CORP,
    dingtalk_sender,
    feishu_callbacks,
    feishu_message,
    hostile_config,
    json_bytes,
    state,
    wecom_callbacks,
)

DEEP_JSON = b"[" * 50_000 + b"]" * 50_000
DEEP_XML = b"<a>" * 20_000 + b"</a>" * 20_000
REFUSED = frozenset({400, 401, 403, 404, 413})
Pad = Callable[[bytes, int], bytes]


def good_pad(data: bytes, block: int) -> bytes:
    n = block - len(data) % block
    return data + bytes([n]) * n


PADS: dict[str, Pad] = {
    "pad byte zero": lambda data, block: good_pad(data, block)[:-1] + b"\x00",
    "pad longer than a block": lambda data, block: good_pad(data, block)[:-1] + bytes([block + 1]),
    "extra block after the padding": lambda data, block: good_pad(data, block) + b"\x00" * block,
    "no padding at all": lambda data, block: data + b"\x00" * (-len(data) % block),
}


@dataclass
class Case:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    statuses: frozenset[int] = REFUSED
    recorded: bool | None = False  # None: recorded exactly when answered 200


# -- sealing with a chosen padding ---------------------------------------------------------------


def wx_encrypt(aes_key: str, receive_id: str, message: bytes, pad: Pad) -> str:
    key = base64.b64decode(aes_key + "=")
    plain = os.urandom(16) + struct.pack(">I", len(message)) + message + receive_id.encode()
    return base64.b64encode(AES.new(key, AES.MODE_CBC, key[:16]).encrypt(pad(plain, 32))).decode()


def wx_query(token: str, encrypted: str, *, stamp: str = "") -> dict[str, str]:
    stamp, nonce = stamp or str(int(time.time())), os.urandom(4).hex()
    digest = hashlib.sha1("".join(sorted([token, stamp, nonce, encrypted])).encode())  # noqa: S324
    return {"msg_signature": digest.hexdigest(), "timestamp": stamp, "nonce": nonce}


def wecom_case(message: bytes, pad: Pad = good_pad, **kw: Any) -> Case:
    encrypted = wx_encrypt(WECOM_AES, WECOM_CORP, message, pad)
    body = f"<xml><ToUserName><![CDATA[{WECOM_CORP}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]>"
    body += "</Encrypt></xml>"
    return Case("POST", "/wecom/callback", body.encode(), query=wx_query("hostileToken", encrypted),
                **kw)  # fmt: skip


def dingtalk_event_case(message: bytes, pad: Pad = good_pad, **kw: Any) -> Case:
    encrypted = wx_encrypt(DING_AES, DINGTALK.client_id, message, pad)
    query = wx_query(DING_TOKEN, encrypted, stamp=str(int(time.time() * 1000)))
    return Case("POST", "/dingtalk/events", json_bytes({"encrypt": encrypted}), query=query, **kw)


def feishu_case(plaintext: bytes, pad: Pad = good_pad, **kw: Any) -> Case:
    key, iv = hashlib.sha256(FEISHU.encrypt_key.encode()).digest(), os.urandom(16)
    sealed = iv + AES.new(key, AES.MODE_CBC, iv).encrypt(pad(plaintext, 16))
    body = json_bytes({"encrypt": base64.b64encode(sealed).decode()})
    return Case("POST", "/feishu/events", body, feishu_callbacks.headers(body), **kw)


def robot_case(body: bytes, **kw: Any) -> Case:
    return Case("POST", "/dingtalk/robot", body, dingtalk_sender.robot_headers(), **kw)


def ascii_json(value: Any) -> bytes:
    """JSON with every non-ASCII character escaped, so a lone surrogate survives as \\ud800."""
    return json.dumps(value).encode()


def with_content(payload: dict[str, Any], content: str) -> dict[str, Any]:
    payload["event"]["message"]["content"] = content
    return payload


def wecom_text(content: str) -> bytes:
    return wecom_callbacks.text("zhangsan", content).encode("utf-8", "surrogatepass")


OK = frozenset({200})
CASES: dict[str, Callable[[], Case]] = {
    # Feishu (encrypted webhook)
    "feishu: deep JSON, unsigned": lambda: Case("POST", "/feishu/events", DEEP_JSON),
    "feishu: deep JSON, signed": lambda: Case(
        "POST", "/feishu/events", DEEP_JSON, feishu_callbacks.headers(DEEP_JSON)
    ),
    "feishu: deep JSON inside the ciphertext": lambda: feishu_case(DEEP_JSON),
    "feishu: deep JSON in the message content": lambda: feishu_case(
        ascii_json(with_content(feishu_message("hi"), "[" * 5000)), statuses=REFUSED | OK,
        recorded=None,
    ),
    **{
        f"feishu: {name}": (lambda pad=pad: feishu_case(ascii_json(feishu_message("hi")), pad))
        for name, pad in PADS.items()
    },
    "feishu: a lone surrogate in the text": lambda: feishu_case(
        ascii_json(feishu_message("报销 打车 45 \ud800"))
    ),
    "feishu: invalid UTF-8 in the plaintext": lambda: feishu_case(
        ascii_json(feishu_message("PLACEHOLDER")).replace(b"PLACEHOLDER", b"\xff\xfe\xc0\x80")
    ),
    "feishu: control characters are only text": lambda: feishu_case(
        ascii_json(feishu_message("报销 打车 45 \x00\x07\x1b[31m\u202e\u2028")),
        statuses=OK, recorded=True,
    ),
    "feishu: a number too large for any parser": lambda: feishu_case(
        ascii_json(feishu_message("报销")).replace(b'"schema": "2.0"', b'"schema": 1' + b"9" * 5000)
    ),
    # WeCom
    "wecom: deep XML envelope": lambda: Case(
        "POST", "/wecom/callback", DEEP_XML, query=wx_query("hostileToken", "x")
    ),
    "wecom: deep XML inside the ciphertext": lambda: wecom_case(DEEP_XML),
    **{
        f"wecom: {name}": (lambda pad=pad: wecom_case(wecom_text("hi"), pad))
        for name, pad in PADS.items()
    },
    "wecom: a lone surrogate in the text": lambda: wecom_case(wecom_text("报销 \ud800")),
    "wecom: invalid UTF-8 in the plaintext": lambda: wecom_case(wecom_text("hi") + b"\xff\xfe"),
    "wecom: control characters XML forbids": lambda: wecom_case(wecom_text("报销 \x00\x01\x1b")),
    "wecom: right-to-left and line separators are only text": lambda: wecom_case(
        wecom_text("报销 打车 45 \u202e\u2028\u200b"), statuses=OK, recorded=True
    ),
    # DingTalk (HTTP mode)
    "dingtalk: deep JSON event, unsigned": lambda: Case(
        "POST", "/dingtalk/events", DEEP_JSON, query=wx_query(DING_TOKEN, "x")
    ),
    "dingtalk: deep JSON inside the ciphertext": lambda: dingtalk_event_case(DEEP_JSON),
    **{
        f"dingtalk: {name}": (
            lambda pad=pad: dingtalk_event_case(json_bytes({"EventType": "x"}), pad)
        )
        for name, pad in PADS.items()
    },
    "dingtalk: deep JSON robot body": lambda: robot_case(DEEP_JSON),
    "dingtalk: deep JSON card callback": lambda: Case("POST", CARD_PATH, DEEP_JSON),
    "dingtalk: deep JSON in the card content": lambda: Case(
        "POST", CARD_PATH,
        json_bytes({**card_callback_payload("t", "u", {}), "content": "[" * 5000}),
        statuses=REFUSED | OK,
    ),
    "dingtalk: a lone surrogate in the robot text": lambda: robot_case(
        ascii_json(robot_payload("报销 \ud800"))
    ),
    "dingtalk: invalid UTF-8 robot body": lambda: robot_case(
        json_bytes(robot_payload("PLACEHOLDER")).replace(b"PLACEHOLDER", b"\xff\xfe")
    ),
    "dingtalk: a huge number in the robot body": lambda: robot_case(
        json_bytes(robot_payload("hi")).replace(b'"createAt": ', b'"createAt": ' + b"9" * 5000)
    ),
    "dingtalk: NaN and Infinity in the robot body": lambda: robot_case(
        json_bytes(robot_payload("hi")).replace(
            b'"createAt": ', b'"x": NaN, "y": -Infinity, "z": '
        ),
        statuses=REFUSED | OK,
        recorded=None,
    ),
}


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    test_client: TestClient[Any, Any] = TestClient(TestServer(create_app(hostile_config(tmp_path))))
    await test_client.start_server()
    yield test_client
    await test_client.close()


@pytest.mark.parametrize("name", list(CASES))
async def test_corpus(client: TestClient[Any, Any], name: str) -> None:
    case = CASES[name]()
    before = await state(client)
    response = await client.request(
        case.method, case.path, data=case.body, headers=case.headers, params=case.query
    )
    text = await response.text()
    assert response.status in case.statuses, (response.status, text)
    after = await state(client)
    recorded = response.status == 200 if case.recorded is None else case.recorded
    assert (after.events - before.events) == (1 if recorded else 0), text
    if not recorded:
        assert after == before


def events(client: TestClient[Any, Any], outcome: str) -> float:
    registry = client.app[keys.METRICS].registry
    return sum(
        sample.value
        for metric in registry.collect()
        if metric.name == "claimbot_events"
        for sample in metric.samples
        if sample.name == "claimbot_events_total" and sample.labels["outcome"] == outcome
    )


def replay_feishu() -> list[Case]:
    body, head = feishu_callbacks.seal(feishu_message("报销 打车 45"))
    again = feishu_callbacks.headers(body, timestamp=str(int(time.time()) - 6 * 3600))
    return [Case("POST", "/feishu/events", body, head), Case("POST", "/feishu/cards", body, again)]


def replay_wecom() -> list[Case]:
    query, body = wecom_callbacks.seal(wecom_callbacks.text("zhangsan", "报销 打车 45"))
    encrypted = body.decode().split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    fresh = wx_query("hostileToken", encrypted)  # the same ciphertext signed anew
    return [Case("POST", "/wecom/callback", body, query=query),
            Case("POST", "/wecom/callback", body, query=fresh)]  # fmt: skip


def replay_dingtalk() -> list[Case]:
    body = json_bytes(robot_payload("报销 打车 45", msg_id="msgReplay=="))
    return [robot_case(body), robot_case(body)]


@pytest.mark.parametrize("replays", [replay_feishu, replay_wecom, replay_dingtalk],
                         ids=["feishu", "wecom", "dingtalk"])  # fmt: skip
async def test_a_replayed_callback_is_acknowledged_and_applied_once(
    client: TestClient[Any, Any], replays: Callable[[], list[Case]]
) -> None:
    """Replays, including one re-signed hours later, are answered 200 (the platform stops
    retrying) and recognised by the event id, so the event is recorded once."""
    for case in replays():
        response = await client.request(
            case.method, case.path, data=case.body, headers=case.headers, params=case.query
        )
        assert response.status == 200, await response.text()
    assert (events(client, "new"), events(client, "duplicate")) == (1, 1)
