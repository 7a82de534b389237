"""Storage throughput: operations per second on SQLite and Redis, median of several rounds.

Run ``.venv/bin/python bench/storage.py``. One coroutine issues the operations one after another,
so most figures are per-connection latency turned into a rate; the ``x16`` row runs sixteen
coroutines at once against the same store. ``ping`` is the baseline measured in the same run:
one bare round trip to the store; the ratio column says how many pings one operation costs.
Redis is skipped with a message when it does not answer at ``CLAIMBOT_BENCH_REDIS_URL``
(default ``redis://127.0.0.1:6379/0``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

# This file is itself named storage.py: put the repository first so ``storage`` is the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _load import redis_clear

from storage.base import Storage, StorageUnavailable
from storage.models import (
    AuditEntry,
    Claim,
    ClaimItem,
    ClaimStatus,
    ClaimWrite,
    Commit,
    NewMessage,
    Person,
)
from storage.redis import RedisStorage
from storage.sqlite import SqliteStorage

REDIS_URL = os.environ.get("CLAIMBOT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
ROUNDS = 5
OPS = 300  # per operation per round
LEASE_BATCH = 10
CONCURRENCY = 16
OPERATIONS = (
    "ping",
    "claim create",
    "claim update",
    f"claim update x{CONCURRENCY}",
    "list by applicant",
    "enqueue",
    "lease",
    "ack",
)


def make_claim(number: int) -> Claim:
    at = datetime(2026, 5, 1, tzinfo=UTC) + timedelta(seconds=number)
    return Claim(
        id=f"BX-2099-{number:06d}",
        applicant=Person("feishu", f"ou_user{number % 10}", name="张三", department_id="d1"),
        items=(ClaimItem("taxi", Decimal("45.50"), date(2026, 5, 1), "打车去客户现场"),),
        status=ClaimStatus.SUBMITTED,
        created_at=at,
        updated_at=at,
    )


def audit(claim: Claim, action: str) -> AuditEntry:
    return AuditEntry(claim.id, claim.updated_at, "feishu:ou_user", action, "", 0, claim.version)


async def timed(count: int, run: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await run()
    return count / (time.perf_counter() - started)


async def one_round(store: Storage, first: int) -> dict[str, float]:
    claims = [make_claim(first + n) for n in range(OPS)]

    async def pings() -> None:
        for _ in range(OPS):
            await store.ping()

    async def creates() -> None:
        for claim in claims:
            await store.commit(
                Commit(
                    claims=[ClaimWrite(claim, None)],
                    audit=[audit(claim, "submit")],
                    messages=[NewMessage("platform", claim.id, {"card": "submitted"})],
                )
            )

    async def updates() -> None:
        for claim in claims:
            changed = dataclasses.replace(claim, version=2, status=ClaimStatus.APPROVED)
            await store.commit(
                Commit(claims=[ClaimWrite(changed, 1)], audit=[audit(changed, "approve")])
            )

    async def concurrent_updates() -> None:
        async def worker(part: list[Claim]) -> None:
            for claim in part:
                paid = dataclasses.replace(claim, version=3, status=ClaimStatus.PAID)
                await store.commit(Commit(claims=[ClaimWrite(paid, 2)], audit=[audit(paid, "pay")]))

        await asyncio.gather(*(worker(claims[k::CONCURRENCY]) for k in range(CONCURRENCY)))

    async def lists() -> None:
        for n in range(OPS):
            await store.claims_by_applicant("feishu", f"ou_user{n % 10}", limit=20)

    return {
        "ping": await timed(OPS, pings),
        "claim create": await timed(OPS, creates),
        "claim update": await timed(OPS, updates),
        f"claim update x{CONCURRENCY}": await timed(OPS, concurrent_updates),
        "list by applicant": await timed(OPS, lists),
        **await queue_round(store),
    }


async def queue_round(store: Storage) -> dict[str, float]:
    receipts: list[str] = []
    await drain(store)

    async def enqueues() -> None:
        for n in range(OPS):
            await store.enqueue("backend", f"key-{n}", {"claim": n, "kind": "sync"})

    async def leases() -> None:
        while len(receipts) < OPS:
            batch = await store.lease("backend", LEASE_BATCH, visibility=300)
            receipts.extend(item.receipt for item in batch)

    async def acks() -> None:
        for receipt in receipts:
            await store.ack(receipt)

    return {
        "enqueue": await timed(OPS, enqueues),
        "lease": await timed(OPS, leases),
        "ack": await timed(OPS, acks),
    }


async def drain(store: Storage) -> None:
    """Empty the "backend" topic: the create step queued platform rows, not backend ones."""
    while batch := await store.lease("backend", 100, visibility=300):
        for item in batch:
            await store.ack(item.receipt)


async def measure(store: Storage) -> dict[str, float]:
    rounds: list[dict[str, float]] = []
    for index in range(ROUNDS):
        rounds.append(await one_round(store, 1 + index * OPS))
    return {op: statistics.median(r[op] for r in rounds) for op in OPERATIONS}


def report(name: str, figures: dict[str, float]) -> None:
    baseline = figures["ping"]
    print(f"\n{name}  (median of {ROUNDS} rounds x {OPS} ops, one coroutine unless marked)")
    print(f"  {'operation':<20}{'ops/s':>10}{'pings per op':>14}")
    for op in OPERATIONS:
        print(f"  {op:<20}{figures[op]:>10,.0f}{baseline / figures[op]:>14.2f}")


async def bench_sqlite() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStorage(str(Path(tmp) / "bench.db"))
        await store.open()
        try:
            report("sqlite (WAL, one connection)", await measure(store))
        finally:
            await store.close()


async def bench_redis() -> None:
    prefix = f"claimbot-bench:{uuid.uuid4().hex}:"
    store = RedisStorage(REDIS_URL, prefix=prefix)
    try:
        await store.open()
    except StorageUnavailable as exc:
        print(f"\nredis: skipped, {exc}")
        return
    try:
        report(f"redis ({REDIS_URL})", await measure(store))
    finally:
        await store.close()
        await redis_clear(REDIS_URL, prefix)


async def main() -> None:
    started = time.perf_counter()
    await bench_sqlite()
    await bench_redis()
    print(f"\ntook {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
