"""What differs per backend: opening by URL, SQLite migrations, an unreachable store."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import socket
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from storage import open_storage, sqlite_schema
from storage.base import InvalidInput, StorageError, StorageUnavailable
from storage.models import CardCopy, ConversationWrite, NewMessage
from storage.redis import RedisStorage
from storage.sqlite import SqliteStorage
from storage.sqlite_schema import MIGRATIONS
from tests.contract.support import create, make_claim


def test_open_storage_picks_the_backend_by_scheme(tmp_path: Path) -> None:
    relative = open_storage("sqlite:///var/claimbot.db")
    assert isinstance(relative, SqliteStorage)
    assert relative._path == "var/claimbot.db"
    absolute = open_storage(f"sqlite:///{tmp_path}/claimbot.db")
    assert isinstance(absolute, SqliteStorage)
    assert absolute._path == f"{tmp_path}/claimbot.db"
    shared = open_storage("redis://127.0.0.1:6379/3", prefix="tenant-a:")
    assert isinstance(shared, RedisStorage)
    assert shared._prefix == "tenant-a:"


@pytest.mark.parametrize("url", ["", "postgres://db/claimbot", "sqlite://", "claimbot.db"])
def test_open_storage_refuses_unknown_urls(url: str) -> None:
    with pytest.raises(InvalidInput):
        open_storage(url)


def test_constructor_arguments_are_checked() -> None:
    with pytest.raises(InvalidInput):
        SqliteStorage("")
    with pytest.raises(InvalidInput):
        SqliteStorage("x.db", attachment_limit=0)
    with pytest.raises(InvalidInput):
        RedisStorage("redis://127.0.0.1", prefix="")


async def test_sqlite_reopen_migrates_once_and_keeps_data(tmp_path: Path) -> None:
    path = str(tmp_path / "claimbot.db")
    first = SqliteStorage(path)
    await first.open()
    await first.commit(create(make_claim(1)))
    await first.close()
    again = SqliteStorage(path)
    await again.open()
    try:
        assert await again.get_claim("BX-2026-000001") == make_claim(1)
    finally:
        await again.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


async def test_sqlite_refuses_a_database_from_the_future(tmp_path: Path) -> None:
    path = str(tmp_path / "future.db")
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    storage = SqliteStorage(path)
    with pytest.raises(StorageError, match="newer than"):
        await storage.open()
    assert not await storage.ping()


async def test_sqlite_unreachable_file_is_unavailable(tmp_path: Path) -> None:
    storage = SqliteStorage(str(tmp_path / "missing-dir" / "claimbot.db"))
    with pytest.raises(StorageUnavailable):
        await storage.open()
    with pytest.raises(StorageUnavailable):
        await storage.get_claim("BX-2026-000001")


async def test_redis_unreachable_is_unavailable() -> None:
    storage = RedisStorage("redis://127.0.0.1:1/0")
    with pytest.raises(StorageUnavailable):
        await storage.open()
    assert not await storage.ping()
    with pytest.raises(StorageUnavailable):
        await storage.mark_seen("feishu", "ev", 60)


async def test_sqlite_applies_only_the_migrations_a_file_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "claimbot.db")
    first = SqliteStorage(path)
    await first.open()
    await first.commit(create(make_claim(1)))
    await first.close()
    later = (*MIGRATIONS, "CREATE TABLE reminders (claim_id TEXT PRIMARY KEY, due REAL);\n")
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", later)
    upgraded = SqliteStorage(path)
    await upgraded.open()
    try:
        assert await upgraded.get_claim("BX-2026-000001") == make_claim(1)
    finally:
        await upgraded.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(later)
        assert conn.execute("SELECT COUNT(*) FROM reminders").fetchone()[0] == 0
    finally:
        conn.close()


async def test_sqlite_failed_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "claimbot.db")
    broken = (*MIGRATIONS, "CREATE TABLE extra (a INTEGER);\nTHIS IS NOT SQL;\n")
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", broken)
    with pytest.raises(StorageError):
        await SqliteStorage(path).open()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
        tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        assert tables == []
    finally:
        conn.close()


def old_file(path: str, version: int, rows: list[tuple[str, tuple[object, ...]]]) -> None:
    """A database file as claimbot at schema ``version`` left it, holding ``rows``."""
    conn = sqlite3.connect(path)
    try:
        for migration in MIGRATIONS[:version]:
            for statement in sqlite_schema.statements(migration):
                conn.execute(statement)
        for sql, params in rows:
            conn.execute(sql, params)
        conn.execute(f"PRAGMA user_version = {version}")
        conn.commit()
    finally:
        conn.close()


async def test_sqlite_upgrades_a_version_1_file_in_place(tmp_path: Path) -> None:
    path = str(tmp_path / "claimbot.db")
    old = CardCopy("BX-2026-000001", "feishu", "ou_boss", "approval", (("message_id", "om_1"),))
    v1_fields = {k: v for k, v in dataclasses.asdict(old).items() if k not in ("copy_id", "lang")}
    doc = json.dumps({**v1_fields, "ref": [["message_id", "om_1"]]})
    old_file(path, 1, [("INSERT INTO card_copies (claim_id, doc) VALUES (?, ?)",
                        (old.claim_id, doc))])
    upgraded = SqliteStorage(path)
    await upgraded.open()
    try:
        tracked = dataclasses.replace(old, recipient="ou_cfo", copy_id="c1")
        await upgraded.add_card_copy(tracked)
        await upgraded.add_card_copy(dataclasses.replace(tracked, template="approved"))
        assert await upgraded.card_copies(old.claim_id) == [
            old,
            dataclasses.replace(tracked, template="approved"),
        ]
    finally:
        await upgraded.close()


@pytest.fixture
async def private_redis(tmp_path: Path) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """A throwaway redis-server this test may stop, on a free port."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = await asyncio.create_subprocess_exec(
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await _wait_until_listening(port)
        yield f"redis://127.0.0.1:{port}/0", server
    finally:
        if server.returncode is None:
            server.terminate()
        await server.wait()


async def _wait_until_listening(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    pytest.fail(f"redis-server did not listen on {port}")


async def test_redis_going_away_is_unavailable(
    private_redis: tuple[str, asyncio.subprocess.Process],
) -> None:
    url, server = private_redis
    storage = RedisStorage(url)
    await storage.open()
    try:
        assert await storage.mark_seen("feishu", "ev-1", 60)
        server.terminate()
        await server.wait()
        assert not await storage.ping()
        with pytest.raises(StorageUnavailable):
            await storage.mark_seen("feishu", "ev-2", 60)
        with pytest.raises(StorageUnavailable):
            await storage.get_claim("BX-2026-000001")
        with pytest.raises(StorageUnavailable):
            await storage.commit(create(make_claim(1)))
    finally:
        await storage.close()


async def test_redis_keeps_every_key_under_its_prefix(
    private_redis: tuple[str, asyncio.subprocess.Process],
) -> None:
    url, _ = private_redis
    storage = RedisStorage(url, prefix="tenant-a:")
    await storage.open()
    try:
        claim = make_claim(1, approvers=("ou_boss",), invoice="INV-1")
        change = create(claim)
        change.invoice_locks.append(("INV-1", claim.id))
        change.conversations.append(ConversationWrite("feishu:ou_alice", {"step": 1}))
        change.messages.append(NewMessage("backend", claim.id, {}))
        await storage.commit(change)
        await storage.allocate_claim_id(2026)
        await storage.add_card_copy(CardCopy(claim.id, "feishu", "ou_boss", "approval", (), "c1"))
        await storage.put_inbound("feishu", "ev-1", "feishu:ou_alice", {}, 60, lease_for=5)
        [leased] = await storage.lease("backend", 1, 30)
        await storage.dead_letter(leased.receipt, "x")
        await storage.put_attachment(b"bytes", "image/png")
        await storage.acquire_lease("sync", "host-a", 60)
        client = aioredis.Redis.from_url(url)
        try:
            keys = [key.decode() async for key in client.scan_iter(count=1000)]
        finally:
            await client.aclose()
        assert len(keys) > 15
        assert [key for key in keys if not key.startswith("tenant-a:")] == []
    finally:
        await storage.close()


async def test_sqlite_upgrade_marks_each_keys_first_live_row_as_its_head(tmp_path: Path) -> None:
    """Migration 4 on a file with a backlog: dead rows never head, a leased head stays head."""
    path = str(tmp_path / "claimbot.db")
    now = time.time()
    ids = {n: str(uuid.uuid4()) for n in range(1, 7)}
    rows = [  # (id, key, due_at, dead, receipt)
        (ids[1], "a", now - 5, 1, None),
        (ids[2], "a", now - 4, 0, None),
        (ids[3], "a", now - 3, 0, None),
        (ids[4], "b", now + 60, 0, f"{ids[4]}.lease"),
        (ids[5], "b", now - 2, 0, None),
        (ids[6], "c", now + 60, 0, None),
    ]
    insert = (
        "INSERT INTO queue (id, topic, key, payload, created_at, available_at, due_at, receipt,"
        " leased_until, dead) VALUES (?, 'inbound', ?, '{}', ?, ?, ?, ?, ?, ?)"
    )
    old_file(path, 3, [
        (insert, (message_id, key, due, due, due, receipt, due if receipt else 0, dead))
        for message_id, key, due, dead, receipt in rows
    ])
    upgraded = SqliteStorage(path)
    await upgraded.open()
    try:
        leased = await upgraded.lease("inbound", 10, 30)
        assert [item.message.id for item in leased] == [ids[2]]
        await upgraded.ack(leased[0].receipt)
        assert [item.message.id for item in await upgraded.lease("inbound", 10, 30)] == [ids[3]]
    finally:
        await upgraded.close()
    conn = sqlite3.connect(path)
    try:
        heads = conn.execute("SELECT id FROM queue WHERE head = 1 ORDER BY seq").fetchall()
        assert [row[0] for row in heads] == [ids[3], ids[4], ids[6]]
    finally:
        conn.close()


async def test_sqlite_upgrade_to_leaner_queue_tables_keeps_rows_leases_and_dedup(
    tmp_path: Path,
) -> None:
    """Migration 5 rebuilds the queue and dedup tables: what a version 4 file held still works
    (a lease taken before the upgrade, each key's order, a repeat recognised)."""
    path = str(tmp_path / "claimbot.db")
    now = time.time()
    ids = [str(uuid.uuid4()) for _ in range(4)]
    receipt = f"{ids[0]}.{uuid.uuid4().hex}"
    insert = (
        "INSERT INTO queue (id, topic, key, payload, created_at, available_at, due_at,"
        " receipt, leased_until, attempts, dead, head)"
        " VALUES (?, 'inbound', ?, '{}', ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    leased_until = now + 60
    old_file(path, 4, [
        (insert, (ids[0], "a", now, now, leased_until, receipt, leased_until, 1, 0, 1)),
        (insert, (ids[1], "a", now, now, now, None, 0, 0, 0, 0)),
        (insert, (ids[2], "b", now, now, now, None, 0, 3, 1, 0)),
        (insert, (ids[3], "c", now, now, now, None, 0, 0, 0, 1)),
        ("INSERT INTO seen (platform, key, expires_at) VALUES ('feishu', 'ev-old', ?)",
         (now + 3600,)),
    ])
    upgraded = SqliteStorage(path)
    await upgraded.open()
    try:
        assert await upgraded.put_inbound("feishu", "ev-old", "k", {}, 60) is None
        assert await upgraded.put_inbound("feishu", "ev-new", "k", {}, 60) == ""
        await upgraded.ack(receipt)  # leased before the upgrade
        due = [row.message.id for row in await upgraded.lease("inbound", 10, 30)]
        assert due[:2] == [ids[1], ids[3]]  # "a" goes on in order; the dead row stays dead
        assert [m.id for m in await upgraded.queue_rows("inbound", dead=True)] == [ids[2]]
    finally:
        await upgraded.close()
    conn = sqlite3.connect(path)
    try:
        tables = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
        assert "WITHOUT ROWID" in tables["seen"]
        assert "AUTOINCREMENT" not in tables["queue"] and "UNIQUE" not in tables["queue"].split(
            "receipt")[1]
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master"
                                                  " WHERE type = 'index' AND tbl_name = 'queue'")}
        assert {"queue_by_key", "queue_due_heads"} <= indexes
        assert "queue_by_state" not in indexes
        # /metrics counts rows by topic and state: one ordered index scan, no sort on the side
        # (a temporary B-tree made it 5x slower with a 100k-row backlog, blocking writes).
        plan = conn.execute("EXPLAIN QUERY PLAN SELECT topic, dead, COUNT(*) FROM queue"
                            " GROUP BY topic, dead").fetchall()
        assert "COVERING INDEX queue_by_key" in str(plan) and "TEMP B-TREE" not in str(plan)
    finally:
        conn.close()


async def test_sqlite_a_new_queue_row_goes_behind_its_key_after_the_newest_row_left(
    tmp_path: Path,
) -> None:
    """Without AUTOINCREMENT a seq can be used again once the row holding the largest one is
    gone; it is still larger than every row present, so each key's order holds."""
    storage = SqliteStorage(str(tmp_path / "claimbot.db"))
    await storage.open()
    try:
        first = await storage.enqueue("inbound", "k", {"n": 1})
        second = await storage.enqueue("inbound", "k", {"n": 2})
        last = await storage.enqueue("inbound", "other", {"n": 3})
        await storage.drop(last)
        third = await storage.enqueue("inbound", "k", {"n": 4})
        order = []
        while leased := await storage.lease("inbound", 1, 30):
            order.append(leased[0].message.id)
            await storage.ack(leased[0].receipt)
        assert order == [first, second, third]
    finally:
        await storage.close()
