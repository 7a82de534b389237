"""SQLite group commit: writes that queue while one is in the thread share a transaction, and
each still behaves as if it had committed alone."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from storage.base import StorageError, VersionConflict
from storage.grouping import Outcome
from storage.sqlite import SqliteStorage
from storage.sqlite_schema import TxConn
from tests.contract.support import create, make_claim


async def open_counting(path: Path) -> tuple[SqliteStorage, list[int]]:
    """A storage whose group sizes are recorded, one entry per trip to the thread."""
    storage = SqliteStorage(str(path))
    await storage.open()
    sizes: list[int] = []
    send = storage._write_group

    async def counted(bodies: list[Any]) -> list[Outcome]:
        sizes.append(len(bodies))
        return await send(bodies)

    storage._writer._submit = counted
    return storage, sizes


def count(path: Path, sql: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


async def test_concurrent_writes_share_trips_and_a_failure_stays_its_own(tmp_path: Path) -> None:
    storage, sizes = await open_counting(tmp_path / "c.db")
    try:
        await storage.commit(create(make_claim(1)))
        writes = [storage.commit(create(make_claim(n))) for n in range(2, 102)]
        writes.insert(50, storage.commit(create(make_claim(1))))  # exists: a version conflict
        results = await asyncio.gather(*writes, return_exceptions=True)
    finally:
        await storage.close()
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], VersionConflict)
    assert results.index(failures[0]) == 50
    assert count(tmp_path / "c.db", "SELECT COUNT(*) FROM claims") == 101
    assert sum(sizes) == 102 and len(sizes) < 20, sizes  # 1 + 101 writes in a handful of trips


async def test_a_body_that_raises_leaves_none_of_its_statements(tmp_path: Path) -> None:
    storage = SqliteStorage(str(tmp_path / "c.db"))
    await storage.open()

    async def half_then_fail(conn: TxConn) -> None:
        await conn.execute("INSERT INTO counters (name, value) VALUES ('half', 1)")
        raise RuntimeError("second statement refused")

    async def whole(conn: TxConn) -> int:
        await conn.execute("INSERT INTO counters (name, value) VALUES ('whole', 1)")
        return 7

    try:
        results = await asyncio.gather(
            storage._write(whole), storage._write(half_then_fail), storage._write(whole),
            return_exceptions=True,
        )
    finally:
        await storage.close()
    assert results[0] == 7 and isinstance(results[1], RuntimeError)
    assert isinstance(results[2], StorageError) and "UNIQUE" in str(results[2])
    assert count(tmp_path / "c.db", "SELECT COUNT(*) FROM counters WHERE name = 'half'") == 0
    assert count(tmp_path / "c.db", "SELECT COUNT(*) FROM counters WHERE name = 'whole'") == 1


async def test_a_write_cancelled_before_it_reaches_the_thread_never_happens(
    tmp_path: Path,
) -> None:
    storage = SqliteStorage(str(tmp_path / "c.db"))
    await storage.open()

    async def slow(conn: TxConn) -> None:
        time.sleep(0.2)  # noqa: ASYNC251 - it runs in SQLite's thread, holding it so the next write queues
        await conn.execute("INSERT INTO counters (name, value) VALUES ('slow', 1)")

    async def queued(conn: TxConn) -> None:
        await conn.execute("INSERT INTO counters (name, value) VALUES ('queued', 1)")

    try:
        first = asyncio.create_task(storage._write(slow))
        await asyncio.sleep(0.05)
        second = asyncio.create_task(storage._write(queued))
        await asyncio.sleep(0.01)
        second.cancel()
        await first
        with pytest.raises(asyncio.CancelledError):
            await second
    finally:
        await storage.close()
    assert count(tmp_path / "c.db", "SELECT COUNT(*) FROM counters WHERE name = 'slow'") == 1
    assert count(tmp_path / "c.db", "SELECT COUNT(*) FROM counters WHERE name = 'queued'") == 0


async def test_close_answers_every_queued_write_first(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    storage = SqliteStorage(str(path))
    await storage.open()
    writes = [asyncio.create_task(storage.enqueue("platform", f"k{n}", {"n": n}))
              for n in range(200)]
    await asyncio.sleep(0)  # the writes are queued, most not yet sent
    await storage.close()
    assert all(not isinstance(w.exception(), BaseException) for w in writes)
    assert count(path, "SELECT COUNT(*) FROM queue") == 200
