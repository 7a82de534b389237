"""The outage: the backend is down while 200 claims change state; then it comes back.

Every event must arrive exactly once per idempotency key, in order per claim, with nothing
dead-lettered — even though, after the return, some deliveries are applied by the peer and
then lose their answer (so the worker sends them again).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from pathlib import Path

import aiohttp

from bot.backends.webhook import WebhookBackend
from bot.config_model import BackendConfig
from bot.workers.queue_loop import QueueLoop, QueuePolicy
from bot.workers.sync import SyncHandler
from storage.base import Storage
from tests.backends.fake_webhook import FakeWebhookPeer
from tests.backends.support import Flow, sync_config

CLAIMS = 200
POLICY = QueuePolicy("backend", batch=32, max_attempts=100_000, retry_base=0.02,
                     retry_cap=0.25, idle_wait=0.05)


async def change_all(flow: Flow) -> dict[str, list[str]]:
    """200 claims: most submitted, approved and paid; every fourth rejected instead."""
    expected: dict[str, list[str]] = {}
    for n in range(1, CLAIMS + 1):
        claim_id = f"BX-2026-{n:06d}"
        claim = await flow.submit(await flow.create(claim_id))
        if n % 4 == 0:
            await flow.reject(claim)
            expected[claim_id] = ["submitted", "rejected"]
        else:
            await flow.pay(await flow.approve(claim))
            expected[claim_id] = ["submitted", "approved", "paid"]
        if n % 20 == 0:
            await asyncio.sleep(0)  # let the worker run (and fail) meanwhile
    return expected


async def wait_drained(storage: Storage, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if (await storage.queue_depth())["backend"] == (0, 0):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"backend queue not drained: {await storage.queue_depth()}")


def assert_once_in_order(fake: FakeWebhookPeer, expected: dict[str, list[str]]) -> int:
    total = sum(len(v) for v in expected.values())
    keys = fake.keys
    assert len(keys) == total == len(set(keys))
    per_claim: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for applied in fake.applied:
        per_claim[applied.claim_id].append((applied.version, applied.event))
    for claim_id, events in expected.items():
        got = per_claim[claim_id]
        assert [e for _, e in got] == events, claim_id
        assert [v for v, _ in got] == sorted(v for v, _ in got), claim_id
    return total


async def test_outage_then_every_event_once_in_order(
    any_storage: Storage, tmp_path: Path, peer: tuple[FakeWebhookPeer, str],
    session: aiohttp.ClientSession,
) -> None:
    fake, url = peer
    storage = any_storage
    flow = Flow(storage, sync_config(tmp_path, BackendConfig("webhook", url, "peer-secret")))
    outcomes: dict[str, int] = defaultdict(int)

    def record(topic: str, outcome: str) -> None:
        outcomes[outcome] += 1

    backend = WebhookBackend(session, url, "peer-secret", timeout=2.0)
    loop = QueueLoop(storage, POLICY, SyncHandler(storage, backend), record)
    fake.down = True
    worker = asyncio.create_task(loop.run())
    try:
        expected = await change_all(flow)
        await asyncio.sleep(0.5)
        failed_while_down = fake.deliveries
        assert fake.applied == []
        fake.down = False
        fake.drop_after_apply = 25  # answers lost after the peer applied them
        started = time.monotonic()
        await wait_drained(storage, 60)
        recovery = time.monotonic() - started
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    total = assert_once_in_order(fake, expected)
    assert fake.duplicates == 25
    assert outcomes["dead"] == 0
    print(f"\noutage: {CLAIMS} claims, {total} events; {failed_while_down} refused calls while "
          f"down; drained {recovery:.2f}s after return; {fake.deliveries} deliveries in all, "
          f"{fake.duplicates} duplicates absorbed by the idempotency key; "
          f"ok={outcomes['ok']} retry={outcomes['retry']}")
