"""The storage contract: every case runs unchanged against SQLite and a real Redis.

Claims and commits with their atomicity live here; the durable queue and dedup in
``test_storage_contract_queue``; the other records and the lifecycle in
``test_storage_contract_records``.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest

from storage.base import (
    ClaimNotFound,
    InvalidInput,
    InvoiceInUse,
    StaleReceipt,
    Storage,
    VersionConflict,
)
from storage.models import (
    Claim,
    ClaimStatus,
    ClaimWrite,
    Commit,
    ConversationWrite,
    NewMessage,
)
from tests.contract.support import (
    BACKENDS,
    BASE_TIME,
    FakeClock,
    MakeStorage,
    audit_for,
    create,
    make_claim,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def bumped(claim: Claim, **changes: Any) -> Claim:
    changes.setdefault("updated_at", claim.updated_at + timedelta(minutes=5))
    return dataclasses.replace(claim, version=claim.version + 1, **changes)


def update(claim: Claim, expected: int) -> Commit:
    return Commit(
        claims=[ClaimWrite(claim, expected)],
        audit=[audit_for(claim, "update", expected)],
        messages=[NewMessage("platform", claim.id, {"card": claim.version})],
    )


async def nothing_written(storage: Storage, claim_id: str) -> None:
    assert await storage.get_claim(claim_id) is None
    assert await storage.audit_trail(claim_id) == []
    assert await storage.queue_depth() == dict.fromkeys(("inbound", "platform", "backend"), (0, 0))


# -- claims ------------------------------------------------------------------------------------


async def test_create_and_get_round_trips_the_claim(storage: Storage) -> None:
    claim = make_claim(1, approvers=("ou_boss",), invoice="044001900111:12345678")
    await storage.commit(create(claim))
    assert await storage.get_claim(claim.id) == claim
    assert await storage.audit_trail(claim.id) == [audit_for(claim)]


async def test_get_claim_missing_is_none_and_malformed_id_is_refused(storage: Storage) -> None:
    assert await storage.get_claim("BX-2026-999999") is None
    for bad in ("", "BX-26-1", "bx-2026-000001", "BX-2026-000001 ", "BX-2026-000001\n"):
        with pytest.raises(InvalidInput):
            await storage.get_claim(bad)


async def test_creating_an_existing_claim_is_a_conflict(storage: Storage) -> None:
    claim = make_claim(1)
    await storage.commit(create(claim))
    with pytest.raises(VersionConflict) as caught:
        await storage.commit(create(claim))
    assert (caught.value.expected, caught.value.actual) == (None, 1)


async def test_update_checks_the_stored_version(storage: Storage) -> None:
    claim = make_claim(1)
    await storage.commit(create(claim))
    second = bumped(claim, title="改")
    await storage.commit(update(second, 1))
    assert await storage.get_claim(claim.id) == second
    with pytest.raises(VersionConflict) as caught:
        await storage.commit(update(bumped(claim), 1))
    assert (caught.value.claim_id, caught.value.expected, caught.value.actual) == (claim.id, 1, 2)
    with pytest.raises(VersionConflict):  # the new version must move forward
        await storage.commit(update(second, 2))
    with pytest.raises(ClaimNotFound):
        await storage.commit(update(bumped(make_claim(9)), 1))
    assert [e.action for e in await storage.audit_trail(claim.id)] == ["submit", "update"]


async def test_two_updates_of_one_version_exactly_one_wins(make_storage: MakeStorage) -> None:
    first, second = await make_storage(), await make_storage()
    claim = make_claim(1)
    await first.commit(create(claim))
    for round_ in range(5):
        current = await first.get_claim(claim.id)
        assert current is not None
        attempts = [
            store.commit(update(bumped(current, title=f"{round_}-{n}"), current.version))
            for n, store in enumerate([first, second, first, second])
        ]
        results = await asyncio.gather(*attempts, return_exceptions=True)
        assert sum(r is None for r in results) == 1
        assert all(isinstance(r, VersionConflict) for r in results if r is not None)
    final = await first.get_claim(claim.id)
    assert final is not None
    assert final.version == 6
    assert len(await first.audit_trail(claim.id)) == 6
    assert (await first.queue_depth())["platform"] == (5, 0)


async def test_claims_by_applicant_newest_first(storage: Storage) -> None:
    for n in (1, 2, 3):
        await storage.commit(create(make_claim(n)))
    await storage.commit(create(make_claim(4, user="ou_bob")))
    found = await storage.claims_by_applicant("feishu", "ou_alice")
    assert [c.id for c in found] == ["BX-2026-000003", "BX-2026-000002", "BX-2026-000001"]
    assert len(await storage.claims_by_applicant("feishu", "ou_alice", limit=2)) == 2
    assert await storage.claims_by_applicant("wecom", "ou_alice") == []


async def test_claims_pending_for_follows_the_current_step(storage: Storage) -> None:
    first = make_claim(1, approvers=("ou_boss", "ou_deputy"))
    second = make_claim(2, approvers=("ou_boss",))
    await storage.commit(Commit(claims=[ClaimWrite(second, None), ClaimWrite(first, None)]))
    await storage.commit(create(make_claim(3)))
    boss = await storage.claims_pending_for("feishu", "ou_boss")
    assert [c.id for c in boss] == [first.id, second.id]
    assert [c.id for c in await storage.claims_pending_for("feishu", "ou_deputy")] == [first.id]
    approved = bumped(first, status=ClaimStatus.APPROVED)
    await storage.commit(update(approved, 1))
    assert [c.id for c in await storage.claims_pending_for("feishu", "ou_boss")] == [second.id]
    assert await storage.claims_pending_for("feishu", "ou_deputy") == []
    assert await storage.claims_pending_for("dingtalk", "ou_boss") == []


async def test_claims_by_status_oldest_change_first(storage: Storage) -> None:
    for n in (1, 2, 3):
        await storage.commit(create(make_claim(n)))
    first = await storage.get_claim("BX-2026-000001")
    assert first is not None
    paid = bumped(first, status=ClaimStatus.PAID, updated_at=BASE_TIME + timedelta(days=1))
    await storage.commit(update(paid, 1))
    submitted = await storage.claims_by_status(ClaimStatus.SUBMITTED)
    assert [c.id for c in submitted] == ["BX-2026-000002", "BX-2026-000003"]
    assert [c.id for c in await storage.claims_by_status(ClaimStatus.PAID)] == [first.id]
    assert len(await storage.claims_by_status(ClaimStatus.SUBMITTED, limit=1)) == 1
    with pytest.raises(InvalidInput, match="unknown claim status"):
        await storage.claims_by_status("lost")  # type: ignore[arg-type]


async def test_claims_by_date_is_inclusive_in_utc(storage: Storage) -> None:
    day = BASE_TIME.replace(hour=0, minute=0)
    for n, offset in enumerate([timedelta(0), timedelta(hours=23, minutes=59), timedelta(days=1)]):
        await storage.commit(create(make_claim(n + 1, created=day + offset)))
    await storage.commit(create(make_claim(9, created=day - timedelta(microseconds=1))))
    one_day = await storage.claims_by_date(day.date(), day.date())
    assert [c.id for c in one_day] == ["BX-2026-000001", "BX-2026-000002"]
    two_days = await storage.claims_by_date(day.date(), day.date() + timedelta(days=1))
    assert len(two_days) == 3
    assert len(await storage.claims_by_date(date(2000, 1, 1), date(2100, 1, 1), limit=2)) == 2
    assert len(await storage.claims_by_date(date.min, date.max)) == 4  # no overflow at the ends
    with pytest.raises(InvalidInput, match="after"):
        await storage.claims_by_date(date(2026, 5, 2), date(2026, 5, 1))


@pytest.mark.parametrize("limit", [0, -1, 10_001, 2.5, True])
async def test_list_limits_are_checked(storage: Storage, limit: Any) -> None:
    with pytest.raises(InvalidInput, match="limit"):
        await storage.claims_by_applicant("feishu", "ou_alice", limit=limit)
    with pytest.raises(InvalidInput, match="limit"):
        await storage.lease("platform", limit, 30)


async def test_list_arguments_are_checked(storage: Storage) -> None:
    with pytest.raises(InvalidInput):
        await storage.claims_by_applicant("", "ou_alice")
    with pytest.raises(InvalidInput):
        await storage.claims_pending_for("feishu", "")
    with pytest.raises(InvalidInput):
        await storage.claims_by_date("2026-05-01", date(2026, 5, 2))  # type: ignore[arg-type]


async def test_allocated_claim_ids_are_unique_under_concurrency(
    make_storage: MakeStorage,
) -> None:
    first, second = await make_storage(), await make_storage()
    ids = await asyncio.gather(*(s.allocate_claim_id(2026) for s in [first, second] * 50))
    assert len(set(ids)) == 100
    assert sorted(ids)[0] == "BX-2026-000001"
    assert sorted(ids)[-1] == "BX-2026-000100"
    assert await first.allocate_claim_id(2027) == "BX-2027-000001"
    for year in (1999, 10_000, "2026"):
        with pytest.raises(InvalidInput):
            await first.allocate_claim_id(year)  # type: ignore[arg-type]


# -- commits: atomicity --------------------------------------------------------------------


async def test_invoice_in_use_leaves_nothing_half_written(storage: Storage) -> None:
    await storage.commit(Commit(invoice_locks=[("INV-1", "BX-2026-000001")]))
    claim = make_claim(2, invoice="INV-1")
    change = create(claim)
    change.messages.append(NewMessage("backend", claim.id, {"sync": True}))
    change.invoice_locks += [("INV-2", claim.id), ("INV-1", claim.id)]
    change.conversations.append(ConversationWrite("feishu:ou_alice", {"step": 2}))
    with pytest.raises(InvoiceInUse) as caught:
        await storage.commit(change)
    assert (caught.value.invoice_key, caught.value.holder_claim_id) == ("INV-1", "BX-2026-000001")
    await nothing_written(storage, claim.id)
    assert await storage.invoice_holder("INV-2") is None
    assert await storage.get_conversation("feishu:ou_alice") is None


async def test_stale_consume_leaves_nothing_half_written(
    storage: Storage, clock: FakeClock
) -> None:
    await storage.put_inbound("feishu", "ev-1", "feishu:ou_alice", {"text": "报销"}, 60)
    [leased] = await storage.lease("inbound", 1, visibility=30)
    clock.advance(31)
    claim = make_claim(1)
    change = create(claim)
    change.consume = leased.receipt
    change.messages.append(NewMessage("platform", claim.id, {}))
    change.invoice_locks.append(("INV-9", claim.id))
    with pytest.raises(StaleReceipt):
        await storage.commit(change)
    assert await storage.get_claim(claim.id) is None
    assert await storage.audit_trail(claim.id) == []
    assert await storage.invoice_holder("INV-9") is None
    assert await storage.queue_depth() == {"inbound": (1, 0), "platform": (0, 0), "backend": (0, 0)}


async def test_conflict_later_in_a_commit_rolls_back_earlier_writes(storage: Storage) -> None:
    await storage.commit(create(make_claim(2)))
    fresh, taken = make_claim(1), make_claim(2)
    change = Commit(
        claims=[ClaimWrite(fresh, None), ClaimWrite(taken, None)],
        audit=[audit_for(fresh)],
        messages=[NewMessage("platform", fresh.id, {})],
    )
    with pytest.raises(VersionConflict):
        await storage.commit(change)
    await storage.commit(Commit())  # an empty commit is a no-op
    assert await storage.get_claim(fresh.id) is None
    assert await storage.audit_trail(fresh.id) == []
    assert (await storage.queue_depth())["platform"] == (0, 0)


async def test_consume_acks_the_inbound_row_with_the_change(storage: Storage) -> None:
    await storage.put_inbound("feishu", "ev-1", "feishu:ou_alice", {"text": "报销"}, 60)
    [leased] = await storage.lease("inbound", 1, visibility=30)
    claim = make_claim(1)
    change = create(claim)
    change.consume = leased.receipt
    change.messages.append(NewMessage("platform", claim.id, {"card": "new"}, delay=5))
    await storage.commit(change)
    assert await storage.get_claim(claim.id) == claim
    assert await storage.queue_depth() == {"inbound": (0, 0), "platform": (1, 0), "backend": (0, 0)}
    with pytest.raises(StaleReceipt):
        await storage.commit(Commit(consume=leased.receipt))


@pytest.mark.parametrize(
    "change",
    [
        Commit(messages=[NewMessage("email", "k", {})]),
        Commit(messages=[NewMessage("platform", "", {})]),
        Commit(messages=[NewMessage("platform", "k", {}, delay=-1)]),
        Commit(messages=[NewMessage("platform", "k", {"at": object()})]),
        Commit(invoice_locks=[("", "BX-2026-000001")]),
        Commit(invoice_releases=[("INV", "not-a-claim")]),
        Commit(conversations=[ConversationWrite("", {"a": 1})]),
        Commit(conversations=[ConversationWrite("k", {"a": 1}, ttl=0)]),
        Commit(audit=[dataclasses.replace(audit_for(make_claim(1)), claim_id="X")]),
        Commit(claims=[ClaimWrite(make_claim(1, version=0), None)]),
    ],
    ids=[
        "topic", "key", "delay", "payload", "invoice", "release", "conv-key", "ttl", "audit",
        "version",
    ],
)  # fmt: skip
async def test_malformed_commits_are_refused_before_writing(
    storage: Storage, change: Commit
) -> None:
    change.claims.append(ClaimWrite(make_claim(5), None))
    with pytest.raises(InvalidInput):
        await storage.commit(change)
    assert await storage.get_claim("BX-2026-000005") is None


NASTY = [
    "",
    "\x00\x01\x1f",
    'quote " backslash \\ slash / \\u0000',
    "\u2028\u2029",
    "😀 🚕 𠀋 中文，全角：“引号”",
    "\ud7ff\ue000\uffff",
    "x" * 5000,
    '{"not": "json"}]',
]


async def test_any_text_survives_a_commit(storage: Storage) -> None:
    claim = dataclasses.replace(make_claim(1), title="".join(NASTY), flags=tuple(NASTY))
    change = create(claim)
    change.messages.append(NewMessage("platform", "键 " + NASTY[4], dict.fromkeys(NASTY, NASTY)))
    change.conversations.append(ConversationWrite(NASTY[2], {"texts": NASTY}))
    await storage.commit(change)
    assert await storage.get_claim(claim.id) == claim
    [leased] = await storage.lease("platform", 1, 30)
    assert leased.message.key == "键 " + NASTY[4]
    assert leased.message.payload == dict.fromkeys(NASTY, NASTY)
    assert await storage.get_conversation(NASTY[2]) == {"texts": NASTY}
    await storage.enqueue("backend", NASTY[1], {"texts": NASTY})
    [direct] = await storage.lease("backend", 1, 30)
    assert (direct.message.key, direct.message.payload) == (NASTY[1], {"texts": NASTY})
    with pytest.raises(InvalidInput, match="Unicode"):
        await storage.enqueue("backend", "k", {"bad": "\ud800"})
    with pytest.raises(InvalidInput, match="Unicode"):
        await storage.mark_seen("feishu", "\udfff", 60)
