"""Random and mutated requests on every inbound route, through ``create_app``.

Whatever arrives, the answer comes within seconds and is never a 5xx, and a request that was
refused changes nothing: no event recorded, no queue row, no claim. The mutations start from
requests the platforms would really send, so the decoders are driven past their first check.
Each route gets a bounded number of examples so the suite stays fast.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from aiohttp.test_utils import TestClient, TestServer
from defusedxml import ElementTree as SafeTree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import create_app
from bot.backends.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.fakes.dingtalk import robot_payload
from tests.security.hostile import (
    BACKEND_SECRET,
    CARD_PATH,
    dingtalk_sender,
    feishu_message,
    hostile_config,
    json_bytes,
    sealed_feishu,
    state,
    wecom_callbacks,
)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FRAMING = {"content-length", "transfer-encoding", "host", "connection", "expect", "upgrade"}
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
URL_SAFE = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/?#%")

header_names = st.sampled_from(
    ["X-Lark-Signature", "X-Lark-Request-Timestamp", "X-Lark-Request-Nonce", "timestamp",
     "sign", "Content-Type", "Authorization", TIMESTAMP_HEADER, SIGNATURE_HEADER]
) | st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,15}", fullmatch=True).filter(
    lambda name: name.lower() not in FRAMING
)  # fmt: skip
headers = st.dictionaries(header_names, st.text(PRINTABLE, max_size=80), max_size=5)
query_keys = st.sampled_from(
    ["msg_signature", "signature", "timestamp", "timeStamp", "nonce", "echostr"]
) | st.text(max_size=8)
queries = st.dictionaries(query_keys, st.text(max_size=60), max_size=5)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)  # fmt: skip
junk = st.binary(max_size=2048) | json_values.map(json_bytes) | st.text(max_size=300).map(
    lambda text: f"<xml><Encrypt><![CDATA[{text}]]></Encrypt></xml>".encode()
)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` changed by one edit: a flipped byte, a cut, an insertion, a repeat."""
    size = len(original)
    at = draw(st.integers(0, max(0, size - 1)))
    edit = draw(st.sampled_from(["flip", "cut", "insert", "repeat"]))
    if edit == "flip" and size:
        flipped = bytes([original[at] ^ draw(st.integers(1, 255))])
        changed = original[:at] + flipped + original[at + 1 :]
    elif edit == "cut":
        changed = original[:at]
    elif edit == "insert":
        changed = original[:at] + draw(st.binary(min_size=1, max_size=40)) + original[at:]
    else:
        changed = original[:at] + original[at:] * 2
    if changed == original or _same_meaning(original, changed):
        # Whitespace between JSON tokens or XML elements keeps a signed body valid: that is
        # the same request, not a mutation. A cut always breaks it.
        return original[:-1]
    return changed


def _same_meaning(original: bytes, changed: bytes) -> bool:
    try:
        return bool(json.loads(original) == json.loads(changed))
    except ValueError:
        pass
    try:
        first, second = SafeTree.fromstring(original), SafeTree.fromstring(changed)
    except (ElementTree.ParseError, ValueError):
        return False
    def fields(root: ElementTree.Element) -> list[tuple[str, str]]:
        return [(el.tag, (el.text or "").strip()) for el in root.iter()]

    return fields(first) == fields(second)


ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
ACCEPTED: weakref.WeakSet[TestClient[Any, Any]] = weakref.WeakSet()  # accepted an event once


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient[Any, Any]]:
    test_client: TestClient[Any, Any] = TestClient(TestServer(create_app(hostile_config(tmp_path))))
    await test_client.start_server()
    yield test_client
    await test_client.close()


async def refused_without_trace(
    client: TestClient[Any, Any],
    method: str,
    path: str,
    *,
    body: bytes = b"",
    head: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    may_succeed: bool = False,
) -> int:
    """Send one request; no 5xx, an answer within 5 s, and no trace unless it succeeded.

    Once a request of this client was accepted, the workers may still be busy with it, so from
    then on only the edge's own count of recorded events is compared.
    """
    before = await state(client)
    async with asyncio.timeout(5):
        response = await client.request(
            method, path, data=body, headers=dict(head or {}), params=dict(query or {})
        )
        await response.read()
    assert response.status < 500, (response.status, await response.text())
    after = await state(client)
    if after.events != before.events:
        assert may_succeed and response.status == 200, response.status
        ACCEPTED.add(client)
    elif client not in ACCEPTED:  # no worker is busy with an earlier event
        assert after == before, response.status
    return response.status


@FUZZ
@given(path=st.sampled_from(["/feishu/events", "/feishu/cards"]), body=junk, head=headers)
async def test_feishu_junk(client: Any, path: str, body: bytes, head: dict[str, str]) -> None:
    await refused_without_trace(client, "POST", path, body=body, head=head)


@FUZZ
@given(data=st.data(), text=st.text(max_size=40))
async def test_feishu_mutated_sealed_bodies(client: Any, data: st.DataObject, text: str) -> None:
    body, head = sealed_feishu(feishu_message(text))
    if data.draw(st.booleans()):
        body = data.draw(mutated(body))
    else:  # the body as sent, a signed header changed
        name = data.draw(st.sampled_from(sorted(k for k in head if k.startswith("X-Lark"))))
        head = {**head, name: data.draw(st.text(PRINTABLE, max_size=70).filter(
            lambda value: value != head[name]))}  # fmt: skip
    await refused_without_trace(client, "POST", "/feishu/events", body=body, head=head)


@FUZZ
@given(method=st.sampled_from(["GET", "POST"]), body=junk, query=queries, head=headers)
async def test_wecom_junk(
    client: Any, method: str, body: bytes, query: dict[str, str], head: dict[str, str]
) -> None:
    await refused_without_trace(client, method, "/wecom/callback", body=body, query=query,
                                head=head)  # fmt: skip


@FUZZ
@given(data=st.data(), text=st.text(max_size=40))
async def test_wecom_mutated_sealed_callbacks(client: Any, data: st.DataObject, text: str) -> None:
    query, body = wecom_callbacks.seal(wecom_callbacks.text("zhangsan", text))
    if data.draw(st.booleans()):
        body = data.draw(mutated(body))
        may_succeed = True  # an edit outside <Encrypt> (the envelope) may leave it valid
    else:
        name = data.draw(st.sampled_from(sorted(query)))
        query = {**query, name: data.draw(st.text(max_size=40).filter(lambda v: v != query[name]))}
        may_succeed = False
    await refused_without_trace(client, "POST", "/wecom/callback", body=body, query=query,
                                may_succeed=may_succeed)  # fmt: skip


@FUZZ
@given(data=st.data())
async def test_wecom_mutated_url_verification(client: Any, data: st.DataObject) -> None:
    query, _ = wecom_callbacks.verification()
    name = data.draw(st.sampled_from(sorted(query)))
    query = {**query, name: data.draw(st.text(max_size=60).filter(lambda v: v != query[name]))}
    status = await refused_without_trace(client, "GET", "/wecom/callback", query=query)
    assert status != 200


@FUZZ
@given(path=st.sampled_from(["/dingtalk/events", "/dingtalk/robot", CARD_PATH,
                             "/dingtalk/cards/guess"]),
       body=junk, query=queries, head=headers)  # fmt: skip
async def test_dingtalk_junk(
    client: Any, path: str, body: bytes, query: dict[str, str], head: dict[str, str]
) -> None:
    await refused_without_trace(client, "POST", path, body=body, query=query, head=head)


@FUZZ
@given(data=st.data(), text=st.text(max_size=40))
async def test_dingtalk_mutated_requests(client: Any, data: st.DataObject, text: str) -> None:
    """Event pushes sign their ciphertext; the robot's signature covers only the timestamp, so a
    changed robot body with good headers may be a real message (then it may be recorded)."""
    if data.draw(st.booleans()):
        query, body = dingtalk_sender.event_request({"EventType": "user_add_org", "UserId": [text]})
        body = data.draw(mutated(body))
        await refused_without_trace(client, "POST", "/dingtalk/events", body=body, query=query)
        return
    head = dingtalk_sender.robot_headers()
    body = data.draw(mutated(json_bytes(robot_payload(text))))
    await refused_without_trace(client, "POST", "/dingtalk/robot", body=body, head=head,
                                may_succeed=True)  # fmt: skip


@FUZZ
@given(data=st.data(), body=junk, head=headers)
async def test_backend_webhook(
    client: Any, data: st.DataObject, body: bytes, head: dict[str, str]
) -> None:
    if data.draw(st.booleans()):  # a signed update for a claim that does not exist, mutated
        update = json_bytes({"claim_id": "BX-2026-000001", "status": "paid"})
        stamp = str(int(time.time()))
        head = {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: sign(BACKEND_SECRET, stamp, update)}
        body = data.draw(mutated(update))
    await refused_without_trace(client, "POST", "/backend/webhook", body=body, head=head)


@FUZZ
@given(token=st.text(URL_SAFE, min_size=1, max_size=40), body=junk, head=headers)
async def test_hesi_messages_on_a_guessed_path(
    client: Any, token: str, body: bytes, head: dict[str, str]
) -> None:
    await refused_without_trace(client, "POST", f"/backend/hesi/{token}", body=body, head=head)


@FUZZ
@given(path=st.sampled_from(["/healthz", "/readyz", "/metrics"]), query=queries, head=headers,
       body=st.binary(max_size=64))  # fmt: skip
async def test_admin_routes(
    client: Any, path: str, query: dict[str, str], head: dict[str, str], body: bytes
) -> None:
    status = await refused_without_trace(client, "GET", path, query=query, head=head, body=body)
    assert status == (413 if body else 200)
