"""Hesi end to end through the server: the sync loop files the document, and Hesi's outbound
messages (on the unguessable path) and the state poll bring payment back, re-reading first."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot import keys
from bot.app import create_app
from bot.backends.inbound import BACKEND
from bot.backends.runtime import HesiPoller
from storage.models import ClaimStatus
from tests.backends.fake_hesi import FakeHesi
from tests.backends.support import Flow, sync_config
from tests.backends.test_hesi import hesi_config

ClientMaker = Callable[..., Awaitable[TestClient[Any, Any]]]
CLAIM = "BX-2026-000001"
TOKEN = "t" * 32


@dataclass
class Site:
    client: TestClient[Any, Any]
    fake: FakeHesi
    flow: Flow

    def path(self, token: str = TOKEN) -> str:
        return str(self.client.make_url(f"/backend/hesi/{token}"))

    async def filed(self, claim_id: str = CLAIM) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.fake.by_outer(f"claimbot-{claim_id}") is not None:
                return str(self.fake.by_outer(f"claimbot-{claim_id}")["id"])  # type: ignore[index]
            await asyncio.sleep(0.05)
        raise AssertionError("the sync loop did not file the document")

    async def status(self, claim_id: str = CLAIM) -> ClaimStatus:
        claim = await self.flow.storage.get_claim(claim_id)
        assert claim is not None
        return claim.status


@pytest.fixture
async def site(aiohttp_client: ClientMaker, tmp_path: Path) -> AsyncIterator[Site]:
    fake = FakeHesi()
    fake.add_staff("zhang", userid="u-applicant")
    server = TestServer(fake.app(), port=0)
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    config = sync_config(tmp_path, hesi_config(tmp_path, url))
    client = await aiohttp_client(create_app(config, platforms=[]))
    site = Site(client, fake, Flow(client.app[keys.STORAGE], config))
    client.app[keys.LOOPS]["backend"].wake()
    yield site
    await server.close()


async def test_paid_message_marks_the_claim_paid_after_reading_the_document(site: Site) -> None:
    await site.flow.approved(CLAIM)
    site.client.app[keys.LOOPS]["backend"].wake()
    flow_id = await site.filed()
    # a message that says "paid" while the document is still approving changes nothing
    assert await site.fake.outbound(site.path(), flow_id, "flow.paid", "paid") == 200
    assert await site.status() is ClaimStatus.APPROVED
    site.fake.set_state(f"claimbot-{CLAIM}", "paid")
    assert await site.fake.outbound(site.path(), flow_id, "flow.paid", "paid") == 200
    assert await site.status() is ClaimStatus.PAID
    # a duplicate, and an older message arriving late, are harmless
    assert await site.fake.outbound(site.path(), flow_id, "flow.paid", "paid") == 200
    assert await site.fake.outbound(site.path(), flow_id, "backlog.paying", "paying") == 200
    assert await site.status() is ClaimStatus.PAID
    actions = [e.action for e in await site.flow.storage.audit_trail(CLAIM)]
    assert actions.count("backend_paid") == 1


async def test_rejected_in_hesi_rejects_the_claim(site: Site) -> None:
    await site.flow.approved(CLAIM)
    site.client.app[keys.LOOPS]["backend"].wake()
    flow_id = await site.filed()
    site.fake.set_state(f"claimbot-{CLAIM}", "rejected")
    assert await site.fake.outbound(site.path(), flow_id, "flow.rejected", "rejected") == 200
    assert await site.status() is ClaimStatus.REJECTED


async def test_a_wrong_path_or_unknown_document_changes_nothing(site: Site) -> None:
    await site.flow.approved(CLAIM)
    site.client.app[keys.LOOPS]["backend"].wake()
    flow_id = await site.filed()
    site.fake.set_state(f"claimbot-{CLAIM}", "paid")
    assert await site.fake.outbound(site.path("x" * 32), flow_id, "flow.paid", "paid") == 404
    assert await site.fake.outbound(site.path(), "ID_nosuch", "flow.paid", "paid") == 200
    assert await site.status() is ClaimStatus.APPROVED
    response = await site.client.post(f"/backend/hesi/{TOKEN}", data=b"{}")
    assert response.status == 400


async def test_the_poll_finds_paid_documents(site: Site) -> None:
    await site.flow.approved(CLAIM)
    await site.flow.approved("BX-2026-000002")
    site.client.app[keys.LOOPS]["backend"].wake()
    await site.filed()
    await site.filed("BX-2026-000002")
    site.fake.set_state(f"claimbot-{CLAIM}", "archived")
    runtime = site.client.app[BACKEND]
    assert runtime.hesi is not None
    poller = HesiPoller(runtime, runtime.hesi, 60)
    assert await poller.poll_once() == 1
    assert await site.status() is ClaimStatus.PAID
    assert await site.status("BX-2026-000002") is ClaimStatus.APPROVED
    assert await poller.poll_once() == 0
