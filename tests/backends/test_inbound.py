"""POST /backend/webhook: signed status updates apply through the workflow; the rest is refused."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.config_model import BackendConfig, Config, DirectoryConfig
from storage.base import Storage, StorageUnavailable
from storage.models import ClaimStatus
from tests.backends.fake_webhook import FakeWebhookPeer, signed
from tests.backends.support import MANAGER, Flow, sync_config
from tests.fakes.loopback import LoopPlatform, loop_factory

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
SECRET = "peer-secret"
CLAIM = "BX-2026-000001"


@pytest.fixture
async def server(
    aiohttp_client: ClientMaker, tmp_path: Path, peer: tuple[FakeWebhookPeer, str]
) -> tuple[TestClient[Any, Any], Flow]:
    config = sync_config(tmp_path, BackendConfig("webhook", peer[1], SECRET))
    client = await aiohttp_client(create_app(config, platforms=[]))
    storage: Storage = client.app[keys.STORAGE]
    return client, Flow(storage, config)


def body_of(**fields: Any) -> bytes:
    return json.dumps({"claim_id": CLAIM, **fields}, ensure_ascii=False).encode()


async def post(client: TestClient[Any, Any], body: bytes, **kw: Any) -> tuple[int, Any]:
    headers = kw.pop("headers", None) or signed(SECRET, body, **kw)
    response = await client.post("/backend/webhook", data=body, headers=headers)
    return response.status, await response.json()


async def snapshot(storage: Storage) -> tuple[Any, ...]:
    claim = await storage.get_claim(CLAIM)
    return claim, len(await storage.audit_trail(CLAIM)), await storage.queue_depth()


async def test_paid_marks_the_claim_paid_and_tells_the_applicant(server: Any) -> None:
    client, flow = server
    await flow.approved(CLAIM)
    status, answer = await post(client, body_of(status="paid", comment="付款流水 P-1"))
    assert (status, answer["result"]) == (200, "applied")
    claim = await flow.storage.get_claim(CLAIM)
    assert claim.status is ClaimStatus.PAID
    trail = await flow.storage.audit_trail(CLAIM)
    assert (trail[-1].action, trail[-1].actor, trail[-1].detail) == (
        "backend_paid", "backend:webhook", "付款流水 P-1")
    texts = [r.payload for r in await flow.storage.queue_rows("platform", dead=False)]
    texts += [r.payload for r in await flow.storage.queue_rows("platform", dead=True)]
    assert any("已付款" in json.dumps(p, ensure_ascii=False) for p in texts)
    backend_events = [r.payload["event"] for r in await flow.storage.queue_rows("backend", False)]
    assert "paid" not in backend_events  # not echoed back to the backend
    status, answer = await post(client, body_of(status="paid"))
    assert (status, answer["result"]) == (200, "unchanged")


async def test_rejected_releases_invoices_and_comment_is_recorded(server: Any) -> None:
    client, flow = server
    claim = await flow.submit(await flow.create(CLAIM, invoice="12345678901234567890"))
    await flow.approve(claim)
    status, _ = await post(client, body_of(status="rejected"))
    assert status == 409  # a rejection needs its reason
    status, answer = await post(client, body_of(status="comment", comment="请补充行程单"))
    assert (status, answer["result"]) == (200, "applied")
    status, answer = await post(client, body_of(status="rejected", comment="超预算"))
    assert (status, answer["result"]) == (200, "applied")
    assert (await flow.storage.get_claim(CLAIM)).status is ClaimStatus.REJECTED
    assert await flow.storage.invoice_holder("12345678901234567890") is None
    actions = [e.action for e in await flow.storage.audit_trail(CLAIM)]
    assert actions[-2:] == ["backend_comment", "backend_rejected"]


async def test_an_update_the_workflow_does_not_allow_is_refused(server: Any) -> None:
    client, flow = server
    await flow.create(CLAIM)
    status, answer = await post(client, body_of(status="paid"))
    assert status == 409
    assert answer["result"].startswith("refused")
    assert (await flow.storage.get_claim(CLAIM)).status is ClaimStatus.DRAFT
    status, _ = await post(client, json.dumps({"claim_id": "BX-2026-000099",
                                               "status": "paid"}).encode())
    assert status == 404


def forged(body: bytes) -> dict[str, str]:
    headers = signed(SECRET, body)
    headers["X-Claimbot-Signature"] = signed("not-the-secret", body)["X-Claimbot-Signature"]
    return headers


def tampered(body: bytes) -> dict[str, str]:
    return signed(SECRET, body.replace(b"paid", b"rejected"))


@pytest.mark.parametrize(("name", "headers_of", "status"), [
    ("forged", forged, 401),
    ("signed other body", tampered, 401),
    ("stale", lambda b: signed(SECRET, b, timestamp=int(time.time()) - 301), 401),
    ("future", lambda b: signed(SECRET, b, timestamp=int(time.time()) + 301), 401),
    ("unsigned", lambda b: {"Content-Type": "application/json"}, 401),
    ("bad timestamp", lambda b: {**signed(SECRET, b), "X-Claimbot-Timestamp": "12ab"}, 401),
])
async def test_forged_and_stale_updates_change_nothing(
    server: Any, name: str, headers_of: Callable[[bytes], dict[str, str]], status: int
) -> None:
    client, flow = server
    await flow.approved(CLAIM)
    before = await snapshot(flow.storage)
    body = body_of(status="paid")
    got, answer = await post(client, body, headers=headers_of(body))
    assert got == status, (name, answer)
    assert await snapshot(flow.storage) == before


async def test_a_replayed_update_is_refused(server: Any) -> None:
    client, flow = server
    await flow.submit(await flow.create(CLAIM))
    body = body_of(status="comment", comment="收到")
    headers = signed(SECRET, body)
    assert (await post(client, body, headers=headers))[0] == 200
    before = await snapshot(flow.storage)
    status, answer = await post(client, body, headers=headers)
    assert (status, answer["error"]) == (409, "replayed request")
    assert await snapshot(flow.storage) == before


@pytest.mark.parametrize(("body", "reason"), [
    (b"not json", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (json.dumps({"claim_id": "BX-1", "status": "paid"}).encode(), "claim id"),
    (json.dumps({"claim_id": CLAIM, "status": "approved"}).encode(), "status must be"),
    (json.dumps({"claim_id": CLAIM, "status": "comment", "comment": 5}).encode(), "comment"),
])
async def test_malformed_updates_get_400(server: Any, body: bytes, reason: str) -> None:
    client, flow = server
    await flow.approved(CLAIM)
    before = await snapshot(flow.storage)
    status, answer = await post(client, body)
    assert status == 400
    assert reason in answer["error"]
    assert await snapshot(flow.storage) == before


async def test_oversized_update_gets_413(server: Any) -> None:
    client, _ = server
    body = body_of(status="comment", comment="x" * 70_000)
    status, _ = await post(client, body)
    assert status == 413


async def test_without_a_webhook_backend_the_route_is_404(
    aiohttp_client: ClientMaker, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(Config(
        storage=sync_config(tmp_path, BackendConfig()).storage), platforms=[]))
    body = body_of(status="paid")
    response = await client.post("/backend/webhook", data=body, headers=signed(SECRET, body))
    assert response.status == 404


@pytest.mark.parametrize("method", ["mark_seen", "get_claim"])
async def test_storage_down_answers_503_not_500(
    server: Any, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    client, flow = server
    await flow.approved(CLAIM)

    async def down(*args: Any, **kwargs: Any) -> None:
        raise StorageUnavailable("storage is gone")

    monkeypatch.setattr(flow.storage, method, down)
    status, _ = await post(client, body_of(status="paid"))
    assert status == 503


async def test_an_update_names_people_as_the_directory_file_does(
    aiohttp_client: ClientMaker, tmp_path: Path, peer: tuple[FakeWebhookPeer, str]
) -> None:
    hr = tmp_path / "hr.csv"
    hr.write_text(
        "user_id,name,manager_id,department_id,department_name,is_department_head\n"
        f"{MANAGER},李四（人事档案）,,d-sales,销售部,true\n",
        encoding="utf-8",
    )
    config = replace(sync_config(tmp_path, BackendConfig("webhook", peer[1], SECRET)),
                     directory=DirectoryConfig(file=str(hr)))
    feishu = LoopPlatform(name="feishu")  # the claims' platform, with an empty org chart
    client = await aiohttp_client(create_app(config, platforms=[loop_factory(feishu)]))
    flow = Flow(client.app[keys.STORAGE], config)
    await flow.approved(CLAIM)
    status, _ = await post(client, body_of(status="paid"))
    assert status == 200
    rows = await flow.storage.queue_rows("platform", dead=False)
    rows += await flow.storage.queue_rows("platform", dead=True)
    assert "李四（人事档案）" in json.dumps([r.payload for r in rows], ensure_ascii=False)
