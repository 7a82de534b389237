"""The storage contract, part three: invoices, conversations, cards, attachments, leases."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib

import pytest

from storage.base import AttachmentTooLarge, InvalidInput, InvoiceInUse, Storage, StorageError
from storage.models import CardCopy, Commit, ConversationWrite
from tests.contract.support import BACKENDS, FakeClock, MakeStorage, create, make_claim

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


# -- invoice registry --------------------------------------------------------------------


async def test_invoice_locks_hold_one_live_claim_per_invoice(storage: Storage) -> None:
    a, b = "BX-2026-000001", "BX-2026-000002"
    await storage.commit(Commit(invoice_locks=[("INV-1", a)]))
    await storage.commit(Commit(invoice_locks=[("INV-1", a)]))  # re-locking is fine
    assert await storage.invoice_holder("INV-1") == a
    with pytest.raises(InvoiceInUse):
        await storage.commit(Commit(invoice_locks=[("INV-1", b)]))
    await storage.commit(Commit(invoice_releases=[("INV-1", b)]))  # not b's to release
    assert await storage.invoice_holder("INV-1") == a
    await storage.commit(Commit(invoice_releases=[("INV-1", a)], invoice_locks=[("INV-1", b)]))
    assert await storage.invoice_holder("INV-1") == b
    assert await storage.invoice_holder("INV-404") is None
    with pytest.raises(InvalidInput):
        await storage.invoice_holder("")


# -- conversations -----------------------------------------------------------------------


async def test_conversation_state_expires_and_clears(storage: Storage, clock: FakeClock) -> None:
    key = "feishu:ou_alice"
    state = {"flow": "file", "items": [{"amount": "45.50"}], "备注": "中文"}
    await storage.commit(Commit(conversations=[ConversationWrite(key, state, ttl=600)]))
    assert await storage.get_conversation(key) == state
    clock.advance(599)
    assert await storage.get_conversation(key) == state
    clock.advance(2)
    assert await storage.get_conversation(key) is None
    await storage.commit(Commit(conversations=[ConversationWrite(key, {"n": 1}, ttl=600)]))
    assert await storage.get_conversation(key) == {"n": 1}
    await storage.commit(Commit(conversations=[ConversationWrite(key, None)]))
    assert await storage.get_conversation(key) is None
    with pytest.raises(InvalidInput):
        await storage.get_conversation("")


# -- cards -------------------------------------------------------------------------------


async def test_card_copies_append_per_claim(storage: Storage) -> None:
    copies = [
        CardCopy("BX-2026-000001", "feishu", f"ou_{n}", "approval", (("message_id", f"om_{n}"),),
                 lang="en-US" if n == 1 else "zh-CN")
        for n in range(3)
    ]
    for copy in copies:
        await storage.add_card_copy(copy)
    await storage.add_card_copy(dataclasses.replace(copies[0], claim_id="BX-2026-000002"))
    assert await storage.card_copies("BX-2026-000001") == copies
    assert await storage.card_copies("BX-2026-000003") == []
    with pytest.raises(InvalidInput):
        await storage.add_card_copy(dataclasses.replace(copies[0], recipient=""))
    with pytest.raises(InvalidInput):
        await storage.add_card_copy(dataclasses.replace(copies[0], lang=""))
    with pytest.raises(InvalidInput):
        await storage.card_copies("nope")


async def test_a_card_copy_with_an_id_is_replaced_in_place(storage: Storage) -> None:
    claim_id = "BX-2026-000001"
    first = CardCopy(claim_id, "feishu", "ou_boss", "approval", (("message_id", "om_1"),), "c1")
    second = CardCopy(claim_id, "wecom", "zhangsan", "approval", (("code", "r1"),), "c2")
    loose = CardCopy(claim_id, "dingtalk", "0123", "notice", ())
    for copy in (first, second, loose, loose):
        await storage.add_card_copy(copy)
    renewed = dataclasses.replace(first, template="approved", ref=(("message_id", "om_2"),))
    await storage.add_card_copy(renewed)
    await storage.add_card_copy(dataclasses.replace(second, claim_id="BX-2026-000002"))
    assert await storage.card_copies(claim_id) == [renewed, second, loose, loose]
    assert await storage.card_copies("BX-2026-000002") == [
        dataclasses.replace(second, claim_id="BX-2026-000002")
    ]


# -- attachments -------------------------------------------------------------------------


async def test_attachments_are_stored_once_by_sha256(storage: Storage) -> None:
    data = b"%PDF-1.7 \x00\xff receipt"
    first = await storage.put_attachment(data, "application/pdf", "发票.pdf")
    second = await storage.put_attachment(data, "application/pdf", "copy.pdf")
    assert first.id == second.id == hashlib.sha256(data).hexdigest()
    assert first.size == len(data)
    assert second == first  # stored once: the first upload's metadata stands
    assert await storage.get_attachment(first.id) == (first, data)
    assert await storage.get_attachment("0" * 64) is None
    for bad in ("", "ABC", "g" * 64, "0" * 64 + "\n"):
        with pytest.raises(InvalidInput):
            await storage.get_attachment(bad)
    with pytest.raises(InvalidInput):
        await storage.put_attachment(b"", "image/png")
    with pytest.raises(InvalidInput):
        await storage.put_attachment(b"x", "")


async def test_attachment_size_limit(make_storage: MakeStorage) -> None:
    storage = await make_storage(attachment_limit=1024)
    assert (await storage.put_attachment(b"x" * 1024, "image/png")).size == 1024
    with pytest.raises(AttachmentTooLarge) as caught:
        await storage.put_attachment(b"x" * 1025, "image/png")
    assert (caught.value.size, caught.value.limit) == (1025, 1024)


# -- leases ------------------------------------------------------------------------------


async def test_leases_belong_to_one_owner_until_they_expire(
    storage: Storage, clock: FakeClock
) -> None:
    assert await storage.acquire_lease("reminders", "host-a", ttl=60)
    assert not await storage.acquire_lease("reminders", "host-b", ttl=60)
    clock.advance(30)
    assert await storage.acquire_lease("reminders", "host-a", ttl=60)  # renew
    clock.advance(59)
    assert not await storage.acquire_lease("reminders", "host-b", ttl=60)
    clock.advance(2)
    assert await storage.acquire_lease("reminders", "host-b", ttl=60)  # expired: taken over
    await storage.release_lease("reminders", "host-a")  # not a's any more: no effect
    assert not await storage.acquire_lease("reminders", "host-a", ttl=60)
    await storage.release_lease("reminders", "host-b")
    assert await storage.acquire_lease("reminders", "host-a", ttl=60)
    for name, owner, ttl in [("", "a", 1.0), ("n", "", 1.0), ("n", "a", 0.0), ("n", "a", -1.0)]:
        with pytest.raises(InvalidInput):
            await storage.acquire_lease(name, owner, ttl)


async def test_lease_is_taken_by_exactly_one_of_many(make_storage: MakeStorage) -> None:
    stores = [await make_storage() for _ in range(3)]
    won = await asyncio.gather(
        *(stores[n % 3].acquire_lease("sync", f"owner-{n}", 30) for n in range(30))
    )
    assert sum(won) == 1


async def test_release_and_audit_arguments_are_checked(storage: Storage) -> None:
    for name, owner in [("", "host-a"), ("sync", "")]:
        with pytest.raises(InvalidInput):
            await storage.release_lease(name, owner)
    for claim_id in ("", "BX-2026-1", "claim"):
        with pytest.raises(InvalidInput):
            await storage.audit_trail(claim_id)
    assert await storage.audit_trail("BX-2026-000404") == []


# -- lifecycle ---------------------------------------------------------------------------


async def test_ping_and_reopen_keep_the_data(make_storage: MakeStorage) -> None:
    first = await make_storage()
    assert await first.ping()
    await first.commit(create(make_claim(1)))
    await first.close()
    assert not await first.ping()
    with pytest.raises(StorageError, match="not open"):
        await first.get_claim("BX-2026-000001")
    again = await make_storage()
    assert await again.get_claim("BX-2026-000001") == make_claim(1)
