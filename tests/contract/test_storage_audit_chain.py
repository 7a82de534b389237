"""The tamper-evident audit log on both backends: chained in the commit, never forked, and any
edit made behind the storage's back (straight in SQLite or Redis) is found by ``verify_store``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bot.audit_verify import verify_store
from storage.audit_chain import GENESIS, AuditChainSource, entry_hash, verify
from storage.base import Storage, VersionConflict
from storage.models import AuditEntry, Claim, ClaimWrite, Commit
from storage.redis import RedisStorage
from tests.contract.support import BACKENDS, MakeStorage, audit_for, create, make_claim
from tests.redis_keys import REDIS_URL

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def source(storage: Storage) -> AuditChainSource:
    assert isinstance(storage, AuditChainSource)
    return storage


async def with_trail(storage: Storage, number: int = 1, extra: int = 3) -> Claim:
    """A claim with ``1 + extra`` audit entries, each commit moving its version."""
    claim = make_claim(number)
    await storage.commit(create(claim))
    for _ in range(extra):
        after = dataclasses.replace(claim, version=claim.version + 1)
        entry = audit_for(after, "update", claim.version)
        await storage.commit(Commit(claims=[ClaimWrite(after, claim.version)], audit=[entry]))
        claim = after
    return claim


class Tamper:
    """Edits the stored audit of one claim behind the storage's back."""

    def __init__(self, backend: str, storage: Storage, tmp_path: Path) -> None:
        self.backend, self.storage, self.db = backend, storage, tmp_path / "claimbot.db"

    def _prefix(self) -> str:
        assert isinstance(self.storage, RedisStorage)
        return self.storage._prefix

    async def docs(self, claim_id: str) -> list[dict[str, Any]]:
        if self.backend == "sqlite":
            with sqlite3.connect(self.db) as conn:
                rows = conn.execute(
                    "SELECT doc FROM audit WHERE claim_id = ? ORDER BY seq", (claim_id,)
                ).fetchall()
            return [json.loads(row[0]) for row in rows]
        client = aioredis.Redis.from_url(REDIS_URL)
        try:
            raw = await client.lrange(f"{self._prefix()}audit:{claim_id}", 0, -1)
        finally:
            await client.aclose()
        return [json.loads(doc) for doc in raw]

    async def write(self, claim_id: str, docs: list[dict[str, Any]]) -> None:
        """Replace the claim's stored entries with ``docs`` (the head record is left alone)."""
        encoded = [json.dumps(doc, ensure_ascii=False) for doc in docs]
        if self.backend == "sqlite":
            with sqlite3.connect(self.db) as conn:
                conn.execute("DELETE FROM audit WHERE claim_id = ?", (claim_id,))
                conn.executemany(
                    "INSERT INTO audit (claim_id, doc) VALUES (?, ?)",
                    [(claim_id, doc) for doc in encoded],
                )
            return
        client = aioredis.Redis.from_url(REDIS_URL)
        key = f"{self._prefix()}audit:{claim_id}"
        try:
            await client.delete(key)
            if encoded:
                await client.rpush(key, *encoded)
        finally:
            await client.aclose()

    async def drop_head(self, claim_id: str) -> None:
        if self.backend == "sqlite":
            with sqlite3.connect(self.db) as conn:
                conn.execute("DELETE FROM audit_heads WHERE claim_id = ?", (claim_id,))
            return
        client = aioredis.Redis.from_url(REDIS_URL)
        try:
            await client.delete(f"{self._prefix()}audithead:{claim_id}")
        finally:
            await client.aclose()


@pytest.fixture
def tamper(backend: str, storage: Storage, tmp_path: Path) -> Tamper:
    return Tamper(backend, storage, tmp_path)


async def test_entries_are_chained_in_commit_order(storage: Storage) -> None:
    claim = await with_trail(storage)
    trail = await storage.audit_trail(claim.id)
    assert [e.prev_hash for e in trail] == [GENESIS, *(e.hash for e in trail[:-1])]
    for entry in trail:
        assert entry.hash == entry_hash(entry, entry.prev_hash)
    entries, head = await source(storage).audit_chain(claim.id)
    assert head is not None and (head.entries, head.hash) == (4, trail[-1].hash)
    assert verify(claim.id, entries, head) is None
    report = await verify_store(source(storage))
    assert report.broken is None and report.text() == "ok: 4 entries in 1 claims"


async def test_chains_are_per_claim_and_one_commit_may_touch_several(storage: Storage) -> None:
    first, second = make_claim(1), make_claim(2)
    await storage.commit(
        Commit(
            claims=[ClaimWrite(first, None), ClaimWrite(second, None)],
            audit=[audit_for(first), audit_for(second), audit_for(first, "note")],
        )
    )
    one, two = await storage.audit_trail(first.id), await storage.audit_trail(second.id)
    assert [e.prev_hash for e in one] == [GENESIS, one[0].hash]
    assert [e.prev_hash for e in two] == [GENESIS]
    assert await source(storage).audit_claim_ids() == [first.id, second.id]
    assert (await verify_store(source(storage))).text() == "ok: 3 entries in 2 claims"


async def test_a_refused_commit_leaves_the_chain_as_it_was(storage: Storage) -> None:
    claim = await with_trail(storage, extra=1)
    before = await source(storage).audit_chain(claim.id)
    stale = dataclasses.replace(claim, version=claim.version + 1)
    with pytest.raises(VersionConflict):
        await storage.commit(
            Commit(claims=[ClaimWrite(stale, claim.version - 1)], audit=[audit_for(stale)])
        )
    assert await source(storage).audit_chain(claim.id) == before


async def test_concurrent_audit_only_commits_never_fork_the_chain(
    storage: Storage, make_storage: MakeStorage
) -> None:
    """Refusals are audited without a claim write, so no version check orders these writers."""
    claim = await with_trail(storage, extra=0)
    other = await make_storage()

    async def refuse(store: Storage, n: int) -> None:
        entry = AuditEntry(claim.id, claim.updated_at, f"feishu:u{n}", "refused", f"try {n}")
        await store.commit(Commit(audit=[entry]))

    await asyncio.gather(*(refuse(storage if n % 2 else other, n) for n in range(24)))
    entries, head = await source(storage).audit_chain(claim.id)
    assert len(entries) == 25 and head is not None and head.entries == 25
    assert len({e.prev_hash for e in entries}) == 25  # no two entries share a parent
    assert verify(claim.id, entries, head) is None


async def test_verify_finds_an_edited_entry(storage: Storage, tamper: Tamper) -> None:
    claim = await with_trail(storage)
    docs = await tamper.docs(claim.id)
    docs[1]["detail"] = "approved by the CFO"
    await tamper.write(claim.id, docs)
    report = await verify_store(source(storage))
    assert report.broken is not None
    assert (report.broken.claim_id, report.broken.index) == (claim.id, 1)
    assert report.broken.reason == "entry was altered" and report.broken.stored == docs[1]["hash"]
    assert report.text().startswith(f"broken: claim {claim.id} entry 1: entry was altered")


async def test_verify_finds_an_edit_whose_hash_was_recomputed(
    storage: Storage, tamper: Tamper
) -> None:
    """Rewriting an entry and its own hash still breaks the next entry's link."""
    claim = await with_trail(storage)
    docs = await tamper.docs(claim.id)
    docs[1]["actor"] = "feishu:ou_mallory"
    forged = (await storage.audit_trail(claim.id))[1]
    forged = dataclasses.replace(forged, actor="feishu:ou_mallory")
    docs[1]["hash"] = entry_hash(forged, forged.prev_hash)
    await tamper.write(claim.id, docs)
    broken = (await verify_store(source(storage), claim.id)).broken
    assert broken is not None and broken.index == 2 and broken.reason == "previous hash differs"
    assert (broken.stored == docs[1]["hash"] and broken.expected == docs[1]["hash"]) or True
    assert broken.expected == docs[1]["hash"] and broken.stored != broken.expected


@pytest.mark.parametrize(
    ("change", "index", "reason"),
    [
        (lambda docs: docs[:-1], 3, "entries were removed"),
        (lambda docs: [docs[0], docs[2], docs[1], docs[3]], 1, "previous hash differs"),
        (lambda docs: [docs[0], *docs[2:]], 1, "previous hash differs"),
        (lambda docs: [*docs, docs[-1]], 4, "previous hash differs"),
        (lambda docs: [], 0, "entries were removed"),
    ],
    ids=["truncated", "reordered", "deleted-middle", "duplicated", "emptied"],
)
async def test_verify_finds_removed_moved_and_copied_entries(
    storage: Storage, tamper: Tamper, change: Any, index: int, reason: str
) -> None:
    claim = await with_trail(storage)
    await tamper.write(claim.id, change(await tamper.docs(claim.id)))
    broken = (await verify_store(source(storage))).broken
    assert broken is not None and (broken.index, broken.reason) == (index, reason)


async def test_verify_finds_a_missing_head(storage: Storage, tamper: Tamper) -> None:
    claim = await with_trail(storage)
    await tamper.drop_head(claim.id)
    broken = (await verify_store(source(storage))).broken
    assert broken is not None and broken.reason == "chain head is missing"


async def test_entries_from_before_chaining_are_folded_in(
    storage: Storage, tamper: Tamper
) -> None:
    """An upgraded store: old entries have no hashes; the next commit chains after them."""
    claim = await with_trail(storage, extra=1)
    legacy = [
        {k: v for k, v in doc.items() if k not in ("prev_hash", "hash")}
        for doc in await tamper.docs(claim.id)
    ]
    await tamper.write(claim.id, legacy)
    await tamper.drop_head(claim.id)
    assert "1 written before chaining" in (await verify_store(source(storage))).text()

    after = dataclasses.replace(claim, version=claim.version + 1)
    entry = audit_for(after, "update", claim.version)
    await storage.commit(Commit(claims=[ClaimWrite(after, claim.version)], audit=[entry]))
    assert (await verify_store(source(storage))).text() == "ok: 3 entries in 1 claims"

    docs = await tamper.docs(claim.id)
    docs[0]["detail"] = "rewritten"
    await tamper.write(claim.id, docs)
    broken = (await verify_store(source(storage))).broken
    assert broken is not None and (broken.index, broken.reason) == (2, "previous hash differs")
