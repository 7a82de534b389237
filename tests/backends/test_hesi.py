"""The Hesi connector against the fake Hesi: tokens, reference data, exactly-once create."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.backends.base import PermanentBackendError, SyncEvent, TransientBackendError
from bot.backends.hesi import HesiBackend, HesiSettings
from bot.backends.hesi_client import HesiClient
from bot.config_model import BackendConfig
from bot.workers.sync import SyncHandler
from storage.base import Storage
from tests.backends.fake_hesi import CORP, SPEC, FakeHesi
from tests.backends.support import Flow, sync_config

CLAIM = "BX-2026-000001"


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rig:
    fake: FakeHesi
    backend: HesiBackend
    clock: Clock
    flow: Flow
    url: str

    async def event(self, claim_id: str = CLAIM, index: int = -1) -> SyncEvent:
        rows = [r for r in await self.flow.storage.queue_rows("backend", dead=False)
                if r.key == claim_id]
        return await SyncHandler(self.flow.storage, self.backend).event_of(rows[index].payload)


def hesi_config(tmp_path: Path, url: str) -> BackendConfig:
    return BackendConfig("hesi", url, app_key="hesi-key", app_secret="hesi-secret",
                         specification_id=SPEC, fee_types=(("meal", "corp:meal"),
                                                           ("taxi", "corp:taxi")),
                         callback_token="t" * 32, poll_interval=0)


@pytest.fixture
async def rig(
    storage: Storage, tmp_path: Path, session: aiohttp.ClientSession
) -> AsyncIterator[Rig]:
    clock = Clock()
    fake = FakeHesi(clock=clock, token_ttl=7200)
    fake.add_staff("zhang", userid="u-applicant", mail="zhang@example.com", code="E007")
    server = TestServer(fake.app(), port=0)
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    client = HesiClient(session, url, "hesi-key", "hesi-secret", clock=clock)
    backend = HesiBackend(client, HesiSettings(SPEC, {"taxi": "corp:taxi", "meal": "corp:meal"}))
    flow = Flow(storage, sync_config(tmp_path, hesi_config(tmp_path, url)))
    yield Rig(fake, backend, clock, flow, url)
    await server.close()


async def test_an_approved_claim_becomes_one_submitted_document(rig: Rig) -> None:
    await rig.flow.approved(CLAIM)
    await rig.backend.deliver(await rig.event(index=0))  # submitted, still approving
    assert rig.fake.documents == {}
    await rig.backend.deliver(await rig.event())
    [doc] = rig.fake.documents.values()
    form = doc["form"]
    assert doc["state"] == "approving"  # isCommit=true
    assert form["outerCode"] == f"claimbot-{CLAIM}"
    assert form["submitterId"] == f"{CORP}:zhang"
    assert form["expenseDepartment"] == "CORP01:sales"
    assert form["specificationId"] == f"{SPEC}:v1"
    amounts = [d["feeTypeForm"]["amount"] for d in form["details"]]
    assert [a["standard"] for a in amounts] == ["45.50", "12.30"]
    assert amounts[0] == {"standard": "45.50", "standardStrCode": "CNY", "standardNumCode": "156",
                          "standardSymbol": "¥", "standardUnit": "元", "standardScale": 2}
    assert [d["specificationId"] for d in form["details"]] == [
        "corp:taxi:expense:v1", "corp:meal:expense:v1"]
    assert any("/byIds/[ID01spec]" in p for p in rig.fake.raw_paths)  # brackets sent raw


async def test_delivering_again_adopts_the_document(rig: Rig) -> None:
    await rig.flow.approved(CLAIM)
    event = await rig.event()
    await rig.backend.deliver(event)
    await rig.backend.deliver(event)
    assert len(rig.fake.documents) == 1
    assert rig.fake.calls.count("POST /api/openapi/v2.2/flow/data") == 1


async def test_a_create_that_commits_then_drops_the_connection_is_adopted(rig: Rig) -> None:
    await rig.flow.approved(CLAIM)
    rig.fake.drop_after_create = 1
    await rig.backend.deliver(await rig.event())  # the lookup after the drop finds it
    assert len(rig.fake.documents) == 1


async def test_a_failed_create_is_transient_then_succeeds_once(rig: Rig) -> None:
    await rig.flow.approved(CLAIM)
    rig.fake.create_failures = [502]
    with pytest.raises(TransientBackendError, match="HTTP 502"):
        await rig.backend.deliver(await rig.event())
    assert rig.fake.documents == {}
    await rig.backend.deliver(await rig.event())
    assert len(rig.fake.documents) == 1


async def test_duplicate_outer_code_answer_is_confirmed_by_lookup(rig: Rig) -> None:
    await rig.flow.approved(CLAIM)
    await rig.backend.deliver(await rig.event())
    rig.fake.hide_once = True  # our lookup misses, so we create, and Hesi says duplicate
    await rig.backend.deliver(await rig.event())
    assert len(rig.fake.documents) == 1
    assert rig.fake.calls.count("POST /api/openapi/v2.2/flow/data") == 2


async def test_a_new_template_version_is_resolved_again(rig: Rig) -> None:
    await rig.flow.approved(CLAIM)
    await rig.flow.approved("BX-2026-000002")
    await rig.backend.deliver(await rig.event())
    rig.fake.bump_template()
    rig.fake.fee_types["corp:taxi"] += 1
    await rig.backend.deliver(await rig.event("BX-2026-000002"))
    docs = list(rig.fake.documents.values())
    assert [d["form"]["specificationId"] for d in docs] == [f"{SPEC}:v1", f"{SPEC}:v2"]
    assert docs[1]["form"]["details"][0]["specificationId"] == "corp:taxi:expense:v2"


async def test_token_is_reused_refreshed_before_expiry_and_reissued_after(rig: Rig) -> None:
    client = rig.backend.client
    first = await client.token()
    rig.clock.now += 3000
    assert await client.token() == first
    rig.clock.now += 3700  # inside the ten-minute margin: refreshed, not re-issued
    second = await client.token()
    assert second != first
    assert rig.fake.refreshed == 1
    rig.clock.now += 33 * 86400  # the refreshed token (32 days) has expired: issue anew
    third = await client.token()
    assert third not in (first, second)
    assert rig.fake.refreshed == 1


async def test_a_token_refused_by_hesi_is_reissued_once(rig: Rig) -> None:
    await rig.flow.approved(CLAIM)
    await rig.flow.approved("BX-2026-000002")
    await rig.backend.deliver(await rig.event())  # the token works and is cached
    rig.fake.tokens.clear()  # revoked on Hesi's side
    rig.fake.reject_first_use = True  # and the fresh one refused once (pre-1.17.0 behaviour)
    await rig.backend.deliver(await rig.event("BX-2026-000002"))
    assert len(rig.fake.documents) == 2
    assert rig.fake.issued == 2


async def test_bad_keys_are_permanent(rig: Rig, session: aiohttp.ClientSession) -> None:
    client = HesiClient(session, rig.url, "hesi-key", "wrong")
    with pytest.raises(PermanentBackendError, match="密钥无效"):
        await client.token()


async def test_staff_found_by_email_when_the_user_id_is_unknown(rig: Rig) -> None:
    rig.fake.staff = {}
    rig.fake.add_staff("zhang2", mail="zhang@example.com")
    await rig.flow.approved(CLAIM)
    await rig.backend.deliver(await rig.event())
    [doc] = rig.fake.documents.values()
    assert doc["form"]["submitterId"] == f"{CORP}:zhang2"


async def test_unknown_staff_and_unmapped_category_are_permanent(rig: Rig) -> None:
    await rig.flow.approved(CLAIM)
    event = await rig.event()
    rig.fake.staff = {}
    with pytest.raises(PermanentBackendError, match="no active staff"):
        await rig.backend.deliver(event)
    rig.fake.add_staff("zhang", userid="u-applicant")
    backend = HesiBackend(rig.backend.client, HesiSettings(SPEC, {"taxi": "corp:taxi"}))
    with pytest.raises(PermanentBackendError, match="no fee type for category 'meal'"):
        await backend.deliver(event)
    assert rig.fake.documents == {}


async def test_server_errors_on_lookup_are_transient(rig: Rig) -> None:
    await rig.flow.approved(CLAIM)
    await rig.backend.client.token()
    rig.fake.fail_next = [503]
    with pytest.raises(TransientBackendError):
        await rig.backend.deliver(await rig.event())


async def test_a_slow_hesi_is_a_timeout_and_transient(
    rig: Rig, session: aiohttp.ClientSession
) -> None:
    await rig.flow.approved(CLAIM)
    client = HesiClient(session, rig.url, "hesi-key", "hesi-secret", timeout=0.1)
    backend = HesiBackend(client, HesiSettings(SPEC, {"taxi": "corp:taxi", "meal": "corp:meal"}))
    rig.fake.delay = 0.5
    with pytest.raises(TransientBackendError, match="Timeout"):
        await backend.deliver(await rig.event())
    rig.fake.delay = 0
    await backend.deliver(await rig.event())
    assert len(rig.fake.documents) == 1


async def test_a_document_deleted_in_hesi_is_not_recreated(rig: Rig) -> None:
    await rig.flow.approved(CLAIM)
    await rig.backend.deliver(await rig.event())
    rig.fake.set_state(f"claimbot-{CLAIM}", "deleted")
    with pytest.raises(PermanentBackendError, match="deleted in Hesi"):
        await rig.backend.deliver(await rig.event())
    assert len(rig.fake.documents) == 1
