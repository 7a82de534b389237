"""The webhook connector and the sync worker against the fake peer."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.backends.base import PermanentBackendError, SyncEvent, TransientBackendError
from bot.backends.payload import SCHEMA
from bot.backends.signing import sign
from bot.backends.webhook import MappingTemplate, WebhookBackend
from bot.config_model import BackendConfig
from bot.workers.queue_loop import Permanent, QueueLoop, QueuePolicy
from bot.workers.sync import SyncHandler
from storage.base import Storage
from tests.backends.fake_webhook import FakeWebhookPeer
from tests.backends.support import MANAGER, Flow, sync_config

Peer = tuple[FakeWebhookPeer, str]
NAMES = {"taxi": "交通-打车", "meal": "餐费"}
FAST = QueuePolicy("backend", max_attempts=3, retry_base=0.01, retry_cap=0.02, idle_wait=0.05)


def hook(session: aiohttp.ClientSession, url: str, **kw: Any) -> WebhookBackend:
    return WebhookBackend(session, url, "peer-secret", category_names=NAMES, **kw)


def flow_for(storage: Storage, tmp_path: Path, url: str) -> Flow:
    return Flow(storage, sync_config(tmp_path, BackendConfig("webhook", url, "peer-secret")))


class Unused:
    async def deliver(self, event: SyncEvent) -> None:
        raise AssertionError("not for delivery")


async def events(storage: Storage) -> list[SyncEvent]:
    handler = SyncHandler(storage, Unused())
    return [await handler.event_of(r.payload) for r in await storage.queue_rows("backend", False)]


async def test_rows_carry_the_snapshot_and_trail_up_to_their_version(
    storage: Storage, tmp_path: Path
) -> None:
    flow = flow_for(storage, tmp_path, "http://unused")
    approved = await flow.approved("BX-2026-000001")
    await flow.pay(approved)
    submitted, approved_event, paid = await events(storage)
    assert [e.event for e in (submitted, approved_event, paid)] == ["submitted", "approved", "paid"]
    assert submitted.claim.status.value == "approving"  # not what the claim is now (paid)
    assert submitted.claim.steps[0].decision is None
    assert [e.action for e in submitted.trail] == ["created", "submitted"]
    assert [e.action for e in paid.trail] == ["created", "submitted", "approved", "paid"]
    assert approved_event.idempotency_key == "BX-2026-000001:4:approved"


async def test_delivery_is_signed_and_carries_the_unified_schema(
    storage: Storage, tmp_path: Path, peer: Peer, session: aiohttp.ClientSession
) -> None:
    fake, url = peer
    flow = flow_for(storage, tmp_path, url)
    await flow.approved("BX-2026-000001")
    approved = (await events(storage))[1]
    await hook(session, url).deliver(approved)
    [applied] = fake.applied
    assert applied.key == "BX-2026-000001:4:approved"
    body = applied.body
    assert body["schema"] == SCHEMA
    assert body["event"] == "approved"
    claim = body["claim"]
    assert claim["total"] == "57.80"
    assert claim["applicant"]["ids"] == {"feishu": "u-applicant"}
    assert claim["department"] == {"id": "d-sales", "name": "销售部"}
    assert claim["items"][0]["category_name"] == "交通-打车"
    assert claim["items"][1]["fields"] == {"guests": "2"}
    step = claim["approval"]["steps"][0]
    assert step["decision"] == "approve"
    assert step["decided_by"] == {"platform": "feishu", "user_id": MANAGER}
    assert step["comment"] == "同意"
    assert [t["action"] for t in claim["trail"]] == ["created", "submitted", "approved"]


async def test_signature_is_hmac_of_timestamp_dot_body(
    session: aiohttp.ClientSession, storage: Storage, tmp_path: Path
) -> None:
    flow = flow_for(storage, tmp_path, "http://unused")
    await flow.approved("BX-2026-000001")
    event = (await events(storage))[0]
    backend = hook(session, "http://unused", clock=lambda: 1_700_000_000.9)
    body, content_type = backend.encode(event)
    headers = backend.headers(event, body, content_type)
    assert headers["X-Claimbot-Timestamp"] == "1700000000"
    assert headers["X-Claimbot-Signature"] == sign("peer-secret", "1700000000", body)
    assert headers["Idempotency-Key"] == "BX-2026-000001:3:submitted"
    # the published construction, spelled out
    import hashlib
    import hmac

    expected = hmac.new(b"peer-secret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert headers["X-Claimbot-Signature"] == expected


@pytest.mark.parametrize(("status", "kind"), [
    (500, TransientBackendError), (502, TransientBackendError), (408, TransientBackendError),
    (429, TransientBackendError), (400, PermanentBackendError), (404, PermanentBackendError),
    (422, PermanentBackendError),
])
async def test_answers_are_classified(
    status: int, kind: type[Exception], storage: Storage, tmp_path: Path, peer: Peer,
    session: aiohttp.ClientSession,
) -> None:
    fake, url = peer
    await flow_for(storage, tmp_path, url).approved("BX-2026-000001")
    fake.script = [status]
    fake.retry_after = "7"
    with pytest.raises(kind) as caught:
        await hook(session, url).deliver((await events(storage))[0])
    assert f"scripted {status}" in str(caught.value)
    if status == 429:
        assert caught.value.retry_after == 7.0  # type: ignore[attr-defined]


async def test_timeouts_and_dropped_connections_are_transient(
    storage: Storage, tmp_path: Path, peer: Peer, session: aiohttp.ClientSession
) -> None:
    fake, url = peer
    await flow_for(storage, tmp_path, url).approved("BX-2026-000001")
    event = (await events(storage))[0]
    fake.delay = 0.5
    with pytest.raises(TransientBackendError, match="Timeout"):
        await hook(session, url, timeout=0.1).deliver(event)
    fake.delay = 0
    fake.drop_after_apply = 1
    with pytest.raises(TransientBackendError):
        await hook(session, url).deliver(event)
    await hook(session, url).deliver(event)  # the retry: applied once, answered as a duplicate
    assert fake.keys == [event.idempotency_key]
    assert fake.duplicates == 1


async def test_json_mapping_template(
    storage: Storage, tmp_path: Path, peer: Peer, session: aiohttp.ClientSession
) -> None:
    fake, url = peer
    template = tmp_path / "erp.json.j2"
    template.write_text(
        '{"bill_no": {{ claim.id | tojson }}, "amount": {{ claim.total | tojson }},'
        ' "staff": {{ claim.applicant.employee_no | tojson }},'
        ' "lines": [{% for i in claim["items"] %}{"fee": {{ i.category_name | tojson }},'
        ' "money": {{ i.amount | tojson }}}{{ "," if not loop.last }}{% endfor %}]}',
        encoding="utf-8",
    )
    await flow_for(storage, tmp_path, url).approved("BX-2026-000001")
    await hook(session, url, template=MappingTemplate(str(template))).deliver(
        (await events(storage))[1])
    assert fake.applied[0].body == {
        "bill_no": "BX-2026-000001", "amount": "57.80", "staff": "E007",
        "lines": [{"fee": "交通-打车", "money": "45.50"}, {"fee": "餐费", "money": "12.30"}],
    }


async def test_xml_mapping_template_escapes_values(
    storage: Storage, tmp_path: Path, peer: Peer, session: aiohttp.ClientSession
) -> None:
    fake, url = peer
    fake.raw = True
    template = tmp_path / "erp.xml.j2"
    template.write_text(
        "<bill><no>{{ claim.id }}</no><title>{{ claim.title }}</title>"
        "<reason>{{ claim.approval.steps[0].comment }}</reason></bill>", encoding="utf-8")
    flow = flow_for(storage, tmp_path, url)
    claim = await flow.submit(await flow.create("BX-2026-000001"))
    await flow.approve(claim, comment="<b>ok</b> & 通过")
    await hook(session, url, template=MappingTemplate(str(template))).deliver(
        (await events(storage))[1])
    assert fake.applied[0].content_type.startswith("application/xml")
    assert "<reason>&lt;b&gt;ok&lt;/b&gt; &amp; 通过</reason>" in fake.applied[0].body


async def test_a_template_that_renders_bad_json_is_permanent(
    storage: Storage, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    template = tmp_path / "bad.json.j2"
    template.write_text('{"no": {{ claim.id }}}', encoding="utf-8")  # unquoted: not JSON
    await flow_for(storage, tmp_path, "http://unused").approved("BX-2026-000001")
    with pytest.raises(PermanentBackendError, match="invalid JSON"):
        hook(session, "http://unused", template=MappingTemplate(str(template))).encode(
            (await events(storage))[0])


async def test_worker_acks_retries_and_dead_letters_with_the_answer(
    storage: Storage, tmp_path: Path, peer: Peer, session: aiohttp.ClientSession
) -> None:
    fake, url = peer
    flow = flow_for(storage, tmp_path, url)
    await flow.approved("BX-2026-000001")
    outcomes: list[str] = []
    loop = QueueLoop(storage, FAST, SyncHandler(storage, hook(session, url)),
                     lambda topic, outcome: outcomes.append(outcome))
    fake.script = [503]
    await loop.run_once()
    assert outcomes == ["retry"]
    await asyncio.sleep(0.05)
    await loop.run_once()
    await loop.run_once()
    assert fake.keys == ["BX-2026-000001:3:submitted", "BX-2026-000001:4:approved"]
    await flow.pay(await storage.get_claim("BX-2026-000001"))  # type: ignore[arg-type]
    fake.script = [422]
    await loop.run_once()
    [dead] = await storage.queue_rows("backend", dead=True)
    assert "HTTP 422" in dead.last_error
    assert "scripted 422" in dead.last_error
    assert await storage.queue_depth() == {"inbound": (0, 0), "platform": (0, 0),
                                           "backend": (0, 1)}
    assert json.dumps(dead.payload["claim"])  # the snapshot stays for an operator's retry


async def test_a_row_without_snapshot_is_used_only_at_its_version(
    storage: Storage, tmp_path: Path
) -> None:
    flow = flow_for(storage, tmp_path, "http://unused")
    claim = await flow.submit(await flow.create("BX-2026-000001"))
    handler = SyncHandler(storage, Unused())
    old_form = {"event": "submitted", "claim_id": claim.id, "version": claim.version}
    assert (await handler.event_of(old_form)).claim == claim
    await flow.approve(claim)
    with pytest.raises(Permanent, match="moved on"):
        await handler.event_of(old_form)
    with pytest.raises(Permanent, match="without an event"):
        await handler.event_of({"claim_id": claim.id})
