"""The SQLite schema as an ordered list of migrations; ``PRAGMA user_version`` counts those applied.

Append a new migration to change the schema; never edit one that has shipped. Statements are
separated by a semicolon at the end of a line, so each runs inside the migration's transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Coroutine, Iterable, Sequence
from contextlib import suppress
from typing import Any, TypeVar

import aiosqlite

from storage.base import StorageError, StorageUnavailable
from storage.common import loads_object
from storage.models import Claim, ModelError, claim_from_dict

T = TypeVar("T")

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE claims (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        applicant TEXT NOT NULL,
        status TEXT NOT NULL,
        created_ts REAL NOT NULL,
        updated_ts REAL NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX claims_by_applicant ON claims (applicant, created_ts, id);
    CREATE INDEX claims_by_status ON claims (status, updated_ts, id);
    CREATE INDEX claims_by_created ON claims (created_ts, id);
    CREATE TABLE pending_approvals (
        approver TEXT NOT NULL,
        created_ts REAL NOT NULL,
        claim_id TEXT NOT NULL,
        PRIMARY KEY (approver, created_ts, claim_id)
    );
    CREATE INDEX pending_by_claim ON pending_approvals (claim_id);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        claim_id TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX audit_by_claim ON audit (claim_id, seq);
    CREATE TABLE invoices (
        invoice_key TEXT PRIMARY KEY,
        claim_id TEXT NOT NULL,
        locked_at REAL NOT NULL
    );
    CREATE TABLE card_copies (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        claim_id TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX card_copies_by_claim ON card_copies (claim_id, seq);
    CREATE TABLE conversations (
        key TEXT PRIMARY KEY,
        state TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE INDEX conversations_by_expiry ON conversations (expires_at);
    CREATE TABLE seen (
        platform TEXT NOT NULL,
        key TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (platform, key)
    );
    CREATE INDEX seen_by_expiry ON seen (expires_at);
    CREATE TABLE queue (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        topic TEXT NOT NULL,
        key TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at REAL NOT NULL,
        available_at REAL NOT NULL,
        due_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        dedup TEXT NOT NULL DEFAULT '',
        receipt TEXT UNIQUE,
        leased_until REAL NOT NULL DEFAULT 0,
        dead INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX queue_due ON queue (topic, dead, due_at, seq);
    CREATE INDEX queue_by_key ON queue (topic, key, dead, seq);
    CREATE TABLE attachments (
        id TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        content_type TEXT NOT NULL,
        filename TEXT NOT NULL,
        data BLOB NOT NULL
    );
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at REAL NOT NULL
    );
    """,
    # 2: a card copy may carry a stable id; writing a copy with the same id replaces it.
    """
    ALTER TABLE card_copies ADD COLUMN copy_id TEXT NOT NULL DEFAULT '';
    CREATE UNIQUE INDEX card_copies_by_copy_id ON card_copies (claim_id, copy_id)
        WHERE copy_id != '';
    """,
    # 3: the head of each claim's audit hash chain (storage.audit_chain): count and last hash.
    """
    CREATE TABLE audit_heads (
        claim_id TEXT PRIMARY KEY,
        entries INTEGER NOT NULL,
        hash TEXT NOT NULL
    );
    """,
    # 4: each key's first live row carries head = 1, so a lease reads the due heads from a
    # partial index instead of testing every due row for "first of its key" (O(backlog)).
    """
    ALTER TABLE queue ADD COLUMN head INTEGER NOT NULL DEFAULT 0;
    UPDATE queue SET head = 1 WHERE dead = 0 AND seq = (
        SELECT MIN(h.seq) FROM queue AS h
        WHERE h.topic = queue.topic AND h.key = queue.key AND h.dead = 0);
    CREATE INDEX queue_due_heads ON queue (topic, due_at, seq) WHERE head = 1;
    DROP INDEX queue_due;
    CREATE INDEX queue_by_state ON queue (topic, dead);
    """,
    # 5: fewer pages written per queue change (each is a WAL frame in the commit): no
    # AUTOINCREMENT (sqlite_sequence was one more page per insert; a new row still gets a seq
    # above every row present, which is all per-key order needs), no index on receipt (a
    # receipt names its row's id), no (topic, dead) index (queue_by_key leads with those two
    # now, so the depth count and the dead-row listing read it in order), and the dedup table
    # WITHOUT ROWID (one b-tree instead of a table and its key's index).
    """
    CREATE TABLE queue_v5 (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        topic TEXT NOT NULL,
        key TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at REAL NOT NULL,
        available_at REAL NOT NULL,
        due_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        dedup TEXT NOT NULL DEFAULT '',
        receipt TEXT,
        leased_until REAL NOT NULL DEFAULT 0,
        dead INTEGER NOT NULL DEFAULT 0,
        head INTEGER NOT NULL DEFAULT 0
    );
    INSERT INTO queue_v5 (seq, id, topic, key, payload, created_at, available_at, due_at,
                          attempts, last_error, dedup, receipt, leased_until, dead, head)
        SELECT seq, id, topic, key, payload, created_at, available_at, due_at,
               attempts, last_error, dedup, receipt, leased_until, dead, head FROM queue;
    DROP TABLE queue;
    ALTER TABLE queue_v5 RENAME TO queue;
    CREATE INDEX queue_by_key ON queue (topic, dead, key, seq);
    CREATE INDEX queue_due_heads ON queue (topic, due_at, seq) WHERE head = 1;
    CREATE TABLE seen_v5 (
        platform TEXT NOT NULL,
        key TEXT NOT NULL,
        expires_at REAL NOT NULL,
        PRIMARY KEY (platform, key)
    ) WITHOUT ROWID;
    INSERT INTO seen_v5 (platform, key, expires_at) SELECT platform, key, expires_at FROM seen;
    DROP TABLE seen;
    ALTER TABLE seen_v5 RENAME TO seen;
    CREATE INDEX seen_by_expiry ON seen (expires_at);
    """,
)


def statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";\n") if part.strip()]


def decode_claim(doc: str) -> Claim:
    try:
        return claim_from_dict(loads_object(doc, "claim"))
    except ModelError as exc:
        raise StorageError(f"stored claim is malformed: {exc}") from exc


def mapped_error(exc: sqlite3.Error) -> StorageError:
    if isinstance(exc, sqlite3.OperationalError):
        return StorageUnavailable(f"SQLite: {exc}")
    return StorageError(f"SQLite: {exc}")


class TxConn:
    """The three aiosqlite calls the statement helpers make, answered synchronously on the
    sqlite3 connection itself. ``SqliteStorage`` runs a whole transaction (every helper of it)
    inside aiosqlite's thread through this, so a transaction is one trip to that thread instead
    of one per statement; the helpers keep their ``await`` so they read as before. Nothing here
    ever suspends, which is what lets :func:`run_inline` drive the coroutine to its end.
    """

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, tuple(parameters))

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self._conn.executemany(sql, parameters)

    async def execute_fetchall(
        self, sql: str, parameters: Iterable[Any] = ()
    ) -> list[sqlite3.Row]:
        return self._conn.execute(sql, tuple(parameters)).fetchall()


def drive(conn: sqlite3.Connection, body: Callable[[TxConn], Coroutine[Any, Any, T]]) -> T:
    """Run ``body`` against ``conn`` to its end, here and now (it may await only its
    :class:`TxConn`); the caller owns the transaction around it."""
    step = body(TxConn(conn))
    try:
        step.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    step.close()
    raise RuntimeError("a SQLite transaction awaited something other than its connection")


def run_inline(
    conn: sqlite3.Connection,
    begin: str,
    body: Callable[[TxConn], Coroutine[Any, Any, T]],
) -> T:
    """In the connection's own thread: ``begin``, ``body`` to its end, then COMMIT (ROLLBACK and
    re-raise if anything raised). ``body`` may await only its :class:`TxConn`."""
    conn.execute(begin)
    try:
        result = drive(conn, body)
        conn.execute("COMMIT")
    except BaseException:
        # Suppressed: "no transaction is active" means there is nothing left to undo.
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    return result


async def first_row(
    conn: TxConn | aiosqlite.Connection, sql: str, params: tuple[object, ...] = ()
) -> sqlite3.Row | None:
    """The first row of a query in one trip to the connection's thread."""
    rows = await conn.execute_fetchall(sql, params)
    return next(iter(rows), None)


async def migrate(conn: aiosqlite.Connection, path: str) -> None:
    """Apply the migrations this file lacks, all in one transaction."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        row = await first_row(conn, "PRAGMA user_version")
        current = int(row[0]) if row else 0
        if current > len(MIGRATIONS):
            raise StorageError(
                f"SQLite database {path} has schema version {current}, newer than the"
                f" {len(MIGRATIONS)} this claimbot knows; upgrade claimbot to open it"
            )
        for number in range(current + 1, len(MIGRATIONS) + 1):
            for statement in statements(MIGRATIONS[number - 1]):
                await conn.execute(statement)
            await conn.execute(f"PRAGMA user_version = {number}")
    except BaseException:
        await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")
