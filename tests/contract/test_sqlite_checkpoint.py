"""SQLite's WAL is copied back into the database in the background, not inside a commit."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from pathlib import Path

import pytest

from storage.sqlite import SqliteStorage
from storage.sqlite_checkpoint import BACKSTOP_PAGES

MIB = 1024 * 1024


def wal_bytes(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return wal.stat().st_size if wal.exists() else 0


async def write_mib(storage: SqliteStorage, count: int, pause: float) -> int:
    """``count`` distinct 1 MiB attachments, one commit each; the largest WAL file seen."""
    largest = 0
    for n in range(count):
        await storage.put_attachment(os.urandom(MIB - 64) + n.to_bytes(8, "big"), "image/png")
        await asyncio.sleep(pause)
        largest = max(largest, wal_bytes(Path(storage._path)))
    return largest


async def test_the_wal_stays_small_under_steady_writes(tmp_path: Path) -> None:
    # 30 MiB written: without the background checkpoints the WAL would grow to about that
    # (the commits' own checkpoint waits for BACKSTOP_PAGES, ~40 MB) before anything is copied.
    assert BACKSTOP_PAGES * 4096 > 35 * MIB
    storage = SqliteStorage(str(tmp_path / "c.db"), attachment_limit=2 * MIB)
    await storage.open()
    try:
        largest = await write_mib(storage, 30, pause=0.1)
        assert storage._checkpointer is not None and storage._checkpointer.passes > 0
    finally:
        await storage.close()
    assert largest < 8 * MIB, f"the WAL reached {largest / MIB:.1f} MiB"


async def test_without_background_checkpoints_the_wal_grows(tmp_path: Path) -> None:
    """The control for the test above: the same writes with the checkpointer stopped."""
    storage = SqliteStorage(str(tmp_path / "c.db"), attachment_limit=2 * MIB)
    await storage.open()
    try:
        assert storage._checkpointer is not None
        await storage._checkpointer.close()
        storage._checkpointer = None
        largest = await write_mib(storage, 30, pause=0.0)
    finally:
        await storage.close()
    assert largest > 25 * MIB


async def test_a_failing_checkpoint_is_logged_and_writes_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    storage = SqliteStorage(str(tmp_path / "c.db"), attachment_limit=2 * MIB)
    await storage.open()
    try:
        checkpointer = storage._checkpointer
        assert checkpointer is not None
        checkpointer._path = str(tmp_path / "missing" / "c.db")  # cannot be opened
        with caplog.at_level(logging.WARNING, logger="claimbot.storage"):
            await write_mib(storage, 3, pause=0.1)
        kept = await storage.put_attachment(b"still written", "text/plain")
        assert await storage.get_attachment(kept.id) is not None
    finally:
        await storage.close()
    assert "background WAL checkpoint" in caplog.text and "unable to open" in caplog.text


async def test_close_stops_the_checkpointer_and_leaves_no_wal(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    storage = SqliteStorage(str(path), attachment_limit=2 * MIB)
    await storage.open()
    await write_mib(storage, 2, pause=0.1)
    await storage.put_attachment(b"last", "text/plain")
    await storage.close()  # while a checkpoint may be under way
    for _ in range(100):
        if not any(t.name.startswith("sqlite-checkpoint") for t in threading.enumerate()):
            break
        await asyncio.sleep(0.01)
    assert not any(t.name.startswith("sqlite-checkpoint") for t in threading.enumerate())
    assert wal_bytes(path) == 0  # the last connection to close copied it all and removed it

    reopened = SqliteStorage(str(path))
    await reopened.open()
    try:
        assert await reopened.get_attachment(
            (await reopened.put_attachment(b"last", "text/plain")).id) is not None
    finally:
        await reopened.close()
